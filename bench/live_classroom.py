"""Live classroom benchmark: the production server (uvicorn, several workers, Redis channel
layer, a scratch database) and, from this second process on loopback, classrooms of one
main screen and 45 students answering 3 questions each, answers spread over 3 seconds.

    .venv/bin/python bench/live_classroom.py [--classrooms 20,50,100] [--students 45]
        [--questions 3] [--spread 3] [--workers 2] [--database sqlite|postgres]
        [--redis redis://127.0.0.1:6379/0] [--no-ceiling]

For each size it checks that every answer was counted (by the screen's final snapshot and
by the database) and prints the answer-to-screen latency: from a student's send to the first
screen snapshot that shows that student as answered, and the server's CPU time (from /proc,
so independent of what else the machine runs) per socket handshake and per answer.

Side by side, the same clients run against the ceiling: a bare `websockets` server in one
process (`serve_ceiling`) speaking the same protocol with the same fan-in and throttled,
acknowledged snapshot fan-out, but no Django, no database and no channel layer.

Everything runs on 127.0.0.1 and stops on its own: each question times out after
`spread + 30` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scratch_env(args: argparse.Namespace, workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    redis_url = args.redis
    if "?" not in redis_url:
        # redis-py 8 reads with a 5 s timeout by default, the same 5 s for which
        # channels-redis blocks on an empty channel: an idle consumer then dies with
        # "Timeout reading"; a longer socket timeout keeps the blocking read legal. Its
        # pool also refuses a 101st concurrent command instead of waiting, which a burst
        # of handshakes (group_add) reaches.
        redis_url += "?socket_timeout=30&max_connections=2000"
    if not args.redis:
        redis_url = ""
    env.update(
        JIAOYUN_VAR_DIR=str(workdir),
        JIAOYUN_REDIS_URL=redis_url,
        JIAOYUN_FAST_PASSWORD_HASHER="1",
        JIAOYUN_LOG_LEVEL="ERROR",
        JIAOYUN_DEBUG="0",
    )
    if args.database == "postgres":
        import psycopg

        name = f"jiaoyun_bench_{os.getpid()}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        env["JIAOYUN_DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        env["JIAOYUN_DB_POOL"] = "1"
    else:
        env["JIAOYUN_DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    return env


def drop_scratch(env: dict[str, str], args: argparse.Namespace) -> None:
    if args.database == "postgres":
        import psycopg

        name = env["JIAOYUN_DATABASE_URL"].rsplit("/", 1)[1]
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- data (this process talks to the scratch database only before the clients start) --


def seed(classrooms: int, students: int) -> list[dict[str, Any]]:
    """A school with `classrooms` classes, a teacher and `students` students each, every one
    with a user and a signed-in session. Returns [{class_id, teacher cookie, student ids and
    cookies}]."""
    import datetime as dt

    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from jiaoyun.core.models import District, Grade, School, SchoolClass, Student, Teacher

    User = get_user_model()
    district = District.objects.create(code="BENCH", name="基准区")
    school = School.objects.create(district=district, code="B001", name="基准中学", kind="junior")
    grade = Grade.objects.create(school=school, level=7, entry_year=2026)
    unusable = make_password(None)
    born = dt.date(2013, 5, 1)
    users = User.objects.bulk_create(
        [User(username=f"t{c}", password=unusable) for c in range(classrooms)]
        + [User(username=f"s{c}_{i}", password=unusable) for c in range(classrooms) for i in range(students)]
    )
    teacher_users, student_users = users[:classrooms], users[classrooms:]
    teachers = Teacher.objects.bulk_create(
        [
            Teacher(staff_no=f"BT{c:05d}", name=f"教师{c}", gender="female", birth_date=dt.date(1985, 1, 1),
                    title="first", qualification="bachelor", school=school, user=teacher_users[c])
            for c in range(classrooms)
        ]
    )  # fmt: skip
    classes = SchoolClass.objects.bulk_create(
        [
            SchoolClass(school=school, grade=grade, number=c + 1, head_teacher=teachers[c])
            for c in range(classrooms)
        ]
    )
    pupils = Student.objects.bulk_create(
        [
            Student(student_no=f"BS{c:03d}{i:03d}", name=f"学生{c}-{i}", gender="male", birth_date=born,
                    enrolment_year=2026, school=school, school_class=classes[c],
                    user=student_users[c * students + i])
            for c in range(classrooms) for i in range(students)
        ]
    )  # fmt: skip

    store = SessionStore()
    expire = timezone.now() + dt.timedelta(days=1)
    rows, cookies = [], {}
    for user in users:
        key = get_random_string(32)
        data = {
            "_auth_user_id": str(user.pk),
            "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
            "_auth_user_hash": user.get_session_auth_hash(),
        }
        rows.append(Session(session_key=key, session_data=store.encode(data), expire_date=expire))
        cookies[user.pk] = f"sessionid={key}"
    Session.objects.bulk_create(rows)
    return [
        {
            "class_id": classes[c].pk,
            "teacher_id": teachers[c].pk,
            "teacher_cookie": cookies[teacher_users[c].pk],
            "students": [
                (pupils[c * students + i].pk, cookies[student_users[c * students + i].pk])
                for i in range(students)
            ],
        }
        for c in range(classrooms)
    ]


def open_sessions(rooms: list[dict[str, Any]]) -> list[int]:
    from jiaoyun.classroom import services
    from jiaoyun.core.models import SchoolClass, Teacher

    ids = []
    for room in rooms:
        session = services.start_session(
            teacher=Teacher.objects.get(pk=room["teacher_id"]),
            school_class=SchoolClass.objects.get(pk=room["class_id"]),
        )
        ids.append(session.pk)
    return ids


def counted_in_database(session_ids: list[int]) -> int:
    from jiaoyun.classroom.models import Answer

    return Answer.objects.filter(session_question__session_id__in=session_ids).count()


# -- clients --


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    sent: int = 0
    accepted: int = 0
    counted_on_screen: int = 0
    errors: list[str] = field(default_factory=list)


async def dial(url: str, origin: str, cookie: str, gate: asyncio.Semaphore) -> Any:
    from websockets.asyncio.client import connect

    async with gate:  # a burst of thousands of handshakes overflows the listen queue
        return await connect(
            url, origin=origin, additional_headers={"Cookie": cookie}, open_timeout=60, ping_interval=None
        )


async def classroom(
    room: dict[str, Any],
    session_id: int,
    base: str,
    *,
    questions: int,
    spread: float,
    tally: Tally,
    gate: asyncio.Semaphore,
    rng: random.Random,
    joined: Any,
) -> None:
    origin = base.replace("ws://", "http://")
    screen = await dial(f"{base}/ws/classroom/{session_id}/screen/", origin, room["teacher_cookie"], gate)
    expected = len(room["students"])
    sent_at: dict[tuple[int, int], float] = {}
    state: dict[str, Any] = {"qid": None, "seen": set(), "all_in": asyncio.Event(), "closed": None}
    closed_event = asyncio.Event()
    done: set[int] = set()

    async def read_screen() -> None:
        async for raw in screen:
            message = json.loads(raw)
            if message["type"] != "snapshot":
                continue
            now = time.perf_counter()
            question = message["question"]
            if question is not None and state["qid"] is None and question["id"] not in done:
                state["qid"] = question["id"]
            if question is not None and question["id"] == state["qid"]:
                for sid in message["answered"]:
                    if sid not in state["seen"] and (question["id"], sid) in sent_at:
                        state["seen"].add(sid)
                        tally.latencies.append(now - sent_at[(question["id"], sid)])
                if len(message["answered"]) >= expected:
                    state["all_in"].set()
                if question["status"] == "closed":
                    state["closed"] = message
                    closed_event.set()
            await screen.send(json.dumps({"type": "ack", "seq": message["seq"]}))

    async def read_device(ws: Any, sid: int) -> None:
        answered: set[int] = set()
        async for raw in ws:
            message = json.loads(raw)
            kind = message["type"]
            if kind == "question" and message["question"]["status"] == "open":
                qid = message["question"]["id"]
                if qid not in answered:
                    answered.add(qid)
                    asyncio.create_task(answer_later(ws, sid, qid))
            elif kind == "ack":
                if message["outcome"] == "accepted":
                    tally.accepted += 1
                else:
                    tally.errors.append(message["outcome"])

    async def answer_later(ws: Any, sid: int, qid: int) -> None:
        await asyncio.sleep(rng.uniform(0, spread))
        sent_at[(qid, sid)] = time.perf_counter()
        tally.sent += 1
        await ws.send(json.dumps({"type": "answer", "question": qid, "value": rng.randrange(4)}))

    # The screen reads (and acknowledges) from the start, as the page does.
    readers = [asyncio.create_task(read_screen())]
    devices = await asyncio.gather(
        *[dial(f"{base}/ws/classroom/{session_id}/student/", origin, c, gate) for _sid, c in room["students"]]
    )
    readers += [
        asyncio.create_task(read_device(ws, sid))
        for ws, (sid, _c) in zip(devices, room["students"], strict=True)
    ]
    await joined()  # every classroom has connected: handshakes and answers are measured apart
    try:
        for number in range(questions):
            state.update(qid=None, seen=set(), all_in=asyncio.Event(), closed=None)
            closed_event.clear()
            ask = {
                "type": "ask",
                "kind": "single",
                "prompt": f"Q{number + 1}",
                "options": ["A", "B", "C", "D"],
                "key": 0,
            }
            await screen.send(json.dumps(ask))
            deadline = time.perf_counter() + spread + 30
            try:
                await asyncio.wait_for(state["all_in"].wait(), max(1.0, deadline - time.perf_counter()))
            except TimeoutError:
                tally.errors.append(f"class {room['class_id']} Q{number + 1}: not all answers shown in time")
            await screen.send(json.dumps({"type": "close"}))
            try:
                await asyncio.wait_for(closed_event.wait(), 30)
                tally.counted_on_screen += len(state["closed"]["answered"])
            except TimeoutError:
                tally.errors.append(f"class {room['class_id']} Q{number + 1}: no closed snapshot")
            if state["qid"] is not None:
                done.add(state["qid"])
    finally:
        for task in readers:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in [screen, *devices]), return_exceptions=True)


async def run_clients(
    rooms: list[dict[str, Any]], session_ids: list[int], port: int, args: argparse.Namespace, cpu: Any
) -> tuple[Tally, float, float]:
    """Returns the tally, the seconds from the first handshake to the last close, and the
    server's CPU seconds spent while the sockets connected."""
    tally = Tally()
    gate = asyncio.Semaphore(64)
    rng = random.Random(7)
    cpu_start = cpu()
    waiting = [len(rooms)]
    all_joined = asyncio.Event()
    handshake_cpu = [0.0]

    async def joined() -> None:
        waiting[0] -= 1
        if waiting[0] == 0:
            handshake_cpu[0] = cpu() - cpu_start
            all_joined.set()
        await all_joined.wait()

    start = time.perf_counter()
    await asyncio.gather(
        *[
            classroom(room, sid, f"ws://127.0.0.1:{port}", questions=args.questions, spread=args.spread,
                      tally=tally, gate=gate, rng=rng, joined=joined)
            for room, sid in zip(rooms, session_ids, strict=True)
        ]
    )  # fmt: skip
    return tally, time.perf_counter() - start, handshake_cpu[0]


# -- the ceiling: the same protocol on a bare `websockets` server, one process, no Django --


def serve_ceiling(port: int, identities_file: str, students: int) -> None:
    """A minimal server of the live classroom's protocol: cookie -> identity from a file
    (instead of sessions in a database), rooms in memory, each answer folded into its
    room's tally, snapshots to the screen at most every 0.1 s and only once the previous one
    was acknowledged, the question to every device when it opens and closes."""
    from websockets.asyncio.server import broadcast, serve

    from jiaoyun.classroom import grading

    identities: dict[str, list[Any]] = json.loads(Path(identities_file).read_text())
    options = ["A", "B", "C", "D"]
    interval = 0.1
    next_question = [0]

    class Room:
        def __init__(self) -> None:
            self.devices: set[Any] = set()
            self.question: dict[str, Any] | None = None
            self.answers: dict[int, Any] = {}
            self.wake = asyncio.Event()
            self.dirty = self.urgent = True

        def changed(self, urgent: bool = False) -> None:
            self.dirty = True
            self.urgent = self.urgent or urgent
            self.wake.set()

        def snapshot(self, seq: int) -> str:
            q = self.question
            snap: dict[str, Any] = {"type": "snapshot", "seq": seq, "question": q, "total": students,
                                    "answered": sorted(self.answers)}  # fmt: skip
            if q is not None:
                snap["distribution"] = grading.distribution(q["kind"], q["options"], self.answers.values())
            return json.dumps(snap)

    rooms: dict[int, Room] = {}

    async def screen(ws: Any, room: Room) -> None:
        loop = asyncio.get_running_loop()
        state = {"seq": 0, "inflight": False, "sent_at": 0.0}
        await ws.send(json.dumps({"type": "roster", "students": [], "code": "000000"}))

        async def push() -> None:
            while True:
                if room.dirty and not state["inflight"]:
                    delay = state["sent_at"] + interval - loop.time()
                    if delay > 0 and not room.urgent:
                        await asyncio.sleep(delay)
                    room.dirty = room.urgent = False
                    state["inflight"] = True
                    state["seq"] += 1
                    state["sent_at"] = loop.time()
                    await ws.send(room.snapshot(state["seq"]))
                    continue
                await room.wake.wait()
                room.wake.clear()

        pusher = asyncio.create_task(push())
        try:
            async for raw in ws:
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "ack":
                    if message.get("seq") == state["seq"]:
                        state["inflight"] = False
                        room.wake.set()
                    continue
                if kind == "ask":
                    next_question[0] += 1
                    room.question = {"id": next_question[0], "kind": message["kind"], "prompt": message["prompt"],
                                     "options": message.get("options") or options, "status": "open"}  # fmt: skip
                    room.answers = {}
                elif kind == "close" and room.question is not None:
                    room.question = {**room.question, "status": "closed"}
                else:
                    continue
                broadcast(room.devices, json.dumps({"type": "question", "question": room.question}))
                room.changed(urgent=True)
        finally:
            pusher.cancel()

    async def device(ws: Any, room: Room, student_id: int) -> None:
        room.devices.add(ws)
        try:
            await ws.send(json.dumps({"type": "state", "session_open": True, "question": room.question}))
            async for raw in ws:
                message = json.loads(raw)
                q = room.question
                if message.get("type") != "answer":
                    continue
                if q is None or q["status"] != "open" or message.get("question") != q["id"]:
                    await ws.send(
                        json.dumps({"type": "ack", "question": message.get("question"), "outcome": "closed"})
                    )
                    continue
                value = message.get("value")
                outcome = "accepted" if student_id not in room.answers else (
                    "unchanged" if room.answers[student_id] == value else "changed")  # fmt: skip
                room.answers[student_id] = value
                room.changed()
                await ws.send(
                    json.dumps({"type": "ack", "question": q["id"], "outcome": outcome, "value": value})
                )
        finally:
            room.devices.discard(ws)

    async def handler(ws: Any) -> None:
        parts = ws.request.path.strip("/").split("/")  # ws/classroom/<id>/<role>
        identity = identities.get(ws.request.headers.get("Cookie", ""))
        if len(parts) != 4 or identity is None or identity[0] != parts[3]:
            await ws.close(4403)
            return
        room = rooms.setdefault(int(parts[2]), Room())
        await (screen(ws, room) if parts[3] == "screen" else device(ws, room, identity[1]))

    async def main() -> None:
        async with serve(
            handler, "127.0.0.1", port, ping_interval=None, max_queue=None, backlog=4096
        ) as server:
            await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


def start_ceiling(
    rooms: list[dict[str, Any]], workdir: Path, port: int, students: int
) -> subprocess.Popen[bytes]:
    identities: dict[str, list[Any]] = {}
    for room in rooms:
        identities[room["teacher_cookie"]] = ["screen", room["teacher_id"]]
        for sid, cookie in room["students"]:
            identities[cookie] = ["student", sid]
    path = workdir / "ceiling-identities.json"
    path.write_text(json.dumps(identities))
    server = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve-ceiling",
            str(port),
            "--identities",
            str(path),
            "--students",
            str(students),
        ]
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.1)
    server.terminate()
    raise SystemExit("the ceiling server did not start")


def server_cpu_seconds(server: subprocess.Popen[bytes]) -> float:
    """User + system CPU of the server and its workers (Linux /proc), to report the cost of
    an answer independently of what else the machine is doing."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [server.pid]
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def start_server(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    profile = os.environ.get("BENCH_PROFILE")  # a path: profile a one-worker server there
    prefix = [sys.executable, "-m", "cProfile", "-o", profile] if profile else []
    server = subprocess.Popen(
        [*prefix, str(ROOT / ".venv/bin/uvicorn"), "jiaoyun.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--log-level", "warning", "--no-access-log", "--backlog", "4096"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=30) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.2)
    else:
        server.terminate()
        raise SystemExit("the server did not start")
    # Each worker imports the URLconf on its first request; get that out of the way.
    for _ in range(4 * workers):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=30).read()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--classrooms", default="20,50,100")
    parser.add_argument("--students", type=int, default=45)
    parser.add_argument("--questions", type=int, default=3)
    parser.add_argument("--spread", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--redis", default="redis://127.0.0.1:6379/0", help="empty: in-memory layer, one worker"
    )
    parser.add_argument("--no-ceiling", action="store_true", help="skip the bare websockets server")
    parser.add_argument("--serve-ceiling", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--identities", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_ceiling:
        serve_ceiling(args.serve_ceiling, args.identities, args.students)
        return
    sizes = [int(s) for s in args.classrooms.split(",")]

    with tempfile.TemporaryDirectory(prefix="jiaoyun-bench-") as tmp:
        env = scratch_env(args, Path(tmp))
        os.environ.update({k: v for k, v in env.items() if k.startswith("JIAOYUN_")})
        os.environ["DJANGO_SETTINGS_MODULE"] = "jiaoyun.settings"
        import django
        from django.core.management import call_command
        from django.db import connections

        django.setup()
        server = ceiling = None
        try:
            call_command("migrate", verbosity=0)
            rooms = seed(max(sizes), args.students)
            port = free_port()
            connections.close_all()
            server = start_server(env, port, args.workers)
            if not args.no_ceiling:
                ceiling_port = free_port()
                ceiling = start_ceiling(rooms, Path(tmp), ceiling_port, args.students)
            # A small warm-up round, not reported.
            warm_ids = open_sessions(rooms[:2])
            connections.close_all()
            warm_args = argparse.Namespace(**{**vars(args), "questions": 1})
            asyncio.run(run_clients(rooms[:2], warm_ids, port, warm_args, lambda: 0.0))
            print(
                f"live classroom: {args.students} students + 1 screen a class, {args.questions} questions, "
                f"answers spread over {args.spread:g} s; jiaoyun: uvicorn --workers {args.workers}, "
                f"{'Redis' if args.redis else 'in-memory'} layer, {args.database}; ceiling: bare websockets, "
                "1 process, in memory"
            )
            header = (
                f"{'server':>8} {'classes':>7} {'sockets':>7} {'answers':>7} {'counted':>8} {'db':>6} "
                f"{'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'seconds':>7} {'cpu ms/hs':>9} {'cpu ms/ans':>10} "
                f"{'load':>5}"
            )
            print(header)
            print("-" * len(header))
            for size in sizes:
                session_ids = open_sessions(rooms[:size])
                connections.close_all()
                targets = [("jiaoyun", server, port)]
                if ceiling is not None:
                    targets.append(("ceiling", ceiling, ceiling_port))
                for name, process, target_port in targets:

                    def cpu(process: subprocess.Popen[bytes] = process) -> float:
                        return server_cpu_seconds(process)

                    cpu_before = cpu()
                    tally, seconds, handshake_cpu = asyncio.run(
                        run_clients(rooms[:size], session_ids, target_port, args, cpu)
                    )
                    answer_cpu = cpu() - cpu_before - handshake_cpu
                    expected = size * args.students * args.questions
                    in_db = str(counted_in_database(session_ids)) if name == "jiaoyun" else "-"
                    connections.close_all()
                    share = 100 * tally.counted_on_screen / expected
                    print(
                        f"{name:>8} {size:>7} {size * (args.students + 1):>7} {expected:>7} {share:>7.1f}% "
                        f"{in_db:>6} {1000 * percentile(tally.latencies, 0.5):>7.0f} "
                        f"{1000 * percentile(tally.latencies, 0.99):>7.0f} "
                        f"{1000 * max(tally.latencies, default=float('nan')):>7.0f} {seconds:>7.1f} "
                        f"{1000 * handshake_cpu / (size * (args.students + 1)):>9.2f} "
                        f"{1000 * answer_cpu / max(1, tally.sent):>10.2f} {os.getloadavg()[0]:>5.1f}"
                    )
                    kinds = Counter(error.split(": ")[-1] for error in tally.errors)
                    unanswered = tally.sent - len(tally.latencies)
                    for kind, count in kinds.most_common():
                        print(f"        ! {count} x {kind}")
                    if tally.sent < expected or unanswered:
                        print(
                            f"        ! sent {tally.sent}, acknowledged accepted {tally.accepted}, shown {len(tally.latencies)}"
                        )
                    sys.stdout.flush()
        finally:
            for process in (server, ceiling):
                if process is not None:
                    process.send_signal(2)
                    process.wait(timeout=30)
            connections.close_all()
            drop_scratch(env, args)
    print(
        f"cpu ms/hs: server CPU while the sockets connect, per socket; cpu ms/ans: the rest of the run "
        f"(asks, answers, snapshots, closes) per answer. uptime: {Path('/proc/loadavg').read_text().strip()}"
    )


if __name__ == "__main__":
    main()
