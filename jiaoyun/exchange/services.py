"""Every write of the exchange app: starting an import and running it."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from jiaoyun.accounts import audit
from jiaoyun.accounts.models import AuditEvent, Role
from jiaoyun.accounts.scopes import Scope, scope_for_user
from jiaoyun.core.models import School
from jiaoyun.exchange.importers import IMPORTERS, Context, Outcome
from jiaoyun.exchange.messages import Issue
from jiaoyun.exchange.models import MAX_STORED_ISSUES, ImportJob, may_import
from jiaoyun.exchange.reader import UnreadableFile, read_cells

logger = logging.getLogger(__name__)


def start_import(
    *,
    user: Any,
    scope: Scope,
    kind: str,
    upload: UploadedFile,
    school: School | None = None,
    validate_only: bool = False,
) -> ImportJob:
    """Save the file as a queued job and hand it to the task worker once committed."""
    from jiaoyun.exchange.tasks import run_import_job

    if not may_import(scope) or kind not in IMPORTERS:
        raise PermissionDenied
    if school is None and not scope.has_role(Role.DISTRICT_ADMIN):
        if len(scope.admin_school_ids) != 1:
            raise PermissionDenied
        school = School.objects.get(pk=next(iter(scope.admin_school_ids)))
    if school is not None and not (
        scope.has_role(Role.DISTRICT_ADMIN) or school.pk in scope.admin_school_ids
    ):
        raise PermissionDenied
    with transaction.atomic():
        job = ImportJob.objects.create(
            kind=kind,
            created_by=user,
            school=school,
            file=upload,
            file_name=(upload.name or "")[:200],
            validate_only=validate_only,
        )
        transaction.on_commit(lambda: run_import_job.enqueue(job.pk))
    return job


def _allowed_schools(scope: Scope) -> frozenset[int] | None:
    return None if scope.has_role(Role.DISTRICT_ADMIN) else scope.admin_school_ids


def run_job(job_id: int) -> ImportJob:
    """Check the job's file and, when nothing is wrong, write it, all or nothing.

    The uploader's reach is worked out again now, not when the file was sent: a grant
    withdrawn in between stops the import."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.status != ImportJob.Status.QUEUED:  # a retried task: it ran already
        return job
    job.status = ImportJob.Status.VALIDATING
    job.started_at = timezone.now()
    job.save(update_fields=["status", "started_at"])
    try:
        _run(job)
    except Exception:
        logger.exception("import %s failed", job.pk)
        _finish(job, ImportJob.Status.FAILED, Outcome(issues=[Issue(None, "", "", "internal")]))
    return job


def _run(job: ImportJob) -> None:
    scope = scope_for_user(job.created_by)
    if not may_import(scope):
        _finish(job, ImportJob.Status.REJECTED, Outcome(issues=[Issue(None, "", "", "school_out_of_scope")]))
        return
    try:
        with job.file.open("rb") as handle:
            data = handle.read()
        table = read_cells(data)
    except (UnreadableFile, OSError):
        _finish(job, ImportJob.Status.REJECTED, Outcome(issues=[Issue(None, "", "", "unreadable")]))
        return
    job.encoding = table.encoding or ""

    def progress(done: int, total: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(rows_done=done, rows_total=max(total, done))

    ctx = Context(
        today=timezone.localdate(),
        allowed_school_ids=_allowed_schools(scope),
        job_school_id=job.school_id,
        progress=progress,
    )
    importer = IMPORTERS[job.kind](ctx)
    try:
        outcome = importer.run(table)
    except UnreadableFile:
        _finish(job, ImportJob.Status.REJECTED, Outcome(issues=[Issue(None, "", "", "unreadable")]))
        return
    if outcome.issues:
        _finish(job, ImportJob.Status.REJECTED, outcome)
        return
    if job.validate_only:
        _finish(job, ImportJob.Status.VALIDATED, outcome)
        return
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.APPLYING)
    try:
        with transaction.atomic():
            importer.apply()
            audit.record(
                action=AuditEvent.Action.IMPORT,
                target=f"import:{job.pk} {job.kind}",
                user=job.created_by,
                detail={
                    "kind": job.kind,
                    "file": job.file_name,
                    "school": job.school_id,
                    "rows": outcome.rows,
                    "counts": outcome.counts,
                },
            )
            _finish(job, ImportJob.Status.DONE, outcome)
    except (IntegrityError, DatabaseError):
        # A unique key taken between checking and writing: someone changed the register.
        logger.warning("import %s collided with a concurrent change", job.pk, exc_info=True)
        outcome.issues = [Issue(None, "", "", "register_changed")]
        outcome.counts = {}
        _finish(job, ImportJob.Status.REJECTED, outcome)


def _finish(job: ImportJob, status: str, outcome: Outcome) -> None:
    job.status = status
    job.finished_at = timezone.now()
    job.rows_total = job.rows_done = outcome.rows
    job.counts = outcome.counts
    job.issue_count = len(outcome.issues)
    job.issues = [issue.as_dict() for issue in outcome.issues[:MAX_STORED_ISSUES]]
    job.ignored_columns = outcome.ignored_columns
    job.save(
        update_fields=[
            "status", "finished_at", "rows_total", "rows_done", "counts", "issue_count", "issues",
            "ignored_columns", "encoding",
        ]
    )  # fmt: skip
