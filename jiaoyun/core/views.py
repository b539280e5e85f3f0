"""Pages of the register. Thin: read the viewer's scope, call a selector, render."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


from jiaoyun.accounts import audit
from jiaoyun.accounts.models import AuditEvent
from jiaoyun.accounts.scopes import Scope
from jiaoyun.core import exports, selectors
from jiaoyun.core.identity import mask_id_number, mask_phone
from jiaoyun.core.listing import ListSpec

PAGE_SIZE = 50


def _params(request: HttpRequest) -> dict[str, str]:
    return {k: v for k, v in request.GET.items() if k != "page"}


def _may_unmask_all(scope: Scope, queryset: QuerySet[Any]) -> bool:
    if scope.unmask_all:
        return True
    if not scope.unmask_school_ids:
        return False
    return not queryset.exclude(school_id__in=scope.unmask_school_ids).exists()


def _register_list(
    request: HttpRequest,
    *,
    spec: ListSpec,
    select: Callable[..., QuerySet[Any]],
    title: str,
    detail_url: str | None,
    export_name: str,
) -> HttpResponse:
    scope: Scope = request.scope  # type: ignore[attr-defined]
    params = _params(request)
    queryset = select(viewer=scope, params=params)
    if request.GET.get("format") == "xlsx":
        unmask = request.GET.get("unmask") == "1" and _may_unmask_all(scope, queryset)
        return exports.export_list(request, spec=spec, queryset=queryset, name=export_name, unmask=unmask)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(obj, spec.row(obj, unmask=False)) for obj in page.object_list]
    filters = [
        {"param": f.param, "label": f.label, "choices": f.choices(scope) if f.choices else None,
         "value": params.get(f.param, "")}
        for f in spec.filters
    ]
    query_without_sort = {k: v for k, v in params.items() if k != "sort"}
    context = {
        "title": title,
        "spec": spec,
        "page": page,
        "rows": rows,
        "filters": filters,
        "params": params,
        "query_without_sort": query_without_sort,
        "sort": spec.sort_key(params),
        "detail_url": detail_url,
        "may_unmask_export": _may_unmask_all(scope, queryset) if spec is not selectors.SCHOOLS else False,
        "has_search": bool(spec.search),
    }
    template = "core/_list_table.html" if request.headers.get("HX-Request") else "core/list.html"
    return render(request, template, context)


@login_required
def school_list(request: HttpRequest) -> HttpResponse:
    return _register_list(
        request, spec=selectors.SCHOOLS, select=selectors.school_list, title=_("Schools"),
        detail_url="core:school_detail", export_name="schools",
    )


@login_required
def class_list(request: HttpRequest) -> HttpResponse:
    return _register_list(
        request, spec=selectors.CLASSES, select=selectors.class_list, title=_("Classes"),
        detail_url="core:class_detail", export_name="classes",
    )


@login_required
def teacher_list(request: HttpRequest) -> HttpResponse:
    return _register_list(
        request, spec=selectors.TEACHERS, select=selectors.teacher_list, title=_("Teachers"),
        detail_url="core:teacher_detail", export_name="teachers",
    )


@login_required
def student_list(request: HttpRequest) -> HttpResponse:
    return _register_list(
        request, spec=selectors.STUDENTS, select=selectors.student_list, title=_("Students"),
        detail_url="core:student_detail", export_name="students",
    )


@login_required
def school_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope: Scope = request.scope  # type: ignore[attr-defined]
    school = selectors.school_detail(viewer=scope, pk=pk)
    context = {
        "school": school,
        "campuses": school.campuses.all(),
        "grades": selectors.grades_of(viewer=scope, school=school),
        "summary": selectors.school_list(viewer=scope).get(pk=school.pk),
        "is_admin": scope.district or school.pk in scope.admin_school_ids,
    }
    return render(request, "core/school_detail.html", context)


@login_required
def class_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope: Scope = request.scope  # type: ignore[attr-defined]
    school_class = selectors.class_detail(viewer=scope, pk=pk)
    students = selectors.student_list(viewer=scope, params={"class": str(pk)})
    teachers = school_class.assignments.select_related("teacher", "subject").order_by("subject__code")
    return render(
        request,
        "core/class_detail.html",
        {"school_class": school_class, "students": students, "assignments": teachers},
    )


def _reveal(request: HttpRequest, *, allowed: bool, target: str, fields: dict[str, str]) -> dict[str, str]:
    """The personal fields, masked unless the viewer may and asks to see them; an unmasked
    view is written to the audit log."""
    if allowed and request.GET.get("reveal") == "1":
        audit.record(action=AuditEvent.Action.UNMASK, target=target, request=request,
                     detail={"fields": sorted(fields)})
        return dict(fields)
    masked = {}
    for key, value in fields.items():
        masked[key] = mask_phone(value) if "phone" in key else mask_id_number(value)
    return masked


@login_required
def teacher_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope: Scope = request.scope  # type: ignore[attr-defined]
    teacher = selectors.teacher_detail(viewer=scope, pk=pk)
    allowed = scope.may_unmask_teacher(teacher)
    personal = _reveal(
        request, allowed=allowed, target=f"teacher:{teacher.staff_no}",
        fields={"id_number": teacher.id_number or "", "phone": teacher.phone},
    )
    return render(
        request,
        "core/teacher_detail.html",
        {"teacher": teacher, "personal": personal, "may_reveal": allowed,
         "revealed": allowed and request.GET.get("reveal") == "1"},
    )


@login_required
def student_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope: Scope = request.scope  # type: ignore[attr-defined]
    student = selectors.student_detail(viewer=scope, pk=pk)
    allowed = scope.may_unmask_student(student)
    fields = {"id_number": student.id_number or ""}
    for link in student.guardian_links.all():
        fields[f"guardian_phone_{link.guardian_id}"] = link.guardian.phone
    personal = _reveal(request, allowed=allowed, target=f"student:{student.student_no}", fields=fields)
    guardians = [
        {"name": link.guardian.name, "relation": link.get_relation_display(),
         "phone": personal[f"guardian_phone_{link.guardian_id}"]}
        for link in student.guardian_links.all()
    ]
    return render(
        request,
        "core/student_detail.html",
        {"student": student, "id_number": personal["id_number"], "guardians": guardians,
         "may_reveal": allowed, "revealed": allowed and request.GET.get("reveal") == "1"},
    )

