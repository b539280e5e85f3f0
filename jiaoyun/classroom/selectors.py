"""Every read of the live classroom, given the viewer. A teacher runs sessions for the
classes they teach or head; a student takes part in the sessions of their own class; the
academic-quality reports read answers through `answer_records`, scoped like the register."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Exists, JSONField, Model, OuterRef, Q, QuerySet, Subquery

from jiaoyun.accounts.scopes import Scope
from jiaoyun.classroom import grading
from jiaoyun.classroom.models import Answer, LiveSession, QuestionSet, SessionQuestion
from jiaoyun.core.models import SchoolClass, Student, Teacher


def teacher_of(user: Any) -> Teacher | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Teacher.objects.filter(user=user).first()


def student_of(user: Any) -> Student | None:
    """The enrolled student a user signs in as (a parent never answers for a child)."""
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        Student.objects.filter(user=user, status=Student.Status.ENROLLED, school_class__isnull=False)
        .select_related("school_class")
        .first()
    )


def taught_classes(scope: Scope) -> QuerySet[SchoolClass]:
    return SchoolClass.objects.filter(id__in=scope.roster_class_ids).select_related("school", "grade")


def question_sets(scope: Scope) -> QuerySet[QuestionSet]:
    return QuestionSet.objects.filter(teacher_id__in=scope.teacher_ids).select_related("subject")


def question_set(scope: Scope, pk: int) -> QuestionSet | None:
    return question_sets(scope).filter(pk=pk).first()


def teacher_sessions(scope: Scope) -> QuerySet[LiveSession]:
    return LiveSession.objects.filter(teacher_id__in=scope.teacher_ids).select_related(
        "school_class__grade", "school_class__school"
    )


def teacher_session(scope: Scope, pk: int) -> LiveSession | None:
    """A session the viewer runs, for a class they still teach."""
    return teacher_sessions(scope).filter(pk=pk, school_class_id__in=scope.roster_class_ids).first()


def student_sessions(student: Student) -> QuerySet[LiveSession]:
    return LiveSession.objects.filter(
        school_class_id=student.school_class_id, status=LiveSession.Status.OPEN
    ).select_related("teacher")


def student_session(student: Student, pk: int) -> LiveSession | None:
    return LiveSession.objects.filter(pk=pk, school_class_id=student.school_class_id).first()


def open_session_by_code(code: str) -> LiveSession | None:
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    return LiveSession.objects.filter(join_code=code, status=LiveSession.Status.OPEN).first()


def roster(session: LiveSession) -> list[dict[str, Any]]:
    return [
        {"id": pk, "name": name}
        for pk, name in Student.objects.filter(
            school_class_id=session.school_class_id, status=Student.Status.ENROLLED
        )
        .order_by("student_no")
        .values_list("pk", "name")
    ]


def question_payload(question: SessionQuestion, *, with_key: bool = False) -> dict[str, Any]:
    """A question as a device sees it: the key only once revealed (or for the teacher)."""
    payload = {
        "id": question.pk,
        "position": question.position,
        "kind": question.kind,
        "prompt": question.prompt,
        "options": list(question.options),
        "status": question.status,
        "knowledge_points": list(question.knowledge_points),
        "has_key": question.key is not None,
    }
    if with_key or question.status == SessionQuestion.Status.REVEALED:
        payload["key"] = question.key
    return payload


def current_question(session: LiveSession) -> SessionQuestion | None:
    return session.questions.order_by("-position").first()


@dataclass
class ScreenState:
    roster: list[dict[str, Any]]
    question: dict[str, Any] | None
    # student id -> (value, is_correct)
    answers: dict[int, tuple[Any, bool | None]]


def screen_state(session: LiveSession, *, with_roster: bool = True) -> ScreenState:
    """What a screen shows; `with_roster=False` leaves the class list out (a screen reads
    it when it connects)."""
    question = current_question(session)
    answers: dict[int, tuple[Any, bool | None]] = {}
    if question is not None:
        answers = {
            sid: (value, ok)
            for sid, value, ok in question.answers.values_list("student_id", "value", "is_correct")
        }
    return ScreenState(
        roster=roster(session) if with_roster else [],
        question=question_payload(question, with_key=True) if question else None,
        answers=answers,
    )


def live_student(user: Any, session_id: int) -> Student | None:
    """The enrolled student a user signs in as, if the live session is open, live and of
    their class (one query: what a device's handshake checks)."""
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        Student.objects.filter(
            user=user,
            status=Student.Status.ENROLLED,
            school_class__live_sessions__pk=session_id,
            school_class__live_sessions__status=LiveSession.Status.OPEN,
            school_class__live_sessions__mode=LiveSession.Mode.LIVE,
        )
        .only("pk", "school_class_id")
        .first()
    )


@dataclass(frozen=True)
class LiveDevice:
    """What a device's handshake reads in one statement (`live_device`)."""

    password: str
    is_active: bool
    student_id: int
    school_class_id: int
    state: dict[str, Any]


@functools.cache
def _live_device_sql(vendor: str) -> str:
    User = get_user_model()
    quote = connection.ops.quote_name

    def table(model: type[Model]) -> str:
        return quote(model._meta.db_table)

    def col(model: type[Model], name: str) -> str:
        return quote(str(getattr(model._meta.get_field(name), "column", name)))

    q, a = SessionQuestion, Answer
    return (
        f"SELECT u.{col(User, 'password')}, u.{col(User, 'is_active')}, s.{col(Student, 'id')}, "
        f"s.{col(Student, 'school_class')}, "
        + ", ".join(f"q.{col(q, name)}" for name in _QUESTION_COLUMNS)
        + f", a.{col(a, 'id')}, a.{col(a, 'value')}, a.{col(a, 'is_correct')} "
        f"FROM {table(User)} u "
        f"JOIN {table(Student)} s ON s.{col(Student, 'user')} = u.{col(User, 'id')} "
        f"AND s.{col(Student, 'status')} = %s "
        f"JOIN {table(LiveSession)} l ON l.{col(LiveSession, 'id')} = %s "
        f"AND l.{col(LiveSession, 'school_class')} = s.{col(Student, 'school_class')} "
        f"AND l.{col(LiveSession, 'status')} = %s AND l.{col(LiveSession, 'mode')} = %s "
        f"LEFT JOIN {table(q)} q ON q.{col(q, 'id')} = (SELECT c.{col(q, 'id')} FROM {table(q)} c "
        f"WHERE c.{col(q, 'session')} = l.{col(LiveSession, 'id')} ORDER BY c.{col(q, 'position')} DESC LIMIT 1) "
        f"LEFT JOIN {table(a)} a ON a.{col(a, 'session_question')} = q.{col(q, 'id')} "
        f"AND a.{col(a, 'student')} = s.{col(Student, 'id')} "
        f"WHERE u.{col(User, 'id')} = %s"
    )


_QUESTION_COLUMNS = ("id", "position", "kind", "prompt", "options", "status", "knowledge_points", "key")


def live_device(user_id: Any, session_id: int) -> LiveDevice | None:
    """`live_student` and `live_state` in one statement, for a user id taken from a session:
    the user's password hash and active flag (for the caller's session check), the enrolled
    student they sign in as if the live session is open, live and of their class, and the
    session's current question with the student's own answer. Hand-written SQL (the shape
    of `live_student` and `live_state`, which the tests compare it with): a device's
    handshake is the live classroom's most frequent read, and the ORM's compilation of
    those two queries cost several times their execution."""
    params = [Student.Status.ENROLLED, session_id, LiveSession.Status.OPEN, LiveSession.Mode.LIVE, user_id]
    with connection.cursor() as cursor:
        cursor.execute(_live_device_sql(connection.vendor), params)
        row = cursor.fetchone()
    if row is None:
        return None
    password, is_active, student_id, class_id = row[:4]
    asked, (answer_id, value, correct) = row[4:12], row[12:]
    state: dict[str, Any] = {"type": "state", "session_open": True, "question": None}
    if asked[0] is not None:
        fields = dict(zip(_QUESTION_COLUMNS, asked, strict=True))
        for name in ("options", "knowledge_points", "key"):
            fields[name] = _json(SessionQuestion, name, fields[name])
        question = SessionQuestion(**fields)
        answered = answer_id is not None
        state["question"] = question_payload(question)
        state["my_answer"] = _json(Answer, "value", value) if answered else None
        if question.status == SessionQuestion.Status.REVEALED and answered:
            state["correct"] = None if correct is None else bool(correct)
    return LiveDevice(password, bool(is_active), student_id, class_id, state)


def _json(model: type[Model], name: str, raw: Any) -> Any:
    field = model._meta.get_field(name)
    return field.from_db_value(raw, None, connection)  # type: ignore[union-attr]


def student_state(session: LiveSession, student: Student) -> dict[str, Any]:
    if not session.is_open:
        return {"type": "state", "session_open": False, "question": None}
    return live_state(session.pk, student.pk)


def live_state(session_id: int, student_id: int) -> dict[str, Any]:
    """An open session as a student's device sees it: the current question and the
    student's own answer (one query)."""
    mine = Answer.objects.filter(session_question=OuterRef("pk"), student_id=student_id)
    question = (
        SessionQuestion.objects.filter(session_id=session_id)
        .annotate(
            my_value=Subquery(mine.values("value"), output_field=JSONField()),
            my_correct=Subquery(mine.values("is_correct")),
            answered=Exists(mine),
        )
        .order_by("-position")
        .first()
    )
    state: dict[str, Any] = {"type": "state", "session_open": True, "question": None}
    if question is not None:
        state["question"] = question_payload(question)
        state["my_answer"] = question.my_value if question.answered else None
        if question.status == SessionQuestion.Status.REVEALED and question.answered:
            state["correct"] = question.my_correct
    return state


def session_report(session: LiveSession) -> list[dict[str, Any]]:
    """Each question asked with its distribution, counts and who answered what."""
    names = dict(Student.objects.filter(school_class_id=session.school_class_id).values_list("pk", "name"))
    rows = []
    for question in session.questions.prefetch_related("answers"):
        answers = sorted(question.answers.all(), key=lambda a: names.get(a.student_id, ""))
        distribution = grading.distribution(question.kind, question.options, [a.value for a in answers])
        if distribution["chart"] == "bars":
            distribution["pairs"] = list(zip(distribution["labels"], distribution["counts"], strict=True))
        rows.append(
            {
                "question": question,
                "answered": len(answers),
                "correct": sum(1 for a in answers if a.is_correct),
                "distribution": distribution,
                "answers": [
                    {
                        "name": names.get(a.student_id, "?"),
                        "text": display_value(question, a.value),
                        "ok": a.is_correct,
                    }
                    for a in answers
                ],
            }
        )
    return rows


def display_value(question: SessionQuestion, value: Any) -> str:
    if question.kind == "single":
        return question.options[value]
    if question.kind == "multiple":
        return "、".join(question.options[i] for i in value)
    if question.kind == "true_false":
        return question.options[0 if value else 1]
    return str(value)


def my_survey_answers(session: LiveSession, student: Student) -> dict[int, Any]:
    return dict(
        Answer.objects.filter(session_question__session=session, student=student).values_list(
            "session_question_id", "value"
        )
    )


def answer_records(scope: Scope, *, school_class_id: int | None = None) -> Iterator[dict[str, Any]]:
    """One row per answer and knowledge point, for class history and the academic-quality
    reports (the shape of the exam item facts: student, item, knowledge point, right)."""
    visible = Q(session__school_class_id__in=scope.roster_class_ids) | Q(
        session__school_class__school_id__in=scope.admin_school_ids
    )
    questions = SessionQuestion.objects.all() if scope.district else SessionQuestion.objects.filter(visible)
    if school_class_id is not None:
        questions = questions.filter(session__school_class_id=school_class_id)
    answers = (
        Answer.objects.filter(session_question__in=questions)
        .select_related("session_question__session")
        .order_by("session_question__session_id", "session_question__position", "student_id")
    )
    for answer in answers.iterator(chunk_size=2000):
        question = answer.session_question
        session = question.session
        for point in question.knowledge_points or [""]:
            yield {
                "session_id": session.pk,
                "mode": session.mode,
                "class_id": session.school_class_id,
                "date": session.started_at.date(),
                "question_id": question.pk,
                "position": question.position,
                "kind": question.kind,
                "knowledge_point": point,
                "student_id": answer.student_id,
                "is_correct": answer.is_correct,
            }
