"""The warehouse contract: the star schema the snapshot task writes into the lake.

Every snapshot table carries `snapshot_date`, so one table holds the register as it stood on
each snapshot day and the views can show development over time. The lake keeps no names or ID
numbers of students (minors): the views need counts, not identities. Teachers keep their staff
number and name because the rotation list is a list of people the personnel section acts on.
"""

from __future__ import annotations

import pyarrow as pa

SNAPSHOT_DATE = "snapshot_date"

SCHOOLS = pa.schema(
    [
        ("snapshot_date", pa.date32()),
        ("school_id", pa.int64()),
        ("code", pa.string()),
        ("name", pa.string()),
        ("kind", pa.string()),
        ("zone", pa.string()),
        ("is_public", pa.bool_()),
        ("is_quality", pa.bool_()),
    ]
)
CLASSES = pa.schema(
    [
        ("snapshot_date", pa.date32()),
        ("class_id", pa.int64()),
        ("school_id", pa.int64()),
        ("grade_level", pa.int32()),
        ("number", pa.int32()),
        ("entry_year", pa.int32()),
        ("head_teacher_id", pa.int64()),
    ]
)
TEACHERS = pa.schema(
    [
        ("snapshot_date", pa.date32()),
        ("teacher_id", pa.int64()),
        ("staff_no", pa.string()),
        ("name", pa.string()),
        ("school_id", pa.int64()),
        ("subject", pa.string()),
        ("gender", pa.string()),
        ("birth_date", pa.date32()),
        ("title", pa.string()),
        ("qualification", pa.string()),
        ("status", pa.string()),
        ("joined_school_on", pa.date32()),
        ("started_teaching_year", pa.int32()),
    ]
)
STUDENTS = pa.schema(
    [
        ("snapshot_date", pa.date32()),
        ("student_id", pa.int64()),
        ("school_id", pa.int64()),
        ("class_id", pa.int64()),
        ("gender", pa.string()),
        ("birth_date", pa.date32()),
        ("enrolment_year", pa.int32()),
        ("household", pa.string()),
        ("status", pa.string()),
    ]
)
ENROLMENTS = pa.schema(
    [
        ("snapshot_date", pa.date32()),
        ("student_id", pa.int64()),
        ("class_id", pa.int64()),
        ("start", pa.date32()),
        ("end", pa.date32()),
    ]
)
ASSIGNMENTS = pa.schema(
    [
        ("snapshot_date", pa.date32()),
        ("teacher_id", pa.int64()),
        ("class_id", pa.int64()),
        ("subject", pa.string()),
        ("weekly_hours", pa.int32()),
    ]
)
# Reference data, imported rather than snapshotted: registered births (or children on the
# household register) per school zone and birth year.
BIRTHS = pa.schema([("zone", pa.string()), ("birth_year", pa.int32()), ("children", pa.int64())])

SNAPSHOT_TABLES: dict[str, pa.Schema] = {
    "schools": SCHOOLS,
    "classes": CLASSES,
    "teachers": TEACHERS,
    "students": STUDENTS,
    "enrolments": ENROLMENTS,
    "assignments": ASSIGNMENTS,
}
REFERENCE_TABLES: dict[str, pa.Schema] = {"births": BIRTHS}

# Teachers who count towards a school's staff: retired, departed and seconded-out teachers
# stay on the register for the history but do not teach there.
ACTIVE_TEACHER_STATUSES = ("established", "contract")
ENROLLED = "enrolled"
