"""The live channels: the main screen (run by the teacher) and each student's device.

The screen does not get one message per answer. Its consumer keeps the tally of the open
question in memory and pushes a snapshot at most every SNAPSHOT_INTERVAL seconds, and only
after the screen acknowledged the previous one: a screen that stops reading holds one
unacknowledged snapshot and nothing queues behind it (later changes coalesce into the next
snapshot). The consumer's own loop never blocks on the screen's socket, so its channel-layer
queue keeps draining too. A screen silent for STALL_SECONDS is disconnected; its page
reconnects and gets a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils.translation import gettext

from jiaoyun.accounts.scopes import scope_for_user
from jiaoyun.classroom import events, grading, selectors, services
from jiaoyun.classroom.models import LiveSession, Question, SessionQuestion
from jiaoyun.core.models import Student

SNAPSHOT_INTERVAL = float(getattr(settings, "CLASSROOM_SNAPSHOT_INTERVAL", 0.1))
STALL_SECONDS = float(getattr(settings, "CLASSROOM_STALL_SECONDS", 30))
# Answers a device may send per second; more is a stuck key or a script.
ANSWER_RATE = 5

CLOSE_FORBIDDEN = 4403
CLOSE_STALLED = 4408
CLOSE_ENDED = 4000


def _db(function: Any) -> Any:
    """Run ORM code on the worker's database thread, keeping its connection open.

    Channels' `database_sync_to_async` closes and reopens the connection around every call
    when connections are not persistent (CONN_MAX_AGE=0): for SQLite in WAL mode that is a
    checkpoint and two fsyncs per answer, which is most of an answer's cost. The live
    channels make thousands of short calls a second on one thread, so they keep that
    thread's connection and drop it only when it fails."""

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except DatabaseError:
            connection.close()
            raise

    return sync_to_async(call, thread_sensitive=True)


class ScreenConsumer(AsyncJsonWebsocketConsumer):
    session: LiveSession

    async def connect(self) -> None:
        self.session_id = int(self.scope["url_route"]["kwargs"]["session_id"])
        session = await _db(self._authorize)(self.scope.get("user"))
        if session is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.session = session
        self.question: dict[str, Any] | None = None
        self.answers: dict[int, tuple[Any, bool | None]] = {}
        self.roster: list[dict[str, Any]] = []
        self._seq = 0
        self._inflight = False
        self._dirty = True
        self._sent_at = 0.0
        self._wake = asyncio.Event()
        await self.channel_layer.group_add(events.screen_group(self.session_id), self.channel_name)
        await self.accept()
        await self._reload()
        await self.send_json({"type": "roster", "students": self.roster, "code": session.join_code})
        self._pusher = asyncio.create_task(self._push_loop())

    def _authorize(self, user: Any) -> LiveSession | None:
        if user is None or not user.is_authenticated:
            return None
        session = selectors.teacher_session(scope_for_user(user), self.session_id)
        return session if session is not None and session.is_open else None

    async def disconnect(self, code: int) -> None:
        pusher = getattr(self, "_pusher", None)
        if pusher is not None:
            pusher.cancel()
        await self.channel_layer.group_discard(events.screen_group(self.session_id), self.channel_name)

    async def _reload(self) -> None:
        state = await _db(lambda: selectors.screen_state(self.session))()
        self.roster, self.question, self.answers = state.roster, state.question, state.answers
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
                if delay > 0:
                    await asyncio.sleep(delay)
                self._dirty = False
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
                await _db(lambda: services.end_session(session=self.session))()
                await events.session_ended(session_id=self.session_id)
        except services.QuestionError as error:
            await self.send_json({"type": "error", "error": str(error)})

    async def _ask(self, content: dict[str, Any]) -> None:
        def ask() -> dict[str, Any]:
            source = None
            if content.get("source") is not None:
                source = Question.objects.filter(
                    pk=content["source"], question_set__teacher_id=self.session.teacher_id
                ).first()
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
            return selectors.question_payload(question)

        payload = await _db(ask)()
        await events.question_changed(session_id=self.session_id, question=payload)

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

        done = await _db(act)()
        if done is not None:
            payload, verdicts = done
            await events.question_changed(session_id=self.session_id, question=payload, verdicts=verdicts)

    # From the channel layer: never send to the socket here (see the module docstring).

    async def cls_answer(self, event: dict[str, Any]) -> None:
        if self.question is not None and event["question"] == self.question["id"]:
            self.answers[event["student"]] = (event["value"], event["correct"])
            self._changed()

    async def cls_question(self, event: dict[str, Any]) -> None:
        await self._reload()

    async def cls_ended(self, event: dict[str, Any]) -> None:
        await self.close(code=CLOSE_ENDED)


def _float(raw: Any) -> float:
    try:
        return float(raw or 0)
    except (TypeError, ValueError):
        return 0.0


def _true_false_labels() -> tuple[str, str]:
    return (gettext("True"), gettext("False"))


class StudentConsumer(AsyncJsonWebsocketConsumer):
    student: Student

    async def connect(self) -> None:
        self.session_id = int(self.scope["url_route"]["kwargs"]["session_id"])
        found = await _db(self._authorize)(self.scope.get("user"))
        if found is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.student, state = found
        self.question_id: int | None = (state["question"] or {}).get("id")
        self._window_start = time.monotonic()
        self._window_count = 0
        await self.channel_layer.group_add(events.student_group(self.session_id), self.channel_name)
        await self.accept()
        await self.send_json(state)

    def _authorize(self, user: Any) -> tuple[Student, dict[str, Any]] | None:
        student = selectors.student_of(user)
        if student is None:
            return None
        session = selectors.student_session(student, self.session_id)
        if session is None or not session.is_open or session.mode != LiveSession.Mode.LIVE:
            return None
        return student, selectors.student_state(session, student)

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(events.student_group(self.session_id), self.channel_name)

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
        result = await _db(self._submit)(question_id, content.get("value"))
        if result.counts:
            await events.answer_counted(
                session_id=self.session_id,
                question_id=question_id,
                student_id=self.student.pk,
                value=result.value,
                is_correct=result.is_correct,
            )
        await self.send_json(
            {"type": "ack", "question": question_id, "outcome": result.outcome, "value": result.value}
        )

    def _submit(self, question_id: int, raw: Any) -> services.Submitted:
        return services.submit_answer(question_id=question_id, student=self.student, raw=raw)

    async def cls_question(self, event: dict[str, Any]) -> None:
        question = event["question"]
        self.question_id = question["id"]
        message: dict[str, Any] = {"type": "question", "question": question}
        verdicts = event.get("verdicts")
        if verdicts is not None:
            message["correct"] = verdicts.get(str(self.student.pk))
            message["answered"] = str(self.student.pk) in verdicts
        await self.send_json(message)

    async def cls_ended(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "ended"})
        await self.close(code=CLOSE_ENDED)
