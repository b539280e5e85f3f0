"""The live channels over real sockets: uvicorn serving the project's ASGI application and
clients of the `websockets` package, signed in with session cookies."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from jiaoyun.classroom import services
from jiaoyun.classroom.models import Answer
from jiaoyun.classroom.tests.conftest import Room, Served, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


def dial(server: Served, path: str, cookie: str) -> Any:
    return connect(
        server.ws + path, origin=server.http, additional_headers={"Cookie": cookie}, open_timeout=5
    )


async def next_message(ws: Any, predicate: Any) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == "snapshot":
                await ws.send(json.dumps({"type": "ack", "seq": message["seq"]}))
            if predicate(message):
                return message


def test_a_class_over_real_sockets(asgi_server: Served, room: Room, room_b: Room) -> None:
    session = services.start_session(teacher=room.teacher, school_class=room.school_class)
    teacher = session_cookie(room.teacher_user)
    students = room.students[:3]
    cookies = [session_cookie(s.user) for s in students]
    outsider = session_cookie(room_b.students[0].user)
    screen_path = f"/ws/classroom/{session.pk}/screen/"
    student_path = f"/ws/classroom/{session.pk}/student/"
    page = httpx.get(
        f"{asgi_server.http}/classroom/{session.pk}/student/", headers={"Cookie": cookies[0]}, timeout=30
    )

    async def scenario() -> tuple[list[int], dict[str, Any], list[str]]:
        refused = []
        for cookie, path in [(outsider, student_path), (cookies[0], screen_path), ("", student_path)]:
            try:
                async with dial(asgi_server, path, cookie):
                    pass
            except InvalidStatus as error:
                refused.append(error.response.status_code)
        outcomes = []
        async with dial(asgi_server, screen_path, teacher) as screen:
            await next_message(screen, lambda m: m["type"] == "snapshot")
            devices = [await dial(asgi_server, student_path, c).__aenter__() for c in cookies]
            for device in devices:
                await next_message(device, lambda m: m["type"] == "state")
            await screen.send(
                json.dumps({"type": "ask", "kind": "true_false", "prompt": "水在 0℃ 结冰", "key": True})
            )
            for device in devices:
                qid = (await next_message(device, lambda m: m["type"] == "question"))["question"]["id"]
            for device, value in zip(devices, [True, True, False], strict=True):
                await device.send(json.dumps({"type": "answer", "question": qid, "value": value}))
                outcomes.append((await next_message(device, lambda m: m["type"] == "ack"))["outcome"])
            # The first tablet drops and comes back mid-question, resending its answer.
            await devices[0].close()
            devices[0] = await dial(asgi_server, student_path, cookies[0]).__aenter__()
            await next_message(devices[0], lambda m: m["type"] == "state")
            await devices[0].send(json.dumps({"type": "answer", "question": qid, "value": True}))
            outcomes.append((await next_message(devices[0], lambda m: m["type"] == "ack"))["outcome"])
            await screen.send(json.dumps({"type": "reveal"}))
            snap = await next_message(
                screen, lambda m: m["type"] == "snapshot" and m["question"]["status"] == "revealed"
            )
            for device in devices:
                await device.close()
        return refused, snap, outcomes

    refused, snap, outcomes = asyncio.run(scenario())
    assert page.status_code == 200
    assert refused == [403, 403, 403]
    assert outcomes == ["accepted", "accepted", "accepted", "unchanged"]
    assert snap["answered"] == sorted(s.pk for s in students)
    assert snap["correct"] == sorted(s.pk for s in students[:2])
    assert snap["distribution"]["counts"] == [2, 1]
    assert Answer.objects.filter(session_question__session=session).count() == 3
