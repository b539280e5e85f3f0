"""Every read the exchange pages make, given the viewer."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from jiaoyun.accounts.scopes import Scope
from jiaoyun.exchange.models import ImportJob


def import_jobs(*, viewer: Scope) -> QuerySet[ImportJob]:
    return ImportJob.objects.visible_to(viewer).select_related("created_by", "school")


def import_job(*, viewer: Scope, pk: int) -> ImportJob:
    try:
        return import_jobs(viewer=viewer).get(pk=pk)
    except ImportJob.DoesNotExist:
        raise Http404 from None


def may_unmask_job(viewer: Scope, job: ImportJob) -> bool:
    """A job's problems quote the file's cells: ID and phone numbers stay masked unless the
    viewer may see that school's personal data (a district-wide job: the whole district's)."""
    return viewer.unmask_all or (job.school_id is not None and viewer.may_unmask(job.school_id))
