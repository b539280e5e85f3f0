"""School-age children, the enrolment projection by school zone, and the seat gap.

The projection is a cohort model: every class cohort moves up one grade a year; new
kindergarten and primary cohorts enter from the births table at the entry ages; leaving
primary for junior and junior for senior high school multiplies by the progression rates.
A kindergarten cohort does not feed primary school: primary entrants are counted from births,
which also covers children who never went to a kindergarten of the district.
"""

from __future__ import annotations

import datetime as dt

import ibis
from ibis import Table

from jiaoyun.analytics.warehouse.common import (
    enrolled_students,
    inner_join,
    left_join,
    school_year_of,
    stage_of,
)
from jiaoyun.analytics.warehouse.policy import Policy


def _future_years(as_of: dt.date, policy: Policy) -> tuple[int, int]:
    first = school_year_of(as_of) + 1
    return first, first + policy.projection_years - 1


def school_age_children(births: Table, *, as_of: dt.date, policy: Policy) -> Table:
    """Children reaching the kindergarten and the primary entry age in each of the next
    school years, per zone."""
    first, last = _future_years(as_of, policy)
    parts = []
    for stage, age in (
        ("kindergarten", policy.kindergarten_entry_age),
        ("primary", policy.primary_entry_age),
    ):
        entry = (births.birth_year + age).cast("int64")
        parts.append(
            births.select(
                "zone", entry_year=entry, stage=ibis.literal(stage), children=births.children.cast("int64")
            )
        )
    t = parts[0].union(parts[1])
    t = t.filter((t.entry_year >= first) & (t.entry_year <= last))
    return (
        t.group_by(["zone", "entry_year", "stage"])
        .aggregate(children=t.children.sum().cast("int64"))
        .order_by(["zone", "entry_year", "stage"])
    )


def _zone_classes(classes: Table, schools: Table) -> Table:
    return inner_join(classes, schools.select("school_id", "zone"), "school_id")


def enrolment_projection(
    students: Table, classes: Table, schools: Table, births: Table, *, as_of: dt.date, policy: Policy
) -> Table:
    """Projected students per zone, stage and school year for the next `projection_years`."""
    year0 = school_year_of(as_of)
    first, last = _future_years(as_of, policy)
    zc = _zone_classes(classes, schools).select("class_id", "zone", "grade_level")
    s = inner_join(enrolled_students(students).select("class_id"), zc, "class_id")
    current = s.group_by(["zone", "grade_level"]).aggregate(n=s.count().cast("float64"))
    current = current.select(
        "zone", start_level=current.grade_level.cast("int64"), start_year=ibis.literal(year0, "int64"), n="n"
    )
    entries = []
    for level, age, take_up in ((-2, policy.kindergarten_entry_age, policy.kindergarten_take_up),
                                (1, policy.primary_entry_age, policy.primary_take_up)):  # fmt: skip
        start = (births.birth_year + age).cast("int64")
        e = births.select(
            "zone", start_level=ibis.literal(level, "int64"), start_year=start,
            n=(births.children * take_up).cast("float64"),
        )  # fmt: skip
        entries.append(e.filter((e.start_year > year0) & (e.start_year <= last)))
    cohorts = current.union(entries[0]).union(entries[1])
    years = ibis.memtable({"year": list(range(first, last + 1))}).select(year=lambda t: t.year.cast("int64"))
    c = cohorts.cross_join(years)
    c = c.filter(c.year >= c.start_year)
    level = c.start_level + (c.year - c.start_year)
    c = c.mutate(level=level)
    c = c.filter((c.level <= 12) & ((c.start_level > 0) | (c.level <= 0)))
    to_junior = ((c.start_level <= 6) & (c.level >= 7)).ifelse(policy.junior_progression, 1.0)
    to_senior = ((c.start_level <= 9) & (c.level >= 10)).ifelse(policy.senior_progression, 1.0)
    c = c.mutate(stage=stage_of(c.level), projected=c.n * to_junior * to_senior)
    return (
        c.group_by(["zone", "year", "stage"])
        .aggregate(students=c.projected.sum().round(2))
        .order_by(["zone", "year", "stage"])
    )


def seat_gap(projection: Table, sizes: Table, schools: Table) -> Table:
    """Projected students per zone, stage and year against today's seats there (classes x
    standard size); a positive gap is children without a seat."""
    z = inner_join(sizes, schools.select("school_id", "zone"), "school_id")
    seats = z.group_by(["zone", "stage"]).aggregate(seats=z.standard.sum().cast("int64"))
    j = left_join(projection, seats, ["zone", "stage"])
    seats_col = j.seats.fill_null(0).cast("int64")
    return j.select(
        "zone", "year", "stage", projected=j.students, seats=seats_col, gap=(j.students - seats_col).round(2)
    ).order_by(["zone", "year", "stage"])
