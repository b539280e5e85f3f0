"""What the live consumers of one worker process share: who is signed in on a socket, the
answer writer, and the sockets this process holds, by session.

The sockets have no channel of their own on the channel layer: the process does. Its hub
holds the screens and devices of every session it serves and is the one link to the other
processes (one channel per process in the group `events.HOSTS`), so that a socket's
handshake and its closing never touch the channel layer, and what happens in a session
costs one channel-layer message per process, not one per socket:

- An event of a session (a question opens, closes or is revealed, the session ends) is
  handed at once to the session's sockets in this process and sent once to the other
  processes, whose hubs hand it to theirs. A consumer gets it in its inbox, which its own
  loop drains (as it would drain a channel), so one slow socket never holds up the others.
  A socket that stops reading is disconnected once its inbox holds `INBOX` events, instead
  of queueing without bound; its page reconnects and gets the current state.
- Answers from every device of the process go to one writer, which records whatever has
  queued while its previous write ran as one transaction of two statements
  (`services.record_answers`): a group commit. A device's answer is acknowledged only once
  that transaction has committed, so an acknowledged answer is durable and nothing is lost
  in a crash; an unacknowledged one is resent by the device after it reconnects.
- Counted answers go straight to the screens of their session held by this process (a
  method call). For screens in other processes, the answers counted in a short window
  (`OUTBOX_SECONDS`), for every session, go as one event to the other processes, whatever
  the number of rooms: the channel layer's per-process queue (channels-redis drops past
  its capacity) sees a few events a second, not one per answer or per room.
- With the in-memory layer there are no other processes and nothing is sent at all.
- The grading rules of a question (kind, options, key, tolerance: none change while it is
  open) are read once per process and cached.
"""

from __future__ import annotations

import asyncio
import logging
import time
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

from jiaoyun.accounts import sessions
from jiaoyun.classroom import events, selectors, services

logger = logging.getLogger(__name__)

# Answers bound for screens in other processes go at most once per OUTBOX_SECONDS: the
# first after a quiet spell at once, the next ones together at the end of the window.
OUTBOX_SECONDS = 0.05
# Answers written in one transaction at most.
MAX_BATCH = 400
# Questions whose grading rules are cached per process.
MAX_RULES = 4096
# Events a socket's inbox holds before the socket is disconnected as stalled.
INBOX = 64
# How often a process renews its membership of the group of processes (channels-redis
# forgets a group member after a day).
REJOIN_SECONDS = 3600.0


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


def _session_key(scope: dict[str, Any]) -> str | None:
    cookies: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            cookies.update(parse_cookie(value.decode("latin1")))
    return cookies.get(settings.SESSION_COOKIE_NAME)


def socket_user(scope: dict[str, Any]) -> Any:
    """The user signed in on a WebSocket, from its session cookie (call on the database
    thread). This is what Channels' AuthMiddlewareStack does, in one call on a kept
    connection instead of two calls that each close and reopen it; a scope that already
    carries a user (set by a middleware or a test) keeps it."""
    if "user" in scope:
        return scope["user"]
    engine = import_module(settings.SESSION_ENGINE)
    request = SimpleNamespace(session=engine.SessionStore(_session_key(scope)))
    return get_user(request)  # type: ignore[arg-type]


DeviceGrant = tuple[int, int, dict[str, Any]]


def device_grant(scope: dict[str, Any], session_id: int) -> DeviceGrant | None:
    """Who may join a session as a device (call on the database thread): (student id, class
    id, the state the device starts from) for an enrolled student of the open live
    session's class, signed in on the socket; None for anyone else.

    With Django's database sessions and ModelBackend (the project's settings) this is two
    statements: the session row (`accounts.sessions.session_claim`), then
    `selectors.live_device` (the user, the student, the session, the current question and
    the student's own answer in one), checked by `accounts.sessions.user_matches` as
    `django.contrib.auth.get_user` checks a session. Any other configuration takes the
    general path (`socket_user`, `selectors.live_student`, `selectors.live_state`), which
    the tests compare this with."""
    claim = sessions.GENERAL if "user" in scope else sessions.session_claim(_session_key(scope))
    if claim is None:
        return None
    if claim == sessions.GENERAL:
        student = selectors.live_student(socket_user(scope), session_id)
        if student is None or student.school_class_id is None:
            return None
        return student.pk, student.school_class_id, selectors.live_state(session_id, student.pk)
    assert isinstance(claim, sessions.SessionClaim)
    device = selectors.live_device(claim.user_id, session_id)
    if device is None or not sessions.user_matches(
        claim, password=device.password, is_active=device.is_active
    ):
        return None
    return device.student_id, device.school_class_id, device.state


class Member(Protocol):
    """A live consumer, as the hub sees it."""

    session_id: int

    def deliver(self, event: dict[str, Any]) -> None: ...


class Screen(Member, Protocol):
    def fold(self, answers: list[list[Any]]) -> None: ...


@dataclass
class _Pending:
    answer: services.AnswerIn
    session_id: int
    done: asyncio.Future[services.Submitted]


def _remote_layer() -> Any:
    """The channel layer to the other processes; None with the in-memory layer."""
    layer = get_channel_layer()
    return None if layer is None or isinstance(layer, InMemoryChannelLayer) else layer


@dataclass
class Hub:
    """One per event loop (a worker process has one; tests start several)."""

    screens: dict[int, set[Screen]] = field(default_factory=dict)
    devices: dict[int, set[Member]] = field(default_factory=dict)
    queue: list[_Pending] = field(default_factory=list)
    # What goes to the other processes with the next message, in order: [session id,
    # "event", event] and [session id, "answers", [answer, ...]] items.
    outbox: list[list[Any]] = field(default_factory=list)
    # The answers item of each session since the outbox's last event (answers are added
    # to it; an event starts new items, so that nothing overtakes an event).
    tallies: dict[int, list[list[Any]]] = field(default_factory=dict)
    rules: dict[int, services.QuestionRules] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    writer: asyncio.Task[None] | None = None
    flush: asyncio.Handle | None = None
    flushed_at: float = 0.0
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # The loop keeps only weak references to tasks: a send nobody holds may vanish mid-way.
    sending: set[asyncio.Task[None]] = field(default_factory=set)
    # Answers and batches written, for the benchmark's and the tests' curiosity.
    written: int = 0
    batches: int = 0

    # The channel layer to the other processes (None: there are none).
    layer: Any = field(default_factory=_remote_layer)
    # Tells this hub's events on the channel layer from those of the other processes.
    origin: str = field(default_factory=lambda: uuid.uuid4().hex)
    channel: str | None = None
    joined: asyncio.Future[None] | None = None
    joined_at: float = 0.0
    reader: asyncio.Task[None] | None = None

    # The sockets.

    async def join(self, member: Member, *, screen: bool = False) -> None:
        """Hold a socket of a session: from now on it gets the session's events. Returns
        once this process is sure to get the events other processes send."""
        held: dict[int, set[Any]] = self.screens if screen else self.devices
        held.setdefault(member.session_id, set()).add(member)
        layer = self.layer
        if layer is None:
            return
        now = time.monotonic()
        if self.joined is None or (self.joined.done() and now - self.joined_at > REJOIN_SECONDS):
            self.joined_at = now
            self.joined = asyncio.ensure_future(self._join(layer))
        if self.reader is None or self.reader.done():
            self.reader = asyncio.create_task(self._read(layer))
        try:
            await asyncio.shield(self.joined)
        except Exception:
            self.joined = None  # the next socket tries again
            self.leave(member)
            raise

    async def _join(self, layer: Any) -> None:
        if self.channel is None:
            self.channel = await layer.new_channel()
        await layer.group_add(events.HOSTS, self.channel)

    def leave(self, member: Member) -> None:
        for held in (self.screens, self.devices):
            members = held.get(member.session_id)
            if members is not None and member in members:
                members.discard(member)  # type: ignore[arg-type]
                if not members:
                    del held[member.session_id]

    def _deliver(self, session_id: int, event: dict[str, Any]) -> None:
        for members in (self.screens.get(session_id, ()), self.devices.get(session_id, ())):
            for member in list(members):
                member.deliver(event)

    async def publish(self, session_id: int, event: dict[str, Any], *, now: bool = False) -> None:
        """An event of a session, for its sockets in every process: this process's get it
        at once, the other processes with the next message (`now`: sent before returning,
        for a caller whose event loop ends when it returns)."""
        self._deliver(session_id, event)
        if self.layer is None:
            return
        self.outbox.append([session_id, "event", event])
        self.tallies.clear()
        if now:
            if self.flush is not None:
                self.flush.cancel()
                self.flush = None
            await self._send()
        else:
            self._schedule()

    async def _read(self, layer: Any) -> None:
        try:
            await asyncio.shield(self.joined)  # type: ignore[arg-type]
        except Exception:
            return  # the socket that waited for it says why; the next one starts again
        assert self.channel is not None
        while True:
            try:
                event = await layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis went away: keep trying, the events are queued there
                logger.exception("classroom: reading the channel layer failed")
                await asyncio.sleep(1)
                continue
            if event.get("origin") == self.origin:
                continue  # this process's sockets got it directly
            for session_id, kind, content in event.get("items", ()):
                if kind == "answers":
                    for screen in list(self.screens.get(session_id, ())):
                        screen.fold(content)
                else:
                    self._deliver(session_id, content)

    # The answers.

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
        remote = self.layer is not None
        for session_id, answers in counted.items():
            for screen in self.screens.get(session_id, ()):
                screen.fold(answers)
            if remote:
                tally = self.tallies.get(session_id)
                if tally is None:
                    tally = self.tallies[session_id] = []
                    self.outbox.append([session_id, "answers", tally])
                tally.extend(answers)
        if remote and counted:
            self._schedule()

    def _schedule(self) -> None:
        if self.flush is None:
            loop = asyncio.get_running_loop()
            self.flush = loop.call_at(max(loop.time(), self.flushed_at + OUTBOX_SECONDS), self._flush)

    def _flush(self) -> None:
        self.flush = None
        task = asyncio.create_task(self._send(quiet=True))
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)

    async def _send(self, *, quiet: bool = False) -> None:
        # One message at a time: channels-redis orders a process's messages by the time
        # they were sent, and two sends at once could arrive the other way round.
        async with self.send_lock:
            self.flushed_at = asyncio.get_running_loop().time()
            items, self.outbox = self.outbox, []
            self.tallies.clear()
            if not items:
                return
            try:
                await events.to_hosts(self.layer, origin=self.origin, items=items)
            except Exception:
                if not quiet:
                    raise
                # The screens re-read the database when a question closes; devices that
                # missed a question get it when they reconnect.
                logger.exception("classroom: sending to the other processes failed")


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub:
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = Hub()
    return found
