"""Every read of the admissions app, given the viewer's scope (and, for parents, the user)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from jiaoyun.accounts.scopes import Scope
from jiaoyun.admissions.models import (
    Application,
    ApplicationDocument,
    Entry,
    PlacementRound,
    RegistrationWindow,
    RoundSchool,
)
from jiaoyun.core.models import School, Student


def round_list(*, viewer: Scope) -> QuerySet[PlacementRound]:
    return PlacementRound.objects.visible_to(viewer)


def round_detail(*, viewer: Scope, pk: int) -> PlacementRound:
    found = round_list(viewer=viewer).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def round_published(*, viewer: Scope, user: Any, pk: int) -> PlacementRound:
    """A round whose published draw files (application numbers only) the viewer may read:
    any round they see, and a kindergarten round they applied in, since a kindergarten
    child is not in the register and the scope does not reach that round (the parent's
    page links to how the draw is checked)."""
    found = round_list(viewer=viewer).filter(pk=pk).first()
    if found is None:
        found = PlacementRound.objects.filter(
            pk=pk, windows__applications__in=own_applications(user=user)
        ).first()
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


def window_list(*, viewer: Scope) -> QuerySet[RegistrationWindow]:
    windows = RegistrationWindow.objects.select_related("round", "kindergarten").order_by(
        "-round__school_year", "round__name", "kindergarten__code", "zone"
    )
    if viewer.district:
        return windows
    return windows.filter(kindergarten_id__in=viewer.admin_school_ids)


def open_windows(*, today: dt.date) -> QuerySet[RegistrationWindow]:
    """Windows a parent may apply to today: any parent may apply to any kindergarten."""
    return (
        RegistrationWindow.objects.filter(
            round__status=PlacementRound.Status.OPEN, opens_on__lte=today, closes_on__gte=today
        )
        .select_related("round", "kindergarten")
        .order_by("kindergarten__name", "zone")
    )


def open_window_for_parent(*, pk: int, today: dt.date) -> RegistrationWindow:
    found = open_windows(today=today).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def application_for_review(*, viewer: Scope, pk: int) -> Application:
    found = (
        applications_to_review(viewer=viewer).select_related("reviewed_by").prefetch_related("uploads")
    ).filter(pk=pk)
    application = found.first()
    if application is None:
        raise Http404
    return application


def own_application(*, user: Any, pk: int) -> Application:
    application = own_applications(user=user).filter(pk=pk).first()
    if application is None:
        raise Http404
    return application


def document_for(*, viewer: Scope, user: Any, pk: int) -> tuple[ApplicationDocument, bool]:
    """A document and whether the viewer reads it as staff (audited) rather than as its parent.
    Staff who review the application but may not unmask (district staff) do not get it: a
    scanned household register or birth certificate carries the child's full ID number."""
    document = ApplicationDocument.objects.select_related("application__window").filter(pk=pk).first()
    if document is None:
        raise Http404
    if own_applications(user=user).filter(pk=document.application_id).exists():
        return document, False
    if viewer.may_unmask(document.application.window.kindergarten_id) and (
        applications_to_review(viewer=viewer).filter(pk=document.application_id).exists()
    ):
        return document, True
    raise Http404


def own_entries(*, viewer: Scope) -> QuerySet[Entry]:
    """A parent's (or student's) own middle-school entries, newest round first."""
    if not viewer.student_ids:
        return Entry.objects.none()
    return (
        Entry.objects.filter(student_id__in=viewer.student_ids)
        .select_related("round", "student", "placed_school")
        .order_by("-round__school_year", "round__name")
    )


def own_entry(*, viewer: Scope, pk: int) -> Entry:
    entry = own_entries(viewer=viewer).filter(pk=pk).first()
    if entry is None:
        raise Http404
    return entry


def zone_schools(*, entry: Entry) -> QuerySet[RoundSchool]:
    return RoundSchool.objects.filter(round_id=entry.round_id, zone=entry.zone).select_related("school")


def graduating_students(*, viewer: Scope) -> QuerySet[Student]:
    """Grade-6 students of the register who are still enrolled: the 小升初 cohort."""
    if not viewer.district:
        return Student.objects.none()
    return Student.objects.filter(
        status=Student.Status.ENROLLED, school_class__grade__level=6
    ).select_related("school")


def register_zones() -> list[str]:
    """The zones schools of the register are in, for the zone menus of a round."""
    return sorted(set(School.objects.exclude(zone="").values_list("zone", flat=True)))


def result_rows(*, viewer: Scope, round: PlacementRound) -> list[dict[str, Any]]:
    """One row per applicant of the recorded result the viewer may see, with the names behind
    the application numbers, ordered by school then placed / waitlist / unplaced."""
    if not round.result_json:
        return []
    document = json.loads(round.result_json)
    names: dict[str, tuple[str, str]] = {}
    if round.kind == PlacementRound.Kind.KINDERGARTEN:
        for application in applications_to_review(viewer=viewer, round=round):
            names[application.number] = (application.child_name, application.window.placement_id)
    else:
        for entry in round_entries(viewer=viewer, round=round):
            names[entry.number] = (entry.student.name, entry.student.school.name)
    # Names stay out of the published result; they are joined here for the bureau's lists.
    school_names = {
        w.placement_id: str(w.kindergarten.name) for w in round.windows.select_related("kindergarten")
    }
    school_names |= {rs.school.code: rs.school.name for rs in round.schools.select_related("school")}
    order = {"placed": 0, "waitlisted": 1, "unplaced": 2}
    rows = []
    for row in document["applicants"]:
        if row["id"] not in names:
            continue
        name, origin = names[row["id"]]
        # A kindergarten applicant applied to one kindergarten: group the refused under it too.
        school = row["school"] or (origin if round.kind == PlacementRound.Kind.KINDERGARTEN else "")
        rows.append(
            {
                **row,
                "name": name,
                "origin": origin,
                "school_name": school_names.get(school, school),
            }
        )
    rows.sort(
        key=lambda r: (r["school_name"] or "\uffff", order[r["status"]], r["waitlist_position"] or 0, r["id"])
    )
    return rows
