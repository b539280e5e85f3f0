"""Exam pages: list, set-up, structure and score uploads. Thin: scope, selector or
service, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from jiaoyun.accounts import audit
from jiaoyun.accounts.models import AuditEvent
from jiaoyun.accounts.scopes import viewer_of
from jiaoyun.assessment import downloads, papers, reports, selectors, services
from jiaoyun.assessment.forms import ExamForm, ExamSettingsForm, FollowUpPlanForm, UploadForm
from jiaoyun.assessment.models import Exam, FollowUpPlan
from jiaoyun.assessment.results import Results
from jiaoyun.assessment.scoresheets import MESSAGES as SCORE_MESSAGES
from jiaoyun.core.exports import xlsx_bytes, xlsx_response
from jiaoyun.core.ids import row_id
from jiaoyun.core.models import Teacher
from jiaoyun.exchange.messages import Issue

MAX_ISSUES_SHOWN = 500


def _describe(issues: list[Issue], catalogue: dict) -> list[dict]:
    rows = []
    for issue in issues[:MAX_ISSUES_SHOWN]:
        template = catalogue.get(issue.code, catalogue["internal"])
        rows.append({"row": issue.row, "column": issue.column, "value": issue.value,
                     "message": str(template) % issue.params if issue.params else str(template)})  # fmt: skip
    return rows


@login_required
def exam_list(request: HttpRequest) -> HttpResponse:
    viewer = viewer_of(request)
    return render(
        request,
        "assessment/exam_list.html",
        {"exams": selectors.exam_list(viewer=viewer), "may_create": selectors.may_create(viewer)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def exam_create(request: HttpRequest) -> HttpResponse:
    viewer = viewer_of(request)
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
    viewer = viewer_of(request)
    results = Results.of(exam)
    return {
        "exam": exam,
        "papers": exam.papers.all(),
        "may_manage": selectors.may_manage(viewer, exam),
        "may_upload": selectors.may_upload_scores(viewer, exam),
        "may_download_sheet": selectors.may_download_score_sheet(viewer, exam),
        "may_analyse": selectors.may_analyse(viewer, exam),
        "upload_form": UploadForm(),
        "settings_form": ExamSettingsForm(instance=exam),
        "report_links": selectors.report_links(viewer=viewer, exam=exam, results=results) if results else [],
        "analysis_stale": bool(results) and exam.analysis_inputs != services.analysis_inputs(exam),
        "analysis_error": _("No scores have been imported yet.")
        if exam.analysis_error == "no scores"
        else exam.analysis_error,
    }


@login_required
def exam_detail(request: HttpRequest, pk: int) -> HttpResponse:
    exam = selectors.exam_detail(viewer=viewer_of(request), pk=pk)
    return render(request, "assessment/exam_detail.html", _detail_context(request, exam))


@login_required
@require_POST
def exam_settings(request: HttpRequest, pk: int) -> HttpResponse:
    """Change the cut lines and borderline rule; the analysis runs again with them."""
    viewer = viewer_of(request)
    exam = selectors.exam_detail(viewer=viewer, pk=pk)
    if not selectors.may_analyse(viewer, exam):
        raise PermissionDenied
    form = ExamSettingsForm(request.POST, instance=exam)
    if not form.is_valid():
        context = _detail_context(request, exam)
        context["settings_form"] = form
        return render(request, "assessment/exam_detail.html", context, status=400)
    form.save()
    if exam.analysis_version:
        services.request_analysis(exam=exam)
    messages.success(request, _("Settings saved. The analysis runs again with them."))
    return redirect("assessment:exam_detail", pk=exam.pk)


@login_required
@require_POST
def structure_upload(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_of(request)
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
    viewer = viewer_of(request)
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
    exam = selectors.exam_detail(viewer=viewer_of(request), pk=pk)
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
    viewer = viewer_of(request)
    exam = selectors.exam_detail(viewer=viewer, pk=pk)
    if not selectors.may_download_score_sheet(viewer, exam):
        raise PermissionDenied
    paper = next((p for p in exam.papers.all() if p.pk == paper_pk), None)
    if paper is None:
        raise Http404
    roster = services.exam_roster(exam=exam, viewer=viewer)
    audit.record(action=AuditEvent.Action.EXPORT, target=f"exam:{exam.pk}:paper:{paper.pk}:score_sheet",
                 request=request, detail={"students": roster.height, "unmasked": True})  # fmt: skip
    numbers = [i.number for i in paper.items.all()]
    headers = ["全国学籍号", "姓名", *numbers, "状态"]
    rows = [
        [no, name, *[""] * len(numbers), ""] for no, name in roster.select("student_no", "name").iter_rows()
    ]
    return xlsx_response(xlsx_bytes(headers, rows, sheet=paper.subject.name),
                         f"{exam.name}-{paper.subject.name}-成绩.xlsx")  # fmt: skip


@login_required
@require_POST
def analyse(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_of(request)
    exam = selectors.exam_detail(viewer=viewer, pk=pk)
    if not selectors.may_analyse(viewer, exam):
        raise PermissionDenied
    services.request_analysis(exam=exam)
    messages.success(request, _("The analysis is queued; its reports appear here when it is done."))
    return redirect("assessment:exam_detail", pk=exam.pk)


BUILDERS = {
    "district": lambda results, unit: reports.district_report(results),
    "school": reports.school_report,
    "class": reports.class_report,
    "teacher": reports.teacher_report,
    "student": reports.student_report,
}


def _report(
    request: HttpRequest, pk: int, kind: str, unit: int
) -> tuple[Exam, reports.Report | None, object]:
    viewer = viewer_of(request)
    exam = selectors.exam_detail(viewer=viewer, pk=pk)
    subject = selectors.report_subject(viewer=viewer, exam=exam, kind=kind, unit_id=unit)
    results = Results.of(exam)
    if results is None:
        return exam, None, subject
    return exam, BUILDERS[kind](results, subject), subject  # type: ignore[operator]


@login_required
def report(request: HttpRequest, pk: int, unit: int = 0, *, kind: str) -> HttpResponse:
    exam, built, subject = _report(request, pk, kind, unit)
    viewer = viewer_of(request)
    args = [exam.pk] if kind == "district" else [exam.pk, unit]
    context: dict[str, Any] = {"exam": exam, "report": built, "kind": kind, "unit": unit,
               "xlsx_url": reverse(f"assessment:report_{kind}_xlsx", args=args),
               "pdf_url": reverse(f"assessment:report_{kind}_pdf", args=args)}  # fmt: skip
    if built is not None and built.borderline:
        plannable = [
            b for b in built.borderline if b.get("student") and selectors.may_plan_for(viewer, b["student"])
        ]
        context["plan_form"] = FollowUpPlanForm() if plannable else None
        context["plannable"] = plannable
    if built is not None:
        context["my_plans"] = [
            p
            for p in built.plans
            if p["plan"].teacher_id in viewer.teacher_ids and p["plan"].exam_id == exam.pk
        ]
    return render(request, "assessment/report.html", context)


@login_required
def report_download(request: HttpRequest, pk: int, unit: int = 0, *, kind: str, fmt: str) -> HttpResponse:
    exam, built, _subject = _report(request, pk, kind, unit)
    if built is None:
        raise Http404
    name = f"{exam.name}-{built.title}".replace("/", "-").replace(":", "").replace("：", "-")
    audit.record(
        action=AuditEvent.Action.EXPORT,
        target=f"exam:{exam.pk}:report:{kind}:{unit}",
        request=request,
        detail={
            "format": fmt,
            "sections": len(built.sections),
            "rows": sum(len(s.rows) for s in built.sections),
        },
    )
    if fmt == "xlsx":
        return xlsx_response(downloads.report_xlsx(built), f"{name}.xlsx")
    from urllib.parse import quote

    response = HttpResponse(downloads.report_pdf(built), content_type="application/pdf")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}.pdf"
    return response


@login_required
@require_POST
def plan_save(request: HttpRequest, pk: int, student: int) -> HttpResponse:
    """Record or update a follow-up plan (一生一案) for one student of this exam."""
    viewer = viewer_of(request)
    exam = selectors.exam_detail(viewer=viewer, pk=pk)
    target = selectors.report_subject(viewer=viewer, exam=exam, kind="student", unit_id=student)
    if not selectors.may_plan_for(viewer, target):
        raise PermissionDenied
    teacher = Teacher.objects.get(pk=next(iter(viewer.teacher_ids)))
    existing = None
    if request.POST.get("plan_id"):
        plan_id = row_id(request.POST["plan_id"])
        existing = (
            FollowUpPlan.objects.filter(pk=plan_id, student=target, teacher=teacher).first()
            if plan_id
            else None
        )
        if existing is None:
            raise Http404
    form = FollowUpPlanForm(request.POST)
    back = request.POST.get("next") or ""
    if not back.startswith("/assessment/"):
        back = reverse("assessment:report_student", args=[exam.pk, target.pk])
    if form.is_valid():
        services.save_follow_up_plan(
            student=target, exam=exam, teacher=teacher, plan=form.cleaned_data["plan"],
            target=form.cleaned_data["target"], subject=form.cleaned_data["subject"],
            status=form.cleaned_data["status"], pk=existing.pk if existing else None,
        )  # fmt: skip
        messages.success(request, _("The follow-up plan for %(name)s is saved.") % {"name": target.name})
    else:
        messages.error(request, _("The plan was not saved: %(errors)s") % {"errors": "; ".join(
            str(e) for errors in form.errors.values() for e in errors)})  # fmt: skip
    return redirect(back)
