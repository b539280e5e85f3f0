"""Rotation candidates (区管校聘): teachers long at one school, and how many each school has.

Candidates in a subject where their school has more teachers than its classes need come
first: moving them costs the school nothing and can fill another school's shortage.
"""

from __future__ import annotations

import datetime as dt

import ibis
from ibis import Table

from jiaoyun.analytics.warehouse.common import active_teachers, count_by, left_join, whole_years
from jiaoyun.analytics.warehouse.policy import Policy
from jiaoyun.analytics.warehouse.teachers import with_retirement


def rotation_candidates(teachers: Table, shortage: Table, *, as_of: dt.date, policy: Policy) -> Table:
    t = with_retirement(active_teachers(teachers), as_of=as_of, policy=policy)
    t = t.filter(t.status == "established")
    t = t.mutate(years_at_school=whole_years(t.joined_school_on, as_of), age=whole_years(t.birth_date, as_of))
    t = t.filter(
        (t.years_at_school >= policy.rotation_years)
        & (t.years_to_retirement >= policy.rotation_exempt_years_before_retirement)
    )
    surplus = shortage.select("school_id", "subject", subject_surplus_fte=-shortage.shortage_fte)
    j = left_join(t, surplus, ["school_id", "subject"])
    return j.select(
        "teacher_id", "staff_no", "name", "school_id", "subject", "title", "gender",
        age=j.age.cast("int64"), years_at_school=j.years_at_school.cast("int64"),
        subject_surplus_fte=j.subject_surplus_fte.fill_null(0.0).round(2),
    ).order_by([ibis.desc("subject_surplus_fte"), ibis.desc("years_at_school"), "teacher_id"])  # fmt: skip


def rotation_by_school(teachers: Table, candidates: Table) -> Table:
    have = count_by(active_teachers(teachers), ["school_id"], "teachers")
    n = count_by(candidates, ["school_id"], "candidates")
    j = left_join(have, n, "school_id")
    candidates_col = j.candidates.fill_null(0).cast("int64")
    return j.select(
        "school_id", "teachers", candidates=candidates_col, share=(candidates_col / j.teachers).round(4)
    ).order_by("school_id")
