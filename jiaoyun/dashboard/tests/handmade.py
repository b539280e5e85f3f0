"""A hand-made register small enough to count by hand: three schools in two zones, five
classes, fourteen teachers and two snapshots. docs/warehouse.md and the tests work the
expected figures out from these rows alone."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from jiaoyun.analytics.warehouse.policy import Policy
from jiaoyun.analytics.warehouse.schema import BIRTHS as BIRTHS_SCHEMA
from jiaoyun.analytics.warehouse.schema import SNAPSHOT_TABLES

AS_OF = dt.date(2026, 9, 15)
BEFORE = dt.date(2025, 9, 15)
D = dt.date

# A curriculum small enough to add up by hand; the other norms are the defaults except the
# projection's, which are set so that every rate visibly takes effect.
POLICY = Policy(
    curriculum={
        "kindergarten": {"preschool": 25},
        "primary": {"chinese": 8, "math": 5},
        "junior": {"math": 5, "physics": 2, "biology": 1},
        "senior": {"math": 4},
    },
    junior_progression=0.9,
    senior_progression=0.5,
    projection_years=2,
)

SCHOOLS = [  # school_id, code, name, kind, zone, is_public, is_quality (now, a year before)
    (1, "S1", "First Primary", "primary", "Z1", True, (True, False)),
    (2, "S2", "Second Junior", "junior", "Z1", True, (False, False)),
    (3, "S3", "Third Kindergarten", "kindergarten", "Z2", True, (False, False)),
]
CLASSES = [  # class_id, school_id, grade_level, number, students enrolled now
    (101, 1, 1, 1, 46),
    (102, 1, 6, 1, 57),
    (201, 2, 7, 1, 50),
    (202, 2, 9, 1, 66),
    (301, 3, -2, 1, 31),
]
# teacher_id, school_id, subject, gender, birth, title, qualification, status, joined
TEACHERS = [
    (1, 1, "chinese", "female", D(1972, 3, 1), "senior", "bachelor", "established", D(2010, 9, 1)),
    (2, 1, "chinese", "male", D(1990, 10, 1), "first", "master", "established", D(2018, 9, 1)),
    (3, 1, "math", "female", D(1998, 5, 20), "second", "master", "contract", D(2021, 9, 1)),
    (4, 1, "math", "male", D(1965, 1, 1), "senior", "bachelor", "retired", D(1990, 9, 1)),
    (5, 2, "math", "male", D(1967, 6, 30), "senior", "bachelor", "established", D(2000, 9, 1)),
    (6, 2, "math", "female", D(1985, 9, 15), "first", "bachelor", "established", D(2020, 9, 16)),
    (7, 2, "physics", "male", D(1980, 12, 31), "senior", "doctorate", "established", D(2019, 9, 1)),
    (8, 2, "physics", "male", D(1995, 1, 1), "none", "bachelor", "seconded", D(2022, 9, 1)),
    (9, 3, "preschool", "female", D(1971, 11, 20), "first", "associate", "established", D(2012, 9, 1)),
    (10, 3, "preschool", "female", D(2001, 2, 2), "none", "bachelor", "established", D(2024, 9, 1)),
    (11, 3, "preschool", "female", D(1968, 4, 4), "senior", "master", "established", None),
    (12, 3, "music", "male", D(1976, 8, 8), "first", "bachelor", "established", D(2016, 9, 1)),
    (13, None, "chinese", "female", D(1980, 1, 1), "first", "bachelor", "established", None),
    (14, 2, "chemistry", "male", D(1969, 1, 10), "first", "bachelor", "established", D(2024, 9, 1)),
]
ASSIGNMENTS = [  # teacher_id, class_id, subject, weekly periods
    (1, 101, "chinese", 8), (2, 102, "chinese", 8), (3, 101, "math", 5), (3, 102, "math", 5),
    (5, 201, "math", 5), (5, 202, "math", 5), (7, 201, "physics", 2), (7, 202, "physics", 2),
    (9, 301, "preschool", 25), (4, 101, "music", 2),
]  # fmt: skip
BIRTHS = [("Z1", 2021, 100), ("Z1", 2022, 80), ("Z2", 2024, 40), ("Z2", 2025, 50)]
# The snapshot a year before: two classes, three teachers with the titles they had then.
CLASSES_BEFORE = [(101, 1, 1, 1, 40), (201, 2, 7, 1, 45)]
TITLES_BEFORE = {1: "first", 2: "second", 5: "senior"}


def _table(name: str, rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SNAPSHOT_TABLES[name])


def tables() -> dict[str, pa.Table]:
    schools, classes, teachers, students, enrolments, assignments = [], [], [], [], [], []
    for day, now in ((AS_OF, True), (BEFORE, False)):
        for sid, code, name, kind, zone, public, quality in SCHOOLS:
            schools.append({"snapshot_date": day, "school_id": sid, "code": code, "name": name, "kind": kind,
                            "zone": zone, "is_public": public, "is_quality": quality[0 if now else 1]})  # fmt: skip
        next_student = 1 if now else 10_001
        for cid, sid, level, number, size in CLASSES if now else CLASSES_BEFORE:
            classes.append({"snapshot_date": day, "class_id": cid, "school_id": sid, "grade_level": level,
                            "number": number, "entry_year": day.year - max(level, 1) + 1,
                            "head_teacher_id": None})  # fmt: skip
            for k in range(size):
                students.append({"snapshot_date": day, "student_id": next_student, "school_id": sid,
                                 "class_id": cid, "gender": "male" if k % 2 else "female",
                                 "birth_date": D(day.year - level - 6, 3, 1), "enrolment_year": day.year,
                                 "household": "local", "status": "enrolled"})  # fmt: skip
                enrolments.append({"snapshot_date": day, "student_id": next_student, "class_id": cid,
                                   "start": D(day.year, 9, 1), "end": None})  # fmt: skip
                next_student += 1
        if now:
            # Neither counts: one transferred out of class 101, one enrolled without a class.
            for sid, cid, status in ((1, 101, "transferred"), (1, None, "enrolled")):
                students.append({"snapshot_date": day, "student_id": next_student, "school_id": sid,
                                 "class_id": cid, "gender": "female", "birth_date": D(2019, 3, 1),
                                 "enrolment_year": 2026, "household": "city", "status": status})  # fmt: skip
                next_student += 1
        for tid, sid, subject, gender, birth, title, qual, status, joined in TEACHERS:
            if not now and tid not in TITLES_BEFORE:
                continue
            teachers.append({"snapshot_date": day, "teacher_id": tid, "staff_no": f"T{tid:03d}",
                             "name": f"Teacher {tid}", "school_id": sid, "subject": subject, "gender": gender,
                             "birth_date": birth, "title": title if now else TITLES_BEFORE[tid],
                             "qualification": qual, "status": status, "joined_school_on": joined,
                             "started_teaching_year": None})  # fmt: skip
        if now:
            for tid, cid, subject, hours in ASSIGNMENTS:
                assignments.append({"snapshot_date": day, "teacher_id": tid, "class_id": cid, "subject": subject,
                                    "weekly_hours": hours})  # fmt: skip
    births = pa.Table.from_pylist(
        [{"zone": z, "birth_year": y, "children": n} for z, y, n in BIRTHS], schema=BIRTHS_SCHEMA
    )
    return {
        "schools": _table("schools", schools),
        "classes": _table("classes", classes),
        "teachers": _table("teachers", teachers),
        "students": _table("students", students),
        "enrolments": _table("enrolments", enrolments),
        "assignments": _table("assignments", assignments),
        "births": births,
    }
