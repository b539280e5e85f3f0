"""Staffing against the standards, structural shortage by subject, and the hiring plan.

Structural shortage (结构性缺编) is what a head count hides: a school can meet the
teacher-to-student ratio and still lack physics teachers. It compares, for each school and
subject, the periods its classes need under the curriculum with the periods its teachers of
that subject can give.
"""

from __future__ import annotations

import datetime as dt

import ibis
from ibis import Table

from jiaoyun.analytics.warehouse.common import (
    active_teachers,
    count_by,
    enrolled_students,
    inner_join,
    left_join,
    lookup,
    stage_of,
)
from jiaoyun.analytics.warehouse.policy import STAGES, Policy
from jiaoyun.analytics.warehouse.teachers import with_retirement


def _class_stages(classes: Table) -> Table:
    return classes.select("class_id", "school_id", stage=stage_of(classes.grade_level))


def students_by_stage(students: Table, classes: Table) -> Table:
    """Enrolled students per school and stage (the stage of their class's grade)."""
    s = enrolled_students(students).filter(lambda s: s.class_id.notnull())
    s = inner_join(s.select("class_id"), _class_stages(classes), "class_id")
    return count_by(s, ["school_id", "stage"], "students")


def staffing_standard(students: Table, classes: Table, teachers: Table, *, policy: Policy) -> Table:
    """Teachers a school should have under the staffing standard (its students of each stage
    divided by that stage's ratio, summed) against the active teachers it has."""
    by_stage = students_by_stage(students, classes)
    by_stage = by_stage.mutate(
        required=by_stage.students / lookup(by_stage.stage, policy.student_teacher_ratio)
    )
    required = by_stage.group_by("school_id").aggregate(
        students=by_stage.students.sum().cast("int64"), required=by_stage.required.sum()
    )
    have = count_by(active_teachers(teachers), ["school_id"], "teachers")
    j = required.outer_join(have.view(), "school_id")
    j = j.select(
        school_id=ibis.coalesce(j.school_id, j.school_id_right),
        students=j.students.fill_null(0),
        teachers=j.teachers.fill_null(0),
        required=j.required.fill_null(0.0),
    )
    return j.mutate(
        required=j.required.round(2),
        gap=(j.teachers - j.required).round(2),
        students_per_teacher=(j.teachers > 0).ifelse(j.students / j.teachers, ibis.null("float64")).round(2),
    ).order_by("school_id")


def curriculum_table(policy: Policy) -> Table:
    rows = [
        {"stage": stage, "subject": subject, "periods": float(periods),
         "capacity": float(policy.teacher_periods_per_week[stage])}
        for stage in STAGES
        for subject, periods in policy.curriculum.get(stage, {}).items()
    ]  # fmt: skip
    return ibis.memtable(rows, columns=["stage", "subject", "periods", "capacity"])


def subject_demand(classes: Table, *, policy: Policy) -> Table:
    """Weekly periods each school's classes need per subject, and the full-time teachers
    (FTE) those periods take at the stage's teaching week."""
    c = _class_stages(classes)
    j = inner_join(c, curriculum_table(policy), "stage")
    return j.group_by(["school_id", "subject"]).aggregate(
        demand_periods=j.periods.sum(), demand_fte=(j.periods / j.capacity).sum()
    )


def subject_shortage(classes: Table, teachers: Table, *, policy: Policy) -> Table:
    """Per school and subject: periods needed against periods the school's active teachers
    of that subject can give. A teacher gives the school's average teaching week (its needed
    periods over its needed FTE), so the two sides are in the same unit."""
    demand = subject_demand(classes, policy=policy)
    week = demand.group_by("school_id").aggregate(week=demand.demand_periods.sum() / demand.demand_fte.sum())
    t = active_teachers(teachers).filter(lambda t: t.subject.notnull())
    supply = count_by(t, ["school_id", "subject"], "teachers")
    j = demand.outer_join(supply.view(), ["school_id", "subject"])
    j = j.select(
        school_id=ibis.coalesce(j.school_id, j.school_id_right),
        subject=ibis.coalesce(j.subject, j.subject_right),
        demand_periods=j.demand_periods.fill_null(0.0),
        demand_fte=j.demand_fte.fill_null(0.0),
        teachers=j.teachers.fill_null(0),
    )
    j = left_join(j, week, "school_id")
    supply_periods = j.teachers * j.week.fill_null(0.0)
    return j.select(
        "school_id",
        "subject",
        demand_periods=j.demand_periods.round(2),
        demand_fte=j.demand_fte.round(2),
        teachers=j.teachers.cast("int64"),
        supply_periods=supply_periods.round(2),
        gap_periods=(supply_periods - j.demand_periods).round(2),
        shortage_fte=(j.demand_fte - j.teachers).round(2),
    ).order_by(["school_id", "subject"])


def subject_shortage_district(shortage: Table) -> Table:
    """The district per subject: net shortage, and the sum of shortages of the schools short
    of that subject (surplus teachers in one school do not teach another school's classes)."""
    return (
        shortage.group_by("subject")
        .aggregate(
            demand_fte=shortage.demand_fte.sum().round(2),
            teachers=shortage.teachers.sum().cast("int64"),
            net_shortage_fte=shortage.shortage_fte.sum().round(2),
            schools_short=(shortage.shortage_fte > 0).ifelse(1, 0).sum().cast("int64"),
            shortage_fte=(shortage.shortage_fte > 0).ifelse(shortage.shortage_fte, 0.0).sum().round(2),
        )
        .order_by("subject")
    )


def hiring_plan(classes: Table, teachers: Table, *, as_of: dt.date, policy: Policy) -> Table:
    """Hires proposed per school and subject for next school year: the FTE short once this
    year's retirements have left, less the tolerance absorbed by overtime, rounded up."""
    shortage = subject_shortage(classes, teachers, policy=policy)
    t = with_retirement(active_teachers(teachers), as_of=as_of, policy=policy)
    leaving = count_by(
        t.filter((t.years_to_retirement == 0) & t.subject.notnull()), ["school_id", "subject"], "retiring"
    )
    j = left_join(shortage, leaving, ["school_id", "subject"])
    retiring = j.retiring.fill_null(0).cast("int64")
    next_year = (j.demand_fte - (j.teachers - retiring)).round(2)
    hires = (next_year - policy.hiring_tolerance_fte).ceil().clip(lower=0).cast("int64")
    plan = j.select("school_id", "subject", "demand_fte", "teachers", retiring=retiring,
                    shortage_next_year=next_year, hires=hires)  # fmt: skip
    return plan.filter(plan.hires > 0).order_by(["school_id", "subject"])


def hiring_plan_by_subject(plan: Table) -> Table:
    return (
        plan.group_by("subject")
        .aggregate(
            schools=plan.count().cast("int64"),
            shortage_next_year=plan.shortage_next_year.sum().round(2),
            hires=plan.hires.sum().cast("int64"),
        )
        .order_by([ibis.desc("hires"), "subject"])
    )
