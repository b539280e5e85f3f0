"""The site as it is served in production, through Django's ASGI handler: the viewer's
scope (`request.viewer`) must not collide with the ASGI `request.scope` dict."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import AsyncClient

from jiaoyun.core.demo import DEMO_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_login_and_pages_through_the_asgi_handler(demo):
    async_to_sync(_scenario)(demo.school_b.pk)


async def _scenario(school_b: int) -> None:
    client = AsyncClient(enforce_csrf_checks=True)
    page = await client.get("/accounts/login/")
    assert page.status_code == 200
    token = page.cookies["csrftoken"].value
    response = await client.post(
        "/accounts/login/",
        {"username": "school_admin", "password": DEMO_PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302 and response["Location"] == "/"
    home = await client.get("/register/students/")
    assert home.status_code == 200
    assert (await client.get(f"/register/schools/{school_b}/")).status_code == 404
    count = await sync_to_async(lambda: home.context["page"].paginator.count)()
    assert count > 0


def test_the_production_handler_signs_in_and_scopes_pages(demo):
    """The same through `jiaoyun.asgi.application` itself (`serving.ThreadedASGIHandler`):
    the form body is read, the CSRF check passes, the session cookie signs the user in, and
    another school's page is not found."""
    async_to_sync(_production_scenario)(demo.school_b.pk)


async def _production_scenario(school_b: int) -> None:
    import httpx

    from jiaoyun.asgi import application

    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        page = await client.get("/accounts/login/")
        assert page.status_code == 200
        response = await client.post(
            "/accounts/login/",
            data={"username": "school_admin", "password": DEMO_PASSWORD,
                  "csrfmiddlewaretoken": client.cookies["csrftoken"]},
            headers={"Referer": "http://127.0.0.1/accounts/login/"},
        )  # fmt: skip
        assert response.status_code == 302 and response.headers["Location"] == "/"
        assert (await client.get("/register/students/")).status_code == 200
        assert (await client.get(f"/register/schools/{school_b}/")).status_code == 404


def test_requests_share_a_few_threads_and_keep_one_per_request(demo):
    """30 requests at once on a handler of 3 threads: each request's started and finished
    signals (which open and return its database connection) run on one thread, and only
    those 3 threads serve, never the event loop's."""
    async_to_sync(_threads_scenario)()


async def _threads_scenario() -> None:
    import asyncio
    import threading

    import httpx
    from django.core.signals import request_finished, request_started

    from jiaoyun.serving import ThreadedASGIHandler

    handler = ThreadedASGIHandler()
    handler.lane_count = 3
    seen: list[tuple[str, int]] = []

    def started(**kwargs: object) -> None:
        seen.append(("started", threading.get_ident()))

    def finished(**kwargs: object) -> None:
        seen.append(("finished", threading.get_ident()))

    request_started.connect(started)
    request_finished.connect(finished)
    try:
        transport = httpx.ASGITransport(app=handler)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            answers = await asyncio.gather(*(client.get("/accounts/login/") for _ in range(30)))
    finally:
        request_started.disconnect(started)
        request_finished.disconnect(finished)
    assert [a.status_code for a in answers] == [200] * 30
    threads = {ident for _kind, ident in seen}
    assert len(threads) <= 3 and threading.get_ident() not in threads
    for ident in threads:  # on each thread, requests one after another: started, finished, ...
        kinds = [kind for kind, at in seen if at == ident]
        assert kinds == ["started", "finished"] * (len(kinds) // 2)
