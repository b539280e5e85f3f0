"""Browser tests: Playwright (sync API) driving Debian's Chromium against pytest-django's
live server. The browser is never downloaded: the Debian package's binary is used as is."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between browser steps are synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("JIAOYUN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
DEMO_PASSWORD = "jiaoyun-demo"


# One browser per test module, not per session: while Playwright's sync API is open it keeps an
# event loop running on this thread, and a later test of another module on the same xdist
# worker that starts a loop of its own (`async_to_sync`, `asyncio.run`) would fail.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: Any, demo: Any) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    # Generous: CI machines run several suites at once.
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.base_url = live_server.url  # type: ignore[attr-defined]
    yield page
    context.close()


def log_in(page: Any, username: str) -> None:
    """Sign in through the login form, as a person would."""
    page.goto(page.base_url + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(page.base_url + "/")


def screenshot(page: Any, name: str) -> None:
    """Save a full-page screenshot when JIAOYUN_SCREENSHOTS names a folder (for a person to
    look at; the tests never compare pixels)."""
    folder = os.environ.get("JIAOYUN_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
