"""Exam pages: list, set-up, structure and score uploads. Thin: scope, selector or
service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from jiaoyun.accounts.scopes import Scope
from jiaoyun.assessment import papers, selectors, services
from jiaoyun.assessment.forms import ExamForm, UploadForm
from jiaoyun.assessment.models import Exam
from jiaoyun.assessment.scoresheets import MESSAGES as SCORE_MESSAGES
from jiaoyun.core.exports import xlsx_bytes, xlsx_response
from jiaoyun.exchange.messages import Issue

MAX_ISSUES_SHOWN = 500


def _scope(request: HttpRequest) -> Scope:
    return request.scope  # type: ignore[attr-defined,no-any-return]


def _describe(issues: list[Issue], catalogue: dict) -> list[dict]:
    rows = []
    for issue in issues[:MAX_ISSUES_SHOWN]:
        template = catalogue.get(issue.code, catalogue["internal"])
        rows.append({"row": issue.row, "column": issue.column, "value": issue.value,
                     "message": str(template) % issue.params if issue.params else str(template)})  # fmt: skip
    return rows


@login_required
def exam_list(request: HttpRequest) -> HttpResponse:
    viewer = _scope(request)
    return render(
        request,
        "assessment/exam_list.html",
        {"exams": selectors.exam_list(viewer=viewer), "may_create": selectors.may_create(viewer)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def exam_create(request: HttpRequest) -> HttpResponse:
    viewer = _scope(request)
    if not selectors.may_create(viewer):
        raise PermissionDenied
    form = ExamForm(request.POST or None, viewer=viewer)
    if request.method == "POST" and form.is_valid():
        exam = form.save(commit=False)
        exam.kind = Exam.Kind.SCHOOL if exam.school_id else Exam.Kind.JOINT
        exam.created_by = request.user  # type: ignore[assignment]
        exam.save()
        messages.success(request, _("The exam is set up. Now import the structure of its papers."))
        return redirect("assessment:exam_detail", pk=exam.pk)
    return render(request, "assessment/exam_form.html", {"form": form})


def _detail_context(request: HttpRequest, exam: Exam) -> dict:
    viewer = _scope(request)
    return {
        "exam": exam,
        "papers": exam.papers.all(),
        "may_manage": selectors.may_manage(viewer, exam),
        "may_upload": selectors.may_upload_scores(viewer, exam),
        "upload_form": UploadForm(),
    }


@login_required
def exam_detail(request: HttpRequest, pk: int) -> HttpResponse:
    exam = selectors.exam_detail(viewer=_scope(request), pk=pk)
    return render(request, "assessment/exam_detail.html", _detail_context(request, exam))


@login_required
@require_POST
def structure_upload(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _scope(request)
    exam = selectors.exam_detail(viewer=viewer, pk=pk)
    if not selectors.may_manage(viewer, exam):
        raise PermissionDenied
    form = UploadForm(request.POST, request.FILES)
    context = _detail_context(request, exam)
    if form.is_valid():
        result = papers.import_structure(exam=exam, data=form.cleaned_data["file"].read())
        if not result.issues:
            messages.success(
                request,
                _("%(papers)s papers with %(items)s items imported.") % {"papers": result.papers, "items": result.items}
                if result.changed else _("Nothing changed: the papers already have this structure."),
            )  # fmt: skip
            return redirect("assessment:exam_detail", pk=exam.pk)
        context["issues"] = _describe(result.issues, papers.MESSAGES)
        context["issue_count"] = len(result.issues)
    context["upload_form"] = form
    return render(request, "assessment/exam_detail.html", context, status=400)


@login_required
@require_POST
def scores_upload(request: HttpRequest, pk: int, paper_pk: int) -> HttpResponse:
    viewer = _scope(request)
    exam = selectors.exam_detail(viewer=viewer, pk=pk)
    if not selectors.may_upload_scores(viewer, exam):
        raise PermissionDenied
    paper = next((p for p in exam.papers.all() if p.pk == paper_pk), None)
    if paper is None:
        raise Http404
    form = UploadForm(request.POST, request.FILES)
    context = _detail_context(request, exam)
    if form.is_valid():
        result = services.import_scores(paper=paper, data=form.cleaned_data["file"].read(), viewer=viewer,
                                        request=request)  # fmt: skip
        if result.applied:
            messages.success(
                request,
                _(
                    "Scores of %(subject)s imported: %(present)s students sat the paper, %(absent)s were absent."
                )
                % {
                    "subject": paper.subject.name,
                    "present": result.sheet.present,
                    "absent": result.sheet.absent,
                },
            )
            return redirect("assessment:exam_detail", pk=exam.pk)
        context["issues"] = _describe(result.sheet.issues, SCORE_MESSAGES)
        context["issue_count"] = len(result.sheet.issues)
        context["issue_paper"] = paper
    context["upload_form"] = form
    return render(request, "assessment/exam_detail.html", context, status=400)


@login_required
def structure_template(request: HttpRequest, pk: int) -> HttpResponse:
    exam = selectors.exam_detail(viewer=_scope(request), pk=pk)
    headers = [c.header for c in papers.COLUMNS]
    rows = [
        [p.subject.name, i.number, float(i.max_score), "客观题" if i.kind == "objective" else "主观题", i.key,
         i.option_count or "", i.knowledge_points, i.ability, i.question_type]
        for p in exam.papers.all() for i in p.items.all()
    ] or [["数学", "1", 4, "单选", "C", 4, "有理数；数轴", "识记", "选择题"],
          ["数学", "13(1)", 10, "解答", "", "", "一次函数", "应用", "解答题"]]  # fmt: skip
    return xlsx_response(xlsx_bytes(headers, rows, sheet="试卷结构"), f"{exam.name}-试卷结构.xlsx")


@login_required
def scores_template(request: HttpRequest, pk: int, paper_pk: int) -> HttpResponse:
    """The score sheet to fill in, with the uploader's students already listed."""
    viewer = _scope(request)
    exam = selectors.exam_detail(viewer=viewer, pk=pk)
    if not selectors.may_upload_scores(viewer, exam):
        raise PermissionDenied
    paper = next((p for p in exam.papers.all() if p.pk == paper_pk), None)
    if paper is None:
        raise Http404
    roster = services.exam_roster(exam=exam, viewer=viewer)
    numbers = [i.number for i in paper.items.all()]
    headers = ["全国学籍号", "姓名", *numbers, "状态"]
    rows = [
        [no, name, *[""] * len(numbers), ""] for no, name in roster.select("student_no", "name").iter_rows()
    ]
    return xlsx_response(xlsx_bytes(headers, rows, sheet=paper.subject.name),
                         f"{exam.name}-{paper.subject.name}-成绩.xlsx")  # fmt: skip
