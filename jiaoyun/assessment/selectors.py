"""Reads of the assessment app, each given the viewer's scope."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, QuerySet
from django.http import Http404

from jiaoyun.accounts.scopes import Scope
from jiaoyun.assessment.models import Exam, Item, Paper
from jiaoyun.assessment.results import Results
from jiaoyun.core.models import School, SchoolClass, Student, Teacher


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


def may_download_score_sheet(viewer: Scope, exam: Exam) -> bool:
    """The score sheet to fill in lists its students by national student number in full
    (an uploaded sheet is matched by it), and that number is usually "G" and the ID
    number: only for those who may read the listed students' numbers unmasked (a
    district administrator; a school administrator, whose sheet lists their school's
    students). District staff upload sheets the schools filled in."""
    if not may_upload_scores(viewer, exam):
        return False
    if viewer.district:
        return viewer.unmask_all
    return viewer.admin_school_ids <= viewer.unmask_school_ids


def may_create(viewer: Scope) -> bool:
    return viewer.district or bool(viewer.admin_school_ids)


def report_subject(*, viewer: Scope, exam: Exam, kind: str, unit_id: int) -> Any:
    """The unit a report is about, if the viewer may read that report; otherwise 404 (a
    report of a unit outside the scope does not exist for the viewer).

    district: district roles; school: district roles and the school's administrators;
    class: those, and the class's teachers; teacher: those, and the teacher themself;
    student: those, the student's teachers, the student and their parents."""
    if kind == "district":
        if not viewer.district:
            raise Http404
        return None
    if kind == "school":
        school = School.objects.filter(pk=unit_id).first()
        if school is None or not (viewer.district or school.pk in viewer.admin_school_ids):
            raise Http404
        return school
    if kind == "class":
        school_class = SchoolClass.objects.filter(pk=unit_id).select_related("school", "grade").first()
        if school_class is None or not (
            viewer.district
            or school_class.school_id in viewer.admin_school_ids
            or school_class.pk in viewer.roster_class_ids
        ):
            raise Http404
        return school_class
    if kind == "teacher":
        teacher = Teacher.objects.filter(pk=unit_id).first()
        if teacher is None or not (
            viewer.district
            or teacher.school_id in viewer.admin_school_ids
            or teacher.pk in viewer.teacher_ids
        ):
            raise Http404
        return teacher
    if kind == "student":
        student = Student.objects.filter(pk=unit_id).select_related("school", "school_class__grade").first()
        if student is None or not (
            viewer.district
            or student.school_id in viewer.admin_school_ids
            or student.school_class_id in viewer.roster_class_ids
            or student.pk in viewer.student_ids
        ):
            raise Http404
        return student
    raise Http404


def may_analyse(viewer: Scope, exam: Exam) -> bool:
    return may_manage(viewer, exam)


def may_plan_for(viewer: Scope, student: Student) -> bool:
    """一生一案 plans are written by the student's teachers (who must be on the register)."""
    return bool(viewer.teacher_ids) and student.school_class_id in viewer.roster_class_ids


def report_links(*, viewer: Scope, exam: Exam, results: Results) -> list[tuple[str, str]]:
    """The reports of this exam the viewer may open, as (label, url)."""
    from django.urls import reverse
    from django.utils.translation import gettext as _

    links: list[tuple[str, str]] = []

    def url(kind: str, unit: int) -> str:
        return reverse(f"assessment:report_{kind}", args=[exam.pk] if kind == "district" else [exam.pk, unit])

    if viewer.district:
        links.append((str(_("District report")), url("district", 0)))
    totals = results.table("students")
    if totals is None:
        return links
    import pyarrow.compute as pc

    schools = set(pc.unique(totals["school_id"]).to_pylist())
    classes = set(pc.unique(totals["class_id"]).to_pylist())
    visible_schools = schools if viewer.district else schools & set(viewer.admin_school_ids)
    for school in School.objects.filter(pk__in=visible_schools).order_by("code"):
        links.append((str(_("School report: %(name)s") % {"name": school.name}), url("school", school.pk)))
    own_classes = classes & set(viewer.roster_class_ids)
    if not viewer.district:
        own_classes |= {
            c for c in SchoolClass.objects.filter(school_id__in=viewer.admin_school_ids, pk__in=classes)
            .values_list("pk", flat=True)
        }  # fmt: skip
    for c in SchoolClass.objects.filter(pk__in=own_classes).select_related("school", "grade"):
        links.append(
            (str(_("Class report: %(name)s") % {"name": f"{c.school.name} {c.name}"}), url("class", c.pk))
        )
    for teacher in Teacher.objects.filter(pk__in=viewer.teacher_ids):
        links.append(
            (str(_("Teacher report: %(name)s") % {"name": teacher.name}), url("teacher", teacher.pk))
        )
    present = set(pc.unique(totals["student_id"]).to_pylist())
    for student in Student.objects.filter(pk__in=set(viewer.student_ids) & present):
        links.append(
            (str(_("Student report: %(name)s") % {"name": student.name}), url("student", student.pk))
        )
    return links
