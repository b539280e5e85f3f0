"""Development over time: views over every snapshot in the lake, one row per snapshot day."""

from __future__ import annotations

import ibis
from ibis import Table

from jiaoyun.analytics.warehouse.common import (
    active_teachers,
    count_by,
    enrolled_students,
    inner_join,
    left_join,
    stage_of,
)

COMPULSORY = "compulsory"


def quality_seat_share(students: Table, classes: Table, schools: Table) -> Table:
    """Share of students in quality schools (省/国家级示范) per snapshot day and stage, and
    for compulsory education (primary and junior) as a whole: the figure the bureau reports."""
    c = classes.select("snapshot_date", "class_id", "school_id", stage=stage_of(classes.grade_level))
    s = inner_join(
        enrolled_students(students).select("snapshot_date", "class_id"), c, ["snapshot_date", "class_id"]
    )
    s = inner_join(
        s, schools.select("snapshot_date", "school_id", "is_quality"), ["snapshot_date", "school_id"]
    )
    s = s.mutate(q=s.is_quality.ifelse(1, 0))
    by_stage = s.group_by(["snapshot_date", "stage"]).aggregate(
        students=s.count().cast("int64"), in_quality=s.q.sum().cast("int64")
    )
    comp = s.filter(s.stage.isin(["primary", "junior"]))
    compulsory = comp.group_by("snapshot_date").aggregate(
        stage=ibis.literal(COMPULSORY),
        students=comp.count().cast("int64"),
        in_quality=comp.q.sum().cast("int64"),
    )
    t = by_stage.union(compulsory.select("snapshot_date", "stage", "students", "in_quality"))
    return t.mutate(share=(t.in_quality / t.students).round(4)).order_by(["snapshot_date", "stage"])


def titles_over_time(teachers: Table) -> Table:
    t = active_teachers(teachers)
    return count_by(t, ["snapshot_date", "title"], "teachers").order_by(["snapshot_date", "title"])


def headcount_over_time(schools: Table, classes: Table, teachers: Table, students: Table) -> Table:
    parts = [
        count_by(schools, ["snapshot_date"], "schools"),
        count_by(classes, ["snapshot_date"], "classes"),
        count_by(active_teachers(teachers), ["snapshot_date"], "teachers"),
        count_by(enrolled_students(students), ["snapshot_date"], "students"),
    ]
    t = parts[0]
    for part in parts[1:]:
        t = left_join(t, part, "snapshot_date")
    t = t.select(
        "snapshot_date",
        schools=t.schools,
        classes=t.classes.fill_null(0),
        teachers=t.teachers.fill_null(0),
        students=t.students.fill_null(0),
    )
    return t.mutate(
        students_per_teacher=(t.teachers > 0).ifelse(t.students / t.teachers, ibis.null("float64")).round(2)
    ).order_by("snapshot_date")
