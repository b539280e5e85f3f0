"""Every read of the admissions app, given the viewer's scope (and, for parents, the user)."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from jiaoyun.accounts.scopes import Scope
from jiaoyun.admissions.models import Application, Entry, PlacementRound


def round_list(*, viewer: Scope) -> QuerySet[PlacementRound]:
    return PlacementRound.objects.visible_to(viewer)


def round_detail(*, viewer: Scope, pk: int) -> PlacementRound:
    found = round_list(viewer=viewer).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def round_school_rows(*, viewer: Scope, round: PlacementRound) -> list[dict[str, Any]]:
    """Seats, placed, seats left and unplaced per school from the recorded result; a school
    administrator sees only their own schools' rows."""
    if not round.result_json:
        return []
    rows = json.loads(round.result_json)["schools"]
    if viewer.district:
        return rows
    codes = set(
        round.schools.filter(school_id__in=viewer.admin_school_ids).values_list("school__code", flat=True)
    ) | {w.placement_id for w in round.windows.filter(kindergarten_id__in=viewer.admin_school_ids)}
    return [row for row in rows if row["id"] in codes]


def round_entries(*, viewer: Scope, round: PlacementRound) -> QuerySet[Entry]:
    """Middle-school entries: the district sees all; a school sees its graduates and the
    students placed with it; a parent sees their own children."""
    entries = round.entries.select_related("student", "placed_school")
    if viewer.district:
        return entries
    return entries.filter(
        Q(student__school_id__in=viewer.admin_school_ids)
        | Q(placed_school_id__in=viewer.admin_school_ids)
        | Q(student_id__in=viewer.student_ids)
    )


def applications_to_review(*, viewer: Scope, round: PlacementRound | None = None) -> QuerySet[Application]:
    applications = Application.objects.select_related("window__kindergarten", "window__round")
    if round is not None:
        applications = applications.filter(window__round=round)
    if viewer.district:
        return applications
    return applications.filter(window__kindergarten_id__in=viewer.admin_school_ids)


def own_applications(*, user: Any) -> QuerySet[Application]:
    """A parent's own applications. Kindergarten children are not in the register yet, so the
    scope's student ids cannot reach them: the applications hang off the guardian record."""
    guardian = getattr(user, "guardian", None)
    if guardian is None:
        return Application.objects.none()
    return Application.objects.filter(guardian=guardian).select_related(
        "window__kindergarten", "window__round"
    )
