"""Elective registration rush: the site as it runs in production, a whole school clicking at once.

    .venv/bin/python bench/elective_rush.py [--students 2000 --selections 3 --clients 200]
                                            [--electives 50 --hot 10 --workers 2 --keep-db]

1. Creates a scratch PostgreSQL database (`--db-name`, on the server of JIAOYUN_BENCH_PG_URL,
   default postgres://postgres@127.0.0.1:5432) and migrates it.
2. Seeds one junior school: students with signed-in sessions (made directly in the session
   table: the bench measures selection, not password hashing), a catalogue of electives in
   five weekly slots, and a first-come round open now. Of the electives, `--hot` are wanted
   ten times over their capacity.
3. Starts uvicorn with `--workers` processes on loopback, as `scripts/serve` does, on the
   ASGI interface, each request thread keeping its database connection
   (JIAOYUN_DB_CONN_MAX_AGE, as `scripts/serve` sets it) or with `--pool N` a psycopg
   connection pool of N per worker (JIAOYUN_DB_POOL=1).
4. Runs the load from a second process: `--clients` concurrent keep-alive HTTP clients (a
   minimal one by default, httpx with `--client httpx`), each student taking `--selections`
   seats in different slots through the JSON endpoint, trying a quieter elective of the same
   slot when the wanted one answers "full". Bounded in count and by `--time-limit`.
5. Prints requests/s, seats/s, p50/p95/p99 latency and outcome counts, the CPU time spent per
   request by the server's workers, by their PostgreSQL backends and by the load generator
   (process CPU time: it moves far less than latency when other work shares the machine),
   and the machine's load (`uptime`) before and after; then checks in SQL
   that no elective holds more enrolments than seats, that counters match rows, and that no
   student holds two seats of one elective or two electives in one slot.
6. Times the preference-round lottery for all students ranking five electives.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N_SLOTS = 5
START_ENV = dict(os.environ)
EXPECTED_REFUSALS = {"full"}


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--selections", type=int, default=3)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--electives", type=int, default=50)
    parser.add_argument("--hot", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument(
        "--interface", choices=["asgi", "wsgi"], default="asgi",
        help="asgi: jiaoyun.asgi:application as scripts/serve runs it; wsgi: Django's WSGI handler under uvicorn",
    )  # fmt: skip
    parser.add_argument(
        "--client", choices=["raw", "httpx"], default="raw",
        help="raw: a minimal keep-alive HTTP/1.1 client (a tenth of httpx's CPU per request); httpx: httpx.AsyncClient",
    )  # fmt: skip
    parser.add_argument(
        "--pool", type=int, default=0, metavar="N",
        help="a psycopg pool of N connections per worker (JIAOYUN_DB_POOL_SIZE) instead of kept connections",
    )  # fmt: skip
    parser.add_argument("--time-limit", type=float, default=180.0, help="seconds the load may run")
    parser.add_argument("--db-name", default="jiaoyun_bench_electives")
    parser.add_argument("--keep-db", action="store_true", help="leave the scratch database for inspection")
    parser.add_argument(
        "--latencies", help="write each request's start (s), latency (ms) and client number to this CSV"
    )
    parser.add_argument("--load", help=argparse.SUPPRESS)  # internal: run as the load generator
    return parser.parse_args()


# --- Database and seed ----------------------------------------------------------------------------


def server_url() -> str:
    return os.environ.get("JIAOYUN_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")


def recreate_database(name: str) -> str:
    import psycopg

    if not name.replace("_", "").isalnum() or name in {"test", "postgres"}:
        raise SystemExit(f"refusing to recreate database {name!r}")
    with psycopg.connect(f"{server_url()}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url()}/{name}"


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{server_url()}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(args: argparse.Namespace) -> dict[str, Any]:
    """Build the school, students, sessions and catalogue; return the load plan."""
    import datetime as dt

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from jiaoyun.core.models import District, Grade, School, SchoolClass, Student, Teacher, Term
    from jiaoyun.electives import services
    from jiaoyun.electives.models import Elective, SelectionRound

    rng = random.Random(7)
    district = District.objects.create(code="440104", name="Bench district")
    school = School.objects.create(district=district, code="B0001", name="Bench junior school", kind="junior")
    term = Term.objects.create(
        school_year=2026, semester=1, start=dt.date(2026, 9, 1), end=dt.date(2027, 1, 20)
    )
    classes = []
    for level in (7, 8, 9):
        grade = Grade.objects.create(school=school, level=level, entry_year=2026 - (level - 7))
        classes += [SchoolClass.objects.create(school=school, grade=grade, number=n) for n in range(1, 15)]
    teacher = Teacher.objects.create(
        staff_no="BT0001", name="Teacher", gender="female", birth_date=dt.date(1985, 1, 1),
        title="first", qualification="bachelor", school=school,
    )  # fmt: skip
    User = get_user_model()
    unusable = make_password(None)
    User.objects.bulk_create(
        [User(username=f"bench{i:05d}", password=unusable) for i in range(args.students)], batch_size=1000
    )
    users = list(User.objects.filter(username__startswith="bench").order_by("username"))
    Student.objects.bulk_create(
        [
            Student(
                student_no=f"BS{i:06d}",
                name=f"Student {i}",
                gender="male" if i % 2 else "female",
                birth_date=dt.date(2013, 1, 1),
                enrolment_year=2024,
                school=school,
                school_class=classes[i % len(classes)],
                user=user,
            )  # fmt: skip
            for i, user in enumerate(users)
        ],
        batch_size=1000,
    )
    store = SessionStore()
    expires = timezone.now() + dt.timedelta(days=1)
    rows = []
    for user in users:
        data = {
            "_auth_user_id": str(user.pk),
            "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
            "_auth_user_hash": user.get_session_auth_hash(),
        }
        rows.append(
            Session(
                session_key=store._get_new_session_key(), session_data=store.encode(data), expire_date=expires
            )
        )
    Session.objects.bulk_create(rows, batch_size=1000)
    sessions = [row.session_key for row in rows]

    catalogue = services.create_catalogue(
        school=school, term=term, title="Bench electives", max_per_student=3
    )
    slots = [
        services.add_slot(catalogue=catalogue, weekday=day, start=dt.time(15, 30), end=dt.time(17, 0))
        for day in range(1, N_SLOTS + 1)
    ]
    # Requests per slot: each student picks `selections` of the slots, so a slot sees
    # students * selections / N_SLOTS of them; half go to the slot's hot electives.
    per_slot = args.students * args.selections / N_SLOTS
    hot_per_slot = args.hot // N_SLOTS
    cold_per_slot = args.electives // N_SLOTS - hot_per_slot
    hot_capacity = max(1, round(per_slot * 0.5 / hot_per_slot / 10))  # wanted ten times over
    cold_capacity = int(per_slot / cold_per_slot * 1.15) + 1  # room for everybody who falls back
    electives: dict[int, dict[str, list[int]]] = {}
    for index, slot in enumerate(slots):
        plan: dict[str, list[int]] = {"hot": [], "cold": []}
        for j in range(hot_per_slot + cold_per_slot):
            hot = j < hot_per_slot
            elective = services.save_elective(
                catalogue=catalogue, title=f"Slot {index + 1} elective {j + 1}",
                category=Elective.Category.ART, teacher=teacher, room=f"R{index}{j}", slot=slot,
                capacity=hot_capacity if hot else cold_capacity, grade_levels=[],
            )  # fmt: skip
            plan["hot" if hot else "cold"].append(elective.pk)
        electives[slot.pk] = plan
    services.publish_catalogue(catalogue=catalogue)
    now = timezone.now()
    services.create_round(
        catalogue=catalogue, kind=SelectionRound.Kind.FIRST_COME, opens_at=now - dt.timedelta(minutes=1),
        closes_at=now + dt.timedelta(hours=2),
    )  # fmt: skip

    students = []
    for session_key in sessions:
        chosen_slots = rng.sample(sorted(electives), args.selections)
        wants = []
        for slot_id in chosen_slots:
            plan = electives[slot_id]
            first = rng.choice(plan["hot"]) if rng.random() < 0.5 else rng.choice(plan["cold"])
            fallbacks = [e for e in plan["cold"] if e != first]
            rng.shuffle(fallbacks)
            wants.append([first, *fallbacks[:3]])
        students.append({"session": session_key, "wants": wants})
    return {
        "students": students,
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "csrf_cookie": settings.CSRF_COOKIE_NAME,
        "hot_capacity": hot_capacity,
        "cold_capacity": cold_capacity,
        "term_id": term.pk,
        "school_id": school.pk,
    }


# --- The load generator (a second process) -----------------------------------------------------


class RawClient:
    """A minimal keep-alive HTTP/1.1 client for the one request the bench sends. The load
    shares the machine with the server, and httpx spends about 3 ms of CPU per request: this
    spends a tenth of that, which leaves the cores to the server being measured."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(
        self, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        for attempt in range(2):  # once more on a fresh connection if the server closed the old one
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            assert self.reader is not None
            head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
            self.writer.write(
                f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Length: {len(body)}\r\n"
                f"{head}\r\n".encode("latin-1")
                + body
            )
            try:
                status_line = await self.reader.readuntil(b"\r\n")
                raw_headers = await self.reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                await self.close()
                if attempt:
                    raise
                continue
            status = int(status_line.split(b" ", 2)[1])
            response_headers = {}
            for line in raw_headers.decode("latin-1").split("\r\n"):
                if ":" in line:
                    name, value = line.split(":", 1)
                    response_headers[name.strip().lower()] = value.strip()
            if "content-length" in response_headers:
                content = await self.reader.readexactly(int(response_headers["content-length"]))
            else:
                content = await self.reader.read()
                response_headers["connection"] = "close"
            if response_headers.get("connection", "").lower() == "close":
                await self.close()
            return status, response_headers, content
        raise ConnectionError("the server closed the connection twice")

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = self.reader = None


async def load(
    plan: dict[str, Any], base: str, clients: int, time_limit: float, client_kind: str = "raw"
) -> dict[str, Any]:
    import httpx

    host, port = base.rsplit("//", 1)[1].rsplit(":", 1)
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for student in plan["students"]:
        queue.put_nowait(student)
    latencies: list[float] = []
    trace: list[tuple[float, float, int]] = []  # (start, latency, client) of each request
    outcomes: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    seats = 0

    async def client_loop(number: int) -> None:
        nonlocal seats
        raw = RawClient(host, int(port))
        # An httpx client only when asked for: making one costs an SSL context, and making
        # 200 at the start blocked the loop for seconds that the first requests counted.
        client = httpx.AsyncClient(base_url=base, timeout=30.0) if client_kind == "httpx" else None
        async with client or contextlib.nullcontext():
            while True:
                try:
                    student = queue.get_nowait()
                except asyncio.QueueEmpty:
                    await raw.close()
                    return
                token = secrets.token_hex(16)  # 32 characters: a CSRF secret Django accepts as is
                if client is not None:
                    client.cookies.clear()
                    client.cookies.set(plan["session_cookie"], student["session"])
                    client.cookies.set(plan["csrf_cookie"], token)
                headers = {"X-CSRFToken": token, "Content-Type": "application/json"}
                raw_headers = {
                    **headers,
                    "Cookie": f"{plan['session_cookie']}={student['session']}; {plan['csrf_cookie']}={token}",
                }
                for candidates in student["wants"]:
                    for elective_id in candidates:
                        body = json.dumps({"elective": elective_id})
                        started = time.perf_counter()
                        try:
                            if client_kind == "raw":
                                status, response_headers, content = await asyncio.wait_for(
                                    raw.post("/electives/api/select/", body.encode(), raw_headers), 30.0
                                )
                            else:
                                assert client is not None
                                response = await client.post(
                                    "/electives/api/select/", content=body, headers=headers
                                )
                                status, response_headers = response.status_code, dict(response.headers)
                                content = response.content
                        except (TimeoutError, httpx.HTTPError, OSError, asyncio.IncompleteReadError) as error:
                            errors[type(error).__name__] += 1
                            await raw.close()
                            break
                        latencies.append(time.perf_counter() - started)
                        trace.append((started - t0, latencies[-1], number))
                        if status == 200:
                            outcomes["ok"] += 1
                            seats += 1
                            break
                        code = ""
                        if response_headers.get("content-type", "").startswith("application/json"):
                            code = json.loads(content).get("error", "")
                        outcomes[code or str(status)] += 1
                        if code not in EXPECTED_REFUSALS:
                            errors[f"{status} {code}".strip()] += 1
                            break

    t0 = started = time.perf_counter()
    tasks = [asyncio.create_task(client_loop(number)) for number in range(clients)]
    done, pending = await asyncio.wait(tasks, timeout=time_limit)
    for task in pending:
        task.cancel()
    elapsed = time.perf_counter() - started
    for task in done:
        if task.exception() is not None:
            errors[type(task.exception()).__name__] += 1
    return {
        "elapsed": elapsed,
        "latencies": latencies,
        "trace": trace,
        "outcomes": dict(outcomes),
        "errors": dict(errors),
        "seats": seats,
        "timed_out": bool(pending),
    }


# --- Checks in SQL -----------------------------------------------------------------------------


CHECKS = {
    "electives over capacity": """
        SELECT count(*) FROM electives_elective e
        WHERE (SELECT count(*) FROM electives_enrolment n WHERE n.elective_id = e.id) > e.capacity""",
    "seat counters that disagree with rows": """
        SELECT count(*) FROM electives_elective e
        WHERE (SELECT count(*) FROM electives_enrolment n WHERE n.elective_id = e.id) <> e.taken""",
    "duplicate seats (student, elective)": """
        SELECT count(*) FROM (SELECT student_id, elective_id FROM electives_enrolment
                              GROUP BY 1, 2 HAVING count(*) > 1) d""",
    "two electives in one slot": """
        SELECT count(*) FROM (SELECT student_id, slot_id FROM electives_enrolment
                              GROUP BY 1, 2 HAVING count(*) > 1) d""",
    "students over their limit": """
        SELECT count(*) FROM (SELECT n.student_id FROM electives_enrolment n
                              JOIN electives_catalogue c ON c.id = n.catalogue_id
                              GROUP BY n.student_id, c.max_per_student HAVING count(*) > c.max_per_student) d""",
}


def sql_checks(url: str) -> tuple[dict[str, int], int]:
    import psycopg

    with psycopg.connect(url) as conn:
        results = {name: conn.execute(sql).fetchone()[0] for name, sql in CHECKS.items()}  # type: ignore[index]
        enrolments = conn.execute("SELECT count(*) FROM electives_enrolment").fetchone()[0]  # type: ignore[index]
    return results, enrolments


def time_lottery(plan: dict[str, Any], choices: int = 5) -> dict[str, Any]:
    """A preference round for every student ranking `choices` electives of a second term."""
    import datetime as dt

    from django.db import connection
    from django.utils import timezone

    from jiaoyun.analytics.electives import lottery
    from jiaoyun.core.models import School, Student, Teacher, Term
    from jiaoyun.electives import services
    from jiaoyun.electives.models import Elective, Preference, SelectionRound

    rng = random.Random(11)
    school = School.objects.get(pk=plan["school_id"])
    term = Term.objects.create(
        school_year=2026, semester=2, start=dt.date(2027, 2, 20), end=dt.date(2027, 7, 10)
    )
    catalogue = services.create_catalogue(school=school, term=term, title="Lottery bench", max_per_student=2)
    slots = [
        services.add_slot(catalogue=catalogue, weekday=day, start=dt.time(15, 30), end=dt.time(17, 0))
        for day in range(1, N_SLOTS + 1)
    ]
    teacher = Teacher.objects.get(school=school)
    electives = [
        services.save_elective(
            catalogue=catalogue,
            title=f"Lottery elective {i + 1}",
            category=Elective.Category.SPORT,
            teacher=teacher,
            room=f"L{i}",
            slot=slots[i % N_SLOTS],
            capacity=20 if i < 10 else 80,
            grade_levels=[],
        )  # fmt: skip
        for i in range(50)
    ]
    services.publish_catalogue(catalogue=catalogue)
    now = timezone.now()
    selection_round = services.create_round(
        catalogue=catalogue, kind=SelectionRound.Kind.PREFERENCE, opens_at=now - dt.timedelta(hours=2),
        closes_at=now - dt.timedelta(minutes=1), max_choices=choices,
    )  # fmt: skip
    weights = [10.0 if i < 10 else 1.0 for i in range(len(electives))]
    students = list(Student.objects.filter(school=school).values_list("pk", flat=True))
    rows = []
    for student_id in students:
        ranked: list[int] = []
        while len(ranked) < choices:
            pick = rng.choices(range(len(electives)), weights=weights)[0]
            if pick not in ranked:
                ranked.append(pick)
        rows += [
            Preference(round=selection_round, student_id=student_id, elective=electives[i], rank=r)
            for r, i in enumerate(ranked, start=1)
        ]
    Preference.objects.bulk_create(rows, batch_size=2000)

    started = time.perf_counter()
    result = services.run_lottery(round=selection_round)
    seconds = time.perf_counter() - started
    # The pure allocation alone, on the same instance, for the split between Python and SQL.
    courses = [lottery.Course(id=e.pk, seats=e.capacity, slot=e.slot_id) for e in electives]
    by_student: dict[int, list[int]] = {}
    for row in rows:
        by_student.setdefault(row.student_id, []).append(row.elective.pk)
    applicants = [lottery.Applicant(id=s, choices=tuple(c), room=2) for s, c in by_student.items()]
    started = time.perf_counter()
    lottery.allocate(courses, applicants, seed="bench")
    pure = time.perf_counter() - started
    connection.close()
    return {
        "seconds": seconds, "pure_seconds": pure, "applicants": result.applicants, "granted": result.granted,
        "waitlisted": result.waitlisted, "by_rank": result.by_rank, "preferences": len(rows),
    }  # fmt: skip


# --- CPU accounting ------------------------------------------------------------------------------


def process_cpu(pid: int) -> float:
    """User + system CPU seconds a live process has used (Linux /proc), 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pids(root: int) -> list[int]:
    """The server process and its workers."""
    children = Path(f"/proc/{root}/task/{root}/children")
    try:
        return [root, *(int(pid) for pid in children.read_text().split())]
    except OSError:
        return [root]


def backend_pids(db_name: str) -> list[int]:
    """The PostgreSQL backends connected to the scratch database (readable when the server
    runs on this machine, as in the bench's default set-up)."""
    import psycopg

    with psycopg.connect(f"{server_url()}/postgres", autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [db_name]
        ).fetchall()
    return [row[0] for row in rows]


def cpu_snapshot(server: int, db_name: str) -> dict[str, dict[int, float]]:
    return {
        "server": {pid: process_cpu(pid) for pid in server_pids(server)},
        "database": {pid: process_cpu(pid) for pid in backend_pids(db_name)},
    }


def cpu_spent(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    """CPU seconds per part between two snapshots; processes born in between count from zero.
    (A backend that exits in between is lost: the pool keeps its connections open.)"""
    return {part: sum(cpu - before[part].get(pid, 0.0) for pid, cpu in after[part].items()) for part in after}


def uptime() -> str:
    # The environment as the bench started: Django sets TZ to the site's zone on setup.
    return subprocess.run(["uptime"], capture_output=True, text=True, env=START_ENV).stdout.strip()


# --- Orchestration ---------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(base: str, server: subprocess.Popen[bytes], seconds: float = 180.0) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with status {server.returncode}")
        try:
            if httpx.get(f"{base}/accounts/login/", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("the server did not come up")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> int:
    args = parse()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress shows when piped
    if args.load:
        spec = json.loads(Path(args.load).read_text())
        plan = json.loads(Path(spec["plan"]).read_text())
        try:
            import uvloop  # what uvicorn runs on too; a lighter loop leaves more CPU to the server

            loop_factory = uvloop.new_event_loop
        except ImportError:
            loop_factory = None
        result = asyncio.run(
            load(plan, spec["base"], spec["clients"], spec["time_limit"], spec["client"]),
            loop_factory=loop_factory,
        )
        Path(spec["out"]).write_text(json.dumps(result))
        return 0

    if args.electives % N_SLOTS or args.hot % N_SLOTS or args.selections > N_SLOTS:
        raise SystemExit(f"electives and hot must be multiples of {N_SLOTS}; selections at most {N_SLOTS}")
    load_before = uptime()
    url = recreate_database(args.db_name)
    env = {**os.environ, "JIAOYUN_DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "jiaoyun.settings",
           "JIAOYUN_DB_POOL": "1" if args.pool else "0", "JIAOYUN_DB_POOL_SIZE": str(args.pool),
           "JIAOYUN_DB_CONN_MAX_AGE": "0" if args.pool else "600"}  # fmt: skip
    os.environ.update({"JIAOYUN_DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "jiaoyun.settings"})
    python = sys.executable
    print(f"database     scratch PostgreSQL database {args.db_name!r}")
    t0 = time.perf_counter()
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    plan = seed(args)
    print(f"seeded       {args.students} students with sessions, {args.electives} electives "
          f"({args.hot} hot of capacity {plan['hot_capacity']}, others {plan['cold_capacity']}) "
          f"in {time.perf_counter() - t0:.1f} s")  # fmt: skip

    from django.db import connection

    connection.close()
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    uvicorn = str(Path(python).with_name("uvicorn"))
    app = (
        ["jiaoyun.asgi:application"]
        if args.interface == "asgi"
        else ["--interface", "wsgi", "--factory", "django.core.wsgi:get_wsgi_application"]
    )
    server_cmd = [uvicorn, *app, "--host", "127.0.0.1", "--port", str(port),
                  "--workers", str(args.workers), "--no-access-log", "--log-level", "warning"]  # fmt: skip
    print(
        f"server       uvicorn ({args.interface}), {args.workers} workers (gunicorn is not installed), DEBUG off, "
        + (
            f"a connection pool of {args.pool} per worker"
            if args.pool
            else "each request thread keeps its connection"
        )
    )
    server = subprocess.Popen(server_cmd, cwd=ROOT, env=env, start_new_session=True)
    try:
        wait_until_up(base, server)
        cpu_before = cpu_snapshot(server.pid, args.db_name)
        loader_before = os.times()
        with tempfile.TemporaryDirectory() as tmp:
            plan_path, spec_path, out_path = (
                Path(tmp, "plan.json"),
                Path(tmp, "spec.json"),
                Path(tmp, "out.json"),
            )
            plan_path.write_text(json.dumps(plan))
            spec_path.write_text(json.dumps({"plan": str(plan_path), "out": str(out_path), "base": base,
                                             "clients": args.clients, "time_limit": args.time_limit,
                                             "client": args.client}))  # fmt: skip
            loader = subprocess.run(
                [python, __file__, "--load", str(spec_path)], cwd=ROOT, timeout=args.time_limit + 60
            )
            if loader.returncode:
                raise SystemExit("the load generator failed")
            result = json.loads(out_path.read_text())
        cpu = cpu_spent(cpu_before, cpu_snapshot(server.pid, args.db_name))
        loader_after = os.times()
        cpu["load generator"] = (loader_after.children_user - loader_before.children_user) + (
            loader_after.children_system - loader_before.children_system
        )
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)

    latencies = result["latencies"]
    requests = len(latencies)
    if args.latencies:
        with open(args.latencies, "w") as out:
            out.write("start_s,latency_ms,client\n")
            out.writelines(
                f"{start:.4f},{latency * 1000:.1f},{client}\n" for start, latency, client in result["trace"]
            )
    elapsed = result["elapsed"]
    n_errors = sum(result["errors"].values())
    checks, enrolments = sql_checks(url)
    print()
    print(
        f"{'load':<34}{args.students} students x {args.selections} seats, {args.clients} concurrent clients"
    )
    print(f"{'requests':<34}{requests}")
    print(f"{'seconds':<34}{elapsed:.2f}")
    print(f"{'requests/s':<34}{requests / elapsed:.0f}")
    print(f"{'seats sold/s':<34}{result['seats'] / elapsed:.0f}")
    print(f"{'latency p50 / p95 / p99 (ms)':<34}{percentile(latencies, 50) * 1000:.0f} / "
          f"{percentile(latencies, 95) * 1000:.0f} / {percentile(latencies, 99) * 1000:.0f}")  # fmt: skip
    print(
        f"{'latency mean / max (ms)':<34}{statistics.fmean(latencies) * 1000:.0f} / {max(latencies) * 1000:.0f}"
    )
    print(f"{'outcomes':<34}{json.dumps(result['outcomes'], sort_keys=True)}")
    print(f"{'errors':<34}{n_errors} {json.dumps(result['errors'], sort_keys=True) if n_errors else ''}")
    print(f"{'timed out':<34}{'yes' if result['timed_out'] else 'no'}")
    for part in ("server", "database", "load generator"):
        label = {"server": "CPU ms/request: server workers", "database": "CPU ms/request: PostgreSQL",
                 "load generator": "CPU ms/request: load generator"}[part]  # fmt: skip
        print(f"{label:<34}{cpu[part] / max(requests, 1) * 1000:.2f}  ({cpu[part]:.1f} s)")
    print(f"{'machine load before':<34}{load_before}")
    print(f"{'machine load after':<34}{uptime()}  ({os.cpu_count()} cores)")
    print(f"{'seats in the database':<34}{enrolments} (the clients were sold {result['seats']})")
    for name, count in checks.items():
        print(f"{name:<40}{count}")

    lottery = time_lottery(plan)
    print()
    print(
        f"{'lottery':<34}{lottery['applicants']} students x 5 choices ({lottery['preferences']} preferences)"
    )
    print(f"{'lottery seconds (with SQL)':<34}{lottery['seconds']:.2f}")
    print(f"{'allocation alone (pure Python)':<34}{lottery['pure_seconds']:.3f}")
    print(f"{'seats granted / waitlisted':<34}{lottery['granted']} / {lottery['waitlisted']}")
    print(f"{'granted by rank':<34}{json.dumps(lottery['by_rank'])}")
    checks_after, _ = sql_checks(url)
    bad = sum(checks.values()) + sum(checks_after.values())
    print(
        f"{'SQL checks after the lottery':<34}{'all zero' if not sum(checks_after.values()) else checks_after}"
    )
    if not args.keep_db:
        drop_database(args.db_name)
    ok = not bad and not n_errors and enrolments == result["seats"] and not result["timed_out"]
    print(f"\n{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
