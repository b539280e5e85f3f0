"""Chart specifications built from view results: categories and series with labels in the
viewer's language. The browser side (static/dashboard/charts.js) turns a specification into
an ECharts option, so the pages carry data, not code."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import pyarrow as pa
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiaoyun.analytics.warehouse.common import band_labels
from jiaoyun.core.models import Gender, School, Subject, Teacher
from jiaoyun.dashboard.policy import current_policy

STAGES = {
    "kindergarten": gettext_lazy("Kindergarten"),
    "primary": gettext_lazy("Primary"),
    "junior": gettext_lazy("Junior high"),
    "senior": gettext_lazy("Senior high"),
    "compulsory": gettext_lazy("Compulsory education"),
}
SIZE_BANDS = {
    "normal": gettext_lazy("Within the standard"),
    "over_standard": gettext_lazy("Over the standard"),
    "large": gettext_lazy("Large class (56+)"),
    "super_large": gettext_lazy("Very large class (66+)"),
}
ACTORS = {
    "personnel": gettext_lazy("Personnel section"),
    "basic_education": gettext_lazy("Basic-education section and the school"),
    "planning": gettext_lazy("Planning section"),
}
WARNING_KINDS = {
    "shortage": gettext_lazy("Teacher shortage next year"),
    "large_class": gettext_lazy("Over-size class"),
    "seat_gap": gettext_lazy("Seat gap"),
}
SEVERITIES = {"high": gettext_lazy("High"), "medium": gettext_lazy("Medium")}


def labeller(kind: str) -> dict[str, str]:
    """Code → label for one kind of category."""
    if kind == "title":
        return {k: str(v) for k, v in Teacher.Title.choices}
    if kind == "qualification":
        return {k: str(v) for k, v in Teacher.Qualification.choices}
    if kind == "gender":
        return {k: str(v) for k, v in Gender.choices}
    if kind == "subject":
        labels = dict(Subject.objects.values_list("code", "name"))
        labels.setdefault("none", _("No subject"))
        return labels
    if kind == "stage":
        return {k: str(v) for k, v in STAGES.items()}
    if kind == "band":
        return {k: str(v) for k, v in SIZE_BANDS.items()}
    if kind == "kind":
        return {k: str(v) for k, v in School.Kind.choices}
    return {"unknown": _("Unknown")}


def data_url(view: str, fmt: str = "csv", school_id: int | None = None) -> str:
    url = reverse("dashboard:view_data", args=[view, fmt])
    return f"{url}?school={school_id}" if school_id is not None else url


def _order(kind: str, codes: Iterable[str]) -> list[str]:
    codes = list(dict.fromkeys(codes))
    policy = current_policy()
    preferred: list[str] = []
    if kind == "age":
        preferred = band_labels(policy.age_band_edges)
    elif kind == "tenure":
        preferred = [*band_labels(policy.tenure_band_edges), "unknown"]
    elif kind == "title":
        preferred = [c for c, _label in Teacher.Title.choices]
    elif kind == "qualification":
        preferred = [c for c, _label in Teacher.Qualification.choices]
    elif kind in ("stage", "band"):
        preferred = list(STAGES if kind == "stage" else SIZE_BANDS)
    ordered = [c for c in preferred if c in codes]
    return ordered + sorted(c for c in codes if c not in ordered)


def _label(kind: str, codes: list[str]) -> list[str]:
    labels = labeller(kind)
    return [labels.get(c, c) for c in codes]


def spec(chart_id: str, title: str, kind: str, categories: list[str], series: list[dict[str, Any]],
         source: str, school_id: int | None = None, **extra: Any) -> dict[str, Any]:  # fmt: skip
    return {"id": chart_id, "title": title, "kind": kind, "categories": categories, "series": series,
            "csv": data_url(source, "csv", school_id), "xlsx": data_url(source, "xlsx", school_id), **extra}  # fmt: skip


def category_chart(table: pa.Table, *, chart_id: str, title: str, source: str, label_kind: str,
                   kind: str = "bar", school_id: int | None = None) -> dict[str, Any]:  # fmt: skip
    """A per-school long view (school_id, category, teachers) summed over the schools given."""
    totals: dict[str, int] = defaultdict(int)
    for row in table.to_pylist():
        totals[row["category"]] += row["teachers"]
    codes = _order(label_kind, totals)
    return spec(chart_id, title, kind, _label(label_kind, codes),
                [{"name": _("Teachers"), "data": [totals[c] for c in codes]}], source, school_id)  # fmt: skip


def shortage_chart(
    table: pa.Table, *, chart_id: str, source: str, school_id: int | None = None
) -> dict[str, Any]:
    demand: dict[str, float] = defaultdict(float)
    have: dict[str, float] = defaultdict(float)
    for row in table.to_pylist():
        demand[row["subject"]] += row["demand_fte"]
        have[row["subject"]] += row["teachers"]
    codes = sorted(demand, key=lambda c: have[c] - demand[c])
    return spec(chart_id, _("Teachers needed and teachers in post, by subject"), "bar", _label("subject", codes),
                [{"name": _("Needed (FTE)"), "data": [round(demand[c], 2) for c in codes]},
                 {"name": _("In post"), "data": [have[c] for c in codes]}], source, school_id)  # fmt: skip


def simple_bar(rows: list[dict[str, Any]], *, chart_id: str, title: str, source: str, category: str, value: str,
               series_name: str, label_kind: str | None = None, kind: str = "bar",
               school_id: int | None = None) -> dict[str, Any]:  # fmt: skip
    codes = [str(r[category]) for r in rows]
    cats = _label(label_kind, codes) if label_kind else codes
    return spec(
        chart_id,
        title,
        kind,
        cats,
        [{"name": series_name, "data": [r[value] for r in rows]}],
        source,
        school_id,
    )


def class_band_chart(
    table: pa.Table, *, chart_id: str, source: str, school_id: int | None = None
) -> dict[str, Any]:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for row in table.to_pylist():
        counts[(row["stage"], row["band"])] += 1
    stages = _order("stage", [s for s, _b in counts])
    bands = _order("band", [b for _s, b in counts])
    series = [{"name": labeller("band").get(b, b), "data": [counts[(s, b)] for s in stages], "stack": "classes"}
              for b in bands]  # fmt: skip
    return spec(
        chart_id, _("Classes by size band"), "bar", _label("stage", stages), series, source, school_id
    )


def over_time_chart(table: pa.Table, *, chart_id: str, title: str, source: str, key: str, value: str,
                    label_kind: str | None = None, only: set[str] | None = None, kind: str = "line",
                    percent: bool = False) -> dict[str, Any]:  # fmt: skip
    days = sorted({r["snapshot_date"] for r in table.to_pylist()})
    values: dict[str, dict[Any, float]] = defaultdict(dict)
    for row in table.to_pylist():
        if only is None or row[key] in only:
            values[row[key]][row["snapshot_date"]] = row[value] * (100 if percent else 1)
    keys = _order(label_kind or "", values)
    names = _label(label_kind, keys) if label_kind else keys
    series = [
        {"name": n, "data": [round(values[k].get(d, 0), 2) for d in days]}
        for k, n in zip(keys, names, strict=True)
    ]
    return spec(chart_id, title, kind, [d.isoformat() for d in days], series, source, percent=percent)
