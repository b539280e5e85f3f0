"""Every read of the register that a page, the API or an export makes. Each takes the
viewer's scope and returns only what that viewer may see."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from django.db.models import Count, IntegerField, Model, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from jiaoyun.accounts.scopes import Scope
from jiaoyun.core.listing import Column, Filter, ListSpec, is_integer
from jiaoyun.core.models import (
    GRADE_NAMES,
    Campus,
    Gender,
    Grade,
    School,
    SchoolClass,
    Student,
    StudentGuardian,
    Subject,
    Teacher,
    TeacherPosting,
    TeachingAssignment,
)

PERSON_NAME = pgettext_lazy("person", "name")


def _school_choices(scope: Scope, params: Mapping[str, str]) -> list[tuple[str, str]]:
    schools = School.objects.visible_to(scope).values_list("pk", "name")
    return [(str(pk), name) for pk, name in schools] if len(schools) > 1 else []


def _subject_choices(scope: Scope, params: Mapping[str, str]) -> list[tuple[str, str]]:
    return [(str(pk), name) for pk, name in Subject.objects.values_list("pk", "name")]


def _zone_choices(scope: Scope, params: Mapping[str, str]) -> list[tuple[str, str]]:
    zones = School.objects.visible_to(scope).exclude(zone="").values_list("zone", flat=True)
    return [(z, z) for z in sorted(set(zones))]


def _grade_choices(scope: Scope, params: Mapping[str, str]) -> list[tuple[str, str]]:
    grades = Grade.objects.visible_to(scope)
    school = params.get("school", "")
    if is_integer(school):
        grades = grades.filter(school_id=school)
    levels = sorted(set(grades.values_list("level", flat=True)))
    return [(str(level), str(GRADE_NAMES.get(level, level))) for level in levels]


def _class_choices(scope: Scope, params: Mapping[str, str]) -> list[tuple[str, str]]:
    """The classes to pick from: those of the chosen school, or all the viewer's classes when
    they reach only a few schools (a whole district's classes would make a useless menu)."""
    classes = SchoolClass.objects.visible_to(scope).select_related("school", "grade")
    school = params.get("school", "")
    if is_integer(school):
        classes = classes.filter(school_id=school)
    elif scope.district:
        return []
    several_schools = len({c.school_id for c in classes}) > 1
    return [
        (str(c.pk), f"{c.school.name} {c}" if several_schools else str(c))
        for c in classes.order_by("school__code", "grade__level", "number")
    ]


def _enum_choices(choices: list[tuple[str, Any]]) -> Any:
    return lambda scope, params: [(value, str(label)) for value, label in choices]


SCHOOLS = ListSpec(
    columns=(
        Column("code", _("school code"), lambda s: s.code, sort=("code",)),
        Column("name", _("name"), lambda s: s.name, sort=("name",)),
        Column("kind", _("kind"), lambda s: s.get_kind_display(), sort=("kind",)),
        Column("zone", _("school zone"), lambda s: s.zone, sort=("zone",)),
        Column(
            "campuses",
            _("campuses"),
            lambda s: getattr(s, "n_campuses", None),
            sort=("n_campuses",),
            numeric=True,
        ),
        Column("address", _("address"), lambda s: s.address),
        Column(
            "classes",
            _("classes"),
            lambda s: getattr(s, "n_classes", None),
            sort=("n_classes",),
            numeric=True,
        ),
        Column(
            "students",
            _("students"),
            lambda s: getattr(s, "n_students", None),
            sort=("n_students",),
            numeric=True,
        ),
        Column(
            "teachers",
            _("teachers"),
            lambda s: getattr(s, "n_teachers", None),
            sort=("n_teachers",),
            numeric=True,
        ),
    ),
    search=("name", "code", "address"),
    filters=(
        Filter("kind", _("kind"), "kind", _enum_choices(School.Kind.choices)),
        Filter("zone", _("school zone"), "zone", _zone_choices),
    ),
    default_sort=("code",),
    link="name",
)

CLASSES = ListSpec(
    columns=(
        Column("name", _("class"), lambda c: str(c), sort=("grade__level", "number")),
        Column(
            "school", _("school"), lambda c: c.school.name, sort=("school__code", "grade__level", "number")
        ),
        Column("grade", _("grade"), lambda c: c.grade.name, sort=("grade__level", "number")),
        Column("number", _("class number"), lambda c: c.number, sort=("number",), numeric=True),
        Column(
            "head_teacher",
            _("head teacher"),
            lambda c: c.head_teacher.name if c.head_teacher else "",
            sort=("head_teacher__name",),
        ),
        Column("campus", _("campus"), lambda c: c.campus.name if c.campus else ""),
        Column(
            "students",
            _("students"),
            lambda c: getattr(c, "n_students", None),
            sort=("n_students",),
            numeric=True,
        ),
    ),
    filters=(
        Filter("school", _("school"), "school_id", _school_choices, integer=True),
        Filter("grade", _("grade"), "grade__level", _grade_choices, integer=True),
    ),
    default_sort=("school__code", "grade__level", "number"),
    select_related=("school", "grade", "head_teacher", "campus"),
)

TEACHERS = ListSpec(
    columns=(
        Column("staff_no", _("staff number"), lambda t: t.staff_no, sort=("staff_no",)),
        Column("name", PERSON_NAME, lambda t: t.name, sort=("name",)),
        Column("gender", _("gender"), lambda t: t.get_gender_display(), sort=("gender",)),
        Column("birth_date", _("birth date"), lambda t: t.birth_date.isoformat(), sort=("birth_date",)),
        Column("school", _("school"), lambda t: t.school.name if t.school else "", sort=("school__code",)),
        Column(
            "subject", _("subject"), lambda t: t.subject.name if t.subject else "", sort=("subject__code",)
        ),
        Column("title", _("professional title"), lambda t: t.get_title_display(), sort=("title",)),
        Column(
            "qualification",
            _("qualification"),
            lambda t: t.get_qualification_display(),
            sort=("qualification",),
        ),
        Column("status", _("employment status"), lambda t: t.get_status_display(), sort=("status",)),
        Column("id_number", _("ID number"), lambda t: t.id_number or "", personal="id"),
        Column("phone", _("phone"), lambda t: t.phone, personal="phone"),
    ),
    search=("name", "staff_no__iexact"),
    filters=(
        Filter("school", _("school"), "school_id", _school_choices, integer=True),
        Filter("subject", _("subject"), "subject_id", _subject_choices, integer=True),
        Filter("title", _("professional title"), "title", _enum_choices(Teacher.Title.choices)),
        Filter(
            "qualification", _("qualification"), "qualification", _enum_choices(Teacher.Qualification.choices)
        ),
        Filter("status", _("employment status"), "status", _enum_choices(Teacher.Status.choices)),
        Filter("gender", _("gender"), "gender", _enum_choices(Gender.choices)),
    ),
    default_sort=("staff_no",),
    link="name",
    select_related=("school", "subject"),
)

STUDENTS = ListSpec(
    columns=(
        Column(
            "student_no",
            _("national student number"),
            lambda s: s.student_no,
            sort=("student_no",),
            personal="student_no",
        ),
        Column("name", PERSON_NAME, lambda s: s.name, sort=("name",)),
        Column("gender", _("gender"), lambda s: s.get_gender_display(), sort=("gender",)),
        Column("birth_date", _("birth date"), lambda s: s.birth_date.isoformat(), sort=("birth_date",)),
        Column("school", _("school"), lambda s: s.school.name, sort=("school__code",)),
        Column(
            "class",
            _("class"),
            lambda s: str(s.school_class) if s.school_class else "",
            sort=("school_class__grade__level", "school_class__number"),
        ),
        Column(
            "enrolment_year",
            _("enrolment year"),
            lambda s: s.enrolment_year,
            sort=("enrolment_year",),
            numeric=True,
        ),
        Column(
            "household", _("household registration"), lambda s: s.get_household_display(), sort=("household",)
        ),
        Column("status", _("status"), lambda s: s.get_status_display(), sort=("status",)),
        Column("id_number", _("ID number"), lambda s: s.id_number or "", personal="id"),
    ),
    search=("name", "student_no__iexact", "id_number__iexact"),
    filters=(
        Filter("school", _("school"), "school_id", _school_choices, integer=True),
        Filter("grade", _("grade"), "school_class__grade__level", _grade_choices, integer=True),
        Filter("class", _("class"), "school_class_id", _class_choices, integer=True),
        Filter("status", _("status"), "status", _enum_choices(Student.Status.choices)),
        Filter("gender", _("gender"), "gender", _enum_choices(Gender.choices)),
        Filter(
            "household", _("household registration"), "household", _enum_choices(Student.Household.choices)
        ),
    ),
    default_sort=("student_no",),
    link="name",
    select_related=("school", "school_class__grade"),
)


def _count_of(model: type[Model], *, school_field: str = "school", **conditions: Any) -> Coalesce:
    """A correlated COUNT per school: joining students, teachers, classes and campuses in one
    GROUP BY would multiply the rows (a school's students times its teachers)."""
    rows = (
        model._default_manager.filter(**{school_field: OuterRef("pk")}, **conditions)
        .order_by()
        .values(school_field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


ACTIVE_TEACHER_STATUSES = [
    s for s in Teacher.Status.values if s not in {Teacher.Status.RETIRED, Teacher.Status.LEFT}
]


def school_list(*, viewer: Scope, params: Mapping[str, str] | None = None) -> QuerySet[School]:
    qs = School.objects.visible_to(viewer).annotate(
        n_students=_count_of(Student, status=Student.Status.ENROLLED),
        n_teachers=_count_of(Teacher, status__in=ACTIVE_TEACHER_STATUSES),
        n_classes=_count_of(SchoolClass),
        n_campuses=_count_of(Campus),
    )
    return SCHOOLS.apply(qs, params or {})


def school_detail(*, viewer: Scope, pk: int) -> School:
    school = School.objects.visible_to(viewer).filter(pk=pk).select_related("district").first()
    if school is None:
        raise Http404
    return school


def grades_of(*, viewer: Scope, school: School) -> list[Grade]:
    """The school's grades, each with the classes the viewer may see (`visible_classes`)."""
    classes = list(
        SchoolClass.objects.visible_to(viewer)
        .filter(school=school)
        .annotate(n_students=Count("students", filter=Q(students__status=Student.Status.ENROLLED)))
        .select_related("grade", "head_teacher", "campus")
        .order_by("grade__level", "number")
    )
    grades: dict[int, Grade] = {}
    for school_class in classes:
        grade = grades.setdefault(school_class.grade_id, school_class.grade)
        if not hasattr(grade, "visible_classes"):
            grade.visible_classes = []  # type: ignore[attr-defined]
        grade.visible_classes.append(school_class)  # type: ignore[attr-defined]
    return list(grades.values())


def class_list(*, viewer: Scope, params: Mapping[str, str] | None = None) -> QuerySet[SchoolClass]:
    qs = SchoolClass.objects.visible_to(viewer).annotate(
        n_students=Count("students", filter=Q(students__status=Student.Status.ENROLLED))
    )
    return CLASSES.apply(qs, params or {})


def class_detail(*, viewer: Scope, pk: int) -> SchoolClass:
    found = (
        SchoolClass.objects.visible_to(viewer)
        .filter(pk=pk)
        .select_related("school", "grade", "head_teacher", "campus")
        .first()
    )
    if found is None:
        raise Http404
    return found


def teacher_list(*, viewer: Scope, params: Mapping[str, str] | None = None) -> QuerySet[Teacher]:
    return TEACHERS.apply(Teacher.objects.visible_to(viewer), params or {})


def teacher_detail(*, viewer: Scope, pk: int) -> Teacher:
    found = (
        Teacher.objects.visible_to(viewer)
        .filter(pk=pk)
        .select_related("school", "subject")
        .prefetch_related(
            Prefetch("postings", queryset=TeacherPosting.objects.select_related("school")),
            "assignments__school_class__grade",
            "assignments__subject",
        )
        .first()
    )
    if found is None:
        raise Http404
    return found


# Searching by ID number would let a viewer who sees ID numbers masked confirm one.
STUDENTS_MASKED_SEARCH = replace(STUDENTS, search=("name", "student_no__iexact"))


def student_list(*, viewer: Scope, params: Mapping[str, str] | None = None) -> QuerySet[Student]:
    spec = STUDENTS if viewer.unmask_all or viewer.unmask_school_ids else STUDENTS_MASKED_SEARCH
    return spec.apply(Student.objects.visible_to(viewer), params or {})


def student_detail(*, viewer: Scope, pk: int) -> Student:
    found = (
        Student.objects.visible_to(viewer)
        .filter(pk=pk)
        .select_related("school", "school_class__grade")
        .prefetch_related(
            "enrolments__school_class__grade",
            "enrolments__school_class__school",
            Prefetch("guardian_links", queryset=StudentGuardian.objects.select_related("guardian")),
        )
        .first()
    )
    if found is None:
        raise Http404
    return found


def home_summary(*, viewer: Scope) -> dict[str, Any]:
    """What a viewer's home page opens with: counts of what they may see, and the records
    that are theirs (their schools, their classes, their children)."""
    summary: dict[str, Any] = {}
    if viewer.district or viewer.admin_school_ids:
        summary["counts"] = {
            "schools": School.objects.visible_to(viewer).count(),
            "classes": SchoolClass.objects.visible_to(viewer).count(),
            "teachers": Teacher.objects.visible_to(viewer).filter(status__in=ACTIVE_TEACHER_STATUSES).count(),
            "students": Student.objects.visible_to(viewer).filter(status=Student.Status.ENROLLED).count(),
        }
    if viewer.admin_school_ids and not viewer.district:
        summary["admin_schools"] = list(school_list(viewer=viewer).filter(pk__in=viewer.admin_school_ids))
    if viewer.district:
        students = dict(
            Student.objects.filter(status=Student.Status.ENROLLED)
            .values_list("school__kind")
            .annotate(n=Count("pk"))
            .order_by()
        )
        summary["by_kind"] = [
            {
                "kind": kind,
                "kind_label": School.Kind(kind).label,
                "schools": n,
                "students": students.get(kind, 0),
            }
            for kind, n in School.objects.values_list("kind").annotate(n=Count("pk")).order_by("kind")
        ]
    if viewer.teacher_ids:
        summary["own_teacher"] = (
            Teacher.objects.filter(id__in=viewer.teacher_ids).select_related("school").first()
        )
    if viewer.roster_class_ids:
        subjects: dict[int, list[str]] = {}
        for class_id, subject in TeachingAssignment.objects.filter(
            teacher_id__in=viewer.teacher_ids, school_class_id__in=viewer.roster_class_ids
        ).values_list("school_class_id", "subject__name"):
            subjects.setdefault(class_id, []).append(subject)
        classes = list(
            SchoolClass.objects.filter(id__in=viewer.roster_class_ids)
            .annotate(n_students=Count("students", filter=Q(students__status=Student.Status.ENROLLED)))
            .select_related("school", "grade")
            .order_by("school__code", "grade__level", "number")
        )
        for school_class in classes:
            school_class.my_subjects = subjects.get(school_class.pk, [])  # type: ignore[attr-defined]
            school_class.i_am_head = school_class.head_teacher_id in viewer.teacher_ids  # type: ignore[attr-defined]
        summary["own_classes"] = classes
    if viewer.student_ids:
        summary["own_students"] = list(
            Student.objects.filter(id__in=viewer.student_ids)
            .select_related("school", "school_class__grade", "school_class__head_teacher")
            .order_by("birth_date", "pk")
        )
    return summary
