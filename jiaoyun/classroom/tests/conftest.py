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

from channels.testing import WebsocketCommunicator

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


async def receive_until(
    comm: WebsocketCommunicator, predicate: Any, *, ack: bool = True, timeout: float = 5
) -> Any:
    """Read messages (acknowledging snapshots, as the screen page does) until one matches."""
    async with asyncio.timeout(timeout):
        while True:
            message = await comm.receive_json_from(timeout=timeout)
            if ack and message.get("type") == "snapshot":
                await comm.send_json_to({"type": "ack", "seq": message["seq"]})
            if predicate(message):
                return message


@dataclass
class Served:
    host: str
    port: int

    @property
    def http(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://{self.host}:{self.port}"


@pytest.fixture
def asgi_server(transactional_db: Any) -> Any:
    """The project's ASGI application (HTTP and WebSockets) under uvicorn in a thread, on a
    free loopback port, reading the test database."""
    import socket
    import threading

    import uvicorn
    from django.urls import get_resolver

    from jiaoyun.asgi import application

    # Import the URLconf (and the heavy modules behind it) before the first request does.
    get_resolver().url_patterns  # noqa: B018
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        threading.Event().wait(0.01)
    assert server.started
    yield Served("127.0.0.1", port)
    server.should_exit = True
    thread.join(timeout=10)
    # The live channels' database calls ran on asgiref's process-wide single thread, which
    # keeps its connection (`hub.db`); close it, or the test database cannot be dropped at
    # the end of the run ("being accessed by other users").
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=10)


def session_cookie(user: Any) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"
