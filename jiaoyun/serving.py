"""How HTTP requests reach Django under ASGI: the whole middleware chain and the view in one
worker thread, taken from a small fixed set per process, entered once per request.

Django's own ASGI handler builds its middleware chain in async mode. Every view of this
site is synchronous (the ORM is), and the built-in middleware, though "async-capable",
runs `process_request` and `process_response` through `sync_to_async` in async mode: about
twenty hops between the event loop and a thread per request, each a future, a thread wake-up
and a context copy. It also starts a new thread for every request. Measured on the electives
JSON endpoint in one process, the hops were a third of the server's CPU per request (14 ms
against 9 ms with the chain run synchronously); in the registration-rush benchmark a thread
per request (a hundred threads of one process contending for the GIL) cost another 1.5 ms.

`ThreadedASGIHandler` keeps Django's ASGI request handling (body reading, disconnects,
signals, streaming responses) and:

- builds the middleware chain in sync mode, as under WSGI, so that the chain and the view
  run in one go in the request's thread-sensitive thread;
- gives each request one of `JIAOYUN_THREADS` long-lived threads ("lanes") as that thread,
  through asgiref's `ThreadSensitiveContext(executor=...)`; requests wait for a free lane
  in arrival order, which keeps latency fair under a rush. The request-started and
  request-finished signals run on the same lane, so database connections are opened,
  checked and returned in one thread as Django expects, and a lane holds at most one
  connection (keep `JIAOYUN_DB_POOL_SIZE` at least `JIAOYUN_THREADS`);
- reads the request body before taking a lane, so that a slow upload does not hold one.

WebSockets are not affected: Channels routes them before this handler (`jiaoyun.asgi`).
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase

# The body this request's `__call__` read before taking a lane, for `handle` to use.
_body: contextvars.ContextVar[IO[bytes] | None] = contextvars.ContextVar("jiaoyun_request_body", default=None)


class ThreadedASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.lane_count: int = settings.ASGI_THREADS
        # Per event loop (a server process has one; tests may run several, one after another).
        self._lanes: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Queue[ThreadPoolExecutor]
        ] = weakref.WeakKeyDictionary()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        try:
            body = await super().read_body(receive)
        except RequestAborted:
            return
        lanes = self._free_lanes()
        lane = await lanes.get()
        token = _body.set(body)
        try:
            async with ThreadSensitiveContext(executor=lane):
                await self.handle(scope, receive, send)
        finally:
            _body.reset(token)
            lanes.put_nowait(lane)

    async def read_body(self, receive: Any) -> IO[bytes]:
        body = _body.get()
        if body is not None:
            _body.set(None)
            return body
        return await super().read_body(receive)  # type: ignore[no-any-return]

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)

    def _free_lanes(self) -> asyncio.Queue[ThreadPoolExecutor]:
        loop = asyncio.get_running_loop()
        lanes = self._lanes.get(loop)
        if lanes is None:  # made on first use, in the server's event loop
            lanes = self._lanes[loop] = asyncio.Queue()
            for number in range(self.lane_count):
                lanes.put_nowait(ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"http-{number}"))
        return lanes
