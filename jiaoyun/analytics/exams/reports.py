"""Report tables as Ibis expressions over the long score table (DuckDB or Spark executes them).

Levels: district (everyone), school, class, student. Every function takes Ibis tables and returns
an Ibis expression; the caller decides where it runs and where the result goes.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from jiaoyun.analytics.exams.classical import DEFAULT_CUTS

TOTAL = "总分"  # the subject name under which the grand total is reported
UNIT_LEVELS = ("district", "school", "class")
DISTRICT_UNIT = "district"


def _with_subject(items: ir.Table) -> ir.Table:
    if "subject" in items.columns:
        return items
    return items.mutate(subject=ibis.literal(""))


def student_totals(scores: ir.Table, items: ir.Table, *, include_total: bool = True) -> ir.Table:
    """One row per student and subject (plus the grand total): score and full marks."""
    it = _with_subject(items).select("item_id", "subject", "max_score")
    joined = scores.join(it, "item_id")
    # Grouping by the student alone hashes one integer instead of three keys over millions of
    # rows; the contract gives a student one school and one class, so any of their rows will do.
    per_subject = joined.group_by(["student_id", "subject"]).aggregate(
        school_id=joined.school_id.arbitrary(),
        class_id=joined.class_id.arbitrary(),
        score=joined.score.sum(),
        full_marks=joined.max_score.sum(),
    )
    per_subject = per_subject.select("student_id", "school_id", "class_id", "subject", "score", "full_marks")
    if not include_total:
        return per_subject
    total = per_subject.group_by("student_id").aggregate(
        school_id=per_subject.school_id.arbitrary(),
        class_id=per_subject.class_id.arbitrary(),
        score=per_subject.score.sum(),
        full_marks=per_subject.full_marks.sum(),
    )
    total = total.mutate(subject=ibis.literal(TOTAL)).select(per_subject.columns)
    return per_subject.union(total)


def student_report(totals: ir.Table) -> ir.Table:
    """Ranks (district, school, class), Z and T against the district, class Z, percentile rank."""
    t = totals
    district = ibis.window(group_by=[t.subject])
    klass = ibis.window(group_by=[t.subject, t.class_id])

    def rank(group_by):
        # ibis.rank() is 0-based "min" rank: ties share the best place, the next one skips.
        return ibis.rank().over(group_by=group_by, order_by=ibis.desc(t.score)) + 1

    z = (t.score - t.score.mean().over(district)) / t.score.std(how="sample").over(district)
    class_z = (t.score - t.score.mean().over(klass)) / t.score.std(how="sample").over(klass)
    below = ibis.rank().over(group_by=[t.subject], order_by=t.score)
    equal = t.score.count().over(group_by=[t.subject, t.score])
    n = t.score.count().over(district)
    out = t.mutate(
        district_rank=rank([t.subject]),
        school_rank=rank([t.subject, t.school_id]),
        class_rank=rank([t.subject, t.class_id]),
        z=z.fill_null(0.0),
        class_z=class_z.fill_null(0.0),
        percentile_rank=100.0 * (below + 0.5 * equal) / n,
    )
    return out.mutate(t_score=50.0 + 10.0 * out.z)


def _unit_column(t: ir.Table, level: str) -> ir.Value:
    if level == DISTRICT_UNIT:
        return ibis.literal(DISTRICT_UNIT)
    return t[f"{level}_id"].cast("string")


def unit_summary(totals: ir.Table, *, cuts: dict[str, float] | None = None) -> ir.Table:
    """Per level, unit and subject: count, max, min, mean, SD (n-1), median, score rate, 四率,
    超均率 against the parent unit (school vs district, class vs school) and rank among peers."""
    cuts = {**DEFAULT_CUTS, **(cuts or {})}
    parts = []
    for level in UNIT_LEVELS:
        # A class's school is kept so that its 超均率 can be taken against that school.
        parent = totals.school_id.cast("string") if level == "class" else ibis.null("string")
        t = totals.mutate(level=ibis.literal(level), unit_id=_unit_column(totals, level), school_id=parent)
        eps = 1e-9 * t.full_marks
        agg = t.group_by(["level", "unit_id", "subject", "school_id"]).aggregate(
            count=t.score.count(),
            max=t.score.max(),
            min=t.score.min(),
            mean=t.score.mean(),
            sd=t.score.std(how="sample"),
            median=t.score.median(),
            full_marks=t.full_marks.max(),
            excellent_rate=(t.score >= cuts["excellent"] * t.full_marks - eps).cast("float64").mean(),
            good_rate=(t.score >= cuts["good"] * t.full_marks - eps).cast("float64").mean(),
            pass_rate=(t.score >= cuts["pass"] * t.full_marks - eps).cast("float64").mean(),
            low_rate=(t.score < cuts["low"] * t.full_marks - eps).cast("float64").mean(),
        )
        parts.append(agg)
    summary = ibis.union(*parts)
    summary = summary.mutate(score_rate=summary.mean / summary.full_marks)
    district = summary.filter(summary.level == "district").select(subject="subject", district_mean="mean")
    schools = summary.filter(summary.level == "school").select(
        subject="subject", parent_school="unit_id", school_mean="mean"
    )
    s = summary.left_join(district, "subject").drop("subject_right")
    s = s.left_join(schools, [s.subject == schools.subject, s.school_id == schools.parent_school]).drop(
        "subject_right", "parent_school"
    )
    parent_mean = ibis.cases(
        (s.level == "school", s.district_mean), (s.level == "class", s.school_mean), else_=ibis.null()
    )
    s = s.mutate(over_mean_rate=(s.mean - parent_mean) / parent_mean)
    peers = ibis.window(group_by=[s.level, s.subject], order_by=ibis.desc(s.mean))
    s = s.mutate(rank=ibis.rank().over(peers) + 1)
    return s.drop("district_mean", "school_mean")


def score_band_counts(totals: ir.Table, *, width: float) -> ir.Table:
    """Students per 分数段 [k*width, (k+1)*width) per level, unit and subject; full marks go to
    the top band."""
    parts = []
    for level in UNIT_LEVELS:
        t = totals.mutate(level=ibis.literal(level), unit_id=_unit_column(totals, level))
        top = ((t.full_marks / width).ceil() - 1).cast("int64")
        band = ibis.least((t.score / width).floor().cast("int64"), top)
        t = t.mutate(band=band)
        parts.append(t.group_by(["level", "unit_id", "subject", "band"]).aggregate(count=t.score.count()))
    out = ibis.union(*parts)
    return out.mutate(low=out.band * width, high=(out.band + 1) * width)


def _roll_up(fine: ir.Table, keys: list[str], sums: list[str]) -> ir.Table:
    """Class, school and district rows from per-class sums: one pass over the long table, then
    re-aggregation of a table the size of classes x keys (sums and counts add up; means do not)."""
    parts = []
    for level in UNIT_LEVELS:
        by = keys if level == DISTRICT_UNIT else [f"{level}_id", *keys]
        agg = fine.group_by(by).aggregate(**{c: fine[c].sum() for c in sums})
        parts.append(
            agg.mutate(level=ibis.literal(level), unit_id=_unit_column(agg, level)).select(
                "level", "unit_id", *keys, *sums
            )
        )
    return ibis.union(*parts)


def item_rates_by_unit(scores: ir.Table, items: ir.Table) -> ir.Table:
    """Score rate of every item in every unit, next to the district's."""
    it = _with_subject(items).select("item_id", "subject", "max_score")
    # Aggregate the long rows before joining the item table: the join then touches
    # classes x items rows, not every score.
    fine = scores.group_by(["school_id", "class_id", "item_id"]).aggregate(
        count=scores.score.count(), total=scores.score.sum()
    )
    out = _roll_up(fine, ["item_id"], ["count", "total"]).join(it, "item_id")
    out = out.mutate(mean=out.total / out["count"])
    # Σ(score / max) / n = mean / max, as the item's full marks are one number.
    out = out.mutate(rate=out.mean / out.max_score).select(
        "level", "unit_id", "subject", "item_id", "count", "mean", "rate"
    )
    district = out.filter(out.level == DISTRICT_UNIT).select(item_id="item_id", district_rate="rate")
    out = out.join(district, "item_id")
    return out.mutate(rate_vs_district=out.rate - out.district_rate)


def score_groups(totals: ir.Table, *, fraction: float = 0.27) -> ir.Table:
    """Upper/middle/lower score group of each student per subject (top and bottom `fraction`)."""
    t = totals
    n = t.score.count().over(group_by=[t.subject])
    position = ibis.row_number().over(group_by=[t.subject], order_by=[ibis.desc(t.score), t.student_id])
    size = (n * fraction).round().cast("int64")
    size = ibis.greatest(size, 1)
    group = ibis.cases((position < size, "upper"), (position >= n - size, "lower"), else_="middle")
    return t.mutate(score_group=group).select("student_id", "subject", "score_group")


def option_analysis(scores: ir.Table, items: ir.Table, groups: ir.Table) -> ir.Table:
    """Selection rate of each option of each objective item, overall and per score group."""
    it = _with_subject(items)
    objective = it.filter(it.kind == "objective").select("item_id", "subject", "key")
    joined = scores.filter(scores.option.notnull()).join(objective, "item_id")
    joined = joined.join(groups, ["student_id", "subject"])
    by_group = joined.group_by(["item_id", "key", "score_group", "option"]).aggregate(
        chosen=joined.student_id.count()
    )
    # The "all" group is the sum of the three score groups: no second pass over the rows.
    everyone = by_group.group_by(["item_id", "key", "option"]).aggregate(chosen=by_group.chosen.sum())
    everyone = everyone.mutate(score_group=ibis.literal("all")).select(by_group.columns)
    counts = by_group.union(everyone)
    sizes = counts.group_by(["item_id", "score_group"]).aggregate(answered=counts.chosen.sum())
    out = counts.join(sizes, ["item_id", "score_group"])
    return out.mutate(rate=out.chosen / out.answered, is_key=out.option == out.key)


def knowledge_point_rates(
    scores: ir.Table, items: ir.Table, *, by: tuple[str, ...] = ("knowledge_point",)
) -> ir.Table:
    """Score rate (Σ score / Σ max) per level, unit, subject and knowledge point (or ability),
    students included as the finest level."""
    it = _with_subject(items).select("item_id", "subject", "max_score", *by)
    joined = scores.join(it, "item_id")
    keys = ["subject", *by]
    # One pass over the long rows gives the student level; every unit above is a sum of its
    # students' rows, and n (students with a row) is the count of those rows.
    student = joined.group_by(["student_id", *keys]).aggregate(
        school_id=joined.school_id.arbitrary(),
        class_id=joined.class_id.arbitrary(),
        score=joined.score.sum(),
        full=joined.max_score.sum(),
    )
    student = student.mutate(n=ibis.literal(1, "int64"))
    units = _roll_up(student, keys, ["score", "full", "n"])
    student = student.mutate(level=ibis.literal("student"), unit_id=student.student_id.cast("string"))
    out = units.union(student.select(units.columns))
    out = out.mutate(rate=out.score / out.full)
    district = out.filter(out.level == DISTRICT_UNIT).select(*keys, district_rate="rate")
    out = out.join(district, keys)
    return out.mutate(rate_vs_district=out.rate - out.district_rate)
