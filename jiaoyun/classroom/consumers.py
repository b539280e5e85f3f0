"""The live channels: the main screen (run by the teacher) and each student's device.

The screen does not get one message per answer. Its consumer keeps the tally of the open
question in memory and pushes a snapshot at most every SNAPSHOT_INTERVAL seconds, and only
after the screen acknowledged the previous one: a screen that stops reading holds one
unacknowledged snapshot and nothing queues behind it (later changes coalesce into the next
snapshot). The consumer's own loop never blocks on the screen's socket, so its channel-layer
queue keeps draining too. A screen silent for STALL_SECONDS is disconnected; its page
reconnects and gets a fresh snapshot.

A device's answer goes to its process's answer writer (`jiaoyun.classroom.hub`), which
records what has queued as one transaction and hands counted answers directly to the
session's screens in the same process; other processes get them batched on the channel
layer. A socket is authenticated once, at the handshake, in one call on the database thread.

A socket has no channel on the channel layer: its process's hub hands it the session's
events through an in-memory inbox, which the consumer's own loop drains.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.utils import await_many_dispatch
from django.conf import settings
from django.utils.translation import gettext

from jiaoyun.accounts.scopes import scope_for_user
from jiaoyun.classroom import events, grading, selectors, services
from jiaoyun.classroom.hub import INBOX, db, device_grant, hub, socket_user
from jiaoyun.classroom.models import LiveSession, Question, SessionQuestion
from jiaoyun.core.ids import row_id

SNAPSHOT_INTERVAL = float(getattr(settings, "CLASSROOM_SNAPSHOT_INTERVAL", 0.1))
STALL_SECONDS = float(getattr(settings, "CLASSROOM_STALL_SECONDS", 30))
# Answers a device may send per second; more is a stuck key or a script.
ANSWER_RATE = 5

CLOSE_FORBIDDEN = 4403
CLOSE_STALLED = 4408
CLOSE_ENDED = 4000


class LiveConsumer(AsyncJsonWebsocketConsumer):
    session_id: int = 0  # until the route's is read; no session has it
    # Set once the socket is accepted: events that reached the inbox before are skipped if
    # the handshake was refused.
    live = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Channels gives every consumer a channel on the layer (a Redis round trip to join
        each group at the handshake, another to leave it, a receive per socket); the live
        consumers get their events from their process's hub instead (`deliver`)."""
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._overflowed = False
        with contextlib.suppress(StopConsumer):
            await await_many_dispatch([receive, self.inbox.get], self.dispatch)

    def _route_session(self) -> bool:
        """Set `session_id` from the route; False for a number that cannot be a session's
        (the handshake is refused like any other stranger's)."""
        session_id = row_id(self.scope["url_route"]["kwargs"]["session_id"])
        if session_id is None:
            return False
        self.session_id = session_id
        return True

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        """A message that is not JSON, or nested beyond the parser's depth, is no message:
        `receive_json` ignores what is not an object, and the socket carries on."""
        try:
            return await super().decode_json(text_data)
        except (ValueError, RecursionError):
            return None

    def deliver(self, event: dict[str, Any]) -> None:
        """An event of the session, from the hub. A socket that has stopped reading (its
        loop waits on a full send buffer) is closed once INBOX events wait, rather than
        queueing without bound; its page reconnects and gets the current state."""
        if self._overflowed:
            return
        if self.inbox.qsize() >= INBOX:
            self._overflowed = True
            while not self.inbox.empty():
                self.inbox.get_nowait()
            event = {"type": "cls.stalled"}
        self.inbox.put_nowait(event)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch runs `close_old_connections` on the database thread before
        every message (a thread hop and, with CONN_MAX_AGE=0, a closed connection: one more
        connect or pool checkout per answer). The live consumers use the database only
        through `hub.db`, which keeps the thread's connection and drops it on an error."""
        if message["type"].startswith("cls.") and not self.live:
            return
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def cls_stalled(self, event: dict[str, Any]) -> None:
        await self.close(code=CLOSE_STALLED)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        """Channels' version also runs `close_old_connections` on the database thread: a
        thread hop per closing socket, and with CONN_MAX_AGE=0 the hub's kept connection
        closed under it."""
        await self.disconnect(message["code"])
        raise StopConsumer()


class ScreenConsumer(LiveConsumer):
    session: LiveSession

    async def connect(self) -> None:
        session = await db(self._authorize)() if self._route_session() else None
        if session is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.session = session
        self._reloading = 0
        self._held: list[list[Any]] = []
        self.question: dict[str, Any] | None = None
        self.answers: dict[int, tuple[Any, bool | None]] = {}
        self.roster: list[dict[str, Any]] = []
        self._seq = 0
        self._inflight = False
        self._dirty = True
        self._urgent = False
        self._sent_at = 0.0
        self._wake = asyncio.Event()
        # Held by the hub before the database is read: no change is missed in between.
        await hub().join(self, screen=True)
        self.live = True
        await self.accept()
        await self._reload()
        await self.send_json({"type": "roster", "students": self.roster, "code": session.join_code})
        self._pusher = asyncio.create_task(self._push_loop())

    def _authorize(self) -> LiveSession | None:
        user = socket_user(self.scope)
        if user is None or not user.is_authenticated:
            return None
        session = selectors.teacher_session(scope_for_user(user), self.session_id)
        return session if session is not None and session.is_open else None

    async def disconnect(self, code: int) -> None:
        pusher = getattr(self, "_pusher", None)
        if pusher is not None:
            pusher.cancel()
        hub().leave(self)

    async def _reload(self) -> None:
        # Answers folded while the database is read are applied again on top of what it
        # returns (folding is idempotent), so none is lost in between.
        self._reloading += 1
        try:
            state = await db(lambda: selectors.screen_state(self.session, with_roster=not self.roster))()
        finally:
            self._reloading -= 1
        self.roster = state.roster or self.roster
        self.question, self.answers = state.question, state.answers
        if not self._reloading:
            held, self._held = self._held, []
            self.fold(held)
        # A question that opens, closes or is revealed is shown at once; answers wait for
        # the snapshot interval.
        self._urgent = True
        self._changed()

    def fold(self, answers: list[list[Any]]) -> None:
        """Counted answers ([question id, student id, value, is_correct] each), from this
        process's answer writer or another process's batch."""
        if self._reloading:
            self._held.extend(answers)
            return
        question = self.question
        changed = False
        for question_id, student_id, value, correct in answers:
            if question is not None and question_id == question["id"]:
                self.answers[student_id] = (value, correct)
                changed = True
        if changed:
            self._changed()

    def _changed(self) -> None:
        self._dirty = True
        self._wake.set()

    def snapshot(self) -> dict[str, Any]:
        question = self.question
        snap: dict[str, Any] = {
            "type": "snapshot",
            "seq": self._seq,
            "question": question,
            "total": len(self.roster),
            "answered": sorted(self.answers),
        }
        if question is not None:
            snap["distribution"] = grading.distribution(
                question["kind"], question["options"], [value for value, _ok in self.answers.values()]
            )
            if question["status"] == SessionQuestion.Status.REVEALED:
                snap["correct"] = sorted(sid for sid, (_v, ok) in self.answers.items() if ok)
        return snap

    async def _push_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if self._dirty and not self._inflight:
                delay = self._sent_at + SNAPSHOT_INTERVAL - loop.time()
                if delay > 0 and not self._urgent:
                    await asyncio.sleep(delay)
                self._dirty = self._urgent = False
                self._inflight = True
                self._seq += 1
                self._sent_at = loop.time()
                await self.send_json(self.snapshot())
                continue
            timeout = None
            if self._inflight:
                timeout = self._sent_at + STALL_SECONDS - loop.time()
                if timeout <= 0:
                    await self.close(code=CLOSE_STALLED)
                    return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()

    # From the screen.

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "ack":
            if content.get("seq") == self._seq and self._inflight:
                self._inflight = False
                self._wake.set()
            return
        try:
            if kind == "ask":
                await self._ask(content)
            elif kind in ("close", "reveal"):
                await self._close_or_reveal(content, reveal=kind == "reveal")
            elif kind == "end":
                await db(lambda: services.end_session(session=self.session))()
                await events.session_ended(session_id=self.session_id)
        except services.QuestionError as error:
            await self.send_json({"type": "error", "error": str(error)})

    async def _ask(self, content: dict[str, Any]) -> None:
        def ask() -> tuple[dict[str, Any], dict[str, Any]]:
            source = None
            if content.get("source") is not None:
                source_id = row_id(content["source"])
                source = (
                    Question.objects.filter(
                        pk=source_id, question_set__teacher_id=self.session.teacher_id
                    ).first()
                    if source_id is not None
                    else None
                )
                if source is None:
                    raise services.QuestionError("source")
                spec = services.spec_of(source)
            else:
                spec = services.question_spec(
                    kind=str(content.get("kind", "")),
                    prompt=str(content.get("prompt", "")),
                    options=[str(o) for o in content.get("options") or []],
                    key=content.get("key"),
                    tolerance=_float(content.get("tolerance")),
                    knowledge_points=[str(p) for p in content.get("knowledge_points") or []],
                    true_false_labels=_true_false_labels(),
                )
            question, _closed = services.ask_question(session=self.session, spec=spec, source=source)
            return selectors.question_payload(question), selectors.question_payload(question, with_key=True)

        payload, shown = await db(ask)()
        # Shown before the devices hear of it, so that no answer to it finds the screen
        # still on the previous question.
        self._opened(shown)
        await events.question_changed(session_id=self.session_id, question=payload, opened=shown)

    async def _close_or_reveal(self, content: dict[str, Any], *, reveal: bool) -> None:
        def act() -> tuple[dict[str, Any], dict[str, bool | None] | None] | None:
            question = selectors.current_question(self.session)
            if question is None:
                return None
            if not reveal:
                question = services.close_question(question=question)
                return selectors.question_payload(question), None
            if "key" in content:
                question = services.reveal_question(question=question, key=content["key"])
            else:
                question = services.reveal_question(question=question)
            verdicts = {str(sid): ok for sid, ok in question.answers.values_list("student_id", "is_correct")}
            return selectors.question_payload(question), verdicts

        done = await db(act)()
        if done is not None:
            payload, verdicts = done
            await events.question_changed(session_id=self.session_id, question=payload, verdicts=verdicts)

    # From the hub: never send to the socket here (see the module docstring).

    async def cls_question(self, event: dict[str, Any]) -> None:
        opened = event.get("opened")
        if opened is None:
            await self._reload()
        else:
            self._opened(opened)

    def _opened(self, question: dict[str, Any]) -> None:
        """A question just asked: it has no answers yet, so there is nothing to read."""
        if self.question is not None and self.question["id"] == question["id"]:
            return  # this screen asked it
        self.question, self.answers = question, {}
        self._urgent = True
        self._changed()

    async def cls_ended(self, event: dict[str, Any]) -> None:
        await self.close(code=CLOSE_ENDED)


def _float(raw: Any) -> float:
    try:
        return float(raw or 0)
    except (TypeError, ValueError):
        return 0.0


def _true_false_labels() -> tuple[str, str]:
    return (gettext("True"), gettext("False"))


class StudentConsumer(LiveConsumer):
    async def connect(self) -> None:
        if not self._route_session():
            await self.close(code=CLOSE_FORBIDDEN)
            return
        # Held by the hub before the state is read, so that a question opening in between
        # arrives after the state (the inbox is drained once connect returns).
        await hub().join(self)
        found = await db(device_grant)(self.scope, self.session_id)
        if found is None:
            hub().leave(self)
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.student_id, self.school_class_id, state = found
        self.question_id: int | None = (state["question"] or {}).get("id")
        self._window_start = time.monotonic()
        self._window_count = 0
        self.live = True
        await self.accept()
        await self.send_json(state)

    async def disconnect(self, code: int) -> None:
        hub().leave(self)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "answer":
            return
        question_id = content.get("question")
        if not isinstance(question_id, int) or question_id != self.question_id:
            await self.send_json({"type": "ack", "question": question_id, "outcome": "closed"})
            return
        now = time.monotonic()
        if now - self._window_start >= 1:
            self._window_start, self._window_count = now, 0
        self._window_count += 1
        if self._window_count > ANSWER_RATE:
            await self.send_json({"type": "ack", "question": question_id, "outcome": "slow_down"})
            return
        answer = services.AnswerIn(question_id, self.student_id, self.school_class_id, content.get("value"))
        # Returns once the answer is committed: the acknowledgement means it is durable.
        result = await hub().submit(answer, session_id=self.session_id)
        await self.send_json(
            {"type": "ack", "question": question_id, "outcome": result.outcome, "value": result.value}
        )

    async def cls_question(self, event: dict[str, Any]) -> None:
        question = event["question"]
        self.question_id = question["id"]
        verdicts = event.get("verdicts")
        if verdicts is None:  # the same message for every device, encoded once
            await self.send(text_data=event["message"])
            return
        message: dict[str, Any] = {"type": "question", "question": question}
        message["correct"] = verdicts.get(str(self.student_id))
        message["answered"] = str(self.student_id) in verdicts
        await self.send_json(message)

    async def cls_ended(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "ended"})
        await self.close(code=CLOSE_ENDED)
