"""The screen page and two student pages in headless Chromium, served by uvicorn (HTTP and
WebSockets) from the test database."""

from __future__ import annotations

from typing import Any

import pytest

from jiaoyun.classroom import services
from jiaoyun.classroom.tests.conftest import Room, Served, session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Any:
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # around it are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


def page_as(browser: Any, server: Served, user: Any, path: str) -> Any:
    context = browser.new_context(locale="en-US")
    name, value = session_cookie(user).split("=", 1)
    context.add_cookies(
        [
            {"name": name, "value": value, "url": server.http},
            {"name": "django_language", "value": "en", "url": server.http},
        ]
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(server.http + path)
    return page


def test_students_answer_and_the_screen_counts(asgi_server: Served, room: Room, browser: Any) -> None:
    session = services.start_session(teacher=room.teacher, school_class=room.school_class)
    first, second = room.students[:2]
    screen = page_as(browser, asgi_server, room.teacher_user, f"/classroom/{session.pk}/screen/")
    screen.wait_for_selector("#conn:not(.down)")
    phones = [
        page_as(browser, asgi_server, s.user, f"/classroom/{session.pk}/student/") for s in (first, second)
    ]

    screen.select_option("#ask-form select[name=kind]", "single")
    screen.fill("#ask-form input[name=prompt]", "哪一个是质数？")
    screen.fill("#ask-form textarea[name=options]", "4\n7\n9")
    screen.fill("#ask-form input[name=key]", "B")
    screen.click("#ask-form button[type=submit]")

    for phone, pick in zip(phones, ["A. 4", "B. 7"], strict=True):
        phone.get_by_role("button", name=pick).click()
        phone.wait_for_selector("#device[data-outcome=accepted]")

    screen.wait_for_selector("#screen[data-answered='2']")
    counts = screen.locator("#chart .bar-count").all_inner_texts()
    roster = screen.locator("#roster .who.answered").all_inner_texts()
    screen.click("#reveal-q")
    results = []
    for phone in phones:
        phone.wait_for_selector("#device[data-result]")
        results.append((phone.locator("#device").get_attribute("data-result"), phone.inner_text("#feedback")))

    assert screen.inner_text("#count") == "2"
    assert counts == ["1", "1", "0"]
    assert sorted(roster) == sorted([first.name, second.name])
    assert results == [("false", "Not right"), ("true", "Right!")]
