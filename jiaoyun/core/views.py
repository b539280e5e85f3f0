"""Pages of the register. Thin: read the viewer's scope, call a selector, render.

The lists answer htmx requests (filter, sort, page) with just the list fragment and every
other request with the whole page, so they work the same without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from jiaoyun.accounts import audit
from jiaoyun.accounts.models import AuditEvent
from jiaoyun.accounts.scopes import Scope, viewer_of
from jiaoyun.core import exports, selectors
from jiaoyun.core.listing import CONTROL_PARAMS, MASKS, ListSpec

PAGE_SIZE = 50


def list_params(request: HttpRequest) -> dict[str, str]:
    """The query that selects and orders a list's rows (no paging or export switches)."""
    # The last value of each parameter, as QueryDict.get() reads it.
    return {k: str(v) for k, v in request.GET.items() if k not in CONTROL_PARAMS and str(v).strip()}


def is_fragment_request(request: HttpRequest) -> bool:
    # htmx restores history on a cache miss with HX-Request set too, and needs the whole page.
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-History-Restore-Request")


def may_unmask_export(scope: Scope, spec: ListSpec, queryset: QuerySet[Any]) -> bool:
    """Whether every row of the export is one the viewer may see unmasked."""
    if not spec.has_personal:
        return False
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
    detail_url: str,
    export_name: str,
) -> HttpResponse:
    scope = viewer_of(request)
    params, filters = _filters(spec, scope, list_params(request))
    queryset = select(viewer=scope, params=params)
    if request.GET.get("format") == "xlsx":
        unmask = request.GET.get("unmask") == "1"
        if unmask and not may_unmask_export(scope, spec, queryset):
            raise PermissionDenied
        return exports.export_list(
            request, spec=spec, queryset=queryset, name=export_name, title=title, unmask=unmask
        )
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode(params)
    context = {
        "title": title,
        "spec": spec,
        "page": page,
        "page_range": list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)),
        "rows": [
            (obj, list(zip(spec.columns, spec.row(obj, unmask=False), strict=True)))
            for obj in page.object_list
        ],
        "filters": filters,
        "params": params,
        "query": query,
        "query_without_sort": {k: v for k, v in params.items() if k != "sort"},
        "sort": spec.sort_key(params),
        "detail_url": detail_url,
        "export_query": urlencode({**params, "format": "xlsx"}),
        "unmask_query": urlencode({**params, "format": "xlsx", "unmask": "1"}),
        "may_unmask_export": may_unmask_export(scope, spec, queryset),
        "has_search": bool(spec.search),
        "fragment": is_fragment_request(request),
    }
    template = "core/_list_table.html" if context["fragment"] else "core/list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _filters(
    spec: ListSpec, scope: Scope, raw: Mapping[str, str]
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The query with stale menu choices dropped, and the filters to show.

    Menus depend on earlier ones (a school's grades and classes): a value its menu no longer
    offers, such as a class of the school chosen before, is dropped rather than silently
    emptying the list. A menu left out (one school only, or too many classes) keeps its value.
    """
    params = dict(raw)
    shown = []
    for f in spec.filters:
        choices = f.choices(scope, params) if f.choices else None
        value = params.get(f.param, "")
        if choices and value and value not in {v for v, _label in choices}:
            del params[f.param]
            value = ""
        if choices == []:
            continue
        shown.append({"param": f.param, "label": f.label, "choices": choices, "value": value})
    return params, shown


@login_required
def school_list(request: HttpRequest) -> HttpResponse:
    return _register_list(
        request,
        spec=selectors.SCHOOLS,
        select=selectors.school_list,
        title=_("Schools"),
        detail_url="core:school_detail",
        export_name="schools",
    )


@login_required
def class_list(request: HttpRequest) -> HttpResponse:
    return _register_list(
        request,
        spec=selectors.CLASSES,
        select=selectors.class_list,
        title=_("Classes"),
        detail_url="core:class_detail",
        export_name="classes",
    )


@login_required
def teacher_list(request: HttpRequest) -> HttpResponse:
    return _register_list(
        request,
        spec=selectors.TEACHERS,
        select=selectors.teacher_list,
        title=_("Teachers"),
        detail_url="core:teacher_detail",
        export_name="teachers",
    )


@login_required
def student_list(request: HttpRequest) -> HttpResponse:
    return _register_list(
        request,
        spec=selectors.STUDENTS,
        select=selectors.student_list,
        title=_("Students"),
        detail_url="core:student_detail",
        export_name="students",
    )


@login_required
def school_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = viewer_of(request)
    school = selectors.school_detail(viewer=scope, pk=pk)
    is_admin = scope.district or school.pk in scope.admin_school_ids
    context = {
        "school": school,
        "campuses": school.campuses.order_by("-is_main", "name"),
        "grades": selectors.grades_of(viewer=scope, school=school),
        "summary": selectors.school_list(viewer=scope).get(pk=school.pk),
        "is_admin": is_admin,
    }
    return render(request, "core/school_detail.html", context)


@login_required
def class_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = viewer_of(request)
    school_class = selectors.class_detail(viewer=scope, pk=pk)
    students = selectors.student_list(viewer=scope, params={"class": str(pk)})
    assignments = school_class.assignments.select_related("teacher", "subject").order_by("subject__code")
    return render(
        request,
        "core/class_detail.html",
        {
            "school_class": school_class,
            "students": students,
            "assignments": assignments,
            "roster_query": urlencode({"class": pk}),
            "sees_roster": scope.district
            or pk in scope.roster_class_ids
            or school_class.school_id in scope.admin_school_ids,
        },
    )


def _reveal(request: HttpRequest, *, allowed: bool, target: str, fields: dict[str, str]) -> dict[str, str]:
    """The personal fields, masked unless the viewer may and asks to see them; an unmasked
    view is written to the audit log."""
    if allowed and request.GET.get("reveal") == "1":
        audit.record(
            action=AuditEvent.Action.UNMASK,
            target=target,
            request=request,
            detail={"fields": sorted(k for k, v in fields.items() if v)},
        )
        return dict(fields)
    return {key: MASKS[_personal_kind(key)](value) for key, value in fields.items()}


def _personal_kind(field_name: str) -> str:
    if "phone" in field_name:
        return "phone"
    return "student_no" if field_name == "student_no" else "id"


@login_required
def teacher_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = viewer_of(request)
    teacher = selectors.teacher_detail(viewer=scope, pk=pk)
    allowed = scope.may_unmask_teacher(teacher)
    personal = _reveal(
        request,
        allowed=allowed,
        target=f"teacher:{teacher.staff_no}",
        fields={"id_number": teacher.id_number or "", "phone": teacher.phone},
    )
    head_of = list(teacher.head_of_classes.select_related("grade", "school"))
    return render(
        request,
        "core/teacher_detail.html",
        {
            "teacher": teacher,
            "personal": personal,
            "head_of": head_of,
            "may_reveal": allowed,
            "revealed": allowed and request.GET.get("reveal") == "1",
        },
    )


@login_required
def student_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = viewer_of(request)
    student = selectors.student_detail(viewer=scope, pk=pk)
    allowed = scope.may_unmask_student(student)
    links = list(student.guardian_links.all())
    fields = {"id_number": student.id_number or "", "student_no": student.student_no}
    for link in links:
        fields[f"guardian_phone_{link.guardian_id}"] = link.guardian.phone
    personal = _reveal(request, allowed=allowed, target=f"student:{student.student_no}", fields=fields)
    guardians = [
        {
            "name": link.guardian.name,
            "relation": link.get_relation_display(),
            "phone": personal[f"guardian_phone_{link.guardian_id}"],
            "workplace": link.guardian.workplace,
        }
        for link in links
    ]
    return render(
        request,
        "core/student_detail.html",
        {
            "student": student,
            "id_number": personal["id_number"],
            "student_no": personal["student_no"],
            "guardians": guardians,
            "may_reveal": allowed,
            "revealed": allowed and request.GET.get("reveal") == "1",
        },
    )
