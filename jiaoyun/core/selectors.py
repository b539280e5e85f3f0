"""Every read of the register that a page, the API or an export makes. Each takes the
viewer's scope and returns only what that viewer may see."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from jiaoyun.accounts.scopes import Scope
from jiaoyun.core.listing import Column, Filter, ListSpec
from jiaoyun.core.models import (
    Grade,
    School,
    SchoolClass,
    Student,
    StudentGuardian,
    Subject,
    Teacher,
    TeacherPosting,
)


def _school_choices(scope: Scope) -> list[tuple[str, str]]:
    return [(str(pk), name) for pk, name in School.objects.visible_to(scope).values_list("pk", "name")]


def _subject_choices(scope: Scope) -> list[tuple[str, str]]:
    return [(str(pk), name) for pk, name in Subject.objects.values_list("pk", "name")]


def _enum_choices(choices: list[tuple[str, Any]]) -> Any:
    return lambda scope: [(value, str(label)) for value, label in choices]


SCHOOLS = ListSpec(
    columns=(
        Column("code", _("school code"), lambda s: s.code, sort="code"),
        Column("name", _("name"), lambda s: s.name, sort="name"),
        Column("kind", _("kind"), lambda s: s.get_kind_display(), sort="kind"),
        Column("zone", _("school zone"), lambda s: s.zone, sort="zone"),
        Column("address", _("address"), lambda s: s.address),
        Column("students", _("students"), lambda s: getattr(s, "n_students", None), sort="n_students"),
        Column("teachers", _("teachers"), lambda s: getattr(s, "n_teachers", None), sort="n_teachers"),
    ),
    search=("name", "code", "address"),
    filters=(
        Filter("kind", _("kind"), "kind", _enum_choices(School.Kind.choices)),
        Filter("zone", _("school zone"), "zone"),
    ),
    default_sort="code",
)

CLASSES = ListSpec(
    columns=(
        Column("school", _("school"), lambda c: c.school.name, sort="school__code"),
        Column("grade", _("grade"), lambda c: c.grade.name, sort="grade__level"),
        Column("number", _("class number"), lambda c: c.number, sort="number"),
        Column("head_teacher", _("head teacher"), lambda c: c.head_teacher.name if c.head_teacher else ""),
        Column("students", _("students"), lambda c: getattr(c, "n_students", None), sort="n_students"),
    ),
    filters=(
        Filter("school", _("school"), "school_id", _school_choices),
        Filter("grade", _("grade"), "grade__level"),
    ),
    default_sort="school__code",
    select_related=("school", "grade", "head_teacher"),
)

TEACHERS = ListSpec(
    columns=(
        Column("staff_no", _("staff number"), lambda t: t.staff_no, sort="staff_no"),
        Column("name", _("name"), lambda t: t.name, sort="name"),
        Column("gender", _("gender"), lambda t: t.get_gender_display(), sort="gender"),
        Column("birth_date", _("birth date"), lambda t: t.birth_date.isoformat(), sort="birth_date"),
        Column("school", _("school"), lambda t: t.school.name if t.school else "", sort="school__code"),
        Column("subject", _("subject"), lambda t: t.subject.name if t.subject else "", sort="subject__code"),
        Column("title", _("professional title"), lambda t: t.get_title_display(), sort="title"),
        Column("qualification", _("qualification"), lambda t: t.get_qualification_display(), sort="qualification"),
        Column("status", _("employment status"), lambda t: t.get_status_display(), sort="status"),
        Column("id_number", _("ID number"), lambda t: t.id_number or "", personal="id"),
        Column("phone", _("phone"), lambda t: t.phone, personal="phone"),
    ),
    search=("name", "staff_no__iexact"),
    filters=(
        Filter("school", _("school"), "school_id", _school_choices),
        Filter("subject", _("subject"), "subject_id", _subject_choices),
        Filter("title", _("professional title"), "title", _enum_choices(Teacher.Title.choices)),
        Filter("status", _("employment status"), "status", _enum_choices(Teacher.Status.choices)),
        Filter("gender", _("gender"), "gender", _enum_choices(Teacher.gender.field.choices)),
    ),
    default_sort="staff_no",
    select_related=("school", "subject"),
)

STUDENTS = ListSpec(
    columns=(
        Column("student_no", _("national student number"), lambda s: s.student_no, sort="student_no"),
        Column("name", _("name"), lambda s: s.name, sort="name"),
        Column("gender", _("gender"), lambda s: s.get_gender_display(), sort="gender"),
        Column("birth_date", _("birth date"), lambda s: s.birth_date.isoformat(), sort="birth_date"),
        Column("school", _("school"), lambda s: s.school.name, sort="school__code"),
        Column("class", _("class"), lambda s: str(s.school_class) if s.school_class else "", sort="school_class__grade__level"),
        Column("enrolment_year", _("enrolment year"), lambda s: s.enrolment_year, sort="enrolment_year"),
        Column("status", _("status"), lambda s: s.get_status_display(), sort="status"),
        Column("id_number", _("ID number"), lambda s: s.id_number or "", personal="id"),
    ),
    search=("name", "student_no__iexact", "id_number__iexact"),
    filters=(
        Filter("school", _("school"), "school_id", _school_choices),
        Filter("class", _("class"), "school_class_id"),
        Filter("grade", _("grade"), "school_class__grade__level"),
        Filter("status", _("status"), "status", _enum_choices(Student.Status.choices)),
        Filter("gender", _("gender"), "gender", _enum_choices(Student.gender.field.choices)),
    ),
    default_sort="student_no",
    select_related=("school", "school_class__grade"),
)


def school_list(*, viewer: Scope, params: dict[str, str] | None = None) -> QuerySet[School]:
    qs = School.objects.visible_to(viewer).annotate(
        n_students=Count("students", filter=Q(students__status=Student.Status.ENROLLED), distinct=True),
        n_teachers=Count("teachers", filter=~Q(teachers__status__in=["retired", "left"]), distinct=True),
    )
    return SCHOOLS.apply(qs, params or {})


def school_detail(*, viewer: Scope, pk: int) -> School:
    school = School.objects.visible_to(viewer).filter(pk=pk).select_related("district").first()
    if school is None:
        raise Http404
    return school


def grades_of(*, viewer: Scope, school: School) -> QuerySet[Grade]:
    classes = class_list(viewer=viewer).filter(school=school)
    return (
        Grade.objects.filter(school=school, classes__in=classes)
        .distinct()
        .prefetch_related(Prefetch("classes", queryset=classes, to_attr="visible_classes"))
        .order_by("level")
    )


def class_list(*, viewer: Scope, params: dict[str, str] | None = None) -> QuerySet[SchoolClass]:
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


def teacher_list(*, viewer: Scope, params: dict[str, str] | None = None) -> QuerySet[Teacher]:
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


def student_list(*, viewer: Scope, params: dict[str, str] | None = None) -> QuerySet[Student]:
    return STUDENTS.apply(Student.objects.visible_to(viewer), params or {})


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
    """The counts a viewer's home page opens with."""
    summary: dict[str, Any] = {
        "schools": School.objects.visible_to(viewer).count(),
        "classes": SchoolClass.objects.visible_to(viewer).count(),
        "students": Student.objects.visible_to(viewer).filter(status=Student.Status.ENROLLED).count(),
        "teachers": Teacher.objects.visible_to(viewer).exclude(status__in=["retired", "left"]).count(),
    }
    if viewer.student_ids:
        summary["own_students"] = list(
            Student.objects.filter(id__in=viewer.student_ids).select_related("school", "school_class__grade")
        )
    if viewer.roster_class_ids:
        summary["own_classes"] = list(
            SchoolClass.objects.filter(id__in=viewer.roster_class_ids).select_related("school", "grade")
        )
    if viewer.district:
        summary["by_kind"] = [
            {**row, "kind_label": School.Kind(row["kind"]).label}
            for row in School.objects.values("kind").annotate(n=Count("id")).order_by("kind")
        ]
    return summary
