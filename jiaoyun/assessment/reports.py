"""The five exam reports (district, school, class, teacher, student) built from an exam's
materialised analysis. A report is a list of sections (a title, typed columns, rows) and
chart specifications: the page, the xlsx workbook and the PDF all render the same report,
so what a viewer may download is exactly what they may see.

Access is decided before a report is built (`selectors.report_subject`); a builder only
ever reads the rows of its own unit.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from jiaoyun.analytics.exams import diagnosis
from jiaoyun.analytics.exams.reports import TOTAL
from jiaoyun.assessment.models import Exam, FollowUpPlan
from jiaoyun.assessment.results import Results
from jiaoyun.core.identity import mask_student_no
from jiaoyun.core.models import School, SchoolClass, Student, Teacher, TeachingAssignment

WEAKEST_ITEMS = 10
COMPARABLE_CLASSES = 5


@dataclass
class Column:
    label: str
    fmt: str = "text"  # text | int | num | num2 | pct | spct | signed


@dataclass
class Section:
    key: str
    title: str
    columns: list[Column]
    rows: list[list[Any]]
    note: str = ""
    links: list[Any] = field(default_factory=list)  # per row: where its first cell points (str or None)

    def display_rows(self) -> list[list[tuple[str, str | None, bool]]]:
        """Cells as (text, link, numeric) for the page and the PDF."""
        out = []
        for r, row in enumerate(self.rows):
            link = self.links[r] if r < len(self.links) else None
            out.append(
                [
                    (fmt(value, col.fmt), link if c == 0 else None, col.fmt != "text")
                    for c, (value, col) in enumerate(zip(row, self.columns, strict=True))
                ]
            )
        return out


@dataclass
class Chart:
    id: str
    kind: str  # bar | hbar | scatter | interval
    title: str
    categories: list[str] = field(default_factory=list)
    series: list[dict] = field(default_factory=list)
    percent: bool = False
    axes: tuple[str, str] = ("", "")

    def spec(self) -> dict:
        return {"id": self.id, "kind": self.kind, "title": self.title, "categories": self.categories,
                "series": self.series, "percent": self.percent, "axes": list(self.axes)}  # fmt: skip


@dataclass
class Report:
    kind: str
    title: str
    exam: Exam
    unit_id: int = 0
    facts: list[tuple[str, str]] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    borderline: list[dict] = field(default_factory=list)  # rows that may carry a follow-up plan
    plans: list[dict] = field(default_factory=list)

    def chart_specs(self) -> list[dict]:
        return [c.spec() for c in self.charts]


def fmt(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if kind == "int":
        return f"{int(value)}"
    if kind == "num":
        return f"{value:.1f}"
    if kind == "num2":
        return f"{value:.2f}"
    if kind == "num3":
        return f"{value:.3f}"
    if kind == "pct":
        return f"{100 * value:.1f}%"
    if kind == "spct":
        return f"{100 * value:+.1f}%"
    if kind == "signed":
        return f"{value:+.2f}"
    return str(value)


def subject_label(subject: str) -> str:
    return _("Total") if subject == TOTAL else subject


def call_label(call: str | None) -> str:
    return {"above": _("Above"), "below": _("Below")}.get(call or "", _("Not distinguishable"))


_REASONS = (
    (re.compile(r"discriminative efficiency below (\S+)"), lambda m: _("discriminative efficiency below %(value)s") % {"value": m[1]}),
    (re.compile(r"negative item-rest correlation"), lambda m: _("negative item-rest correlation")),
    (re.compile(r"too hard \(facility below (\S+)\)"), lambda m: _("too hard (facility below %(value)s)") % {"value": m[1]}),
    (re.compile(r"too easy \(facility above (\S+)\)"), lambda m: _("too easy (facility above %(value)s)") % {"value": m[1]}),
    (re.compile(r"upper-lower discrimination below (\S+)"), lambda m: _("discrimination (27%% groups) below %(value)s") % {"value": m[1]}),
    (re.compile(r"distractor (\S*) attracts the upper group more"), lambda m: _("distractor %(option)s draws the upper group more than the lower") % {"option": m[1] or "–"}),
)  # fmt: skip


def reason_label(reason: str) -> str:
    for pattern, label in _REASONS:
        m = pattern.fullmatch(reason)
        if m:
            return label(m)  # type: ignore[no-untyped-call]
    return reason


# ----------------------------------------------------------------------------- names


def school_names(ids: Any) -> dict[int, str]:
    return dict(School.objects.filter(pk__in=list(ids)).values_list("pk", "name"))


def class_names(ids: Any, *, with_school: bool = False) -> dict[int, str]:
    out = {}
    for c in SchoolClass.objects.filter(pk__in=list(ids)).select_related("grade", "school"):
        out[c.pk] = f"{c.school.name} {c.name}" if with_school else c.name
    return out


def student_names(ids: Any) -> dict[int, Student]:
    return {s.pk: s for s in Student.objects.filter(pk__in=list(ids)).select_related("school_class__grade")}


def _student_no(student: Student | None) -> str:
    """A student's number as reports show it, to every reader: masked, since it is
    usually "G" and the ID number, which no one needs to read results by."""
    return mask_student_no(student.student_no) if student else ""


def _url(name: str, exam: Exam, unit: int) -> str:
    return reverse(f"assessment:report_{name}", args=[exam.pk, unit])


def _units(results: Results, level: str, subject: str | None = None, **equal: Any) -> list[dict]:
    filters: dict[str, Any] = {"level": level, **equal}
    if subject is not None:
        filters["subject"] = subject
    return results.rows("units", **filters)


def _ordered_subjects(results: Results) -> list[str]:
    return [*results.subjects(), TOTAL]


RATE_COLUMNS = ("excellent_rate", "good_rate", "pass_rate", "low_rate")


def _rate_columns() -> list[Column]:
    return [Column(_("excellent rate"), "pct"), Column(_("good rate"), "pct"), Column(_("pass rate"), "pct"),
            Column(_("low-score rate"), "pct")]  # fmt: skip


def _kp_compare(results: Results, units: list[tuple[str, str, str]], key: str = "knowledge_point") -> Section:
    """Score rate per knowledge point (or ability) for several units side by side."""
    table = f"{key}_rates"
    by_unit = {}
    for _label, level, unit in units:
        by_unit[(level, unit)] = {
            (r["subject"], r[key]): r["rate"] for r in results.rows(table, level=level, unit_id=unit)
        }
    keys = sorted(
        {k for d in by_unit.values() for k in d if k[1]},
        key=lambda k: (results.subjects().index(k[0]) if k[0] in results.subjects() else 99, k[1]),
    )
    title = (
        _("Knowledge points: score rates") if key == "knowledge_point" else _("Ability levels: score rates")
    )
    columns = [
        Column(_("subject")),
        Column(_("knowledge point") if key == "knowledge_point" else _("ability level")),
    ]
    columns += [Column(label, "pct") for label, _l, _u in units]
    rows = [[s, k, *[by_unit[(level, unit)].get((s, k)) for _l, level, unit in units]] for s, k in keys]
    if len(units) > 1:
        columns.append(Column(_("gap to the district"), "spct"))
        rows = [[*r, None if r[2] is None or r[-1] is None else r[2] - r[-1]] for r in rows]
    return Section(key=f"{key}_rates", title=title, columns=columns, rows=rows)  # fmt: skip


def _kp_chart(section: Section, chart_id: str, series_count: int) -> Chart:
    categories = [f"{r[0]}·{r[1]}" for r in section.rows]
    series = [
        {"name": section.columns[2 + i].label, "data": [None if r[2 + i] is None else round(100 * r[2 + i], 1) for r in section.rows]}
        for i in range(series_count)
    ]  # fmt: skip
    return Chart(chart_id, "bar", section.title, categories, series, percent=True)


def _summary_facts(results: Results) -> list[tuple[str, str]]:
    summary = results.summary
    facts = [(_("students"), str(summary.get("students", 0))), (_("items"), str(summary.get("items", 0))),
             (_("full marks"), fmt(summary.get("full_marks"), "num"))]  # fmt: skip
    if summary.get("prior_exam_id"):
        prior = Exam.objects.filter(pk=summary["prior_exam_id"]).first()
        if prior is not None:
            facts.append((_("previous exam"), prior.name))
    return facts


# ----------------------------------------------------------------------------- district


def district_report(results: Results) -> Report:
    exam, summary = results.exam, results.summary
    report = Report("district", _("District report"), exam, facts=_summary_facts(results))
    subjects = _ordered_subjects(results)
    district = {r["subject"]: r for r in _units(results, "district")}
    rows = []
    for s in subjects:
        d = district.get(s)
        if d is None:
            continue
        test = summary.get("subjects", {}).get(s, {}).get("test", {})
        rows.append([subject_label(s), d["count"], d["full_marks"], d["mean"], d["sd"], d["max"], d["min"], d["median"],
                     d["score_rate"], *[d[c] for c in RATE_COLUMNS], test.get("cic"), test.get("standard_error")])  # fmt: skip
    report.sections.append(Section("summary", _("Summary"), [
        Column(_("subject")), Column(_("students"), "int"), Column(_("full marks"), "num"), Column(_("mean"), "num2"),
        Column(_("standard deviation"), "num2"), Column(_("highest"), "num"), Column(_("lowest"), "num"),
        Column(_("median"), "num"), Column(_("score rate"), "pct"), *_rate_columns(),
        Column(_("reliability (alpha x 100)"), "num"), Column(_("standard error of measurement"), "num2"),
    ], rows))  # fmt: skip

    # Score bands of the district.
    bands = results.rows("bands", level="district")
    band_rows = sorted(
        bands, key=lambda r: (subjects.index(r["subject"]) if r["subject"] in subjects else 99, r["band"])
    )
    counts = {s: d["count"] for s, d in district.items()}
    report.sections.append(Section("bands", _("Score bands"), [
        Column(_("subject")), Column(_("from"), "num"), Column(_("below"), "num"), Column(_("students"), "int"),
        Column(_("share"), "pct"),
    ], [[subject_label(r["subject"]), r["low"], r["high"], r["count"], r["count"] / counts[r["subject"]] if counts.get(r["subject"]) else None]
        for r in band_rows]))  # fmt: skip
    total_bands = [r for r in band_rows if r["subject"] == TOTAL]
    report.charts.append(Chart("bands", "bar", _("Score bands of the total"),
                               [f"{r['low']:g}–{r['high']:g}" for r in total_bands],
                               [{"name": _("students"), "data": [r["count"] for r in total_bands]}]))  # fmt: skip

    # Schools compared.
    schools = _units(results, "school")
    names = school_names(int(r["unit_id"]) for r in schools)
    school_rows, links = [], []
    for s in subjects:
        for r in sorted((r for r in schools if r["subject"] == s), key=lambda r: r["rank"]):
            sid = int(r["unit_id"])
            school_rows.append([names.get(sid, r["unit_id"]), subject_label(s), r["count"], r["mean"], r["score_rate"],
                                r["over_mean_rate"], r["rank"], *[r[c] for c in RATE_COLUMNS]])  # fmt: skip
            links.append(_url("school", exam, sid))
    report.sections.append(Section("schools", _("Schools compared"), [
        Column(_("school")), Column(_("subject")), Column(_("students"), "int"), Column(_("mean"), "num2"),
        Column(_("score rate"), "pct"), Column(_("over-mean rate"), "spct"), Column(_("rank"), "int"), *_rate_columns(),
    ], school_rows, note=_("Over-mean rate (超均率): (school mean − district mean) / district mean."), links=links))  # fmt: skip
    totals = sorted((r for r in schools if r["subject"] == TOTAL), key=lambda r: r["rank"])
    report.charts.append(Chart("schools", "bar", _("Mean total by school"),
                               [names.get(int(r["unit_id"]), r["unit_id"]) for r in totals],
                               [{"name": _("mean"), "data": [round(r["mean"], 2) for r in totals]}]))  # fmt: skip

    # Between-school difference, and each school's mean against its spread.
    between = summary.get("between_schools") or {}
    report.facts.append((_("between-school share of variance (ICC)"), fmt(between.get("icc"), "pct")))
    spread = summary.get("school_mean_and_spread") or []
    report.sections.append(Section("between", _("Between-school difference"), [
        Column(_("school")), Column(_("students"), "int"), Column(_("mean total"), "num2"), Column(_("standard deviation"), "num2"),
    ], [[names.get(int(r["unit_id"]), r["unit_id"]), r["count"], r["mean"], r["sd"]] for r in spread],
        note=_("ICC = between-school variance / (between + within), from a two-level null model: the share of the "
               "differences between students that lies between schools. Small differences and high scores (校间差异小、"
               "学业成绩高) is the goal.")))  # fmt: skip
    report.charts.append(Chart("spread", "scatter", _("Each school's mean against its spread"), series=[{
        "name": _("schools"),
        "data": [{"name": names.get(int(r["unit_id"]), r["unit_id"]), "value": [round(r["sd"] or 0, 2), round(r["mean"], 2)]} for r in spread],
    }], axes=(_("standard deviation"), _("mean total"))))  # fmt: skip

    # Value-added of schools.
    va = (summary.get("value_added") or {}).get("schools") or []
    if va:
        report.sections.append(
            _va_section(
                "value_added", _("Value-added of schools"), va, names, lambda u: _url("school", exam, u)
            )
        )
        # xgettext:no-python-format
        title = _("Value-added of schools (95% interval)")
        report.charts.append(_va_chart("value_added", title, va, names))

    report.sections += _item_sections(results)
    kp = _kp_compare(results, [(_("district"), "district", "district")])
    report.sections.append(kp)
    report.charts.append(_kp_chart(kp, "kp", 1))
    report.sections.append(_kp_compare(results, [(_("district"), "district", "district")], key="ability"))
    irt = summary.get("irt") or {}
    if irt:
        meta = results.items()
        rows = []
        for s, fit in irt.items():
            for it in fit.get("items", []):
                m = meta.get(it["item_id"], {})
                rows.append([s, m.get("number", it["item_id"]), fit.get("model"), it.get("slope"),
                             " / ".join(fmt(b, "num2") for b in it.get("difficulties") or []), it.get("infit"), it.get("outfit")])  # fmt: skip
        report.sections.append(Section("irt", _("Item response theory parameters"), [
            Column(_("subject")), Column(_("item")), Column(_("model")), Column(_("slope"), "num2"),
            Column(_("difficulty (steps)")), Column(_("infit"), "num2"), Column(_("outfit"), "num2"),
        ], rows))  # fmt: skip
    return report


def _va_section(
    key: str, title: str, va: list[dict], names: dict, link: Any = None, extra: list | None = None
) -> Section:
    rows, links = [], []
    for r in sorted(va, key=lambda r: -(r["value_added"] or 0)):
        unit = int(r["unit_id"])
        rows.append(
            [
                names.get(unit, r["unit_id"]),
                *(extra or []),
                r["count"],
                r["value_added"],
                r["low"],
                r["high"],
                call_label(r["call"]),
            ]
        )
        links.append(link(unit) if link else None)
    cols = [Column(_("unit") if not extra else _("class")), *[Column(_("subject")) for _e in extra or []],
            Column(_("students"), "int"), Column(_("value-added"), "signed"), Column(_("interval from"), "signed"),
            Column(_("interval to"), "signed"), Column(_("above or below"))]  # fmt: skip
    # xgettext:no-python-format
    note = _("Value-added: the unit's random intercept in a two-level model of this exam's score on the previous exam's; "
             "called above or below only when its 95% interval excludes zero.")  # fmt: skip
    return Section(key, title, cols, rows, links=links, note=note)


def _va_chart(chart_id: str, title: str, va: list[dict], names: dict) -> Chart:
    ordered = sorted(va, key=lambda r: -(r["value_added"] or 0))
    return Chart(chart_id, "interval", title, [names.get(int(r["unit_id"]), r["unit_id"]) for r in ordered], [{
        "name": _("value-added"),
        "data": [[round(r["value_added"] or 0, 2), round(r["low"] or 0, 2), round(r["high"] or 0, 2)] for r in ordered],
    }])  # fmt: skip


def _item_sections(results: Results) -> list[Section]:
    meta = results.items()
    flags: dict[int, list[str]] = {}
    for f in results.summary.get("dubious_items") or []:
        flags.setdefault(f["item_id"], []).append(reason_label(f["reason"]))
    # xgettext:no-python-format
    discrimination = _("discrimination (27% groups)")
    rows = []
    for r in results.rows("items"):
        m = meta.get(r["item_id"], {})
        rows.append([r["subject"], m.get("number"), _("Objective") if m.get("kind") == "objective" else _("Subjective"),
                     m.get("max_score"), m.get("knowledge_point"), m.get("ability"), r["mean"], r["facility"],
                     r["upper_lower_discrimination"], r["discrimination_index"], r["discriminative_efficiency"],
                     "; ".join(flags.get(r["item_id"], []))])  # fmt: skip
    items = Section("items", _("Item analysis"), [
        Column(_("subject")), Column(_("item")), Column(_("kind")), Column(_("full marks"), "num"),
        Column(_("knowledge point")), Column(_("ability level")), Column(_("mean"), "num2"),
        Column(_("difficulty (facility)"), "num2"), Column(discrimination, "num2"),
        Column(_("discrimination index"), "num"), Column(_("discriminative efficiency"), "num"), Column(_("flags")),
    ], rows, note=_("Difficulty P = mean / full marks; discrimination D = (mean of the top 27% − mean of the bottom 27%) / "
                    "full marks; the discrimination index is 100 × the item–rest correlation."))  # fmt: skip
    options: dict[tuple[int, str], dict[str, float]] = {}
    for r in results.rows("options"):
        options.setdefault((r["item_id"], r["option"] or ""), {})[r["score_group"]] = r["rate"]
    order = {item_id: i for i, item_id in enumerate(meta)}
    option_rows = []
    for (item_id, option), rates in sorted(
        options.items(), key=lambda kv: (order.get(kv[0][0], 0), kv[0][1])
    ):
        m = meta.get(item_id, {})
        option_rows.append([m.get("subject"), m.get("number"), m.get("key"), option or _("(blank)"),
                            _("yes") if option and option == m.get("key") else "", rates.get("all"),
                            rates.get("upper"), rates.get("middle"), rates.get("lower")])  # fmt: skip
    return [items, Section("options", _("Option analysis"), [
        Column(_("subject")), Column(_("item")), Column(_("key")), Column(_("option")), Column(_("correct")),
        Column(_("chosen by all"), "pct"), Column(_("upper 27%"), "pct"), Column(_("middle"), "pct"), Column(_("lower 27%"), "pct"),
    ], option_rows)]  # fmt: skip


# ----------------------------------------------------------------------------- school


def school_report(results: Results, school: School) -> Report:
    exam = results.exam
    unit = str(school.pk)
    report = Report("school", _("School report: %(name)s") % {"name": school.name}, exam, unit_id=school.pk)
    subjects = _ordered_subjects(results)
    mine = {r["subject"]: r for r in _units(results, "school", unit_id=unit)}
    district = {r["subject"]: r for r in _units(results, "district")}
    n_schools = len({r["unit_id"] for r in _units(results, "school", TOTAL)})
    report.facts = [(_("students"), str(mine.get(TOTAL, {}).get("count", 0))),
                    (_("schools in the exam"), str(n_schools))]  # fmt: skip
    rows = []
    for s in subjects:
        m, d = mine.get(s), district.get(s)
        if not m or not d:
            continue
        rows.append([subject_label(s), m["count"], m["mean"], d["mean"], m["score_rate"], d["score_rate"],
                     m["over_mean_rate"], m["rank"], *[m[c] for c in RATE_COLUMNS], *[d[c] for c in RATE_COLUMNS]])  # fmt: skip
    report.sections.append(Section("vs_district", _("The school against the district"), [
        Column(_("subject")), Column(_("students"), "int"), Column(_("school mean"), "num2"), Column(_("district mean"), "num2"),
        Column(_("school score rate"), "pct"), Column(_("district score rate"), "pct"), Column(_("over-mean rate"), "spct"),
        Column(_("rank among schools"), "int"),
        *[Column(_("school") + " " + c.label, "pct") for c in _rate_columns()],
        *[Column(_("district") + " " + c.label, "pct") for c in _rate_columns()],
    ], rows))  # fmt: skip
    report.charts.append(Chart("vs_district", "bar", _("Score rate: school and district"),
                               [subject_label(s) for s in subjects if s in mine and s in district],
                               [{"name": _("school"), "data": [round(100 * mine[s]["score_rate"], 1) for s in subjects if s in mine and s in district]},
                                {"name": _("district"), "data": [round(100 * district[s]["score_rate"], 1) for s in subjects if s in mine and s in district]}],
                               percent=True))  # fmt: skip

    classes = _units(results, "class", school_id=unit)
    names = class_names(int(r["unit_id"]) for r in classes)
    class_rows, links = [], []
    for s in subjects:
        for r in sorted((r for r in classes if r["subject"] == s), key=lambda r: -r["mean"]):
            cid = int(r["unit_id"])
            class_rows.append([names.get(cid, r["unit_id"]), subject_label(s), r["count"], r["mean"], r["score_rate"],
                               r["over_mean_rate"], r["rank"], *[r[c] for c in RATE_COLUMNS]])  # fmt: skip
            links.append(_url("class", exam, cid))
    report.sections.append(Section("classes", _("Classes compared"), [
        Column(_("class")), Column(_("subject")), Column(_("students"), "int"), Column(_("mean"), "num2"),
        Column(_("score rate"), "pct"), Column(_("over-mean rate (against the school)"), "spct"),
        Column(_("rank among the district's classes"), "int"), *_rate_columns(),
    ], class_rows, links=links))  # fmt: skip
    class_ids = {int(r["unit_id"]) for r in classes}
    va = [
        r
        for r in (results.summary.get("value_added") or {}).get("classes") or []
        if int(r["unit_id"]) in class_ids
    ]
    if va:
        report.sections.append(_va_section("class_value_added", _("Value-added of the classes (total)"), va, names,
                                           lambda u: _url("class", exam, u)))  # fmt: skip
    kp = _kp_compare(results, [(_("school"), "school", unit), (_("district"), "district", "district")])
    report.sections.append(kp)
    report.charts.append(_kp_chart(kp, "kp", 2))
    report.sections.append(_over_time(results, "school", unit))
    report.sections.append(_wrong_items_by_class(results, unit, names))
    _borderline(report, results, school_id=school.pk)
    return report


def _over_time(results: Results, level: str, unit: str) -> Section:
    """Knowledge-point gaps to the district now and in the previous exam (错题的纵向对比)."""
    section = Section("over_time", _("Knowledge points now and in the previous exam"), [
        Column(_("subject")), Column(_("knowledge point")), Column(_("gap to the district now"), "spct"),
        Column(_("gap in the previous exam"), "spct"), Column(_("change"), "spct"),
    ], [])  # fmt: skip
    prior = results.exam.prior
    previous = Results.of(prior) if prior is not None else None
    if previous is None:
        section.note = _("No analysed previous exam to compare with.")
        return section
    for subject in results.subjects():
        now = {
            r["knowledge_point"]: r["rate_vs_district"]
            for r in results.rows("knowledge_point_rates", level=level, unit_id=unit, subject=subject)
            if r["knowledge_point"]
        }
        before = {r["knowledge_point"]: r["rate_vs_district"]
                  for r in previous.rows("knowledge_point_rates", level=level, unit_id=unit, subject=subject) if r["knowledge_point"]}  # fmt: skip
        for row in diagnosis.compare_with_previous(now, before):
            section.rows.append([subject, row["key"], row["gap"], row["previous_gap"], row["change"]])
    return section


def _wrong_items_by_class(results: Results, school_unit: str, names: dict[int, str]) -> Section:
    """For each subject, the items the school loses most on against the district, with every
    class's score rate (错题的横向对比)."""
    meta = results.items()
    class_ids = sorted(names, key=lambda c: names[c])
    school_rates = results.rows("item_rates", level="school", unit_id=school_unit)
    class_rates = {(int(r["unit_id"]), r["item_id"]): r["rate"]
                   for r in results.rows("item_rates", level="class", unit_id=[str(c) for c in class_ids])}  # fmt: skip
    rows = []
    for subject in results.subjects():
        worst = sorted(
            (r for r in school_rates if r["subject"] == subject), key=lambda r: r["rate_vs_district"]
        )[:WEAKEST_ITEMS]
        for r in worst:
            m = meta.get(r["item_id"], {})
            rows.append([subject, m.get("number"), m.get("knowledge_point"), r["district_rate"], r["rate"],
                         *[class_rates.get((c, r["item_id"])) for c in class_ids]])  # fmt: skip
    return Section("wrong_items", _("Wrong-question comparison across classes"), [
        Column(_("subject")), Column(_("item")), Column(_("knowledge point")), Column(_("district"), "pct"),
        Column(_("school"), "pct"), *[Column(names[c], "pct") for c in class_ids],
    ], rows, note=_("The items with the largest gap between the school's score rate and the district's, per subject."))  # fmt: skip


def _borderline(
    report: Report, results: Results, *, school_id: int | None = None, class_id: int | None = None
) -> None:
    summary = results.summary
    rows = summary.get("borderline") or []
    totals = {r["student_id"]: r for r in results.rows("students", subject=TOTAL)}
    picked = []
    for r in rows:
        t = totals.get(r["student_id"])
        if (
            t is None
            or (school_id and t["school_id"] != school_id)
            or (class_id and t["class_id"] != class_id)
        ):
            continue
        picked.append({**r, "class_id": t["class_id"]})
    students = student_names(r["student_id"] for r in picked)
    classes = class_names({r["class_id"] for r in picked})
    section_rows, links = [], []
    for r in sorted(picked, key=lambda r: r["rank"]):
        s = students.get(r["student_id"])
        section_rows.append([s.name if s else r["student_id"], _student_no(s), classes.get(r["class_id"], ""),
                             r["total"], r["rank"], r["gap"], "、".join(r["weak_subjects"])])  # fmt: skip
        links.append(_url("student", report.exam, r["student_id"]))
        report.borderline.append({**r, "student": s})
    line, window = summary.get("borderline_line"), summary.get("borderline_window")
    report.sections.append(Section("borderline", _("Borderline students"), [
        Column(_("student")), Column(_("student number")), Column(_("class")), Column(_("total"), "num"),
        Column(_("district rank"), "int"), Column(_("above (+) or below (−) the line"), "signed"),
        Column(_("subjects holding them back")),
    ], section_rows, links=links, note=_(
        "Borderline students (临界生): totals within %(window)s marks of the line of %(line)s (60%% of full marks). "
        "The subjects holding a student back are below their subject line by the equal-proportion rule (等比例法)."
    ) % {"window": fmt(window, "num"), "line": fmt(line, "num")}))  # fmt: skip
    _plans(report, [r["student_id"] for r in picked])


def _plans(report: Report, student_ids: list[int]) -> None:
    plans = (
        FollowUpPlan.objects.filter(student_id__in=student_ids)
        .select_related("student", "exam", "teacher", "subject")
        .order_by("student_id", "-exam__held_on", "-created_at")
    )
    report.plans = [track_plan(p) for p in plans]
    above, below = _("reached the target"), _("below the target")
    rows = [[p["plan"].student.name, p["plan"].exam.name, p["plan"].teacher.name,
             p["plan"].subject.name if p["plan"].subject else "", p["plan"].plan, p["target"],
             p["plan"].get_status_display(),
             "; ".join(f"{t['exam'].name}: {fmt(t['total'], 'num')} ({above if t['crossed'] else below})"
                       for t in p["later"])] for p in report.plans]  # fmt: skip
    report.sections.append(Section("plans", _("Follow-up plans (one plan per student)"), [
        Column(_("student")), Column(_("exam")), Column(_("teacher")), Column(_("subject")), Column(_("plan")),
        Column(_("target total"), "num"), Column(_("status")), Column(_("later exams")),
    ], rows))  # fmt: skip


def track_plan(plan: FollowUpPlan) -> dict:
    """A plan with the student's totals in the later analysed exams, and whether each
    reached the plan's target (or that exam's borderline line)."""
    results = Results.of(plan.exam)
    line = results.summary.get("borderline_line") if results else None
    target = float(plan.target) if plan.target is not None else line
    later = []
    for exam in Exam.objects.filter(held_on__gt=plan.exam.held_on, analysis_version__gt=0).order_by(
        "held_on"
    ):
        r = Results.of(exam)
        if r is None:
            continue
        rows = r.rows("students", student_id=plan.student_id, subject=TOTAL)
        if not rows:
            continue
        bar = target if plan.target is not None else r.summary.get("borderline_line")
        later.append({"exam": exam, "total": rows[0]["score"], "line": bar,
                      "crossed": bar is not None and rows[0]["score"] >= bar})  # fmt: skip
    return {"plan": plan, "target": target, "later": later}


# ----------------------------------------------------------------------------- class


def class_report(results: Results, school_class: SchoolClass) -> Report:
    exam = results.exam
    unit = str(school_class.pk)
    report = Report("class", _("Class report: %(name)s") % {"name": f"{school_class.school.name} {school_class.name}"},
                    exam, unit_id=school_class.pk)  # fmt: skip
    subjects = _ordered_subjects(results)
    school_unit = str(school_class.school_id)
    mine = {r["subject"]: r for r in _units(results, "class", unit_id=unit)}
    school = {r["subject"]: r for r in _units(results, "school", unit_id=school_unit)}
    district = {r["subject"]: r for r in _units(results, "district")}
    report.facts = [(_("students"), str(mine.get(TOTAL, {}).get("count", 0)))]
    rows = [[subject_label(s), mine[s]["mean"], school.get(s, {}).get("mean"), district.get(s, {}).get("mean"),
             mine[s]["score_rate"], mine[s]["over_mean_rate"], *[mine[s][c] for c in RATE_COLUMNS]]
            for s in subjects if s in mine]  # fmt: skip
    report.sections.append(Section("summary", _("The class, the school and the district"), [
        Column(_("subject")), Column(_("class mean"), "num2"), Column(_("school mean"), "num2"),
        Column(_("district mean"), "num2"), Column(_("score rate"), "pct"),
        Column(_("over-mean rate (against the school)"), "spct"), *_rate_columns(),
    ], rows))  # fmt: skip

    students = results.rows("students", class_id=school_class.pk)
    by_student: dict[int, dict[str, dict]] = {}
    for r in students:
        by_student.setdefault(r["student_id"], {})[r["subject"]] = r
    names = student_names(by_student)
    ranked = sorted(by_student.items(), key=lambda kv: kv[1].get(TOTAL, {}).get("class_rank", 10**6))
    student_rows, links = [], []
    for sid, subj in ranked:
        t = subj.get(TOTAL, {})
        s = names.get(sid)
        student_rows.append([s.name if s else sid, _student_no(s), t.get("class_rank"), t.get("score"),
                             *[subj.get(x, {}).get("score") for x in subjects[:-1]], t.get("school_rank"),
                             t.get("district_rank"), t.get("z"), t.get("t_score"), t.get("class_z"), t.get("percentile_rank")])  # fmt: skip
        links.append(_url("student", exam, sid))
    report.sections.append(Section("students", _("Students ranked"), [
        Column(_("student")), Column(_("student number")), Column(_("class rank"), "int"), Column(_("total"), "num"),
        *[Column(s, "num") for s in subjects[:-1]], Column(_("school rank"), "int"), Column(_("district rank"), "int"),
        Column(_("Z score"), "num2"), Column(_("T score"), "num"), Column(_("class standard score"), "num2"),
        Column(_("percentile rank"), "num"),
    ], student_rows, links=links, note=_("Z = (score − district mean) / district standard deviation; T = 50 + 10 Z; "
                                         "the class standard score is the Z within the class.")))  # fmt: skip
    kp = _kp_compare(results, [(_("class"), "class", unit), (_("school"), "school", school_unit),
                               (_("district"), "district", "district")])  # fmt: skip
    report.sections.append(kp)
    report.charts.append(_kp_chart(kp, "kp", 3))
    report.sections.append(_weakest_items(results, "class", unit))
    va = [r for r in results.rows("subject_value_added", unit_id=school_class.pk)]
    total_va = [
        r
        for r in (results.summary.get("value_added") or {}).get("classes") or []
        if int(r["unit_id"]) == school_class.pk
    ]
    if va or total_va:
        rows = [[subject_label(r.get("subject", TOTAL)), r["count"], r["value_added"], r["low"], r["high"], call_label(r["call"])]
                for r in [*va, *total_va]]  # fmt: skip
        report.sections.append(Section("value_added", _("Value-added of the class"), [
            Column(_("subject")), Column(_("students"), "int"), Column(_("value-added"), "signed"),
            Column(_("interval from"), "signed"), Column(_("interval to"), "signed"), Column(_("above or below")),
        ], rows))  # fmt: skip
    _borderline(report, results, class_id=school_class.pk)
    return report


def _weakest_items(results: Results, level: str, unit: str) -> Section:
    meta = results.items()
    rates = [r for r in results.rows("item_rates", level=level, unit_id=unit) if r["rate_vs_district"] < 0]
    rows = []
    for r in sorted(rates, key=lambda r: r["rate_vs_district"])[:WEAKEST_ITEMS]:
        m = meta.get(r["item_id"], {})
        rows.append([r["subject"], m.get("number"), m.get("knowledge_point"), m.get("ability"), r["rate"],
                     r["district_rate"], r["rate_vs_district"]])  # fmt: skip
    return Section("weakest_items", _("Weakest items"), [
        Column(_("subject")), Column(_("item")), Column(_("knowledge point")), Column(_("ability level")),
        Column(_("score rate"), "pct"), Column(_("district score rate"), "pct"), Column(_("gap"), "spct"),
    ], rows)  # fmt: skip


# ----------------------------------------------------------------------------- teacher


def teacher_report(results: Results, teacher: Teacher) -> Report:
    exam = results.exam
    report = Report(
        "teacher", _("Teacher report: %(name)s") % {"name": teacher.name}, exam, unit_id=teacher.pk
    )
    subject_names = set(results.subjects())
    assignments = list(
        TeachingAssignment.objects.filter(teacher=teacher, subject__name__in=subject_names).select_related(
            "subject", "school_class__grade", "school_class__school"
        )
    )
    classes_in_exam = {int(r["unit_id"]) for r in _units(results, "class", TOTAL)}
    assignments = [a for a in assignments if a.school_class_id in classes_in_exam]
    prior = Results.of(exam.prior) if exam.prior is not None else None
    rows = []
    for a in assignments:
        s = a.subject.name
        peers = _units(results, "class", s)
        mine = next((r for r in peers if int(r["unit_id"]) == a.school_class_id), None)
        if mine is None:
            continue
        comparable = _comparable(peers, prior, s, a.school_class_id)
        mean_comparable = sum(r["mean"] for r in comparable) / len(comparable) if comparable else None
        district = _units(results, "district", s)
        rows.append([a.school_class.name, s, mine["count"], mine["mean"], mean_comparable,
                     None if mean_comparable is None else mine["mean"] - mean_comparable,
                     district[0]["mean"] if district else None, mine["score_rate"], mine["rank"]])  # fmt: skip
    report.sections.append(Section("classes", _("Their classes against comparable classes"), [
        Column(_("class")), Column(_("subject")), Column(_("students"), "int"), Column(_("class mean"), "num2"),
        Column(_("mean of comparable classes"), "num2"), Column(_("difference"), "signed"),
        Column(_("district mean"), "num2"), Column(_("score rate"), "pct"), Column(_("rank among the district's classes"), "int"),
    ], rows, note=_("Comparable classes: the %(k)s classes of the district nearest in the subject's mean in the previous "
                    "exam (all classes when there is no previous exam).") % {"k": COMPARABLE_CLASSES}))  # fmt: skip
    diag_rows, kp_rows = [], []
    for subject, teachers in (results.summary.get("teacher_diagnosis") or {}).items():
        for d in teachers:
            if d["teacher_id"] != teacher.pk:
                continue
            diag_rows.append(
                [subject, len(d["classes"]), d["value_added"], d["low"], d["high"], call_label(d["call"])]
            )
            for kp_name, diff in sorted(d.get("kp_difference", {}).items(), key=lambda kv: -(kv[1] or 0)):
                label = (
                    _("strength")
                    if kp_name in d["strengths"]
                    else _("weakness")
                    if kp_name in d["weaknesses"]
                    else ""
                )
                kp_rows.append([subject, kp_name, diff, label])
    va_rows = [[class_names([r["unit_id"]]).get(r["unit_id"], r["unit_id"]), r["subject"], r["value_added"], r["low"],
                r["high"], call_label(r["call"])]
               for a in assignments for r in results.rows("subject_value_added", unit_id=a.school_class_id, subject=a.subject.name)]  # fmt: skip
    # xgettext:no-python-format
    note = _("The precision-weighted mean of the value-added of the teacher's classes in the subject "
             "(needs a previous exam); above or below only when the 95% interval excludes zero.")  # fmt: skip
    report.sections.append(Section("value_added", _("Value-added"), [
        Column(_("subject")), Column(_("classes"), "int"), Column(_("value-added"), "signed"),
        Column(_("interval from"), "signed"), Column(_("interval to"), "signed"), Column(_("above or below")),
    ], diag_rows, note=note))  # fmt: skip
    report.sections.append(Section("class_value_added", _("Value-added of each class"), [
        Column(_("class")), Column(_("subject")), Column(_("value-added"), "signed"), Column(_("interval from"), "signed"),
        Column(_("interval to"), "signed"), Column(_("above or below")),
    ], va_rows))  # fmt: skip
    report.sections.append(Section("knowledge_points", _("Knowledge-point strengths and weaknesses"), [
        Column(_("subject")), Column(_("knowledge point")), Column(_("difference to comparable classes"), "spct"),
        Column(_("strength or weakness")),
    ], kp_rows, note=_("Score rate of the teacher's classes minus the mean of the comparable classes; a difference over 5 "
                       "points is a strength or a weakness.")))  # fmt: skip
    if kp_rows:
        report.charts.append(Chart("kp", "hbar", _("Knowledge points against comparable classes"),
                                   [f"{r[0]}·{r[1]}" for r in kp_rows],
                                   [{"name": _("difference"), "data": [round(100 * (r[2] or 0), 1) for r in kp_rows]}],
                                   percent=True))  # fmt: skip
    report.facts = [(_("classes taught in this exam"), str(len({a.school_class_id for a in assignments})))]
    return report


def _comparable(peers: list[dict], prior: Results | None, subject: str, class_id: int) -> list[dict]:
    others = [r for r in peers if int(r["unit_id"]) != class_id]
    if prior is None:
        return others
    before = {int(r["unit_id"]): r["mean"] for r in _units(prior, "class", subject)}
    if class_id not in before:
        return others
    ids = [int(r["unit_id"]) for r in peers if int(r["unit_id"]) in before]
    if class_id not in ids or len(ids) < 2:
        return others
    import numpy as np

    index = ids.index(class_id)
    nearest = diagnosis.comparable_classes(np.array([before[i] for i in ids]), index, k=COMPARABLE_CLASSES)
    chosen = {ids[i] for i in nearest}
    return [r for r in peers if int(r["unit_id"]) in chosen]


# ----------------------------------------------------------------------------- student


def student_report(results: Results, student: Student) -> Report:
    exam = results.exam
    report = Report(
        "student", _("Student report: %(name)s") % {"name": student.name}, exam, unit_id=student.pk
    )
    subjects = _ordered_subjects(results)
    rows = {r["subject"]: r for r in results.rows("students", student_id=student.pk)}
    report.facts = [(_("school"), student.school.name),
                    (_("class"), student.school_class.name if student.school_class else "–")]  # fmt: skip
    if not rows:
        report.facts.append((_("status"), _("Did not sit this exam")))
        _plans(report, [student.pk])
        return report
    some = next(iter(rows.values()))
    report.sections.append(Section("scores", _("Scores and ranks"), [
        Column(_("subject")), Column(_("score"), "num"), Column(_("full marks"), "num"), Column(_("class rank"), "int"),
        Column(_("school rank"), "int"), Column(_("district rank"), "int"), Column(_("percentile rank"), "num"),
        Column(_("Z score"), "num2"), Column(_("T score"), "num"),
    ], [[subject_label(s), rows[s]["score"], rows[s]["full_marks"], rows[s]["class_rank"], rows[s]["school_rank"],
         rows[s]["district_rank"], rows[s]["percentile_rank"], rows[s]["z"], rows[s]["t_score"]]
        for s in subjects if s in rows], note=_("Percentile rank: the share of the district's students below, plus half "
                                               "of those with the same score.")))  # fmt: skip
    report.charts.append(Chart("scores", "bar", _("Score rate by subject"), [subject_label(s) for s in subjects if s in rows], [
        {"name": _("score rate"), "data": [round(100 * rows[s]["score"] / rows[s]["full_marks"], 1) for s in subjects if s in rows]},
    ], percent=True))  # fmt: skip
    kp = _kp_compare(results, [(_("student"), "student", str(student.pk)), (_("class"), "class", str(some["class_id"])),
                               (_("district"), "district", "district")])  # fmt: skip
    kp.title = _("Knowledge-point mastery")
    report.sections.append(kp)
    report.charts.append(_kp_chart(kp, "kp", 3))
    meta = results.items()
    district_rate = {r["item_id"]: r["rate"] for r in results.rows("item_rates", level="district")}
    wrong = []
    for r in sorted(
        results.student_scores(student.pk),
        key=lambda r: list(meta).index(r["item_id"]) if r["item_id"] in meta else 0,
    ):
        m = meta.get(r["item_id"])
        if m is None or r["score"] >= m["max_score"]:
            continue
        wrong.append([m["subject"], m["number"], m["knowledge_point"], r["score"], m["max_score"], r.get("option") or "",
                      m.get("key") or "", district_rate.get(r["item_id"])])  # fmt: skip
    report.sections.append(Section("wrong_items", _("Items not answered in full"), [
        Column(_("subject")), Column(_("item")), Column(_("knowledge point")), Column(_("score"), "num"),
        Column(_("full marks"), "num"), Column(_("answer given")), Column(_("key")), Column(_("district score rate"), "pct"),
    ], wrong))  # fmt: skip
    line = next((b for b in results.summary.get("borderline") or [] if b["student_id"] == student.pk), None)
    if line is not None:
        report.borderline.append({**line, "student": student})
        report.facts.append((_("borderline student"), "、".join(line["weak_subjects"]) or _("yes")))
    _plans(report, [student.pk])
    return report
