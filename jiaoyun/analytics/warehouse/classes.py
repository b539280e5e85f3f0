"""Class sizes against the limits (大班额) and seats against demand."""

from __future__ import annotations

import ibis
from ibis import Table

from jiaoyun.analytics.warehouse.common import count_by, enrolled_students, left_join, lookup, stage_of
from jiaoyun.analytics.warehouse.policy import Policy

NORMAL, OVER_STANDARD, LARGE, SUPER_LARGE = "normal", "over_standard", "large", "super_large"


def class_sizes(classes: Table, students: Table, *, policy: Policy) -> Table:
    """Every class with its enrolled students, its stage's standard size and a band: over the
    standard, 大班额 (from `large_class`) or 超大班额 (from `super_large_class`). The large-class
    bands apply from primary school up; a kindergarten class can only be over its standard."""
    sizes = count_by(
        enrolled_students(students).filter(lambda s: s.class_id.notnull()), ["class_id"], "students"
    )
    c = classes.select("class_id", "school_id", "grade_level", "number", stage=stage_of(classes.grade_level))
    c = left_join(c, sizes, "class_id")
    n = c.students.fill_null(0).cast("int64")
    standard = lookup(c.stage, policy.class_size_standard).cast("int64")
    school_age = c.stage != "kindergarten"
    size_band = ibis.cases(
        (school_age & (n >= policy.super_large_class), SUPER_LARGE),
        (school_age & (n >= policy.large_class), LARGE),
        (n > standard, OVER_STANDARD),
        else_=NORMAL,
    )
    return c.select(
        "class_id",
        "school_id",
        "grade_level",
        "number",
        "stage",
        students=n,
        standard=standard,
        band=size_band,
    ).order_by(["school_id", "grade_level", "number"])


def class_size_summary(sizes: Table) -> Table:
    """Per school: classes, students, mean and largest class, and classes in each band."""

    def in_band(*bands: str) -> ibis.Value:
        return sizes.band.isin(bands).ifelse(1, 0).sum().cast("int64")

    return (
        sizes.group_by("school_id")
        .aggregate(
            classes=sizes.count().cast("int64"),
            students=sizes.students.sum().cast("int64"),
            mean_size=sizes.students.mean().round(2),
            max_size=sizes.students.max().cast("int64"),
            over_standard=in_band(OVER_STANDARD, LARGE, SUPER_LARGE),
            large=in_band(LARGE),
            super_large=in_band(SUPER_LARGE),
        )
        .order_by("school_id")
    )


def seats_vs_demand(sizes: Table) -> Table:
    """Per school and stage: seats (classes x the standard size) against enrolled students."""
    t = sizes.group_by(["school_id", "stage"]).aggregate(
        classes=sizes.count().cast("int64"),
        seats=sizes.standard.sum().cast("int64"),
        students=sizes.students.sum().cast("int64"),
    )
    return t.mutate(
        free_seats=(t.seats - t.students).cast("int64"),
        utilisation=(t.students / t.seats).round(4),
    ).order_by(["school_id", "stage"])
