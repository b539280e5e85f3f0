"""Pages of the live classroom. Thin: find what the viewer may see, call a service, render.
The live part (questions, answers, counts) runs over the WebSockets of `consumers`."""

from __future__ import annotations

from typing import Any

import qrcode
import qrcode.image.svg
from asgiref.sync import async_to_sync
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from jiaoyun.accounts.scopes import viewer_of
from jiaoyun.classroom import events, selectors, services
from jiaoyun.classroom.forms import QuestionForm, QuestionSetForm
from jiaoyun.classroom.models import LiveSession, SessionQuestion


def _teacher(request: HttpRequest) -> Any:
    teacher = selectors.teacher_of(request.user)
    if teacher is None:
        raise PermissionDenied
    return teacher


def _int(raw: Any) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


@login_required
def index(request: HttpRequest) -> HttpResponse:
    scope = viewer_of(request)
    student = selectors.student_of(request.user)
    teacher = selectors.teacher_of(request.user)
    context: dict[str, Any] = {"student": student, "teacher": teacher}
    if teacher is not None:
        context.update(
            classes=selectors.taught_classes(scope),
            question_sets=selectors.question_sets(scope),
            sessions=selectors.teacher_sessions(scope)[:20],
        )
    if student is not None:
        context["open_sessions"] = selectors.student_sessions(student)
    return render(request, "classroom/index.html", context)


@login_required
@require_POST
def start(request: HttpRequest) -> HttpResponse:
    teacher = _teacher(request)
    scope = viewer_of(request)
    school_class = (
        selectors.taught_classes(scope).filter(pk=_int(request.POST.get("school_class")) or 0).first()
    )
    if school_class is None:
        raise Http404
    question_set = None
    if request.POST.get("question_set"):
        question_set = selectors.question_set(scope, _int(request.POST["question_set"]) or 0)
    mode = request.POST.get("mode", LiveSession.Mode.LIVE)
    if mode == LiveSession.Mode.SURVEY:
        if question_set is None or not question_set.questions.exists():
            messages.error(request, _("Choose a question set with questions to send."))
            return redirect("classroom:index")
        session = services.start_session(
            teacher=teacher, school_class=school_class, mode=mode, title=question_set.title,
            question_set=question_set,
        )  # fmt: skip
        messages.success(request, _("The questionnaire was sent to the class."))
        return redirect("classroom:report", session.pk)
    session = services.start_session(
        teacher=teacher, school_class=school_class, title=question_set.title if question_set else "",
        question_set=question_set,
    )  # fmt: skip
    return redirect("classroom:screen", session.pk)


def _join_url(request: HttpRequest, code: str) -> str:
    return request.build_absolute_uri(reverse("classroom:join") + f"?code={code}")


def _ui_strings() -> dict[str, str]:
    """The words the live pages' scripts show, in the viewer's language."""
    return {
        "connected": _("Connected"),
        "reconnecting": _("Reconnecting…"),
        "submit": _("Submit"),
        "accepted": _("Answer sent"),
        "changed": _("Answer changed"),
        "unchanged": _("Answer sent"),
        "closed": _("The question is closed"),
        "invalid": _("Check your answer"),
        "slow_down": _("Too fast, try again in a moment"),
        "right": _("Right!"),
        "wrong": _("Not right"),
        "no_answer": _("You did not answer this question"),
        "your_answer": _("Your answer"),
        "key": _("Answer"),
        "ended": _("The session has ended. Thank you!"),
        "waiting": _("Wait for the teacher's question."),
        "key_prompt": _("The right answer (B, AC, true, 3.14…), or leave empty"),
        "ask_error": _("This question cannot be asked."),
        "true": _("True"),
        "false": _("False"),
        "no_answers": _("No answers yet"),
    }


def _qr_svg(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=12, border=2)
    return image.to_string(encoding="unicode")


@login_required
def screen(request: HttpRequest, pk: int) -> HttpResponse:
    session = selectors.teacher_session(viewer_of(request), pk)
    if session is None or session.mode != LiveSession.Mode.LIVE:
        raise Http404
    if not session.is_open:
        return redirect("classroom:report", pk)
    join_url = _join_url(request, session.join_code)
    prepared = []
    if session.question_set is not None:
        prepared = [
            {"id": q.pk, "position": q.position, "prompt": q.prompt, "kind": q.get_kind_display()}
            for q in session.question_set.questions.all()
        ]
    return render(
        request,
        "classroom/screen.html",
        {
            "session": session,
            "join_url": join_url,
            "qr_svg": mark_safe(_qr_svg(join_url)),
            "prepared": prepared,
            "kinds": SessionQuestion._meta.get_field("kind").choices,
            "i18n": _ui_strings(),
        },
    )


@login_required
def join(request: HttpRequest) -> HttpResponse:
    code = request.GET.get("code", "").strip()
    student = selectors.student_of(request.user)
    context: dict[str, Any] = {"code": code}
    if code:
        session = selectors.open_session_by_code(code)
        if student is not None and session is not None and session.school_class_id == student.school_class_id:
            target = "classroom:student" if session.mode == LiveSession.Mode.LIVE else "classroom:survey"
            return redirect(target, session.pk)
        context["error"] = _("No open session of your class has this code.")
    return render(request, "classroom/join.html", context, status=404 if code else 200)


@login_required
def student_page(request: HttpRequest, pk: int) -> HttpResponse:
    student = selectors.student_of(request.user)
    session = selectors.student_session(student, pk) if student else None
    if session is None or session.mode != LiveSession.Mode.LIVE:
        raise Http404
    return render(
        request, "classroom/student.html", {"session": session, "student": student, "i18n": _ui_strings()}
    )


@login_required
@require_http_methods(["GET", "POST"])
def survey(request: HttpRequest, pk: int) -> HttpResponse:
    student = selectors.student_of(request.user)
    session = selectors.student_session(student, pk) if student else None
    if student is None or session is None or session.mode != LiveSession.Mode.SURVEY:
        raise Http404
    questions = list(session.questions.all())
    previous = selectors.my_survey_answers(session, student)
    errors: dict[int, str] = {}
    if request.method == "POST" and session.is_open:
        raw = {q.pk: _survey_value(q, request.POST) for q in questions}
        given = {qid: value for qid, value in raw.items() if value is not None}
        results = services.submit_survey(session=session, student=student, raw=given)
        errors = {qid: r.outcome for qid, r in results.items() if r.outcome in ("invalid", "closed")}
        if not errors:
            messages.success(request, _("Thank you, your answers were saved."))
            return redirect("classroom:survey", pk)
        previous = {**previous, **given}
    rows = [{"question": q, "previous": previous.get(q.pk), "error": q.pk in errors} for q in questions]
    return render(
        request, "classroom/survey.html", {"session": session, "rows": rows}, status=400 if errors else 200
    )


def _survey_value(question: SessionQuestion, post: Any) -> Any:
    name = f"q{question.pk}"
    if question.kind == "multiple":
        picked = [_int(v) for v in post.getlist(name)]
        return picked or None
    raw = post.get(name, "").strip()
    if not raw:
        return None
    if question.kind == "single":
        return _int(raw)
    if question.kind == "true_false":
        return {"true": True, "false": False}.get(raw)
    return raw


@login_required
def report(request: HttpRequest, pk: int) -> HttpResponse:
    session = selectors.teacher_session(viewer_of(request), pk)
    if session is None:
        raise Http404
    join_url = _join_url(request, session.join_code)
    return render(
        request,
        "classroom/report.html",
        {
            "session": session,
            "rows": selectors.session_report(session),
            "total": len(selectors.roster(session)),
            "join_url": join_url,
        },
    )


@login_required
@require_POST
def end(request: HttpRequest, pk: int) -> HttpResponse:
    session = selectors.teacher_session(viewer_of(request), pk)
    if session is None:
        raise Http404
    services.end_session(session=session)
    async_to_sync(events.session_ended)(session_id=session.pk)
    return redirect("classroom:report", pk)


@login_required
@require_http_methods(["GET", "POST"])
def question_sets(request: HttpRequest) -> HttpResponse:
    teacher = _teacher(request)
    form = QuestionSetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        created = services.create_question_set(
            teacher=teacher, title=form.cleaned_data["title"], subject=teacher.subject
        )
        return redirect("classroom:question_set", created.pk)
    sets = selectors.question_sets(viewer_of(request))
    return render(request, "classroom/question_sets.html", {"form": form, "sets": sets})


@login_required
@require_http_methods(["GET", "POST"])
def question_set(request: HttpRequest, pk: int) -> HttpResponse:
    _teacher(request)
    found = selectors.question_set(viewer_of(request), pk)
    if found is None:
        raise Http404
    form = QuestionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.add_question(question_set=found, spec=form.cleaned_data["spec"])
        return redirect("classroom:question_set", pk)
    return render(
        request,
        "classroom/question_set.html",
        {"question_set": found, "questions": found.questions.all(), "form": form},
        status=400 if form.errors else 200,
    )
