"""Exams, their papers and items. The item-level scores are facts in the lake (Parquet,
one file per paper), not rows here: see `jiaoyun.assessment.lake`."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from jiaoyun.core.models import School, Subject, Term


class ExamQuerySet(models.QuerySet["Exam"]):
    def visible_to(self, scope) -> ExamQuerySet:  # type: ignore[no-untyped-def]
        """A joint exam is visible to everyone who sees any school; a school exam only to
        those who see that school. What inside an exam a viewer may read is decided per
        report (district, school, class, student)."""
        if scope.district:
            return self
        return self.filter(
            models.Q(kind=Exam.Kind.JOINT, school__isnull=True) | models.Q(school_id__in=scope.school_ids)
        )


class Exam(models.Model):
    class Kind(models.TextChoices):
        JOINT = "joint", _("Joint exam")
        SCHOOL = "school", _("School exam")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.JOINT)
    term = models.ForeignKey(Term, on_delete=models.PROTECT, verbose_name=_("term"))
    grade_level = models.SmallIntegerField(_("grade"))
    school = models.ForeignKey(
        School,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        verbose_name=_("school"),
        help_text=_("Only for a school exam"),
    )
    held_on = models.DateField(_("held on"))
    prior = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("previous exam"),
        help_text=_("The exam value-added and progress are measured against"),
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class AnalysisStatus(models.TextChoices):
        NONE = "none", _("Not analysed")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Analysed")
        FAILED = "failed", _("Failed")

    # The materialised analysis in the lake is the folder of `analysis_version`; readers
    # follow this pointer, so a run that fails half-way leaves the previous results in use.
    analysis_status = models.CharField(
        _("analysis status"), max_length=8, choices=AnalysisStatus.choices, default=AnalysisStatus.NONE
    )
    analysed_at = models.DateTimeField(_("analysed at"), null=True, blank=True)
    analysis_version = models.PositiveIntegerField(_("analysis version"), default=0)
    # The papers' score hashes the analysis was computed from: stale when they differ.
    analysis_inputs = models.CharField(max_length=64, blank=True)
    analysis_error = models.TextField(blank=True)

    # Local cut lines, as fractions of full marks (districts set their own: 85/75/60/40 of
    # 100 is common), the width of score bands, and how borderline students are found.
    excellent_cut = models.DecimalField(
        _("excellent from"), max_digits=4, decimal_places=3, default=Decimal("0.85")
    )
    good_cut = models.DecimalField(_("good from"), max_digits=4, decimal_places=3, default=Decimal("0.75"))
    pass_cut = models.DecimalField(_("pass from"), max_digits=4, decimal_places=3, default=Decimal("0.60"))
    low_cut = models.DecimalField(_("low below"), max_digits=4, decimal_places=3, default=Decimal("0.40"))
    band_width = models.PositiveSmallIntegerField(_("score band width"), default=10)
    borderline_line = models.DecimalField(
        _("borderline line"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.60"),
        help_text=_("As a fraction of full marks: 0.6 means six tenths of full marks"),
    )
    borderline_window = models.DecimalField(
        _("borderline window"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.03"),
        help_text=_("Either side of the line, as a fraction of full marks"),
    )
    borderline_rank_from = models.PositiveIntegerField(
        _("borderline ranks from"),
        null=True,
        blank=True,
        help_text=_("Instead of a score window: district ranks from ... to ..."),
    )
    borderline_rank_to = models.PositiveIntegerField(_("borderline ranks to"), null=True, blank=True)

    objects = ExamQuerySet.as_manager()

    class Meta:
        verbose_name = _("exam")
        verbose_name_plural = _("exams")
        ordering = ["-held_on", "name"]

    def __str__(self) -> str:
        return self.name


class Paper(models.Model):
    """One subject's paper of an exam."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="papers")
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, verbose_name=_("subject"))
    # Set once scores are in the lake: which students sat it, and the file's hash.
    scores_version = models.CharField(max_length=64, blank=True)
    students_scored = models.PositiveIntegerField(default=0)
    students_absent = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("paper")
        constraints = [models.UniqueConstraint(fields=["exam", "subject"], name="paper_unique_subject")]
        ordering = ["exam", "subject__code"]

    def __str__(self) -> str:
        return f"{self.exam.name} {self.subject.name}"

    @property
    def full_marks(self) -> float:
        return float(sum(i.max_score for i in self.items.all()))


class Item(models.Model):
    class Kind(models.TextChoices):
        OBJECTIVE = "objective", _("Objective")
        SUBJECTIVE = "subjective", _("Subjective")

    class Ability(models.TextChoices):
        RECALL = "识记", _("Recall")
        UNDERSTAND = "理解", _("Understanding")
        APPLY = "应用", _("Application")
        SYNTHESIS = "综合", _("Synthesis")

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(_("position"))
    number = models.CharField(_("item number"), max_length=12)
    max_score = models.DecimalField(_("full marks"), max_digits=5, decimal_places=1)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    key = models.CharField(_("answer key"), max_length=8, blank=True)
    option_count = models.PositiveSmallIntegerField(_("options"), default=0)
    knowledge_points = models.CharField(_("knowledge points"), max_length=200, blank=True)
    ability = models.CharField(_("ability level"), max_length=4, choices=Ability.choices, blank=True)
    question_type = models.CharField(_("question type"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("item")
        ordering = ["paper", "position"]
        constraints = [
            models.UniqueConstraint(fields=["paper", "number"], name="item_unique_number"),
            models.UniqueConstraint(fields=["paper", "position"], name="item_unique_position"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def knowledge_point_list(self) -> list[str]:
        return [k.strip() for k in self.knowledge_points.replace("；", ";").split(";") if k.strip()]


class FollowUpPlan(models.Model):
    """一生一案: what a teacher plans for one borderline student after one exam, and
    whether the student crossed the line in the exams that followed."""

    class Status(models.TextChoices):
        OPEN = "open", _("In progress")
        ACHIEVED = "achieved", _("Achieved")
        CLOSED = "closed", _("Closed")

    student = models.ForeignKey(
        "core.Student", on_delete=models.CASCADE, related_name="follow_up_plans", verbose_name=_("student")
    )
    exam = models.ForeignKey(
        Exam, on_delete=models.CASCADE, related_name="follow_up_plans", verbose_name=_("exam")
    )
    teacher = models.ForeignKey(
        "core.Teacher", on_delete=models.PROTECT, related_name="follow_up_plans", verbose_name=_("teacher")
    )
    subject = models.ForeignKey(
        Subject, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("subject")
    )
    plan = models.TextField(_("plan"))
    target = models.DecimalField(
        _("target total"),
        max_digits=6,
        decimal_places=1,
        null=True,
        blank=True,
        help_text=_("The total score to reach; empty: the exam's borderline line"),
    )
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("follow-up plan")
        verbose_name_plural = _("follow-up plans")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.student} {self.exam}"
