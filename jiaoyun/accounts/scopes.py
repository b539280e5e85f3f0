"""The one scoping mechanism.

A `Scope` says what a viewer (a signed-in user or an external system) may see. It is
computed once per request and handed to every selector, which filters with the model's
`objects.visible_to(scope)`. Pages, the API, exports and live channels all go through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import HttpRequest

from jiaoyun.accounts.models import Role

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from jiaoyun.accounts.models import ExternalSystem, User
    from jiaoyun.core.models import Student, Teacher


@dataclass(frozen=True)
class Scope:
    # Everything in the district.
    district: bool = False
    # Schools whose whole register is visible (school administrators).
    admin_school_ids: frozenset[int] = frozenset()
    # Schools whose public record is visible (the viewer works or studies there).
    school_ids: frozenset[int] = frozenset()
    # Classes whose record is visible.
    class_ids: frozenset[int] = frozenset()
    # Classes whose students are visible (the classes a teacher teaches or heads).
    roster_class_ids: frozenset[int] = frozenset()
    # Individual students (the student themself, a parent's children).
    student_ids: frozenset[int] = frozenset()
    # Individual teachers (the teacher themself).
    teacher_ids: frozenset[int] = frozenset()
    # Who may see ID numbers and phones unmasked (each view is audited).
    unmask_all: bool = False
    unmask_school_ids: frozenset[int] = frozenset()
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_empty(self) -> bool:
        return not (
            self.district or self.school_ids or self.class_ids or self.student_ids or self.teacher_ids
        )

    def may_unmask(self, school_id: int | None) -> bool:
        return self.unmask_all or (school_id is not None and school_id in self.unmask_school_ids)

    def may_unmask_student(self, student: Student) -> bool:
        return self.may_unmask(student.school_id)

    def may_unmask_teacher(self, teacher: Teacher) -> bool:
        return self.may_unmask(teacher.school_id)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))


EMPTY = Scope()


def scope_for_user(user: User | AnonymousUser) -> Scope:
    from jiaoyun.core.models import SchoolClass, Student

    if not user.is_authenticated or not user.is_active:
        return EMPTY
    # One query for the user's register links (three reverse one-to-one lookups otherwise),
    # one for the grants: this runs on every page.
    linked = (
        get_user_model()
        .objects.select_related("teacher", "student", "guardian")
        .prefetch_related("grants")
        .filter(pk=user.pk)
        .first()
    )
    if linked is None:
        return EMPTY
    roles: set[str] = set()
    district = unmask_all = False
    admin_schools: set[int] = set()
    for grant in linked.grants.all():
        roles.add(grant.role)
        if grant.role == Role.DISTRICT_ADMIN:
            district = unmask_all = True
        elif grant.role == Role.DISTRICT_STAFF:
            district = True
        elif grant.role == Role.SCHOOL_ADMIN and grant.school_id:
            admin_schools.add(grant.school_id)

    school_ids = set(admin_schools)
    class_ids: set[int] = set()
    roster: set[int] = set()
    student_ids: set[int] = set()
    teacher_ids: set[int] = set()

    teacher = getattr(linked, "teacher", None)
    if teacher is not None:
        roles.add(Role.TEACHER)
        teacher_ids.add(teacher.id)
        if teacher.school_id:
            school_ids.add(teacher.school_id)
        taught = SchoolClass.objects.filter(
            Q(head_teacher=teacher) | Q(assignments__teacher=teacher)
        ).values_list("id", flat=True)
        roster.update(taught)
        class_ids.update(roster)

    students: list[tuple[int, int, int | None]] = []  # id, school, class
    own = getattr(linked, "student", None)
    if own is not None:
        roles.add(Role.STUDENT)
        students.append((own.id, own.school_id, own.school_class_id))

    guardian = getattr(linked, "guardian", None)
    if guardian is not None:
        roles.add(Role.PARENT)
        students += Student.objects.filter(guardian_links__guardian=guardian).values_list(
            "id", "school_id", "school_class_id"
        )

    for student_id, school_id, class_id in students:
        student_ids.add(student_id)
        school_ids.add(school_id)
        if class_id:
            class_ids.add(class_id)

    return Scope(
        district=district,
        admin_school_ids=frozenset(admin_schools),
        school_ids=frozenset(school_ids),
        class_ids=frozenset(class_ids),
        roster_class_ids=frozenset(roster),
        student_ids=frozenset(student_ids),
        teacher_ids=frozenset(teacher_ids),
        unmask_all=unmask_all,
        unmask_school_ids=frozenset(admin_schools),
        roles=frozenset(roles),
    )


def scope_for_system(system: ExternalSystem) -> Scope:
    if not system.is_active:
        return EMPTY
    if system.school_id is None:
        return Scope(district=True, unmask_all=system.may_unmask, roles=frozenset({"system"}))
    ids = frozenset({system.school_id})
    return Scope(
        admin_school_ids=ids,
        school_ids=ids,
        unmask_school_ids=ids if system.may_unmask else frozenset(),
        roles=frozenset({"system"}),
    )


def viewer_of(request: HttpRequest) -> Scope:
    """The viewer's scope that ScopeMiddleware (pages) or the API's authenticators attached
    to the request; typed, so views need no ignore comments."""
    scope: Scope = request.viewer  # type: ignore[attr-defined]
    return scope
