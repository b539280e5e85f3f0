"""Teacher structure: who teaches in each school, by age, gender, title, qualification,
subject and years at the school; who retires in the next years; how loaded they are.

Every view returns one row per school and category (long form), so a district total is a sum
over schools and a chart is a pivot.
"""

from __future__ import annotations

import datetime as dt

from ibis import Table

from jiaoyun.analytics.warehouse.common import (
    active_teachers,
    band,
    count_by,
    day_key,
    inner_join,
    left_join,
    lookup,
    stage_of,
    whole_years,
)
from jiaoyun.analytics.warehouse.policy import Policy


def teacher_age_bands(teachers: Table, *, as_of: dt.date, policy: Policy) -> Table:
    t = active_teachers(teachers)
    t = t.mutate(category=band(whole_years(t.birth_date, as_of), policy.age_band_edges))
    return count_by(t, ["school_id", "category"], "teachers").order_by(["school_id", "category"])


def teacher_gender(teachers: Table) -> Table:
    t = active_teachers(teachers)
    return count_by(t.mutate(category=t.gender), ["school_id", "category"], "teachers").order_by(
        ["school_id", "category"]
    )


def teacher_titles(teachers: Table) -> Table:
    t = active_teachers(teachers)
    return count_by(t.mutate(category=t.title), ["school_id", "category"], "teachers").order_by(
        ["school_id", "category"]
    )


def teacher_qualifications(teachers: Table) -> Table:
    t = active_teachers(teachers)
    return count_by(t.mutate(category=t.qualification), ["school_id", "category"], "teachers").order_by(
        ["school_id", "category"]
    )


def teacher_subjects(teachers: Table) -> Table:
    t = active_teachers(teachers)
    t = t.mutate(category=t.subject.fill_null("none"))
    return count_by(t, ["school_id", "category"], "teachers").order_by(["school_id", "category"])


def teacher_tenure(teachers: Table, *, as_of: dt.date, policy: Policy) -> Table:
    """Whole years at the current school; a teacher with no join date counts as unknown."""
    t = active_teachers(teachers)
    years = whole_years(t.joined_school_on, as_of)
    t = t.mutate(
        category=t.joined_school_on.isnull().ifelse("unknown", band(years, policy.tenure_band_edges))
    )
    return count_by(t, ["school_id", "category"], "teachers").order_by(["school_id", "category"])


def with_retirement(teachers: Table, *, as_of: dt.date, policy: Policy) -> Table:
    """Adds `years_to_retirement`: whole years from `as_of` to the day the teacher reaches
    the retirement age (0 = within the next twelve months, or already past it)."""
    age = lookup(teachers.gender, policy.retirement_age, max(policy.retirement_age.values()))
    retire_year = teachers.birth_date.year() + age
    retire_md = teachers.birth_date.month() * 100 + teachers.birth_date.day()
    as_of_md = as_of.month * 100 + as_of.day
    years = retire_year - as_of.year - (retire_md < as_of_md).ifelse(1, 0)
    retire_key = retire_year * 10000 + retire_md
    overdue = retire_key <= day_key(as_of)
    return teachers.mutate(years_to_retirement=overdue.ifelse(0, years).cast("int64"))


def retirements_due(teachers: Table, *, as_of: dt.date, policy: Policy) -> Table:
    """Teachers reaching retirement age in each of the next `retirement_horizon_years` years,
    by school and subject; `within_year` 1 means in the next twelve months."""
    t = with_retirement(active_teachers(teachers), as_of=as_of, policy=policy)
    t = t.filter(t.years_to_retirement < policy.retirement_horizon_years)
    t = t.mutate(within_year=(t.years_to_retirement + 1).cast("int64"), subject=t.subject.fill_null("none"))
    return count_by(t, ["school_id", "subject", "within_year"], "teachers").order_by(
        ["school_id", "subject", "within_year"]
    )


def teacher_workload(teachers: Table, assignments: Table, classes: Table, *, policy: Policy) -> Table:
    """Assigned weekly periods per active teacher against a full week at the stage taught,
    summed up per school: mean periods, overloaded (above `overload_factor` weeks) and
    teachers with no assignment."""
    c = classes.select("class_id", stage=stage_of(classes.grade_level))
    a = inner_join(assignments, c, "class_id")
    a = a.mutate(capacity=lookup(a.stage, policy.teacher_periods_per_week))
    per_teacher = a.group_by("teacher_id").aggregate(
        periods=a.weekly_hours.sum().cast("float64"), capacity=a.capacity.mean()
    )
    t = active_teachers(teachers).select("teacher_id", "school_id")
    t = left_join(t, per_teacher, "teacher_id")
    periods = t.periods.fill_null(0.0)
    overloaded = (periods > t.capacity * policy.overload_factor).fill_null(False)
    return (
        t.group_by("school_id")
        .aggregate(
            teachers=t.count().cast("int64"),
            mean_periods=periods.mean().round(2),
            overloaded=overloaded.ifelse(1, 0).sum().cast("int64"),
            unassigned=t.periods.isnull().ifelse(1, 0).sum().cast("int64"),
        )
        .order_by("school_id")
    )
