"""The hub of a worker process: events of a session reach exactly that session's sockets in
every process, once each (here two processes on Redis), and a device's handshake reads what
the general path (Django's session authentication and the selectors) would."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from jiaoyun.classroom import hub as hubs
from jiaoyun.classroom import selectors, services
from jiaoyun.classroom.tests.conftest import Room, session_cookie

REDIS_URL = os.environ.get("JIAOYUN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


class Socket:
    """A live consumer as the hub sees it: what reached it, in order."""

    def __init__(self, session_id: int) -> None:
        self.session_id = session_id
        self.events: list[Any] = []
        self.folded: list[Any] = []

    def deliver(self, event: dict[str, Any]) -> None:
        self.events.append(event["n"])

    def fold(self, answers: list[list[Any]]) -> None:
        self.folded.extend(answers)


def redis_layer(prefix: str) -> Any:
    from channels_redis.core import RedisChannelLayer

    return RedisChannelLayer(hosts=[REDIS_URL + "?socket_timeout=30"], prefix=prefix, capacity=2000)


def redis_reachable() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping())
    except redis.RedisError:
        return False


# The other worker process: a hub holding a screen and a device of session 1 and a device
# of session 2; it prints what each got once the sender's last event has arrived.
OTHER_PROCESS = """
import asyncio, json, sys
import django
django.setup()
from jiaoyun.classroom import hub as hubs
from jiaoyun.classroom.tests.test_hub import Socket, redis_layer

async def main():
    hub = hubs.Hub(layer=redis_layer(sys.argv[1]))
    screen, device, elsewhere = Socket(1), Socket(1), Socket(2)
    await hub.join(screen, screen=True)
    await hub.join(device)
    await hub.join(elsewhere)
    print("ready", flush=True)
    async with asyncio.timeout(30):
        while 99 not in device.events:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)  # anything more (a copy) would arrive now
    print(json.dumps({"screen": [screen.events, screen.folded], "device": device.events,
                      "elsewhere": elsewhere.events}), flush=True)

asyncio.run(main())
"""


@pytest.mark.skipif(not redis_reachable(), reason="no Redis")
def test_events_reach_exactly_the_sessions_sockets_in_every_process() -> None:
    prefix = f"test-classroom-{uuid.uuid4().hex[:8]}"
    root = Path(__file__).resolve().parents[3]
    other = subprocess.Popen(
        [sys.executable, "-c", OTHER_PROCESS, prefix],
        cwd=root,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "jiaoyun.settings"},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert other.stdout is not None
    assert other.stdout.readline().strip() == "ready"

    async def scenario() -> tuple[Socket, Socket, Socket]:
        hub = hubs.Hub(layer=redis_layer(prefix))
        screen, device, elsewhere = Socket(1), Socket(1), Socket(3)
        for socket in (screen, device, elsewhere):
            await hub.join(socket, screen=socket is screen)
        await hub.publish(1, {"type": "cls.question", "n": 1})
        hub._publish({1: [[7, 100, 2, True]], 2: [[8, 200, 0, None]]})
        await hub.publish(2, {"type": "cls.question", "n": 2})
        hub._publish({1: [[7, 101, 3, False]]})
        await hub.publish(1, {"type": "cls.question", "n": 99}, now=True)
        await asyncio.sleep(0.3)  # this process's own message comes back to it meanwhile
        return screen, device, elsewhere

    # On a thread of its own: a browser test earlier in this worker leaves Playwright's loop
    # running on this one, where neither asyncio.run nor async_to_sync may start another.
    with ThreadPoolExecutor(max_workers=1) as thread:
        here = thread.submit(asyncio.run, scenario()).result()
    out, _ = other.communicate(timeout=60)
    there = json.loads(out)
    # In this process: at once, once each, only the session's sockets.
    assert (here[0].events, here[1].events, here[2].events) == ([1, 99], [1, 99], [])
    assert here[0].folded == [[7, 100, 2, True], [7, 101, 3, False]]
    # In the other process: the same, in the order sent, once each.
    assert there["screen"] == [[1, 99], [[7, 100, 2, True], [7, 101, 3, False]]]
    assert there["device"] == [1, 99]
    assert there["elsewhere"] == [2]


@pytest.mark.django_db
def test_a_devices_handshake_reads_what_the_general_path_reads(room: Room, room_b: Room, demo: Any) -> None:
    session = services.start_session(teacher=room.teacher, school_class=room.school_class)
    spec = services.question_spec(kind="multiple", prompt="?", options=["A", "B", "C"], key=[0, 2])
    question, _ = services.ask_question(session=session, spec=spec)
    answered, silent, inactive, rehashed = room.students[:4]
    services.submit_answer(question_id=question.pk, student=answered, raw=[2, 0])
    services.reveal_question(question=question)
    cookies = {
        "answered": session_cookie(answered.user),
        "silent": session_cookie(silent.user),
        "inactive": session_cookie(inactive.user),
        "rehashed": session_cookie(rehashed.user),
        "other class": session_cookie(room_b.students[0].user),
        "teacher": session_cookie(room.teacher_user),
        "parent": session_cookie(demo.user("parent")),
        "unknown key": "sessionid=" + "x" * 32,
        "no cookie": "",
    }
    forged = SessionStore()
    forged.update(
        {SESSION_KEY: str(answered.user.pk), BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0]}
    )
    forged.create()  # a session naming a user without the hash of their password
    cookies["no hash"] = f"sessionid={forged.session_key}"
    inactive.user.is_active = False
    inactive.user.save(update_fields=["is_active"])
    rehashed.user.set_password("changed")
    rehashed.user.save(update_fields=["password"])

    def general(cookie: str, session_id: int) -> Any:
        scope = {"headers": [(b"cookie", cookie.encode())]}
        student = selectors.live_student(hubs.socket_user(scope), session_id)
        if student is None:
            return None
        return student.pk, student.school_class_id, selectors.live_state(session_id, student.pk)

    granted = {}
    for name, cookie in cookies.items():
        scope = {"headers": [(b"cookie", cookie.encode())]}
        fast = hubs.device_grant(scope, session.pk)
        assert fast == general(cookie, session.pk), name
        granted[name] = fast
    assert sorted(name for name, grant in granted.items() if grant) == ["answered", "silent"]
    assert granted["answered"] is not None
    assert granted["answered"][2]["my_answer"] == [0, 2]
    assert granted["answered"][2]["correct"] is True
    assert granted["answered"][2]["question"]["key"] == [0, 2]
    services.end_session(session=session)
    assert hubs.device_grant({"headers": [(b"cookie", cookies["answered"].encode())]}, session.pk) is None


def test_a_socket_that_stops_reading_is_closed_rather_than_queued_for() -> None:
    from jiaoyun.classroom.consumers import StudentConsumer

    consumer = StudentConsumer()
    consumer.inbox = asyncio.Queue()
    consumer._overflowed = False
    for n in range(3 * hubs.INBOX):
        consumer.deliver({"type": "cls.question", "n": n})
    assert consumer.inbox.qsize() == 1
    assert consumer.inbox.get_nowait() == {"type": "cls.stalled"}
