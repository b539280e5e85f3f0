"""How HTTP requests reach Django under ASGI: each request handed whole to one of a few
long-lived threads per process ("lanes"), which runs Django for it from the request-started
signal to the closed response, as a WSGI server's thread would, and hands back the bytes.

Django's own ASGI handler builds its middleware chain in async mode. Every view of this
site is synchronous (the ORM is), and the built-in middleware, though "async-capable",
runs `process_request` and `process_response` through `sync_to_async` in async mode: about
twenty hops between the event loop and a thread per request, each a future, a thread wake-up
and a copy and restore of the context, and a new thread for every request. Even with the
chain built in sync mode (one hop for it), the request-started and request-finished signals
and the response's close are three more hops, and the disconnect listener a task group per
request; measured in the registration-rush benchmark, the event loop's side of these hops was
the larger part of a worker's CPU.

`ThreadedASGIHandler` keeps Django's request and response objects, signals, middleware and
error handling, and:

- builds the middleware chain in sync mode, as under WSGI;
- reads the request body on the event loop, then puts the request on a queue that
  `JIAOYUN_THREADS` lanes take from in arrival order (fair under a rush; a slow upload holds
  no lane). A lane sends `request_started`, builds the request, runs the chain and the view,
  renders the headers, reads the body of a streaming response with a synchronous iterator
  (as Django's own handler does under ASGI), closes the response (`request_finished`, which
  returns the database connection) and wakes the event loop once with what to send. So a
  request's connection is opened, used and returned on one thread, and a lane holds at most one
  (keep `JIAOYUN_DB_POOL_SIZE` at least `JIAOYUN_THREADS`);
- answers a streaming response with an asynchronous iterator from the event loop, the lane
  waiting until it is sent before it closes the response;
- asks the client to reconnect with every `JIAOYUN_KEEPALIVE_REQUESTS`th answer on a
  keep-alive connection, so that connections opened all at once, which the server's
  processes take as they come (one may take most), spread out over them again;
- runs each request in a fresh `contextvars.Context`, so nothing a request sets leaks into the
  next one on the lane, and lets code in a view call `async_to_sync` back into the server's
  event loop (Channels' layer, for one), as `sync_to_async` would.

Unlike Django's handler it does not listen for the client going away while the view runs:
a synchronous view cannot be stopped anyway; what it answers is dropped by the server.

WebSockets are not affected: Channels routes them before this handler (`jiaoyun.asgi`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import queue
import threading
from dataclasses import dataclass
from typing import IO, Any

from asgiref.sync import SyncToAsync
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix

Headers = list[tuple[bytes, bytes]]


@dataclass(slots=True)
class _Job:
    scope: dict[str, Any]
    body: IO[bytes]
    send: Any
    done: asyncio.Future[tuple[int, Headers, list[bytes], bool]]


class ThreadedASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.lane_count: int = settings.ASGI_THREADS
        self.keepalive_requests: int = settings.KEEPALIVE_REQUESTS
        # Requests answered so far on each open connection, by the client's address.
        self._served: dict[Any, int] = {}
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lanes: list[threading.Thread] = []
        self._lanes_lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        try:
            body = await self.read_body(receive)
        except RequestAborted:
            return
        with body:
            if len(self._lanes) < self.lane_count:
                self._start_lanes()
            done: asyncio.Future[tuple[int, Headers, list[bytes], bool]] = (
                asyncio.get_running_loop().create_future()
            )
            self._jobs.put(_Job(scope, body, send, done))
            status, headers, parts, streamed = await done
            if streamed:  # sent by the lane through the event loop already
                return
            if self._last_on_connection(scope):
                headers = [*headers, (b"connection", b"close")]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            last = len(parts) - 1
            for number, part in enumerate(parts):
                await send({"type": "http.response.body", "body": part, "more_body": number < last})

    def _last_on_connection(self, scope: Any) -> bool:
        """Whether this answer ends its keep-alive connection: every `keepalive_requests`th
        request of a connection does (as nginx's `keepalive_requests`). The client's next
        connection goes to whichever server process accepts it first, so connections that
        all arrived at once, most of them on one process, spread out again within seconds."""
        client = scope.get("client")
        if not self.keepalive_requests or client is None:
            return False
        client = tuple(client)
        served = self._served.pop(client, 0) + 1
        if served >= self.keepalive_requests:
            return True
        if len(self._served) > 100_000:  # connections closed by their clients leave entries
            self._served.clear()
        self._served[client] = served
        return False

    # --- In a lane ---------------------------------------------------------------------------

    def _start_lanes(self) -> None:
        with self._lanes_lock:
            while len(self._lanes) < self.lane_count:
                lane = threading.Thread(
                    target=self._lane, name=f"http-{len(self._lanes)}", args=(self._jobs,), daemon=True
                )
                lane.start()
                self._lanes.append(lane)

    def _lane(self, jobs: queue.SimpleQueue[_Job]) -> None:
        # What `sync_to_async` sets in its threads: `async_to_sync` in a view then runs its
        # coroutine on the server's event loop instead of starting a loop of its own.
        SyncToAsync.threadlocal.main_event_loop_pid = os.getpid()
        while True:
            job = jobs.get()
            loop = job.done.get_loop()
            SyncToAsync.threadlocal.main_event_loop = loop
            SyncToAsync.threadlocal.task_context = []
            try:
                outcome: Any = contextvars.Context().run(self._respond, job)
                failed = False
            except BaseException as error:  # handed to the request's task, which raises it
                outcome, failed = error, True
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting
                loop.call_soon_threadsafe(_settle, job.done, outcome, failed)
            del job, outcome

    def _respond(self, job: _Job) -> tuple[int, Headers, list[bytes], bool]:
        set_script_prefix(get_script_prefix(job.scope))
        signals.request_started.send(sender=self.__class__, scope=job.scope)
        request, response = self.create_request(job.scope, job.body)
        if request is not None:
            response = self.get_response(request)
            response._handler_class = self.__class__  # type: ignore[attr-defined]
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
        assert response is not None
        try:
            if response.streaming and response.is_async:  # type: ignore[attr-defined]
                future = asyncio.run_coroutine_threadsafe(
                    self.send_response(response, job.send), job.done.get_loop()
                )
                future.result()
                return 0, [], [], True
            headers = _headers(response)
            # A streaming body ends with an empty part, as Django's handler sends it.
            parts = [*response, b""] if response.streaming else [response.content]  # type: ignore[attr-defined]
            return response.status_code, headers, parts, False
        finally:
            response.close()


def _headers(response: HttpResponseBase) -> Headers:
    """The response's headers and cookies as ASGI wants them (as `ASGIHandler.send_response`)."""
    headers = []
    for name, value in response.items():
        headers.append(
            (
                name.encode("ascii") if isinstance(name, str) else bytes(name),
                value.encode("latin1") if isinstance(value, str) else bytes(value),
            )
        )
    for cookie in response.cookies.values():
        headers.append((b"Set-Cookie", cookie.OutputString().encode("ascii")))
    return headers


def _settle(future: asyncio.Future[Any], outcome: Any, failed: bool) -> None:
    if future.done():  # cancelled: the server went on without this response
        return
    if failed:
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
