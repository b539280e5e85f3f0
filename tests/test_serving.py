"""The HTTP handler the server runs (`jiaoyun.serving.ThreadedASGIHandler`), with views of
this module's own: what a lane hands back reaches the client whole, whatever the response."""

from __future__ import annotations

import asyncio
import contextvars
import io
import threading
from typing import Any

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.core.signals import request_finished
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.test import override_settings
from django.urls import path

from jiaoyun.serving import ThreadedASGIHandler

BIG = bytes(range(256)) * 1000  # 256,000 bytes: several of the handler's 64 KiB chunks
seen: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="unset")


def download(request: HttpRequest) -> FileResponse:
    return FileResponse(io.BytesIO(BIG), as_attachment=True, filename="scores.bin")


def broken(request: HttpRequest) -> HttpResponse:
    raise ValueError("a bug in a view")


async def _loop_of_the_server() -> int:
    return id(asyncio.get_running_loop())


def loop_id(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(async_to_sync(_loop_of_the_server)()))


def context(request: HttpRequest) -> HttpResponse:
    before = seen.get()
    seen.set("set by an earlier request")
    return HttpResponse(before)


def live(request: HttpRequest) -> StreamingHttpResponse:
    async def parts() -> Any:
        for number in range(3):
            await asyncio.sleep(0)
            yield f"part {number};".encode()

    return StreamingHttpResponse(parts())


gate = threading.Event()
started: list[str] = []


def slow(request: HttpRequest) -> HttpResponse:
    started.append(request.GET["n"])
    gate.wait(10)
    return HttpResponse(request.GET["n"])


urlpatterns = [
    path("download/", download),
    path("broken/", broken),
    path("loop/", loop_id),
    path("context/", context),
    path("live/", live),
    path("slow/", slow),
]


def test_responses_of_every_kind_reach_the_client_whole() -> None:
    async_to_sync(_scenario)()


async def _scenario() -> None:
    handler = ThreadedASGIHandler()
    handler.lane_count = 1  # one lane: every request below runs on the same thread
    finished_on: list[int] = []

    def finished(**kwargs: object) -> None:
        finished_on.append(threading.get_ident())

    request_finished.connect(finished)
    try:
        with override_settings(ROOT_URLCONF=__name__, DEBUG=False, DEBUG_PROPAGATE_EXCEPTIONS=False):
            transport = httpx.ASGITransport(app=handler, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
                # A file streamed from a synchronous iterator: every byte, its headers.
                got = await client.get("/download/")
                assert got.status_code == 200 and got.content == BIG
                assert got.headers["content-length"] == str(len(BIG))
                assert got.headers["content-disposition"] == 'attachment; filename="scores.bin"'
                # A view that raises: Django's 500 page, not a dropped connection.
                assert (await client.get("/broken/")).status_code == 500
                # async_to_sync in a view runs on the server's own event loop.
                assert (await client.get("/loop/")).text == str(id(asyncio.get_running_loop()))
                # What a request sets in its context is gone for the next one on the lane.
                assert [(await client.get("/context/")).text for _ in range(2)] == ["unset", "unset"]
                # A response streamed from an asynchronous iterator, closed once sent.
                streamed = await client.get("/live/")
                assert streamed.text == "part 0;part 1;part 2;"
    finally:
        request_finished.disconnect(finished)
    assert len(finished_on) == 6 and len(set(finished_on)) == 1
    assert threading.get_ident() not in finished_on


@pytest.mark.parametrize("lanes", [1, 3])
def test_requests_wait_for_a_free_lane_in_arrival_order(lanes: int) -> None:
    """More requests than lanes: the first ones take every lane, the others wait and are
    served in the order they came, and every one is answered."""
    gate.clear()
    started.clear()
    async_to_sync(_order_scenario)(lanes)


async def _order_scenario(lanes: int) -> None:
    handler = ThreadedASGIHandler()
    handler.lane_count = lanes
    numbers = [str(n) for n in range(8)]
    with override_settings(ROOT_URLCONF=__name__):
        transport = httpx.ASGITransport(app=handler)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            calls = []
            for n in numbers:
                calls.append(asyncio.create_task(client.get(f"/slow/?n={n}")))
                await asyncio.sleep(0.02)  # they arrive one after another
            assert sorted(started) == numbers[:lanes]  # every lane is taken; the rest wait
            gate.set()
            answers = await asyncio.gather(*calls)
    assert [answer.text for answer in answers] == numbers
    if lanes == 1:
        assert started == numbers
    else:
        assert sorted(started) == numbers


def test_every_nth_answer_on_a_connection_asks_the_client_to_reconnect() -> None:
    """Keep-alive connections are not held forever (as nginx's `keepalive_requests`), so that
    connections a whole school opened at once, most on one server process, spread out again:
    the 3rd answer on a connection says `Connection: close`, counted per connection."""
    async_to_sync(_keepalive_scenario)()


async def _keepalive_scenario() -> None:
    handler = ThreadedASGIHandler()
    handler.keepalive_requests = 3

    async def closes(client: tuple[str, int]) -> bool:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                 "scheme": "http", "path": "/context/", "raw_path": b"/context/", "query_string": b"",
                 "root_path": "", "headers": [(b"host", b"127.0.0.1")], "client": client,
                 "server": ("127.0.0.1", 8000)}  # fmt: skip
        await handler(scope, receive, send)
        assert sent[0]["status"] == 200
        return (b"connection", b"close") in sent[0]["headers"]

    with override_settings(ROOT_URLCONF=__name__):
        one, two = ("127.0.0.1", 50001), ("127.0.0.1", 50002)
        answers = [await closes(one), await closes(two), await closes(one), await closes(one)]
        answers += [await closes(one), await closes(two), await closes(two), await closes(one)]
    assert answers == [False, False, False, True, False, False, True, False]
    handler.keepalive_requests = 0  # never
    with override_settings(ROOT_URLCONF=__name__):
        assert not any([await closes(one) for _ in range(5)])
