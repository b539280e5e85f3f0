"""Admission rounds: kindergarten registration windows and applications, primary-to-middle
placement entries, and the auditable record of every draw (seed, input, result bytes)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from jiaoyun.analytics.placement import BOSTON, DEFERRED_ACCEPTANCE, KINDERGARTEN
from jiaoyun.core.models import Student

if TYPE_CHECKING:
    from jiaoyun.accounts.scopes import Scope


class Tier(models.TextChoices):
    """Kindergarten priority tiers a bureau may use, in the order it chooses per window."""

    POLICY = "policy", _("Policy children")
    HOUSEHOLD = "household", _("Local household registration")
    PERMIT = "permit", _("Residence-permit holder")
    SIBLING = "sibling", _("Sibling at the kindergarten")


class Mechanism(models.TextChoices):
    BOSTON = BOSTON, _("Preference first, then lottery number (immediate acceptance)")
    DEFERRED_ACCEPTANCE = DEFERRED_ACCEPTANCE, _("Deferred acceptance with one lottery")
    KINDERGARTEN = KINDERGARTEN, _("Kindergarten tiers with a lottery in the overflowing tier")


class PlacementRoundQuerySet(models.QuerySet["PlacementRound"]):
    def visible_to(self, scope: Scope) -> PlacementRoundQuerySet:
        if scope.district:
            return self
        return self.filter(
            Q(schools__school_id__in=scope.admin_school_ids)
            | Q(windows__kindergarten_id__in=scope.admin_school_ids)
            | Q(entries__student_id__in=scope.student_ids)
        ).distinct()


class PlacementRound(models.Model):
    class Kind(models.TextChoices):
        KINDERGARTEN = "kindergarten", _("Kindergarten admission")
        MIDDLE = "middle", _("Primary to middle school")

    class Status(models.TextChoices):
        OPEN = "open", _("Open for applications")
        FROZEN = "frozen", _("Closed, input frozen")
        DRAWN = "drawn", _("Drawn")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    school_year = models.PositiveSmallIntegerField(_("school year"))
    mechanism = models.CharField(_("mechanism"), max_length=24, choices=Mechanism.choices)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    # Published before applications close; the seed itself is revealed only at the draw.
    seed_commitment = models.CharField(_("seed commitment"), max_length=64, blank=True)
    commitment_published_at = models.DateTimeField(_("commitment published at"), null=True, blank=True)
    public_randomness = models.CharField(_("public randomness"), max_length=200, blank=True)
    seed = models.CharField(_("seed"), max_length=200, blank=True)
    input_hash = models.CharField(_("input hash"), max_length=64, blank=True)
    algorithm_version = models.CharField(_("algorithm version"), max_length=40, blank=True)
    # The published files and the result, byte for byte, so anyone can re-run placement_verify.
    input_schools_csv = models.TextField(blank=True)
    input_applicants_csv = models.TextField(blank=True)
    result_json = models.TextField(blank=True)
    frozen_at = models.DateTimeField(_("input frozen at"), null=True, blank=True)
    drawn_at = models.DateTimeField(_("drawn at"), null=True, blank=True)
    drawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)

    objects = PlacementRoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("placement round")
        verbose_name_plural = _("placement rounds")
        ordering = ["-school_year", "name"]

    def __str__(self) -> str:
        return self.name


class RegistrationWindow(models.Model):
    """One kindergarten's registration for one zone: its plan, tiers and dates."""

    round = models.ForeignKey(PlacementRound, on_delete=models.CASCADE, related_name="windows")
    kindergarten = models.ForeignKey(
        "core.School", on_delete=models.PROTECT, related_name="admission_windows"
    )
    zone = models.CharField(_("zone"), max_length=50, blank=True)
    seats = models.PositiveIntegerField(_("planned seats"))
    tiers = models.JSONField(_("priority tiers"), default=list, help_text=_("Tier codes, highest first"))
    # tier code -> the documents a parent must upload to claim it, as the bureau words them.
    tier_documents = models.JSONField(_("documents per tier"), default=dict, blank=True)
    waitlist_size = models.PositiveIntegerField(_("waitlist size"), null=True, blank=True)
    opens_on = models.DateField(_("opens on"))
    closes_on = models.DateField(_("closes on"))

    class Meta:
        verbose_name = _("registration window")
        verbose_name_plural = _("registration windows")
        constraints = [
            models.UniqueConstraint(fields=["round", "kindergarten", "zone"], name="window_unique_zone"),
        ]

    def __str__(self) -> str:
        return f"{self.kindergarten} {self.zone}".strip()

    @property
    def placement_id(self) -> str:
        """The id this window has in the published files."""
        return f"{self.kindergarten.code}@{self.zone}" if self.zone else self.kindergarten.code

    def tier_rows(self) -> list[tuple[str, str, str]]:
        """(code, label, documents needed) for each tier, highest first."""
        labels = dict(Tier.choices)
        return [(t, str(labels.get(t, t)), self.tier_documents.get(t, "")) for t in self.tiers]


class Outcome(models.TextChoices):
    PENDING = "", _("Not drawn yet")
    PLACED = "placed", _("Placed")
    WAITLISTED = "waitlisted", _("Waitlisted")
    UNPLACED = "unplaced", _("Not placed")


class Application(models.Model):
    """A parent's kindergarten application for a child."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted, waiting for review")
        MORE_INFO = "more_info", _("More documents requested")
        ACCEPTED = "accepted", _("Accepted for the draw")
        REJECTED = "rejected", _("Rejected")

    window = models.ForeignKey(RegistrationWindow, on_delete=models.PROTECT, related_name="applications")
    # The application number is the only identity the published draw files carry.
    number = models.CharField(_("application number"), max_length=20, unique=True)
    guardian = models.ForeignKey(
        "core.Guardian", on_delete=models.PROTECT, related_name="admission_applications"
    )
    child_name = models.CharField(_("child's name"), max_length=50)
    child_birth_date = models.DateField(_("child's birth date"))
    child_id_number = models.CharField(_("child's ID number"), max_length=18)
    household = models.CharField(
        _("household registration"), max_length=8, choices=Student.Household.choices, blank=True
    )
    claimed_tier = models.CharField(_("claimed tier"), max_length=12, choices=Tier.choices, blank=True)
    documents = models.TextField(_("documents supplied"), blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.SUBMITTED)
    tier = models.CharField(_("tier accepted"), max_length=12, choices=Tier.choices, blank=True)
    review_reason = models.TextField(_("reason"), blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, blank=True)
    lottery_number = models.PositiveIntegerField(_("lottery number"), null=True, blank=True)
    waitlist_position = models.PositiveIntegerField(_("waitlist position"), null=True, blank=True)

    class Meta:
        verbose_name = _("kindergarten application")
        verbose_name_plural = _("kindergarten applications")
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["window", "child_id_number"], name="application_one_per_child"),
        ]

    def __str__(self) -> str:
        return self.number


class PrivateDocumentStorage(FileSystemStorage):
    """Parents' documents (household registers, birth certificates of minors) live outside
    MEDIA_ROOT, which is served by URL in development: only a scoped view hands them out."""

    @cached_property
    def base_location(self) -> Any:
        return self._value_or_setting(
            getattr(self, "_location", None), settings.VAR_DIR / "private" / "admissions"
        )


def _document_path(instance: ApplicationDocument, filename: str) -> str:
    # The parent's file name is kept in `original_name` only: it may carry a child's name.
    extension = filename.rsplit(".", 1)[-1].lower()
    return (
        f"{instance.application.window.round_id}/{instance.application.number}/{uuid.uuid4().hex}.{extension}"
    )


class ApplicationDocument(models.Model):
    """A file a parent uploaded for an application: what a tier needs, or what a reviewer asked for."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="uploads")
    file = models.FileField(upload_to=_document_path, storage=PrivateDocumentStorage(), max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField(_("size"))
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["application", "pk"]

    def __str__(self) -> str:
        return self.original_name


class RoundSchool(models.Model):
    """A middle school's seats and priority categories in one round."""

    round = models.ForeignKey(PlacementRound, on_delete=models.CASCADE, related_name="schools")
    school = models.ForeignKey("core.School", on_delete=models.PROTECT, related_name="+")
    zone = models.CharField(_("zone"), max_length=50, blank=True)
    capacity = models.PositiveIntegerField(_("seats"))
    categories = models.JSONField(_("priority categories"), default=list)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["round", "school"], name="round_school_unique")]


class Entry(models.Model):
    """A graduating primary student in a middle-school round, with the family's preferences."""

    round = models.ForeignKey(PlacementRound, on_delete=models.CASCADE, related_name="entries")
    student = models.ForeignKey("core.Student", on_delete=models.PROTECT, related_name="placement_entries")
    number = models.CharField(_("application number"), max_length=20, unique=True)
    zone = models.CharField(_("zone"), max_length=50, blank=True)
    preferences = models.JSONField(
        _("preferences"), default=list, help_text=_("School codes, most wanted first")
    )
    categories = models.JSONField(_("priority categories"), default=dict)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, blank=True)
    placed_school = models.ForeignKey(
        "core.School", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    choice = models.PositiveSmallIntegerField(_("choice"), null=True, blank=True)
    lottery_number = models.PositiveIntegerField(_("lottery number"), null=True, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["round", "student"], name="entry_one_per_student")]
