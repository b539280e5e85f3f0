"""Every write of the live classroom. Callers have checked who may do it (selectors).

Services do not publish to the channel layer: the live consumers publish after a service
returns, so that the one database thread of a worker never waits on Redis (see
`jiaoyun.classroom.events`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from jiaoyun.classroom import grading
from jiaoyun.classroom.models import (
    CHOICE_KINDS,
    Answer,
    LiveSession,
    Question,
    QuestionKind,
    QuestionSet,
    SessionQuestion,
)
from jiaoyun.core.models import SchoolClass, Student, Subject, Teacher


class QuestionError(ValueError):
    """A question that cannot be asked as given (the message says why, for the teacher)."""


@dataclass(frozen=True)
class QuestionSpec:
    kind: str
    prompt: str
    options: list[str]
    key: Any
    tolerance: float
    knowledge_points: list[str]


def question_spec(
    *,
    kind: str,
    prompt: str,
    options: list[str] | None = None,
    key: Any = None,
    tolerance: float = 0,
    knowledge_points: list[str] | None = None,
    true_false_labels: tuple[str, str] = ("✓", "✗"),
) -> QuestionSpec:
    if kind not in QuestionKind.values:
        raise QuestionError("kind")
    prompt = " ".join(str(prompt).split())
    if not prompt:
        raise QuestionError("prompt")
    options = [" ".join(str(o).split()) for o in (options or []) if str(o).strip()]
    if kind in CHOICE_KINDS:
        if not 2 <= len(options) <= grading.MAX_OPTIONS:
            raise QuestionError("options")
    elif kind == QuestionKind.TRUE_FALSE:
        options = list(true_false_labels)
    else:
        options = []
    try:
        clean = grading.clean_key(kind, options, key)
    except grading.InvalidAnswer:
        raise QuestionError("key") from None
    points = [p.strip() for p in (knowledge_points or []) if p.strip()]
    return QuestionSpec(kind, prompt[:500], options, clean, max(0.0, float(tolerance or 0)), points)


@transaction.atomic
def create_question_set(*, teacher: Teacher, title: str, subject: Subject | None = None) -> QuestionSet:
    return QuestionSet.objects.create(teacher=teacher, title=title.strip()[:100], subject=subject)


@transaction.atomic
def add_question(*, question_set: QuestionSet, spec: QuestionSpec) -> Question:
    last = question_set.questions.order_by("-position").values_list("position", flat=True).first()
    return Question.objects.create(question_set=question_set, position=(last or 0) + 1, **_fields(spec))


def _fields(spec: QuestionSpec) -> dict[str, Any]:
    return {
        "kind": spec.kind,
        "prompt": spec.prompt,
        "options": spec.options,
        "key": spec.key,
        "tolerance": spec.tolerance,
        "knowledge_points": spec.knowledge_points,
    }


def spec_of(question: Question) -> QuestionSpec:
    return QuestionSpec(
        question.kind,
        question.prompt,
        list(question.options),
        question.key,
        question.tolerance,
        list(question.knowledge_points),
    )


def _new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def start_session(
    *,
    teacher: Teacher,
    school_class: SchoolClass,
    mode: str = LiveSession.Mode.LIVE,
    title: str = "",
    question_set: QuestionSet | None = None,
) -> LiveSession:
    # A clash with another open session's code is rare (a million codes); retry on it.
    for _attempt in range(20):
        try:
            with transaction.atomic():
                session = LiveSession.objects.create(
                    teacher=teacher,
                    school_class=school_class,
                    mode=mode,
                    title=title.strip()[:100],
                    question_set=question_set,
                    join_code=_new_code(),
                )
                if mode == LiveSession.Mode.SURVEY and question_set is not None:
                    for question in question_set.questions.all():
                        _ask(session, spec_of(question), source=question)
                return session
        except IntegrityError:
            continue
    raise RuntimeError("no free join code")


def _ask(session: LiveSession, spec: QuestionSpec, *, source: Question | None) -> SessionQuestion:
    last = session.questions.order_by("-position").values_list("position", flat=True).first()
    return SessionQuestion.objects.create(
        session=session, position=(last or 0) + 1, source=source, **_fields(spec)
    )


@transaction.atomic
def ask_question(
    *, session: LiveSession, spec: QuestionSpec, source: Question | None = None
) -> tuple[SessionQuestion, list[int]]:
    """Open a question; a live session has one open question at a time, so the one still
    open is closed first. Returns the new question and the ids of the questions closed."""
    session = LiveSession.objects.select_for_update().get(pk=session.pk)
    if not session.is_open:
        raise QuestionError("ended")
    closed = list(session.questions.filter(status=SessionQuestion.Status.OPEN).values_list("pk", flat=True))
    if closed:
        SessionQuestion.objects.filter(pk__in=closed).update(
            status=SessionQuestion.Status.CLOSED, closed_at=timezone.now()
        )
    return _ask(session, spec, source=source), closed


@transaction.atomic
def close_question(*, question: SessionQuestion) -> SessionQuestion:
    question = SessionQuestion.objects.select_for_update().get(pk=question.pk)
    if question.status == SessionQuestion.Status.OPEN:
        question.status = SessionQuestion.Status.CLOSED
        question.closed_at = timezone.now()
        question.save(update_fields=["status", "closed_at"])
    return question


_UNSET: Any = object()


@transaction.atomic
def reveal_question(*, question: SessionQuestion, key: Any = _UNSET) -> SessionQuestion:
    """Close the question if still open, optionally set the key (a question asked on the fly
    gets its answer now), and grade every answer."""
    question = close_question(question=question)
    if key is not _UNSET:
        try:
            question.key = grading.clean_key(question.kind, question.options, key)
        except grading.InvalidAnswer:
            raise QuestionError("key") from None
    question.status = SessionQuestion.Status.REVEALED
    question.save(update_fields=["status", "key"])
    regrade(question=question)
    return question


def regrade(*, question: SessionQuestion) -> None:
    changed = []
    for answer in question.answers.all():
        verdict = grading.grade(question.kind, question.key, question.tolerance, answer.value)
        if verdict != answer.is_correct:
            answer.is_correct = verdict
            changed.append(answer)
    Answer.objects.bulk_update(changed, ["is_correct"])


@dataclass(frozen=True)
class Submitted:
    # "accepted" (first answer), "changed", "unchanged" (a resend), "closed", "invalid".
    outcome: str
    value: Any = None
    is_correct: bool | None = None

    @property
    def counts(self) -> bool:
        return self.outcome in ("accepted", "changed")


def submit_answer(*, question_id: int, student: Student, raw: Any) -> Submitted:
    """Record a student's answer. The question row is locked for the check-and-write, so an
    answer racing the teacher's close either lands before it (and is in the final count) or
    is refused; the uniqueness on (question, student) makes a resend count once."""
    with transaction.atomic():
        question = (
            SessionQuestion.objects.select_for_update()
            .filter(pk=question_id, session__school_class_id=student.school_class_id)
            .only("kind", "options", "key", "tolerance", "status")
            .first()
        )
        if question is None or not question.is_open:
            return Submitted("closed")
        try:
            value = grading.clean_value(question.kind, question.options, raw)
        except grading.InvalidAnswer:
            return Submitted("invalid")
        verdict = grading.grade(question.kind, question.key, question.tolerance, value)
        answer = Answer.objects.filter(session_question_id=question_id, student=student).first()
        if answer is None:
            Answer.objects.create(
                session_question_id=question_id, student=student, value=value, is_correct=verdict
            )
            return Submitted("accepted", value, verdict)
        if answer.value == value:
            return Submitted("unchanged", value, verdict)
        answer.value = value
        answer.is_correct = verdict
        answer.save(update_fields=["value", "is_correct", "updated_at"])
        return Submitted("changed", value, verdict)


@transaction.atomic
def submit_survey(*, session: LiveSession, student: Student, raw: dict[int, Any]) -> dict[int, Submitted]:
    """A student's answers to a questionnaire, all or nothing: a bad answer to one question
    leaves the others unrecorded so the form comes back whole."""
    results = {qid: submit_answer(question_id=qid, student=student, raw=value) for qid, value in raw.items()}
    if any(r.outcome in ("invalid", "closed") for r in results.values()):
        transaction.set_rollback(True)
    return results


@transaction.atomic
def end_session(*, session: LiveSession) -> LiveSession:
    session = LiveSession.objects.select_for_update().get(pk=session.pk)
    if session.is_open:
        session.questions.filter(status=SessionQuestion.Status.OPEN).update(
            status=SessionQuestion.Status.CLOSED, closed_at=timezone.now()
        )
        session.status = LiveSession.Status.ENDED
        session.ended_at = timezone.now()
        session.save(update_fields=["status", "ended_at"])
    return session


@dataclass(frozen=True)
class AnswerIn:
    """One answer as a live device sent it, for `record_answers`."""

    question_id: int
    student_id: int
    school_class_id: int
    raw: Any


@dataclass(frozen=True)
class QuestionRules:
    """What grading an answer needs; none of it changes while the question is open."""

    session_id: int
    school_class_id: int
    kind: str
    options: list[str]
    key: Any
    tolerance: float


def question_rules(question_ids: list[int]) -> dict[int, QuestionRules]:
    return {
        row["pk"]: QuestionRules(
            row["session_id"],
            row["session__school_class_id"],
            row["kind"],
            list(row["options"]),
            row["key"],
            row["tolerance"],
        )
        for row in SessionQuestion.objects.filter(pk__in=question_ids).values(
            "pk", "session_id", "session__school_class_id", "kind", "options", "key", "tolerance"
        )
    }


def record_answers(*, answers: list[AnswerIn], rules: dict[int, QuestionRules]) -> list[Submitted]:
    """Record a batch of live answers (one outcome each, in order) in one transaction of two
    statements, whatever the batch size: the open questions among them are read with a share
    lock (FOR SHARE on PostgreSQL; SQLite holds the database's write lock), then every answer
    to an open question is one row of a single INSERT ... ON CONFLICT DO UPDATE. The lock
    orders the batch against the teacher's close (which updates the question row): an answer
    either lands before the close (and is in the final count) or is refused with "closed";
    the uniqueness on (question, student) makes a resend count once. `rules` holds the
    questions' grading rules (`question_rules`), cached by the caller."""
    outcomes: list[Submitted | None] = [None] * len(answers)
    # An answer sent twice in one batch (a double tap) is written in a second round, so that
    # the first is "accepted" and the second "unchanged", as if they had come one by one.
    rounds: list[list[tuple[int, AnswerIn, Any, bool | None]]] = []
    seen: dict[tuple[int, int], int] = {}
    for index, item in enumerate(answers):
        rule = rules.get(item.question_id)
        if rule is None or rule.school_class_id != item.school_class_id:
            outcomes[index] = Submitted("closed")
            continue
        try:
            value = grading.clean_value(rule.kind, rule.options, item.raw)
        except grading.InvalidAnswer:
            outcomes[index] = Submitted("invalid")
            continue
        verdict = grading.grade(rule.kind, rule.key, rule.tolerance, value)
        number = seen.get((item.question_id, item.student_id), -1) + 1
        seen[(item.question_id, item.student_id)] = number
        if number == len(rounds):
            rounds.append([])
        rounds[number].append((index, item, value, verdict))
    for batch in rounds:
        with transaction.atomic():
            for index, outcome in _write_answers(batch).items():
                outcomes[index] = outcome
    return [outcome or Submitted("closed") for outcome in outcomes]


def _write_answers(batch: list[tuple[int, AnswerIn, Any, bool | None]]) -> dict[int, Submitted]:
    from django.db import connection

    quote = connection.ops.quote_name

    def column(model: type[models.Model], name: str) -> str:
        return quote(str(getattr(model._meta.get_field(name), "column", name)))

    question_ids = sorted({item.question_id for _i, item, _v, _ok in batch})
    lock = " FOR SHARE" if connection.vendor == "postgresql" else ""
    value_field = Answer._meta.get_field("value")
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column(SessionQuestion, 'id')} FROM {quote(SessionQuestion._meta.db_table)} "
            f"WHERE {column(SessionQuestion, 'id')} IN ({', '.join(['%s'] * len(question_ids))}) "
            f"AND {column(SessionQuestion, 'status')} = %s{lock}",
            [*question_ids, SessionQuestion.Status.OPEN],
        )
        open_ids = {row[0] for row in cursor.fetchall()}
        rows = [entry for entry in batch if entry[1].question_id in open_ids]
        written: dict[tuple[int, int], bool] = {}
        if rows:
            params: list[Any] = []
            for _index, item, value, verdict in rows:
                params += [
                    item.question_id,
                    item.student_id,
                    value_field.get_db_prep_save(value, connection),  # type: ignore[union-attr]
                    verdict,
                    now,
                    now,
                ]
            table = quote(Answer._meta.db_table)
            col = {name: column(Answer, name) for name in (
                "session_question", "student", "value", "is_correct", "created_at", "updated_at"
            )}  # fmt: skip
            cursor.execute(
                f"INSERT INTO {table} ({col['session_question']}, {col['student']}, {col['value']}, "
                f"{col['is_correct']}, {col['created_at']}, {col['updated_at']}) VALUES "
                + ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
                + f" ON CONFLICT ({col['session_question']}, {col['student']}) DO UPDATE SET "
                f"{col['value']} = EXCLUDED.{col['value']}, "
                f"{col['is_correct']} = EXCLUDED.{col['is_correct']}, "
                f"{col['updated_at']} = EXCLUDED.{col['updated_at']} "
                f"WHERE {table}.{col['value']} <> EXCLUDED.{col['value']} "
                f"RETURNING {col['session_question']}, {col['student']}, "
                f"{col['created_at']} = {col['updated_at']}",
                params,
            )
            written = {(qid, sid): bool(inserted) for qid, sid, inserted in cursor.fetchall()}
    outcomes = {}
    for index, item, value, verdict in batch:
        if item.question_id not in open_ids:
            outcomes[index] = Submitted("closed")
            continue
        inserted = written.get((item.question_id, item.student_id))
        state = "unchanged" if inserted is None else "accepted" if inserted else "changed"
        outcomes[index] = Submitted(state, value, verdict)
    return outcomes
