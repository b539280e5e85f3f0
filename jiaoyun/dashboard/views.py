"""Dashboard pages: the district overview, the school drill-down, the big screen, early
warnings, the hiring plan and rotation lists, the view catalogue and data exports. Thin:
read the viewer's scope, call selectors, shape charts, render."""

from __future__ import annotations

import csv
import io
from typing import Any

import pyarrow as pa
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiaoyun.accounts import audit
from jiaoyun.accounts.models import AuditEvent, Role
from jiaoyun.accounts.scopes import Scope, viewer_of
from jiaoyun.analytics.warehouse.catalogue import VIEWS
from jiaoyun.core.exports import xlsx_bytes, xlsx_response
from jiaoyun.core.ids import row_id
from jiaoyun.core.models import School
from jiaoyun.dashboard import charts, selectors, services
from jiaoyun.dashboard.catalogue_text import VIEW_TEXT
from jiaoyun.dashboard.policy import current_policy
from jiaoyun.dashboard.tasks import snapshot_register

# The big screen reloads its data this often (seconds).
SCREEN_REFRESH_SECONDS = 60


def _scope(request: HttpRequest) -> Scope:
    scope = viewer_of(request)
    if not selectors.may_use_dashboard(scope):
        raise PermissionDenied
    return scope


def _names(viewer: Scope) -> dict[int, str]:
    return {
        r["school_id"]: r["name"]
        for r in selectors.view_result(viewer=viewer, name="school_kpis").to_pylist()
    }


def _empty(request: HttpRequest, title: str) -> HttpResponse:
    scope = _scope(request)
    return render(request, "dashboard/empty.html", {"title": title,
                  "may_snapshot": scope.has_role(Role.DISTRICT_ADMIN)})  # fmt: skip


def district_kpis(viewer: Scope) -> list[dict[str, Any]]:
    rows = selectors.view_result(viewer=viewer, name="school_kpis").to_pylist()
    students = sum(r["students"] for r in rows)
    teachers = sum(r["teachers"] for r in rows)
    quality = [r for r in selectors.view_result(viewer=viewer, name="quality_seat_share").to_pylist()
               if r["stage"] == "compulsory"]  # fmt: skip
    share = max(quality, key=lambda r: r["snapshot_date"])["share"] if quality else None
    return [
        {"label": _("Schools"), "value": len(rows)},
        {"label": _("Students"), "value": students},
        {"label": _("Teachers"), "value": teachers},
        {"label": _("Students per teacher"), "value": round(students / teachers, 1) if teachers else "—"},
        {"label": _("Teachers required by the standard"), "value": round(sum(r["required_teachers"] for r in rows), 1)},
        {"label": _("Large classes (56+)"), "value": sum(r["large_classes"] for r in rows), "warn": True},
        {"label": _("Retiring within five years"), "value": sum(r["retiring_5y"] for r in rows)},
        {"label": _("Proposed hires"), "value": sum(r["hires"] for r in rows), "warn": True},
        {"label": _("Compulsory students in quality schools"),
         "value": f"{share * 100:.1f}%" if share is not None else "—"},
    ]  # fmt: skip


def district_charts(viewer: Scope) -> list[dict[str, Any]]:
    def v(name: str) -> pa.Table:
        return selectors.view_result(viewer=viewer, name=name)

    by_subject = v("hiring_plan_by_subject").to_pylist()
    retire_rows: dict[int, int] = {}
    for r in v("retirements_due").to_pylist():
        retire_rows[r["within_year"]] = retire_rows.get(r["within_year"], 0) + r["teachers"]
    snapshot = selectors.latest_snapshot()
    first_year = snapshot.day.year if snapshot else 0
    gaps = v("seat_gap").to_pylist()
    next_year = min((g["year"] for g in gaps), default=0)
    gap_next = [r for r in gaps if r["year"] == next_year]
    gap_zone: dict[str, float] = {}
    for r in gap_next:
        gap_zone[r["zone"]] = round(gap_zone.get(r["zone"], 0) + max(r["gap"], 0), 2)
    return [
        charts.category_chart(v("teacher_age_bands"), chart_id="age", title=_("Teachers by age band"),
                              source="teacher_age_bands", label_kind="age"),
        charts.category_chart(v("teacher_titles"), chart_id="titles", title=_("Teachers by professional title"),
                              source="teacher_titles", label_kind="title", kind="pie"),
        charts.shortage_chart(v("subject_shortage"), chart_id="shortage", source="subject_shortage"),
        charts.simple_bar(by_subject, chart_id="hiring", title=_("Proposed hires by subject"),
                          source="hiring_plan_by_subject", category="subject", value="hires",
                          series_name=_("Hires"), label_kind="subject"),
        charts.spec("retirements", _("Retirements due, by year from now"), "bar",
                    [_("Year %(n)d") % {"n": k} for k in sorted(retire_rows)],
                    [{"name": _("Teachers"), "data": [retire_rows[k] for k in sorted(retire_rows)]}],
                    "retirements_due", first_year=first_year),
        charts.class_band_chart(v("class_sizes"), chart_id="class_sizes", source="class_sizes"),
        charts.spec("seat_gap", _("Children without a seat next year, by zone"), "bar", list(gap_zone),
                    [{"name": _("Seat gap"), "data": list(gap_zone.values())}], "seat_gap"),
        charts.over_time_chart(v("quality_seat_share"), chart_id="quality", source="quality_seat_share",
                               title=_("Students in quality schools (%)"), key="stage", value="share",
                               label_kind="stage", percent=True),
        charts.over_time_chart(v("titles_over_time"), chart_id="titles_time", source="titles_over_time",
                               title=_("Teachers by title over time"), key="title", value="teachers",
                               label_kind="title", kind="bar"),
    ]  # fmt: skip


def school_charts(viewer: Scope, school_id: int) -> list[dict[str, Any]]:
    def v(name: str) -> pa.Table:
        return selectors.view_result(viewer=viewer, name=name, school_id=school_id)

    sizes = v("class_sizes").to_pylist()
    retire: dict[int, int] = {}
    for r in v("retirements_due").to_pylist():
        retire[r["within_year"]] = retire.get(r["within_year"], 0) + r["teachers"]
    s = school_id
    return [
        charts.category_chart(v("teacher_age_bands"), chart_id="age", title=_("Teachers by age band"),
                              source="teacher_age_bands", label_kind="age", school_id=s),
        charts.category_chart(v("teacher_titles"), chart_id="titles", title=_("Teachers by professional title"),
                              source="teacher_titles", label_kind="title", kind="pie", school_id=s),
        charts.category_chart(v("teacher_qualifications"), chart_id="qualifications",
                              title=_("Teachers by qualification"), source="teacher_qualifications",
                              label_kind="qualification", kind="pie", school_id=s),
        charts.category_chart(v("teacher_tenure"), chart_id="tenure", title=_("Years at this school"),
                              source="teacher_tenure", label_kind="tenure", school_id=s),
        charts.shortage_chart(v("subject_shortage"), chart_id="shortage", source="subject_shortage", school_id=s),
        charts.spec("class_sizes", _("Class sizes"), "bar",
                    [f"{r['grade_level']}-{r['number']}" for r in sizes],
                    [{"name": _("Students"), "data": [r["students"] for r in sizes]},
                     {"name": _("Standard size"), "data": [r["standard"] for r in sizes], "type": "line"}],
                    "class_sizes", s),
        charts.spec("retirements", _("Retirements due, by year from now"), "bar",
                    [_("Year %(n)d") % {"n": k} for k in sorted(retire)],
                    [{"name": _("Teachers"), "data": [retire[k] for k in sorted(retire)]}], "retirements_due", s),
    ]  # fmt: skip


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    if not scope.district:
        return redirect("dashboard:school", pk=min(scope.admin_school_ids))
    snapshot = selectors.latest_snapshot()
    if snapshot is None:
        return _empty(request, _("District overview"))
    rows = selectors.view_result(viewer=scope, name="school_kpis").to_pylist()
    kind_labels = charts.labeller("kind")
    for r in rows:
        r["kind_label"] = kind_labels.get(r["kind"], r["kind"])
    warnings = selectors.view_result(viewer=scope, name="early_warnings").num_rows
    return render(request, "dashboard/overview.html", {
        "snapshot": snapshot, "kpis": district_kpis(scope), "charts": district_charts(scope), "schools": rows,
        "warnings": warnings, "may_snapshot": scope.has_role(Role.DISTRICT_ADMIN),
    })  # fmt: skip


@login_required
def school(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _scope(request)
    if not selectors.may_see_school(scope, pk):
        raise PermissionDenied
    if not School.objects.filter(pk=pk).exists():
        raise Http404("no such school")
    snapshot = selectors.latest_snapshot()
    if snapshot is None:
        return _empty(request, _("School dashboard"))
    row = selectors.school_row(viewer=scope, school_id=pk)
    if row is None:
        return _empty(request, _("School dashboard"))
    subjects = charts.labeller("subject")
    plan = selectors.view_result(viewer=scope, name="hiring_plan", school_id=pk).to_pylist()
    for r in plan:
        r["subject_label"] = subjects.get(r["subject"], r["subject"])
    warnings = _warning_rows(scope, selectors.view_result(viewer=scope, name="early_warnings", school_id=pk))
    workload = selectors.view_result(viewer=scope, name="teacher_workload", school_id=pk).to_pylist()
    staffing = selectors.view_result(viewer=scope, name="staffing_standard", school_id=pk).to_pylist()
    rotation = selectors.view_result(viewer=scope, name="rotation_by_school", school_id=pk).to_pylist()
    return render(request, "dashboard/school.html", {
        "snapshot": snapshot, "school": row, "kind_label": charts.labeller("kind").get(row["kind"], row["kind"]),
        "charts": school_charts(scope, pk), "plan": plan, "warnings": warnings,
        "workload": workload[0] if workload else None, "staffing": staffing[0] if staffing else None,
        "rotation": rotation[0] if rotation else None, "district": scope.district,
    })  # fmt: skip


def _screen_payload(scope: Scope) -> dict[str, Any]:
    snapshot = selectors.latest_snapshot()
    if snapshot is None:
        return {"snapshot": None, "kpis": [], "charts": []}
    kpis = district_kpis(scope)
    return {
        "snapshot": snapshot.day.isoformat(),
        "generated": timezone.localtime().strftime("%Y-%m-%d %H:%M:%S"),
        "kpis": [{**k, "label": str(k["label"])} for k in kpis],
        "charts": district_charts(scope),
    }


@login_required
def screen(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    if not scope.district:
        raise PermissionDenied
    return render(request, "dashboard/screen.html", {
        "payload": _screen_payload(scope), "refresh": SCREEN_REFRESH_SECONDS,
    })  # fmt: skip


@login_required
def screen_data(request: HttpRequest) -> JsonResponse:
    scope = _scope(request)
    if not scope.district:
        raise PermissionDenied
    return JsonResponse(_screen_payload(scope), json_dumps_params={"ensure_ascii": False})


def _warning_rows(scope: Scope, table: pa.Table) -> list[dict[str, Any]]:
    subjects = charts.labeller("subject")
    stages = charts.labeller("stage")
    names = _names(scope)
    rows = table.to_pylist()
    for r in rows:
        r["kind_label"] = str(charts.WARNING_KINDS.get(r["kind"], r["kind"]))
        r["severity_label"] = str(charts.SEVERITIES.get(r["severity"], r["severity"]))
        r["actor_label"] = str(charts.ACTORS.get(r["actor"], r["actor"]))
        r["school_name"] = names.get(r["school_id"], "") if r["school_id"] is not None else ""
        what = []
        if r["subject"]:
            what.append(subjects.get(r["subject"], r["subject"]))
        if r["stage"]:
            what.append(stages.get(r["stage"], r["stage"]))
        if r["kind"] == "shortage":
            r["detail"] = _("%(what)s: %(n)s FTE short") % {"what": "、".join(what), "n": r["value"]}
        elif r["kind"] == "large_class":
            r["detail"] = _("A class of %(n)d students (%(stage)s)") % {
                "n": int(r["value"]),
                "stage": "、".join(what),
            }
        else:
            r["detail"] = _("%(stage)s: %(n)s children more than seats") % {
                "stage": "、".join(what),
                "n": r["value"],
            }
    return rows


def _export(request: HttpRequest, name: str, headers: list[str], rows: list[list[Any]]) -> HttpResponse:
    audit.record(action=AuditEvent.Action.EXPORT, target=f"dashboard:{name}", request=request,
                 detail={"rows": len(rows), "query": request.GET.dict()})  # fmt: skip
    return xlsx_response(xlsx_bytes(headers, rows, sheet=name), f"{name}.xlsx")


@login_required
def warnings(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    snapshot = selectors.latest_snapshot()
    if snapshot is None:
        return _empty(request, _("Early warnings"))
    rows = _warning_rows(scope, selectors.view_result(viewer=scope, name="early_warnings"))
    if request.GET.get("format") == "xlsx":
        headers = [_("Severity"), _("Warning"), _("Who must act"), _("School"), _("School zone"), _("Year"),
                   _("Detail")]  # fmt: skip
        return _export(request, "early_warnings", headers, [
            [r["severity_label"], r["kind_label"], r["actor_label"], r["school_name"], r["zone"], r["year"], r["detail"]]
            for r in rows])  # fmt: skip
    return render(request, "dashboard/warnings.html", {"snapshot": snapshot, "rows": rows})


@login_required
def hiring(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    snapshot = selectors.latest_snapshot()
    if snapshot is None:
        return _empty(request, _("Hiring plan"))
    subjects = charts.labeller("subject")
    names = _names(scope)
    plan = selectors.view_result(viewer=scope, name="hiring_plan").to_pylist()
    for r in plan:
        r["subject_label"] = subjects.get(r["subject"], r["subject"])
        r["school_name"] = names.get(r["school_id"], r["school_id"])
    if request.GET.get("format") == "xlsx":
        headers = [_("School"), _("Subject"), _("Needed (FTE)"), _("In post"), _("Retiring this year"),
                   _("Short next year (FTE)"), _("Proposed hires")]  # fmt: skip
        return _export(request, "hiring_plan", headers, [
            [r["school_name"], r["subject_label"], r["demand_fte"], r["teachers"], r["retiring"],
             r["shortage_next_year"], r["hires"]] for r in plan])  # fmt: skip
    by_subject = []
    if scope.district:
        by_subject = selectors.view_result(viewer=scope, name="hiring_plan_by_subject").to_pylist()
        for r in by_subject:
            r["subject_label"] = subjects.get(r["subject"], r["subject"])
    return render(request, "dashboard/hiring.html", {
        "snapshot": snapshot, "plan": plan, "by_subject": by_subject, "total": sum(r["hires"] for r in plan),
    })  # fmt: skip


@login_required
def rotation(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    snapshot = selectors.latest_snapshot()
    if snapshot is None:
        return _empty(request, _("Rotation candidates"))
    subjects = charts.labeller("subject")
    titles = charts.labeller("title")
    names = _names(scope)
    rows = selectors.view_result(viewer=scope, name="rotation_candidates").to_pylist()
    for r in rows:
        r["subject_label"] = subjects.get(r["subject"], r["subject"] or "")
        r["title_label"] = titles.get(r["title"], r["title"])
        r["school_name"] = names.get(r["school_id"], r["school_id"])
    if request.GET.get("format") == "xlsx":
        headers = [_("Staff number"), _("Name"), _("School"), _("Subject"), _("Professional title"), _("Age"),
                   _("Years at this school"), _("Subject surplus at the school (FTE)")]  # fmt: skip
        return _export(request, "rotation_candidates", headers, [
            [r["staff_no"], r["name"], r["school_name"], r["subject_label"], r["title_label"], r["age"],
             r["years_at_school"], r["subject_surplus_fte"]] for r in rows])  # fmt: skip
    return render(request, "dashboard/rotation.html", {
        "snapshot": snapshot, "rows": rows, "limit": current_policy().rotation_years,
    })  # fmt: skip


@login_required
def catalogue(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    snapshot = selectors.latest_snapshot()
    views = []
    for name, view in VIEWS.items():
        if view.school_column is None and not scope.district:
            continue
        title, counts = VIEW_TEXT[name]
        views.append({"name": name, "title": title, "counts": counts, "sources": ", ".join(view.sources)})
    return render(request, "dashboard/catalogue.html", {
        "snapshot": snapshot, "views": views, "may_snapshot": scope.has_role(Role.DISTRICT_ADMIN),
        "has_births": services.lake().has_reference("births"),
    })  # fmt: skip


@login_required
def view_data(request: HttpRequest, name: str, fmt: str) -> HttpResponseBase:
    """Any view's rows as JSON, CSV or xlsx: the data behind every chart."""
    scope = _scope(request)
    table = selectors.view_result(viewer=scope, name=name, school_id=row_id(request.GET.get("school")))
    rows = table.to_pylist()
    if fmt not in ("json", "csv", "xlsx"):
        raise Http404(fmt)
    if fmt == "json":
        return JsonResponse({"view": name, "columns": table.column_names, "rows": rows},
                            json_dumps_params={"ensure_ascii": False, "default": str})  # fmt: skip
    values = [[r[c] for c in table.column_names] for r in rows]
    if fmt == "xlsx":
        return _export(request, name, table.column_names, values)
    audit.record(action=AuditEvent.Action.EXPORT, target=f"dashboard:{name}", request=request,
                 detail={"rows": len(rows), "query": request.GET.dict()})  # fmt: skip
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(table.column_names)
    writer.writerows(values)
    response = HttpResponse(buf.getvalue().encode("utf-8-sig"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


@login_required
@require_POST
def take_snapshot(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    if not scope.has_role(Role.DISTRICT_ADMIN):
        raise PermissionDenied
    snapshot_register.enqueue()
    messages.success(request, _("The snapshot has been queued; the dashboards show it when it is done."))
    return redirect("dashboard:catalogue")


@login_required
@require_POST
def import_births(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    if not scope.has_role(Role.DISTRICT_ADMIN):
        raise PermissionDenied
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("Choose a file to import."))
        return redirect("dashboard:catalogue")
    try:
        n = services.import_births(content=upload.read())
    except services.BirthsImportError as exc:
        for error in exc.errors[:50]:
            messages.error(request, error)
        return redirect("dashboard:catalogue")
    audit.record(action=AuditEvent.Action.IMPORT, target="dashboard:births", request=request, detail={"rows": n})  # fmt: skip
    messages.success(request, _("%(n)d rows of births imported.") % {"n": n})
    return redirect("dashboard:catalogue")
