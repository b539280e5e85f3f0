"""Every read the course supermarket's pages and API make, given the viewer's scope.

Who sees what: a catalogue is visible, once published, to everyone whose scope includes its
school (students, their parents, teachers); drafts only to the school's administrators and
the district. Rosters and attendance belong to the elective's teacher, the school's
administrators and the district. Demand and fill reports belong to administrators.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet
from django.http import Http404

from jiaoyun.accounts.scopes import Scope
from jiaoyun.core.models import School, Student
from jiaoyun.electives.models import (
    Attendance,
    Catalogue,
    Elective,
    ElectivePhoto,
    Enrolment,
    Preference,
    Rating,
    SelectionRound,
    WaitlistEntry,
    Work,
)


def student_of(user: Any) -> Student | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Student.objects.select_related("school_class__grade").filter(user=user).first()


def catalogues(*, viewer: Scope) -> QuerySet[Catalogue]:
    queryset = Catalogue.objects.select_related("school", "term")
    if viewer.district:
        return queryset
    return queryset.filter(
        Q(school_id__in=viewer.admin_school_ids)
        | Q(school_id__in=viewer.school_ids, status=Catalogue.Status.PUBLISHED)
    )


def may_manage(viewer: Scope, school_id: int) -> bool:
    return school_id in viewer.admin_school_ids


def may_report(viewer: Scope, school_id: int) -> bool:
    return viewer.district or school_id in viewer.admin_school_ids


def catalogue(*, viewer: Scope, pk: int) -> Catalogue:
    found = catalogues(viewer=viewer).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def elective(*, viewer: Scope, pk: int) -> Elective:
    visible = catalogues(viewer=viewer).values("pk")
    found = (
        Elective.objects.select_related("catalogue__school", "catalogue__term", "teacher", "slot")
        .filter(pk=pk, catalogue__in=visible)
        .first()
    )
    if found is None:
        raise Http404
    return found


def may_see_roster(viewer: Scope, item: Elective) -> bool:
    return (
        viewer.district
        or item.teacher_id in viewer.teacher_ids
        or may_manage(viewer, item.catalogue.school_id)
    )


def current_round(item: Catalogue) -> SelectionRound | None:
    return next((r for r in item.rounds.all() if r.is_open()), None)


@dataclass
class Board:
    catalogue: Catalogue
    electives: list[Elective]
    rounds: list[SelectionRound]
    open_round: SelectionRound | None
    student: Student | None
    enrolled_ids: set[int] = field(default_factory=set)
    waitlisted: dict[int, int] = field(default_factory=dict)  # elective id -> place in queue
    preferences: list[int] = field(default_factory=list)
    taken_slots: set[int] = field(default_factory=set)


def board(*, viewer: Scope, item: Catalogue, student: Student | None) -> Board:
    """What a student (or anyone who may see the catalogue) sees on the selection page."""
    electives = list(
        Elective.objects.filter(catalogue=item).select_related("teacher", "slot").prefetch_related("photos")
    )
    level = student.school_class.grade.level if student and student.school_class else None
    if student is not None:
        electives = [e for e in electives if e.admits_level(level)]
    rounds = list(item.rounds.all())
    open_round = next((r for r in rounds if r.is_open()), None)
    result = Board(catalogue=item, electives=electives, rounds=rounds, open_round=open_round, student=student)
    if student is None or student.school_id != item.school_id:
        result.student = None
        return result
    for elective_id, slot_id in Enrolment.objects.filter(student=student, catalogue=item).values_list(
        "elective_id", "slot_id"
    ):
        result.enrolled_ids.add(elective_id)
        result.taken_slots.add(slot_id)
    for entry in WaitlistEntry.objects.filter(student=student, elective__catalogue=item):
        result.waitlisted[entry.elective_id] = (
            WaitlistEntry.objects.filter(elective_id=entry.elective_id)
            .filter(Q(created_at__lt=entry.created_at) | Q(created_at=entry.created_at, pk__lt=entry.pk))
            .count()
            + 1
        )
    if open_round is not None and open_round.is_preference:
        result.preferences = list(
            Preference.objects.filter(round=open_round, student=student)
            .order_by("rank")
            .values_list("elective_id", flat=True)
        )
    return result


def seats(*, viewer: Scope, item: Catalogue) -> list[dict[str, int]]:
    """The seat counters, for the page to poll while a round is open."""
    return [
        {"id": pk, "capacity": capacity, "taken": taken}
        for pk, capacity, taken in Elective.objects.filter(catalogue=item).values_list(
            "pk", "capacity", "taken"
        )
    ]


@dataclass
class ElectivePage:
    elective: Elective
    photos: list[ElectivePhoto]
    works: list[Any]  # Work rows annotated with n_likes
    liked: set[int]
    rating: Rating | None
    stars: float | None
    n_ratings: int
    is_enrolled: bool


def elective_page(*, viewer: Scope, item: Elective, student: Student | None) -> ElectivePage:
    works = list(
        Work.objects.filter(elective=item).select_related("student").annotate(n_likes=Count("likes"))
    )
    liked: set[int] = set()
    rating = None
    is_enrolled = False
    if student is not None:
        liked = set(item.works.filter(likes__student=student).values_list("pk", flat=True))
        rating = Rating.objects.filter(elective=item, student=student).first()
        is_enrolled = Enrolment.objects.filter(elective=item, student=student).exists()
    summary = Rating.objects.filter(elective=item).aggregate(avg=Avg("stars"), n=Count("pk"))
    return ElectivePage(
        elective=item, photos=list(item.photos.all()), works=works, liked=liked, rating=rating,
        stars=summary["avg"], n_ratings=summary["n"], is_enrolled=is_enrolled,
    )  # fmt: skip


@dataclass
class RosterRow:
    student: Student
    source: str
    statuses: dict[str, str]  # ISO date -> status


def roster(*, viewer: Scope, item: Elective) -> tuple[list[RosterRow], list[str], list[WaitlistEntry]]:
    if not may_see_roster(viewer, item):
        raise Http404
    enrolments = list(
        Enrolment.objects.filter(elective=item)
        .select_related("student__school_class__grade")
        .order_by("student__school_class__grade__level", "student__school_class__number", "student__name")
    )
    marks: dict[int, dict[str, str]] = {}
    dates: set[str] = set()
    for student_id, date, status in Attendance.objects.filter(elective=item).values_list(
        "student_id", "date", "status"
    ):
        marks.setdefault(student_id, {})[date.isoformat()] = status
        dates.add(date.isoformat())
    rows = [
        RosterRow(student=e.student, source=e.get_source_display(), statuses=marks.get(e.student_id, {}))
        for e in enrolments
    ]
    waitlist = list(
        WaitlistEntry.objects.filter(elective=item).select_related("student").order_by("created_at", "pk")
    )
    return rows, sorted(dates), waitlist


def teaching(*, viewer: Scope) -> QuerySet[Elective]:
    """The electives the viewer teaches."""
    return (
        Elective.objects.filter(teacher_id__in=viewer.teacher_ids)
        .select_related("catalogue__term", "slot")
        .order_by("-catalogue__term__school_year", "-catalogue__term__semester", "title")
    )


@dataclass
class ElectiveStats:
    elective: Elective
    first_choices: int
    preferences: int
    waitlist: int
    fill_rate: float | None
    demand_ratio: float | None  # first choices plus waitlist per seat
    stars: float | None
    n_ratings: int
    attendance_rate: float | None


def report(*, viewer: Scope, school: School) -> list[tuple[Catalogue, list[ElectiveStats]]]:
    """Demand, fill rates, ratings and attendance of every elective, term by term."""
    if not may_report(viewer, school.pk):
        raise Http404
    out = []
    electives = (
        Elective.objects.filter(catalogue__school=school)
        .select_related("catalogue__term", "slot", "teacher")
        .annotate(
            n_first=Count("preferences", filter=Q(preferences__rank=1), distinct=True),
            n_prefs=Count("preferences", distinct=True),
        )
        .order_by("-catalogue__term__school_year", "-catalogue__term__semester", "title")
    )
    waitlists = dict(
        WaitlistEntry.objects.filter(elective__catalogue__school=school)
        .order_by()
        .values_list("elective_id")
        .annotate(n=Count("pk"))
    )
    ratings = {
        row["elective_id"]: row
        for row in Rating.objects.filter(elective__catalogue__school=school)
        .order_by()
        .values("elective_id")
        .annotate(avg=Avg("stars"), n=Count("pk"))
    }
    attendance = {
        row["elective_id"]: row
        for row in Attendance.objects.filter(elective__catalogue__school=school)
        .order_by()
        .values("elective_id")
        .annotate(n=Count("pk"), present=Count("pk", filter=Q(status__in=["present", "late"])))
    }
    by_catalogue: dict[int, tuple[Catalogue, list[ElectiveStats]]] = {}
    for e in electives:
        rating: dict[str, Any] = dict(ratings.get(e.pk, {}))
        marks = attendance.get(e.pk)
        waiting = waitlists.get(e.pk, 0)
        stats = ElectiveStats(
            elective=e,
            first_choices=e.n_first,  # type: ignore[attr-defined]
            preferences=e.n_prefs,  # type: ignore[attr-defined]
            waitlist=waiting,
            fill_rate=e.taken / e.capacity if e.capacity else None,
            demand_ratio=(e.n_first + waiting) / e.capacity if e.capacity else None,  # type: ignore[attr-defined]
            stars=rating.get("avg"),
            n_ratings=rating.get("n", 0),
            attendance_rate=marks["present"] / marks["n"] if marks and marks["n"] else None,
        )
        by_catalogue.setdefault(e.catalogue_id, (e.catalogue, []))[1].append(stats)
    out = list(by_catalogue.values())
    return out
