"""The overview a dashboard opens on (one row per school) and the early-warning list."""

from __future__ import annotations

import ibis
from ibis import Table

from jiaoyun.analytics.warehouse.classes import LARGE, SUPER_LARGE
from jiaoyun.analytics.warehouse.common import inner_join, left_join

PERSONNEL, BASIC_EDUCATION, PLANNING = "personnel", "basic_education", "planning"
SHORTAGE, LARGE_CLASS, SEAT_GAP = "shortage", "large_class", "seat_gap"
HIGH, MEDIUM = "high", "medium"


def school_kpis(
    schools: Table, staffing: Table, size_summary: Table, retirements: Table, shortage: Table, plan: Table
) -> Table:
    """Per school: the figures of the district overview table and of the drill-down."""
    retiring = retirements.group_by("school_id").aggregate(
        retiring_5y=retirements.teachers.sum().cast("int64")
    )
    short = shortage.group_by("school_id").aggregate(
        shortage_fte=(shortage.shortage_fte > 0).ifelse(shortage.shortage_fte, 0.0).sum().round(2)
    )
    hires = plan.group_by("school_id").aggregate(hires=plan.hires.sum().cast("int64"))
    t = schools.select("school_id", "code", "name", "kind", "zone", "is_quality")
    for part in (staffing.select("school_id", "teachers", "required", "students_per_teacher"),
                 size_summary.select("school_id", "classes", "students", "mean_size", "large", "super_large"),
                 retiring, short, hires):  # fmt: skip
        t = left_join(t, part, "school_id")
    return t.select(
        "school_id", "code", "name", "kind", "zone", "is_quality",
        students=t.students.fill_null(0).cast("int64"),
        classes=t.classes.fill_null(0).cast("int64"),
        teachers=t.teachers.fill_null(0).cast("int64"),
        required_teachers=t.required.fill_null(0.0),
        students_per_teacher=t.students_per_teacher,
        mean_class_size=t.mean_size,
        large_classes=(t.large.fill_null(0) + t.super_large.fill_null(0)).cast("int64"),
        retiring_5y=t.retiring_5y.fill_null(0).cast("int64"),
        shortage_fte=t.shortage_fte.fill_null(0.0),
        hires=t.hires.fill_null(0).cast("int64"),
    ).order_by("code")  # fmt: skip


def early_warnings(plan: Table, sizes: Table, gap: Table, schools: Table, *, next_year: int) -> Table:
    """Who must act on what: a subject short next year (the personnel section hires), a
    class at 大班额 or above (the basic-education section and the school split it), a zone
    whose projected children outnumber its seats (the planning section adds seats)."""
    zone = schools.select("school_id", "zone")
    p = inner_join(plan, zone, "school_id")
    shortage = p.select(
        kind=ibis.literal(SHORTAGE),
        severity=((p.hires >= 2) | (p.teachers == 0)).ifelse(HIGH, MEDIUM),
        actor=ibis.literal(PERSONNEL),
        school_id=p.school_id,
        zone=p.zone,
        subject=p.subject,
        stage=ibis.null("string"),
        class_id=ibis.null("int64"),
        year=ibis.literal(next_year, "int64"),
        value=p.shortage_next_year.cast("float64"),
    )
    s = inner_join(sizes.filter(sizes.band.isin([LARGE, SUPER_LARGE])), zone, "school_id")
    large = s.select(
        kind=ibis.literal(LARGE_CLASS),
        severity=(s.band == SUPER_LARGE).ifelse(HIGH, MEDIUM),
        actor=ibis.literal(BASIC_EDUCATION),
        school_id=s.school_id,
        zone=s.zone,
        subject=ibis.null("string"),
        stage=s.stage,
        class_id=s.class_id,
        year=ibis.literal(next_year - 1, "int64"),
        value=s.students.cast("float64"),
    )
    g = gap.filter(gap.gap > 0)
    seats = g.select(
        kind=ibis.literal(SEAT_GAP),
        severity=(g.year == next_year).ifelse(HIGH, MEDIUM),
        actor=ibis.literal(PLANNING),
        school_id=ibis.null("int64"),
        zone=g.zone,
        subject=ibis.null("string"),
        stage=g.stage,
        class_id=ibis.null("int64"),
        year=g.year.cast("int64"),
        value=g.gap.cast("float64"),
    )
    t = shortage.union(large).union(seats)
    order = t.severity.substitute({HIGH: 0, MEDIUM: 1}, else_=2)
    return t.order_by([order, "kind", "zone", "school_id", "subject", "stage", "class_id", "year"])
