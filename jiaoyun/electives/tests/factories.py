"""Builders for elective tests: a catalogue with slots, electives and open rounds, and extra
students when the tiny demo district has too few for a rush."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from jiaoyun.core.models import School, SchoolClass, Student, Teacher, Term
from jiaoyun.electives import services
from jiaoyun.electives.models import Catalogue, Elective, SelectionRound, TimeSlot

HOUR = dt.timedelta(hours=1)


@dataclass
class Setup:
    catalogue: Catalogue
    slots: list[TimeSlot]
    electives: list[Elective]
    round: SelectionRound | None


def term() -> Term:
    return Term.objects.order_by("-school_year", "-semester").first()  # type: ignore[return-value]


def catalogue(
    school: School,
    *,
    capacities: list[int],
    slot_of: list[int] | None = None,
    n_slots: int = 3,
    max_per_student: int = 3,
    round_kind: str | None = SelectionRound.Kind.FIRST_COME,
    levels: list[int] | None = None,
) -> Setup:
    """Electives of the given capacities, in slots round-robin unless `slot_of` says, published,
    with a round open now."""
    cat = services.create_catalogue(
        school=school, term=term(), title="Autumn electives", max_per_student=max_per_student
    )
    slots = [
        services.add_slot(catalogue=cat, weekday=1 + i, start=dt.time(15, 30), end=dt.time(17, 0))
        for i in range(n_slots)
    ]
    teacher = Teacher.objects.filter(school=school).order_by("pk").first()
    assert teacher is not None
    electives = [
        services.save_elective(
            catalogue=cat,
            title=f"Elective {i + 1}",
            category=Elective.Category.ART,
            teacher=teacher,
            room=f"R{i + 1}",
            slot=slots[slot_of[i] if slot_of else i % n_slots],
            capacity=capacity,
            grade_levels=levels or [],
        )  # fmt: skip
        for i, capacity in enumerate(capacities)
    ]
    services.publish_catalogue(catalogue=cat)
    selection_round = None
    if round_kind is not None:
        now = timezone.now()
        selection_round = services.create_round(
            catalogue=cat, kind=round_kind, opens_at=now - HOUR, closes_at=now + HOUR
        )
    return Setup(catalogue=cat, slots=slots, electives=electives, round=selection_round)


def students(school: School, n: int, *, prefix: str = "X") -> list[Student]:
    """`n` more students in the first class of the school's lowest grade."""
    school_class = SchoolClass.objects.filter(school=school).order_by("grade__level", "number").first()
    assert school_class is not None
    made = [
        Student(
            student_no=f"{prefix}{school.pk:03d}{i:05d}",
            name=f"Student {i}",
            gender="female",
            birth_date=dt.date(2012, 1, 1),
            enrolment_year=2024,
            school=school,
            school_class=school_class,
        )  # fmt: skip
        for i in range(n)
    ]
    Student.objects.bulk_create(made)
    return list(
        Student.objects.filter(student_no__startswith=f"{prefix}{school.pk:03d}")
        .select_related("school_class__grade")
        .order_by("student_no")
    )


def reload(obj: Any) -> Any:
    obj.refresh_from_db()
    return obj
