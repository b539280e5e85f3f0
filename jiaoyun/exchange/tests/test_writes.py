"""The importers' bulk writes: the foreign keys of rows written by COPY are checked and
the referenced rows locked as PostgreSQL's constraint triggers would, set-wise."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import polars as pl
import psycopg
import pytest
from django.db import IntegrityError, connection, transaction

from jiaoyun.core.models import ClassEnrolment, Guardian, SchoolClass, Student
from jiaoyun.exchange.importers import _next_ids, insert_frame

pytestmark = pytest.mark.django_db


def _students(school_id: int, class_id: int | None, count: int = 3) -> pl.DataFrame:
    return pl.DataFrame({
        "student_no": [f"T{n:09d}" for n in range(count)],
        "name": [f"学生{n}" for n in range(count)],
        "gender": ["male"] * count,
        "birth_date": [dt.date(2012, 9, 1)] * count,
        "enrolment_year": [2024] * count,
        "school_id": [school_id] * count,
        "school_class_id": [class_id] * count,
    })  # fmt: skip


def _a_class(demo: Any) -> SchoolClass:
    return SchoolClass.objects.filter(grade__school=demo.school_a).order_by("pk").first()


def _missing_class_id() -> int:
    return (SchoolClass.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000


def test_rows_are_written_with_their_references(demo: Any) -> None:
    school_class = _a_class(demo)
    with transaction.atomic():
        created = insert_frame(Student, _students(demo.school_a.pk, school_class.pk), key="student_no")
        insert_frame(
            ClassEnrolment,
            created.select(student_id="pk", school_class_id=pl.lit(school_class.pk), start=pl.lit(dt.date(2026, 9, 1))),
            inserted={Student: created["pk"]},
        )  # fmt: skip
        connection.check_constraints()
    students = Student.objects.filter(student_no__startswith="T").order_by("student_no")
    assert [(s.student_no, s.school_id, s.school_class_id) for s in students] == [
        (f"T{n:09d}", demo.school_a.pk, school_class.pk) for n in range(3)
    ]
    assert sorted(created["pk"]) == [s.pk for s in students]
    assert ClassEnrolment.objects.filter(student__in=students, school_class=school_class).count() == 3


@pytest.mark.parametrize("missing", ["school", "class", "student"])
def test_a_row_referencing_nothing_is_refused(demo: Any, missing: str) -> None:
    """The import's transaction fails as the constraint would fail it (PostgreSQL: before
    the write, by the set-wise check; SQLite: by its own foreign keys)."""
    school_class = _a_class(demo)
    frame = _students(
        demo.school_a.pk + 1000 if missing == "school" else demo.school_a.pk,
        _missing_class_id() if missing == "class" else school_class.pk,
    )
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        created = insert_frame(Student, frame, key="student_no")
        if missing == "student":
            gone = created.with_columns(pk=pl.col("pk") + 1000)
            insert_frame(ClassEnrolment, gone.select(
                student_id="pk", school_class_id=pl.lit(school_class.pk), start=pl.lit(dt.date(2026, 9, 1))
            ), inserted={Student: created["pk"]})  # fmt: skip
        connection.check_constraints()
    if connection.vendor == "postgresql":
        assert "do not exist" in str(refused.value)  # the set-wise check, not the triggers
    assert not Student.objects.filter(student_no__startswith="T").exists()


def test_referenced_rows_are_locked_until_the_end_and_the_triggers_come_back(demo: Any) -> None:
    """While the writing transaction is open nobody may delete the class its rows point
    at (a DELETE takes the row's FOR UPDATE lock, which FOR KEY SHARE holds off), and the
    statements after the write run the constraint triggers again."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks and constraint triggers of PostgreSQL")
    school_class = _a_class(demo)
    other = SchoolClass.objects.exclude(pk=school_class.pk).order_by("pk").first()
    params = connection.get_connection_params()
    conninfo = {k: params[k] for k in ("dbname", "user", "password", "host", "port") if params.get(k)}
    with transaction.atomic():
        insert_frame(Student, _students(demo.school_a.pk, school_class.pk), key="student_no")
        with connection.cursor() as cursor:
            cursor.execute("SHOW session_replication_role")
            assert cursor.fetchone() == ("origin",)
        with psycopg.connect(**conninfo, autocommit=True) as peer:
            locked = "SELECT 1 FROM core_schoolclass WHERE id = %s FOR UPDATE NOWAIT"
            with pytest.raises(psycopg.errors.LockNotAvailable):
                peer.execute(locked, [school_class.pk])
            assert peer.execute(locked, [other.pk]).fetchall() == [(1,)]
        # A statement after it pointing at a class that does not exist: the deferred
        # trigger refuses it when the constraints are checked.
        with pytest.raises(IntegrityError), transaction.atomic():
            Student.objects.filter(student_no="T000000000").update(school_class_id=_missing_class_id())
            connection.check_constraints()


def test_without_the_right_to_skip_the_triggers_they_check(demo: Any) -> None:
    """A database user that may not set `session_replication_role` (not a superuser, no
    GRANT SET ON PARAMETER) writes through the constraint triggers: still refused."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's roles")
    school_class = _a_class(demo)
    role = f"jiaoyun_writer_{os.getpid()}"  # rolled back with the test's transaction
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role}")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {role}")
        cursor.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}")
        cursor.execute(f"SET LOCAL ROLE {role}")
    with transaction.atomic():
        created = insert_frame(Student, _students(demo.school_a.pk, school_class.pk), key="student_no")
        connection.check_constraints()
    assert created.height == Student.objects.filter(student_no__startswith="T").count() == 3
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        insert_frame(Student, _students(demo.school_a.pk, _missing_class_id()).with_columns(
            student_no=pl.col("student_no").str.replace("T", "U")
        ), key="student_no")  # fmt: skip
        connection.check_constraints()
    assert "do not exist" not in str(refused.value)  # the trigger's words, not the set-wise check's


def test_new_keys_are_the_sequences_next_values(demo: Any) -> None:
    """The keys come back as runs of consecutive values; values others took in between
    (here: a sequence that steps by 3) split them."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's keys follow from last_insert_rowid()")
    with connection.cursor() as cursor:
        first = _next_ids(cursor, Guardian, 4).to_list()
        cursor.execute("ALTER SEQUENCE core_guardian_id_seq INCREMENT BY 3")  # rolled back
        spread = _next_ids(cursor, Guardian, 4).to_list()
    assert first == list(range(first[0], first[0] + 4))
    assert spread == [first[-1] + 3 * step for step in range(1, 5)]
