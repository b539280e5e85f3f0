"""Import jobs: one uploaded file, who sent it, where it may write, and what came of it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from jiaoyun.accounts.models import Role

if TYPE_CHECKING:
    from jiaoyun.accounts.scopes import Scope

# Problems kept on a job: enough to fix any real file, bounded for a file that is wrong
# throughout (80,000 rows in the wrong columns).
MAX_STORED_ISSUES = 5000


class ImportJobQuerySet(models.QuerySet["ImportJob"]):
    def visible_to(self, scope: Scope) -> ImportJobQuerySet:
        """District administrators and staff see every job; a school administrator the jobs
        of their schools; nobody else any."""
        if scope.district:
            return self
        if scope.admin_school_ids:
            return self.filter(Q(school_id__in=scope.admin_school_ids))
        return self.none()


def may_import(scope: Scope) -> bool:
    """Who may write the register from a file: district and school administrators."""
    return scope.has_role(Role.DISTRICT_ADMIN) or bool(scope.admin_school_ids)


class ImportJob(models.Model):
    class Kind(models.TextChoices):
        STUDENTS = "students", _("Students")
        TEACHERS = "teachers", _("Teachers")
        CLASSES = "classes", _("Classes")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        VALIDATING = "validating", _("Checking")
        APPLYING = "applying", _("Writing")
        REJECTED = "rejected", _("Rejected: nothing changed")
        VALIDATED = "validated", _("Checked: no problems, nothing written")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed: nothing changed")

    FINISHED = (Status.REJECTED, Status.VALIDATED, Status.DONE, Status.FAILED)

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="import_jobs", verbose_name=_("by")
    )
    # The school the import may write; empty for a district-wide import.
    school = models.ForeignKey(
        "core.School",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("school"),
    )
    file = models.FileField(_("file"), upload_to="exchange/imports/%Y/%m/")
    file_name = models.CharField(_("file name"), max_length=200)
    validate_only = models.BooleanField(_("check only"), default=False)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_done = models.PositiveIntegerField(_("rows checked"), default=0)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    issues = models.JSONField(_("problems"), default=list, blank=True)
    issue_count = models.PositiveIntegerField(_("problems"), default=0)
    ignored_columns = models.JSONField(_("ignored columns"), default=list, blank=True)
    encoding = models.CharField(_("text encoding"), max_length=20, blank=True)
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["school", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name}"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def progress(self) -> int:
        """Percent done: checking is the first 80%, writing the rest."""
        if self.is_finished:
            return 100
        if self.status == self.Status.APPLYING:
            return 90
        if not self.rows_total:
            return 0
        return min(80, 80 * self.rows_done // self.rows_total)

    def issue_rows(self) -> list[dict[str, Any]]:
        return list(self.issues)
