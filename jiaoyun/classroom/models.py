"""Live classroom: prepared question sets, sessions a teacher runs for one class (live on
the main screen, or a questionnaire sent before class), the questions asked in a session
and every student's answer.

A session question copies the prompt, options, key and knowledge points of the question it
came from, so that editing a prepared set never rewrites what a class was actually asked.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from jiaoyun.core.models import SchoolClass, Student, Subject, Teacher


class QuestionKind(models.TextChoices):
    SINGLE = "single", _("Single choice")
    MULTIPLE = "multiple", _("Multiple choice")
    TRUE_FALSE = "true_false", _("True or false")
    NUMBER = "number", _("Number")
    TEXT = "text", _("Short text")


CHOICE_KINDS = frozenset({QuestionKind.SINGLE, QuestionKind.MULTIPLE})


class QuestionSet(models.Model):
    teacher = models.ForeignKey(Teacher, on_delete=models.CASCADE, related_name="question_sets")
    title = models.CharField(_("title"), max_length=100)
    subject = models.ForeignKey(
        Subject, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("subject")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("question set")
        verbose_name_plural = _("question sets")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class QuestionFields(models.Model):
    """What a question is: shared by the prepared question and the question as asked."""

    kind = models.CharField(_("kind"), max_length=12, choices=QuestionKind.choices)
    prompt = models.CharField(_("question"), max_length=500)
    # Choice labels, in order; answers to choice questions are indexes into this list.
    options = models.JSONField(_("options"), default=list, blank=True)
    # The key, in the shape an answer has (index, list of indexes, bool, number, or a list
    # of accepted texts); null when the question has no right answer (an opinion).
    key = models.JSONField(_("answer key"), null=True, blank=True)
    tolerance = models.FloatField(_("tolerance"), default=0)
    knowledge_points = models.JSONField(_("knowledge points"), default=list, blank=True)

    class Meta:
        abstract = True


class Question(QuestionFields):
    question_set = models.ForeignKey(QuestionSet, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(_("position"))

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["question_set", "position"]
        constraints = [
            models.UniqueConstraint(fields=["question_set", "position"], name="question_unique_position"),
        ]

    def __str__(self) -> str:
        return self.prompt


class LiveSession(models.Model):
    class Mode(models.TextChoices):
        LIVE = "live", _("Live session")
        SURVEY = "survey", _("Questionnaire before class")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ENDED = "ended", _("Ended")

    mode = models.CharField(_("mode"), max_length=8, choices=Mode.choices, default=Mode.LIVE)
    school_class = models.ForeignKey(
        SchoolClass, on_delete=models.CASCADE, related_name="live_sessions", verbose_name=_("class")
    )
    teacher = models.ForeignKey(Teacher, on_delete=models.CASCADE, related_name="live_sessions")
    title = models.CharField(_("title"), max_length=100, blank=True)
    question_set = models.ForeignKey(
        QuestionSet, on_delete=models.SET_NULL, null=True, blank=True, related_name="sessions"
    )
    # Six digits, typed on a phone or read from the QR code; unique only while open.
    join_code = models.CharField(_("join code"), max_length=6)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("live session")
        verbose_name_plural = _("live sessions")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["join_code"], condition=Q(status="open"), name="live_session_open_code_unique"
            ),
        ]
        indexes = [models.Index(fields=["school_class", "status"])]

    def __str__(self) -> str:
        return self.title or str(self.school_class)

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class SessionQuestion(QuestionFields):
    class Status(models.TextChoices):
        OPEN = "open", _("Accepting answers")
        CLOSED = "closed", _("Closed")
        REVEALED = "revealed", _("Answer revealed")

    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(_("position"))
    source = models.ForeignKey(Question, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("question asked")
        verbose_name_plural = _("questions asked")
        ordering = ["session", "position"]
        constraints = [
            models.UniqueConstraint(fields=["session", "position"], name="session_question_unique_position"),
        ]

    def __str__(self) -> str:
        return self.prompt

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class Answer(models.Model):
    """One student's answer to one question asked. The uniqueness is what makes a
    reconnect, a resend or a double tap count once: a student may change their answer while
    the question is open, which updates this row."""

    session_question = models.ForeignKey(SessionQuestion, on_delete=models.CASCADE, related_name="answers")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="classroom_answers")
    value = models.JSONField(_("answer"))
    # Null while the question has no key.
    is_correct = models.BooleanField(_("correct"), null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [
            models.UniqueConstraint(fields=["session_question", "student"], name="answer_once_per_student"),
        ]
