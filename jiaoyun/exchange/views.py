"""Import pages. Thin: read the viewer's scope, call a selector or a service, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from jiaoyun.accounts import audit
from jiaoyun.accounts.models import AuditEvent
from jiaoyun.accounts.scopes import Scope, viewer_of
from jiaoyun.core.exports import xlsx_response
from jiaoyun.core.ids import row_id
from jiaoyun.exchange import formats, selectors, services, workbooks
from jiaoyun.exchange.forms import ImportForm
from jiaoyun.exchange.models import ImportJob, may_import

JOBS_PER_PAGE = 30
ISSUES_PER_PAGE = 100


def _scope(request: HttpRequest) -> Scope:
    scope = viewer_of(request)
    if not (scope.district or scope.admin_school_ids):
        raise PermissionDenied
    return scope


@login_required
def import_list(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    jobs = selectors.import_jobs(viewer=scope)
    params = {}
    school = row_id(request.GET.get("school"))
    if school is not None:
        jobs = jobs.filter(school_id=school)
        params["school"] = str(school)
    page = Paginator(jobs, JOBS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "page_range": page.paginator.get_elided_page_range(page.number),
        "params": params,
        "may_import": may_import(scope),
        "kinds": ImportJob.Kind.choices,
    }
    return render(request, "exchange/import_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def import_new(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    if not may_import(scope):
        raise PermissionDenied
    initial = {"kind": request.GET.get("kind", ImportJob.Kind.STUDENTS)}
    school = row_id(request.GET.get("school"))
    if school is not None:
        initial["school"] = str(school)
    form = ImportForm(request.POST or None, request.FILES or None, scope=scope, initial=initial)
    if request.method == "POST" and form.is_valid():
        job = services.start_import(
            user=request.user,
            scope=scope,
            kind=form.cleaned_data["kind"],
            upload=form.cleaned_data["file"],
            school=form.cleaned_data["school"],
            validate_only=form.cleaned_data["validate_only"],
        )
        return redirect("exchange:import_detail", pk=job.pk)
    return render(request, "exchange/import_new.html", {"form": form, "kinds": ImportJob.Kind.choices})


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _scope(request)
    job = selectors.import_job(viewer=scope, pk=pk)
    unmask = selectors.may_unmask_job(scope, job)
    issues = Paginator(job.issues, ISSUES_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "job": job,
        "page": issues,
        "issues": list(workbooks.issue_table(job.kind, issues.object_list, unmask=unmask)),
        "params": {},
        "page_range": issues.paginator.get_elided_page_range(issues.number),
        "more_issues": job.issue_count - len(job.issues),
    }
    if request.headers.get("HX-Request"):
        return render(request, "exchange/_job_status.html", context)
    return render(request, "exchange/import_detail.html", context)


@login_required
def import_issues(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _scope(request)
    job = selectors.import_job(viewer=scope, pk=pk)
    unmask = selectors.may_unmask_job(scope, job)
    content = workbooks.issues_workbook(job.kind, job.issues, unmask=unmask)
    audit.record(action=AuditEvent.Action.EXPORT, target=f"import:{job.pk} problems", request=request,
                 detail={"rows": len(job.issues), "unmasked": unmask})  # fmt: skip
    return xlsx_response(content, f"import-{job.pk}-problems.xlsx")


@login_required
def import_template(request: HttpRequest, kind: str) -> HttpResponse:
    _scope(request)
    if kind not in formats.COLUMNS:
        raise Http404
    return xlsx_response(workbooks.template_workbook(kind), f"{kind}-template.xlsx")
