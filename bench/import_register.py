"""Import the demo district's full student register from one spreadsheet, end to end.

For each database (SQLite, PostgreSQL) this builds the full-size demo district into a
scratch database, writes its students (about 80,000 rows, two guardians each) to an xlsx
file in the import format, empties the student register, then imports the file through
the same path as the task worker (read, validate, stage, write, audit) and imports it
again (every row unchanged). On PostgreSQL it then empties the register again and repeats
the first import with the foreign keys checked by the constraint triggers, row by row, as
before the set-wise checks (and as for a database user without the grant they need). Each
import runs in a fresh process so that its peak memory is its own. A baseline imports the
first rows one at a time through the ORM (`update_or_create`), as a naive importer would,
in a transaction that is rolled back.

    .venv/bin/python bench/import_register.py                  # both databases
    .venv/bin/python bench/import_register.py --db sqlite
    JIAOYUN_BENCH_PG_URL=postgres://user@host:5432/postgres .venv/bin/python bench/import_register.py --db postgres

PostgreSQL: the server of JIAOYUN_BENCH_PG_URL (default: the local test server) gets a
scratch database `jiaoyun_bench`, dropped and made again on each run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/test"
SCRATCH_DB = "jiaoyun_bench"
BASELINE_ROWS = 2000
TARGET_ROWS_PER_SECOND = 10_000


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _setup_django(database_url: str, var_dir: str) -> None:
    os.environ["JIAOYUN_DATABASE_URL"] = database_url
    os.environ["JIAOYUN_VAR_DIR"] = var_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiaoyun.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _scratch_pg_url(server_url: str) -> str:
    import psycopg

    parts = urlsplit(server_url)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {SCRATCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {SCRATCH_DB}")
    return urlunsplit(parts._replace(path=f"/{SCRATCH_DB}"))


# -- the steps, each run in its own process -------------------------------------------------


def step_prepare(database_url: str, var_dir: str, seed: int) -> dict[str, object]:
    _setup_django(database_url, var_dir)
    from django.core.management import call_command

    from jiaoyun.core.demo import FULL, build_district
    from jiaoyun.core.models import Guardian, Student
    from jiaoyun.exchange.workbooks import rows_workbook, student_rows

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    build_district(seed=seed, scale=FULL)
    built = time.perf_counter() - started
    started = time.perf_counter()
    content = rows_workbook("students", student_rows(Student.objects.all()))
    path = Path(var_dir) / "students.xlsx"
    path.write_bytes(content)
    written = time.perf_counter() - started
    rows = Student.objects.count()
    guardians = Guardian.objects.count()
    _empty_register()
    return {"rows": rows, "guardians": guardians, "file_mb": len(content) / 2**20, "build_s": built,
            "write_s": written, "file": str(path)}  # fmt: skip


def _empty_register() -> None:
    """An empty student register, the schools and classes kept: what a district has before
    its first import."""
    from django.db import connection

    from jiaoyun.core.models import ClassEnrolment, Guardian, Student, StudentGuardian

    StudentGuardian.objects.all().delete()
    ClassEnrolment.objects.all().delete()
    Guardian.objects.all().delete()
    Student.objects.all().delete()
    if connection.vendor == "postgresql":
        # What autovacuum does within a minute of such a delete: without it the import
        # would meet the deleted rows' index entries, whose keys are the very ones it
        # inserts (each unique check visits the dead row), which a district's register
        # before its first import never holds.
        with connection.cursor() as cursor:
            tables = ", ".join(m._meta.db_table for m in (Student, ClassEnrolment, Guardian, StudentGuardian))
            cursor.execute(f"VACUUM ANALYZE {tables}")


def step_empty(database_url: str, var_dir: str) -> dict[str, object]:
    _setup_django(database_url, var_dir)
    _empty_register()
    return {}


def step_import(database_url: str, var_dir: str, file: str, triggers: str = "") -> dict[str, object]:
    """One import; with `triggers`, the rows' foreign keys are checked by PostgreSQL's
    constraint triggers, one query per row and key at commit (as for a database user that
    may not set `session_replication_role`), instead of set-wise."""
    _setup_django(database_url, var_dir)
    from contextlib import nullcontext

    from django.contrib.auth import get_user_model
    from django.core.files import File

    from jiaoyun.exchange import importers, services
    from jiaoyun.exchange.models import ImportJob

    if triggers:
        importers._references_checked = lambda *args: nullcontext()  # type: ignore[assignment]

    admin = get_user_model().objects.get(username="district_admin")
    with open(file, "rb") as handle:
        job = ImportJob.objects.create(kind="students", created_by=admin, file=File(handle, name="students.xlsx"),
                                       file_name="students.xlsx")  # fmt: skip
    rss_before = _peak_rss_mb()
    started, cpu_started = time.perf_counter(), time.process_time()
    services.run_job(job.pk)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    job.refresh_from_db()
    return {"status": job.status, "rows": job.rows_total, "counts": job.counts, "issues": job.issue_count,
            "seconds": seconds, "cpu_s": cpu, "peak_mb": _peak_rss_mb(), "base_mb": rss_before}  # fmt: skip


def step_baseline(database_url: str, var_dir: str, file: str) -> dict[str, object]:
    """One row at a time through the ORM, as importers are usually first written: the
    lookups and writes of each row are queries of their own."""
    _setup_django(database_url, var_dir)
    import datetime as dt

    from django.db import transaction

    from jiaoyun.core.models import (
        ClassEnrolment,
        Grade,
        Guardian,
        School,
        SchoolClass,
        Student,
        StudentGuardian,
    )
    from jiaoyun.exchange.reader import read_table

    table = read_table(Path(file).read_bytes())
    rows = [cells for number, cells in table.rows if number > 1][:BASELINE_ROWS]
    levels = {"小班": -2, "中班": -1, "大班": 0, "一年级": 1, "二年级": 2, "三年级": 3, "四年级": 4, "五年级": 5,
              "六年级": 6, "七年级": 7, "八年级": 8, "九年级": 9, "高一": 10, "高二": 11, "高三": 12}  # fmt: skip
    relations = {"父亲": "father", "母亲": "mother"}
    started, cpu_started = time.perf_counter(), time.process_time()
    with transaction.atomic():
        for cells in rows:
            school = School.objects.get(code=cells[0])
            grade = Grade.objects.get(school=school, level=levels[cells[2]])
            school_class = SchoolClass.objects.get(grade=grade, number=int(float(cells[3])))
            student, _ = Student.objects.update_or_create(
                student_no=cells[4],
                defaults={"name": cells[5], "gender": "male" if cells[6] == "男" else "female",
                          "birth_date": dt.date.fromisoformat(cells[7]), "id_number": cells[8] or None,
                          "enrolment_year": int(float(cells[9])), "school": school, "school_class": school_class},
            )  # fmt: skip
            ClassEnrolment.objects.get_or_create(student=student, school_class=school_class,
                                                 defaults={"start": dt.date.today()})  # fmt: skip
            for at in (13, 16):
                if len(cells) > at + 2 and cells[at]:
                    guardian, _ = Guardian.objects.update_or_create(
                        phone=cells[at + 2], defaults={"name": cells[at]}
                    )
                    StudentGuardian.objects.update_or_create(
                        student=student,
                        guardian=guardian,
                        defaults={"relation": relations.get(cells[at + 1], "other")},
                    )
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        transaction.set_rollback(True)
    return {"rows": len(rows), "seconds": seconds, "cpu_s": cpu}


STEPS = {"prepare": step_prepare, "empty": step_empty, "import": step_import, "baseline": step_baseline}


def _run_step(step: str, *args: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, __file__, "--step", step, *args],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench(database: str, pg_url: str, seed: int) -> list[list[str]]:
    with tempfile.TemporaryDirectory(prefix="jiaoyun-bench-") as var_dir:
        if database == "sqlite":
            url = f"sqlite:///{Path(var_dir) / 'bench.sqlite3'}"
        else:
            url = _scratch_pg_url(pg_url)
        prepared = _run_step("prepare", url, var_dir, str(seed))
        print(
            f"  {database}: demo district built in {prepared['build_s']:.0f} s; "
            f"{prepared['rows']:,} students and {prepared['guardians']:,} guardians written to "
            f"{prepared['file_mb']:.1f} MB of xlsx in {prepared['write_s']:.1f} s",
            file=sys.stderr,
        )
        first = _run_step("import", url, var_dir, str(prepared["file"]))
        again = _run_step("import", url, var_dir, str(prepared["file"]))
        runs = [("first import (all new)", first), ("same file again (all unchanged)", again)]
        if database == "postgres":
            _run_step("empty", url, var_dir)
            triggers = _run_step("import", url, var_dir, str(prepared["file"]), "triggers")
            runs.append(("first import, keys checked by the triggers", triggers))
        baseline = _run_step("baseline", url, var_dir, str(prepared["file"]))
    table = []
    for label, result in runs:
        counts = result["counts"]
        assert isinstance(counts, dict) and result["status"] == "done", result
        rate = float(result["rows"]) / float(result["seconds"])  # type: ignore[arg-type]
        table.append([
            database, label, f"{result['rows']:,}", f"{result['seconds']:.2f}", f"{result['cpu_s']:.2f}", f"{rate:,.0f}",
            f"{result['peak_mb']:.0f} ({float(result['peak_mb']) - float(result['base_mb']):+.0f})",  # type: ignore[arg-type]
            f"{counts['created']:,}/{counts['updated']:,}/{counts['unchanged']:,}",
            "yes" if rate >= TARGET_ROWS_PER_SECOND else "NO",
        ])  # fmt: skip
    rate = float(baseline["rows"]) / float(baseline["seconds"])  # type: ignore[arg-type]
    table.append([database, "baseline: row by row ORM", f"{baseline['rows']:,}", f"{baseline['seconds']:.2f}",
                  f"{baseline['cpu_s']:.2f}", f"{rate:,.0f}", "", "", ""])  # fmt: skip
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.step:
        step_args: list[object] = list(options.args)
        if options.step == "prepare":
            step_args[-1] = int(options.args[-1])
        print(json.dumps(STEPS[options.step](*step_args)))  # type: ignore[operator]
        return
    pg_url = os.environ.get("JIAOYUN_BENCH_PG_URL", DEFAULT_PG_URL)
    databases = ["sqlite", "postgres"] if options.db == "both" else [options.db]
    rows: list[list[str]] = []
    for database in databases:
        rows.extend(bench(database, pg_url, options.seed))
    headers = ["database", "run", "rows", "seconds", "CPU s", "rows/s", "peak MB (import)", "created/updated/unchanged",
               f">= {TARGET_ROWS_PER_SECOND:,}/s"]  # fmt: skip
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    # Wall seconds depend on what else the machine runs; CPU seconds are the importing
    # process's own (a PostgreSQL server's work is not in them).
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average (1, 5, 15 min) at the end: {load} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
