"""Warehouse benchmark: every statistical view on a city-size register, on DuckDB, and side by
side with PySpark (local mode) on a smaller register.

    .venv/bin/python bench/warehouse.py [--students 2000000 --teachers 150000 --schools 2000]
                                        [--spark-scale 0.05] [--no-spark] [--lake DIR]

The register is generated straight into a Parquet lake (the layout the snapshot task writes),
with the demo district's shape: school kinds, grades, classes of 35-55 with a few over-size,
teachers per school and subject from the curriculum's need with some subjects short, a
realistic age and title structure, and births per zone. Each view is computed from the lake
on its own (nothing shared between views), then the whole catalogue is materialised once the
way the snapshot task does it (each view's result reused by the views built on it).
Peak memory is the process's resident high-water mark during the view, reset before each
(on Spark: the JVM's). Targets: each view under 2 s on DuckDB at city size.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jiaoyun.analytics.warehouse.catalogue import VIEWS, Inputs
from jiaoyun.analytics.warehouse.policy import STAGES, Policy
from jiaoyun.analytics.warehouse.schema import BIRTHS, SNAPSHOT_TABLES
from jiaoyun.lake.backend import connect, open_tables
from jiaoyun.lake.store import Lake

AS_OF = dt.date(2026, 9, 15)
KINDS = {"kindergarten": 0.22, "primary": 0.40, "junior": 0.17, "senior": 0.06, "complete": 0.07,
         "nine_year": 0.06, "twelve_year": 0.02}  # fmt: skip
LEVELS = {"kindergarten": range(-2, 1), "primary": range(1, 7), "junior": range(7, 10), "senior": range(10, 13),
          "complete": range(7, 13), "nine_year": range(1, 10), "twelve_year": range(1, 13)}  # fmt: skip
SHORT = {"psychology": 0.35, "it": 0.55, "pe": 0.75, "physics": 0.85}
TITLES = np.array(["none", "third", "second", "first", "senior", "professor"])
QUALS = np.array(["secondary", "associate", "bachelor", "master", "doctorate"])


def stage_of(level: int) -> str:
    return "kindergarten" if level <= 0 else "primary" if level <= 6 else "junior" if level <= 9 else "senior"


def _days(rng: np.random.Generator, start_year: np.ndarray) -> np.ndarray:
    base = (start_year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    return base + rng.integers(0, 365, size=len(start_year)).astype("timedelta64[D]")


def generate(lake: Lake, *, students: int, teachers: int, schools: int, seed: int = 7) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    policy = Policy()
    day = np.datetime64(AS_OF)
    n_zones = max(1, schools // 8)
    kinds = rng.choice(list(KINDS), size=schools, p=list(KINDS.values()))
    zones = np.array([f"Z{i % n_zones + 1:03d}" for i in range(schools)])
    school_ids = np.arange(1, schools + 1)
    lake.write_snapshot("schools", pa.table({
        "snapshot_date": pa.array([AS_OF] * schools, pa.date32()), "school_id": school_ids,
        "code": [f"S{i:05d}" for i in school_ids], "name": [f"School {i}" for i in school_ids],
        "kind": kinds, "zone": zones, "is_public": rng.random(schools) > 0.08,
        "is_quality": rng.random(schools) < 0.3,
    }, schema=SNAPSHOT_TABLES["schools"]), AS_OF)  # fmt: skip

    # Classes: a few per grade, sized so that the students add up to the target.
    class_school, class_level = [], []
    for sid, kind in zip(school_ids, kinds, strict=True):
        for level in LEVELS[kind]:
            n = int(rng.integers(3, 8))
            class_school += [sid] * n
            class_level += [level] * n
    class_school_a = np.array(class_school)
    class_level_a = np.array(class_level)
    n_classes = len(class_school_a)
    sizes = rng.integers(35, 56, size=n_classes).astype(np.float64)
    over = rng.random(n_classes) < 0.03
    sizes[over] = rng.integers(56, 70, size=int(over.sum()))
    sizes = np.maximum(2, np.round(sizes * students / sizes.sum())).astype(np.int64)
    diff = int(students - sizes.sum())
    picks = rng.choice(n_classes, size=abs(diff), replace=abs(diff) > n_classes)
    np.add.at(sizes, picks, 1 if diff > 0 else -1)
    class_ids = np.arange(1, n_classes + 1)
    numbers = np.ones(n_classes, dtype=np.int32)
    for i in range(1, n_classes):
        if class_school_a[i] == class_school_a[i - 1] and class_level_a[i] == class_level_a[i - 1]:
            numbers[i] = numbers[i - 1] + 1
    lake.write_snapshot("classes", pa.table({
        "snapshot_date": pa.array([AS_OF] * n_classes, pa.date32()), "class_id": class_ids,
        "school_id": class_school_a, "grade_level": class_level_a.astype(np.int32), "number": numbers,
        "entry_year": (AS_OF.year - np.maximum(class_level_a, 1) + 1).astype(np.int32),
        "head_teacher_id": pa.nulls(n_classes, pa.int64()),
    }, schema=SNAPSHOT_TABLES["classes"]), AS_OF)  # fmt: skip

    # Students, one enrolment each.
    s_class = np.repeat(class_ids, sizes)
    s_school = np.repeat(class_school_a, sizes)
    s_level = np.repeat(class_level_a, sizes)
    n_students = len(s_class)
    student_ids = np.arange(1, n_students + 1)
    status = np.where(rng.random(n_students) < 0.995, "enrolled", "transferred")
    lake.write_snapshot("students", pa.table({
        "snapshot_date": pa.array(np.full(n_students, day)).cast(pa.date32()), "student_id": student_ids,
        "school_id": s_school, "class_id": s_class, "gender": np.where(rng.random(n_students) < 0.52, "male", "female"),
        "birth_date": pa.array(_days(rng, AS_OF.year - s_level - 6)).cast(pa.date32()),
        "enrolment_year": (AS_OF.year - np.maximum(s_level, 1) + 1).astype(np.int32),
        "household": rng.choice(["local", "city", "outside"], size=n_students, p=[0.8, 0.12, 0.08]),
        "status": status,
    }, schema=SNAPSHOT_TABLES["students"]), AS_OF)  # fmt: skip
    lake.write_snapshot("enrolments", pa.table({
        "snapshot_date": pa.array(np.full(n_students, day)).cast(pa.date32()), "student_id": student_ids,
        "class_id": s_class, "start": pa.array(np.full(n_students, np.datetime64(f"{AS_OF.year}-09-01"))).cast(pa.date32()),
        "end": pa.nulls(n_students, pa.date32()),
    }, schema=SNAPSHOT_TABLES["enrolments"]), AS_OF)  # fmt: skip

    # Teachers per school and subject from the curriculum's need, short subjects short.
    need: dict[tuple[int, str], float] = {}
    for sid, level in zip(class_school, class_level, strict=True):
        stage = stage_of(level)
        for subject, periods in policy.curriculum[stage].items():
            key = (sid, subject)
            need[key] = need.get(key, 0.0) + periods / policy.teacher_periods_per_week[stage]
    keys = sorted(need)
    fte = np.array([need[k] * SHORT.get(k[1], 1.0) * rng.uniform(0.92, 1.12) for k in keys])
    counts = np.floor(fte * teachers / fte.sum()).astype(np.int64)
    remainder = teachers - counts.sum()
    counts[np.argsort(-(fte * teachers / fte.sum() - counts))[:remainder]] += 1
    t_school = np.repeat([k[0] for k in keys], counts)
    t_subject = np.repeat([k[1] for k in keys], counts)
    n_teachers = len(t_school)
    age = rng.choice([rng.integers(23, 31), 35, 45, 55], size=n_teachers, p=[0.26, 0.24, 0.3, 0.2])
    age = np.where(age == 35, rng.integers(31, 41, n_teachers), age)
    age = np.where(age == 45, rng.integers(41, 51, n_teachers), age)
    age = np.where(age == 55, rng.integers(51, 60, n_teachers), age)
    title_index = np.clip((age - 22) // 8 + rng.integers(-1, 2, n_teachers), 0, 5)
    years_here = np.minimum(age - 22, rng.choice([1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20], size=n_teachers))
    teacher_ids = np.arange(1, n_teachers + 1)
    lake.write_snapshot("teachers", pa.table({
        "snapshot_date": pa.array(np.full(n_teachers, day)).cast(pa.date32()), "teacher_id": teacher_ids,
        "staff_no": [f"T{i:07d}" for i in teacher_ids], "name": [f"Teacher {i}" for i in teacher_ids],
        "school_id": t_school, "subject": t_subject,
        "gender": np.where(rng.random(n_teachers) < 0.32, "male", "female"),
        "birth_date": pa.array(_days(rng, AS_OF.year - age)).cast(pa.date32()), "title": TITLES[title_index],
        "qualification": QUALS[np.clip(rng.integers(1, 5, n_teachers), 0, 4)],
        "status": rng.choice(["established", "contract", "retired"], size=n_teachers, p=[0.86, 0.12, 0.02]),
        "joined_school_on": pa.array(_days(rng, AS_OF.year - years_here)).cast(pa.date32()),
        "started_teaching_year": (AS_OF.year - age + 22).astype(np.int32),
    }, schema=SNAPSHOT_TABLES["teachers"]), AS_OF)  # fmt: skip

    # Assignments: every class and curriculum subject to a teacher of that school and subject.
    pools: dict[tuple[int, str], np.ndarray] = {}
    order = np.lexsort((t_subject, t_school))
    start = 0
    for k, c in zip(keys, counts, strict=True):
        pools[k] = teacher_ids[order[start : start + c]]
        start += c
    a_teacher, a_class, a_subject, a_hours = [], [], [], []
    turn: dict[tuple[int, str], int] = {}
    for cid, sid, level in zip(class_ids, class_school, class_level, strict=True):
        for subject, periods in policy.curriculum[stage_of(level)].items():
            pool = pools.get((sid, subject))
            if pool is None or len(pool) == 0:
                continue
            i = turn.get((sid, subject), 0)
            turn[(sid, subject)] = i + 1
            a_teacher.append(pool[i % len(pool)])
            a_class.append(cid)
            a_subject.append(subject)
            a_hours.append(periods)
    n_assign = len(a_teacher)
    lake.write_snapshot("assignments", pa.table({
        "snapshot_date": pa.array(np.full(n_assign, day)).cast(pa.date32()), "teacher_id": np.array(a_teacher),
        "class_id": np.array(a_class), "subject": a_subject, "weekly_hours": np.array(a_hours, dtype=np.int32),
    }, schema=SNAPSHOT_TABLES["assignments"]), AS_OF)  # fmt: skip

    births_zone, births_year, births_n = [], [], []
    per_zone = students / n_zones / 12
    for z in range(1, n_zones + 1):
        for year in range(AS_OF.year - 9, AS_OF.year + 1):
            births_zone.append(f"Z{z:03d}")
            births_year.append(year)
            births_n.append(int(per_zone * rng.uniform(0.8, 1.2)))
    lake.write_reference("births", pa.table({"zone": births_zone, "birth_year": births_year, "children": births_n},
                                            schema=BIRTHS))  # fmt: skip
    assert STAGES
    return {"schools": schools, "classes": n_classes, "students": n_students, "teachers": n_teachers,
            "assignments": n_assign, "zones": n_zones}  # fmt: skip


def _reset_peak(pid: int | str = "self") -> None:
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def _peak_mb(pid: int | str = "self") -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_views(con: Any, lake: Lake, *, pid: int | str = "self") -> dict[str, tuple[float, float | None, int]]:
    results = {}
    for name in VIEWS:
        inputs = Inputs(tables=open_tables(con, lake), as_of=AS_OF, policy=Policy())
        _reset_peak(pid)
        start = time.perf_counter()
        table = con.to_pyarrow(inputs.view(name))
        results[name] = (time.perf_counter() - start, _peak_mb(pid), table.num_rows)
    return results


def materialise_all(con: Any, lake: Lake) -> dict[str, float]:
    """Seconds per view when computed the way the snapshot task does: the views a view is
    built on are already computed and stand in as small in-memory tables."""
    import ibis

    seconds: dict[str, float] = {}

    def keep(name: str, expr: Any) -> Any:
        start = time.perf_counter()
        table = con.to_pyarrow(expr)
        seconds[name] = time.perf_counter() - start
        return ibis.memtable(table)

    inputs = Inputs(tables=open_tables(con, lake), as_of=AS_OF, policy=Policy(), keep=keep)
    for name in VIEWS:
        inputs.view(name)
    # A view's own time excludes the views it waited on (each was timed in its own turn).
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=2_000_000)
    parser.add_argument("--teachers", type=int, default=150_000)
    parser.add_argument("--schools", type=int, default=2_000)
    parser.add_argument("--spark-scale", type=float, default=0.05, help="size of the side-by-side register")
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument("--lake", help="where to write the lakes (default: a temporary folder)")
    args = parser.parse_args()

    base = Path(args.lake) if args.lake else Path(tempfile.mkdtemp(prefix="jiaoyun-bench-"))
    try:
        city = Lake(str(base / "city"))
        start = time.perf_counter()
        sizes = generate(city, students=args.students, teachers=args.teachers, schools=args.schools)
        print(f"city register: {sizes} generated in {time.perf_counter() - start:.1f} s")
        duck = connect("duckdb")
        city_results = run_views(duck, city)
        chained = materialise_all(duck, city)
        print(f"\n== every view on the city register, DuckDB ({os.cpu_count()} cores)")
        print("   alone: computed from the lake with nothing shared; in task: as the snapshot task")
        print("   computes it, the views it is built on already materialised")
        print(f"{'view':28} {'alone s':>8} {'peak MB':>8} {'in task s':>9} {'rows':>8}")
        for name, (seconds, peak, rows) in city_results.items():
            flag = "" if chained[name] < 2 else "  over 2 s"
            print(f"{name:28} {seconds:8.2f} {peak or 0:8.0f} {chained[name]:9.2f} {rows:8d}{flag}")
        print(f"{'all views, as the task':28} {'':8} {'':8} {sum(chained.values()):9.2f}")

        if args.no_spark:
            return
        small = Lake(str(base / "small"))
        s = args.spark_scale
        sizes = generate(small, students=int(args.students * s), teachers=int(args.teachers * s),
                         schools=max(8, int(args.schools * s)))  # fmt: skip
        print(f"\nsmall register: {sizes}")
        from jiaoyun.lake.backend import spark_session

        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        start = time.perf_counter()
        spark = connect("pyspark")
        print(f"Spark session started in {time.perf_counter() - start:.1f} s")
        session = spark_session()
        gateway = getattr(session.sparkContext._gateway, "proc", None)
        jvm_pid = gateway.pid if gateway is not None else "self"
        duck_small = run_views(duck, small)
        spark_small = run_views(spark, small, pid=jvm_pid)
        print("\n== side by side on the small register (peak MB: Python for DuckDB, the JVM for Spark)")
        print(f"{'view':28} {'duckdb s':>9} {'MB':>6} {'spark s':>9} {'MB':>6} {'rows':>7} same rows")
        for name in VIEWS:
            d, s_ = duck_small[name], spark_small[name]
            print(
                f"{name:28} {d[0]:9.2f} {d[1] or 0:6.0f} {s_[0]:9.2f} {s_[1] or 0:6.0f} {d[2]:7d} {d[2] == s_[2]}"
            )
        print(f"{'total':28} {sum(v[0] for v in duck_small.values()):9.2f} {'':6} "
              f"{sum(v[0] for v in spark_small.values()):9.2f}")  # fmt: skip
        session.stop()
    finally:
        if not args.lake:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
