"""Reads of the assessment app, each given the viewer's scope."""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet
from django.http import Http404

from jiaoyun.accounts.scopes import Scope
from jiaoyun.assessment.models import Exam, Item, Paper


def exam_list(*, viewer: Scope) -> QuerySet[Exam]:
    return (
        Exam.objects.visible_to(viewer)
        .select_related("term", "school")
        .annotate(n_papers=Count("papers", distinct=True))
    )


def exam_detail(*, viewer: Scope, pk: int) -> Exam:
    exam = (
        Exam.objects.visible_to(viewer)
        .filter(pk=pk)
        .select_related("term", "school", "prior")
        .prefetch_related(
            Prefetch(
                "papers",
                queryset=Paper.objects.select_related("subject").prefetch_related(
                    Prefetch("items", queryset=Item.objects.order_by("position"))
                ),
            )
        )
        .first()
    )
    if exam is None:
        raise Http404
    return exam


def may_manage(viewer: Scope, exam: Exam) -> bool:
    """Who sets up an exam and its papers: the district for a joint exam, the school's
    administrators for a school exam."""
    if exam.school_id is None:
        return viewer.district
    return viewer.district or exam.school_id in viewer.admin_school_ids


def may_upload_scores(viewer: Scope, exam: Exam) -> bool:
    """Score sheets: the district for everyone; a school administrator for their school's
    students (of a joint exam, or of their own school exam)."""
    if viewer.district:
        return True
    if exam.school_id is None:
        return bool(viewer.admin_school_ids)
    return exam.school_id in viewer.admin_school_ids


def may_create(viewer: Scope) -> bool:
    return viewer.district or bool(viewer.admin_school_ids)
