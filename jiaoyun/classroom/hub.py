"""What the live consumers of one worker process share: who is signed in on a socket, the
answer writer, and the screens this process holds.

Costs per answer are paid once per batch, not once per answer:

- Answers from every device of the process go to one writer, which records whatever has
  queued while its previous write ran as one transaction of two statements
  (`services.record_answers`): a group commit. A device's answer is acknowledged only once
  that transaction has committed, so an acknowledged answer is durable and nothing is lost
  in a crash; an unacknowledged one is resent by the device after it reconnects.
- Counted answers go straight to the screens of their session held by this process (a
  method call, no channel layer). For screens in other processes, the answers counted in a
  short window (`OUTBOX_SECONDS`), for every session, go as one event to the processes that
  hold screens (group `SCREEN_HOSTS`, one channel per such process), whatever the number of
  rooms: the channel layer's per-process queue (channels-redis drops past its capacity, 100
  by default) sees a few events a second, not one per answer or per room. With the
  in-memory layer there are no other processes and nothing is sent.
- The grading rules of a question (kind, options, key, tolerance: none change while it is
  open) are read once per process and cached.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from dataclasses import dataclass, field
from importlib import import_module
from types import SimpleNamespace
from typing import Any, Protocol

from asgiref.sync import sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user
from django.db import DatabaseError, connection
from django.http import parse_cookie

from jiaoyun.classroom import events, services

# How long answers bound for screens in other processes wait to share one event.
OUTBOX_SECONDS = 0.02
# Answers written in one transaction at most.
MAX_BATCH = 400
# Questions whose grading rules are cached per process.
MAX_RULES = 4096

# Tells this process's events on the channel layer from those of the other processes.
PROCESS = uuid.uuid4().hex
# The processes that hold screens, each through one channel.
SCREEN_HOSTS = "classroom.screen-hosts"


def db(function: Any) -> Any:
    """Run ORM code on the worker's database thread, keeping its connection open.

    Channels' `database_sync_to_async` closes and reopens the connection around every call
    when connections are not persistent (CONN_MAX_AGE=0): for SQLite in WAL mode that is a
    checkpoint and two fsyncs per call, for PostgreSQL without a pool a new server process.
    The live channels make many short calls on one thread, so they keep that thread's
    connection and drop it only when it fails."""

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except DatabaseError:
            connection.close()
            raise

    return sync_to_async(call, thread_sensitive=True)


def socket_user(scope: dict[str, Any]) -> Any:
    """The user signed in on a WebSocket, from its session cookie (call on the database
    thread). This is what Channels' AuthMiddlewareStack does, in one call on a kept
    connection instead of two calls that each close and reopen it; a scope that already
    carries a user (set by a middleware or a test) keeps it."""
    if "user" in scope:
        return scope["user"]
    cookies: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            cookies.update(parse_cookie(value.decode("latin1")))
    engine = import_module(settings.SESSION_ENGINE)
    request = SimpleNamespace(session=engine.SessionStore(cookies.get(settings.SESSION_COOKIE_NAME)))
    return get_user(request)  # type: ignore[arg-type]


class Screen(Protocol):
    session_id: int

    def fold(self, answers: list[list[Any]]) -> None: ...


@dataclass
class _Pending:
    answer: services.AnswerIn
    session_id: int
    done: asyncio.Future[services.Submitted]


@dataclass
class Hub:
    """One per event loop (a worker process has one; tests start several)."""

    screens: dict[int, set[Screen]] = field(default_factory=dict)
    queue: list[_Pending] = field(default_factory=list)
    outbox: dict[int, list[list[Any]]] = field(default_factory=dict)
    rules: dict[int, services.QuestionRules] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    writer: asyncio.Task[None] | None = None
    flush: asyncio.TimerHandle | None = None
    # The loop keeps only weak references to tasks: a send nobody holds may vanish mid-way.
    sending: set[asyncio.Task[None]] = field(default_factory=set)
    # Answers and batches written, for the benchmark's and the tests' curiosity.
    written: int = 0
    batches: int = 0

    host_channel: str | None = None
    host_reader: asyncio.Task[None] | None = None

    async def add_screen(self, screen: Screen) -> None:
        self.screens.setdefault(screen.session_id, set()).add(screen)
        layer = get_channel_layer()
        if layer is None or isinstance(layer, InMemoryChannelLayer):
            return
        if self.host_channel is None:
            self.host_channel = await layer.new_channel()
        # Joined again at every screen's connection, so the group never expires under it.
        await layer.group_add(SCREEN_HOSTS, self.host_channel)
        if self.host_reader is None or self.host_reader.done():
            self.host_reader = asyncio.create_task(self._read_hosts(layer, self.host_channel))

    async def _read_hosts(self, layer: Any, channel: str) -> None:
        while True:
            event = await layer.receive(channel)
            if event.get("origin") == PROCESS:
                continue  # this process's screens got them directly
            for session_id, answers in event.get("sessions", ()):
                for screen in list(self.screens.get(session_id, ())):
                    screen.fold(answers)

    def remove_screen(self, screen: Screen) -> None:
        held = self.screens.get(screen.session_id)
        if held is not None:
            held.discard(screen)
            if not held:
                del self.screens[screen.session_id]

    async def submit(self, answer: services.AnswerIn, *, session_id: int) -> services.Submitted:
        """Queue an answer for the next batch; returns its outcome once it is durable."""
        done: asyncio.Future[services.Submitted] = asyncio.get_running_loop().create_future()
        self.queue.append(_Pending(answer, session_id, done))
        self.wake.set()
        if self.writer is None or self.writer.done():
            self.writer = asyncio.create_task(self._write_loop())
        return await done

    async def _write_loop(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.queue:
                batch, self.queue = self.queue[:MAX_BATCH], self.queue[MAX_BATCH:]
                try:
                    outcomes = await db(self._write)([p.answer for p in batch])
                except Exception as error:  # every waiting device gets it, the loop goes on
                    for pending in batch:
                        if not pending.done.done():
                            pending.done.set_exception(error)
                    continue
                self.batches += 1
                self.written += len(batch)
                counted: dict[int, list[list[Any]]] = {}
                for pending, outcome in zip(batch, outcomes, strict=True):
                    if outcome.counts:
                        a = pending.answer
                        counted.setdefault(pending.session_id, []).append(
                            [a.question_id, a.student_id, outcome.value, outcome.is_correct]
                        )
                    if not pending.done.done():
                        pending.done.set_result(outcome)
                self._publish(counted)

    def _write(self, answers: list[services.AnswerIn]) -> list[services.Submitted]:
        missing = sorted({a.question_id for a in answers} - self.rules.keys())
        if missing:
            if len(self.rules) + len(missing) > MAX_RULES:
                self.rules.clear()
            self.rules.update(services.question_rules(missing))
        return services.record_answers(answers=answers, rules=self.rules)

    def _publish(self, counted: dict[int, list[list[Any]]]) -> None:
        layer = get_channel_layer()
        remote = layer is not None and not isinstance(layer, InMemoryChannelLayer)
        for session_id, answers in counted.items():
            for screen in self.screens.get(session_id, ()):
                screen.fold(answers)
            if remote:
                self.outbox.setdefault(session_id, []).extend(answers)
        if self.outbox and self.flush is None:
            self.flush = asyncio.get_running_loop().call_later(OUTBOX_SECONDS, self._flush)

    def _flush(self) -> None:
        self.flush = None
        outbox, self.outbox = self.outbox, {}
        task = asyncio.create_task(events.answers_counted(origin=PROCESS, sessions=list(outbox.items())))
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub:
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = Hub()
    return found
