"""Fixtures of the live classroom tests: the demo teachers' classes with a signed-in user
for every student, and WebSocket communicators that connect as a given user."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import types
from dataclasses import dataclass
from typing import Any

import pytest
from channels.routing import URLRouter

if importlib.util.find_spec("daphne") is None:
    # channels.testing imports Daphne for its live-server test case, which these tests do
    # not use (they serve with uvicorn); without Daphne installed the import fails.
    class _NoDaphne:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("Daphne is not installed")

    _stub = types.ModuleType("daphne.testing")
    _stub.DaphneProcess = _NoDaphne  # type: ignore[attr-defined]
    sys.modules.setdefault("daphne", types.ModuleType("daphne"))
    sys.modules.setdefault("daphne.testing", _stub)

from channels.testing import WebsocketCommunicator  # noqa: E402

from jiaoyun.classroom.routing import websocket_urlpatterns

APP = URLRouter(websocket_urlpatterns)


@dataclass
class Room:
    school_class: Any
    teacher: Any  # core.Teacher
    teacher_user: Any
    students: list[Any]  # core.Student, each with a user


def _room(demo: Any, teacher_username: str) -> Room:
    from django.contrib.auth import get_user_model

    from jiaoyun.core.models import SchoolClass, Student, Teacher

    User = get_user_model()
    teacher_user = demo.user(teacher_username)
    teacher = Teacher.objects.get(user=teacher_user)
    school_class = SchoolClass.objects.filter(head_teacher=teacher).order_by("pk").first()
    students = list(
        Student.objects.filter(school_class=school_class, status=Student.Status.ENROLLED)
        .select_related("user")
        .order_by("pk")
    )
    for student in students:
        if student.user_id is None:
            student.user = User.objects.create_user(
                username=f"s{student.pk}", password=None, display_name=student.name
            )
            student.save(update_fields=["user"])
    return Room(school_class, teacher, teacher_user, students)


@pytest.fixture
def room(demo: Any) -> Room:
    return _room(demo, "teacher")


@pytest.fixture
def room_b(demo: Any) -> Room:
    return _room(demo, "teacher_b")


def communicator(user: Any, path: str) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(APP, path)
    comm.scope["user"] = user
    return comm


async def receive_until(comm: WebsocketCommunicator, predicate: Any, *, ack: bool = True, timeout: float = 5) -> Any:
    """Read messages (acknowledging snapshots, as the screen page does) until one matches."""
    async with asyncio.timeout(timeout):
        while True:
            message = await comm.receive_json_from(timeout=timeout)
            if ack and message.get("type") == "snapshot":
                await comm.send_json_to({"type": "ack", "seq": message["seq"]})
            if predicate(message):
                return message
