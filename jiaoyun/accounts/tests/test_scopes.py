"""The scope each role gets, checked against the register directly."""

from __future__ import annotations

import pytest

from jiaoyun.accounts.scopes import EMPTY, scope_for_user
from jiaoyun.core.models import School, SchoolClass, Student, Teacher

pytestmark = pytest.mark.django_db


def test_district_admin_sees_everything(demo):
    scope = scope_for_user(demo.user("district_admin"))
    assert scope.district and scope.unmask_all
    assert Student.objects.visible_to(scope).count() == Student.objects.count()


def test_school_admin_sees_exactly_their_school(demo):
    scope = scope_for_user(demo.user("school_admin"))
    assert set(School.objects.visible_to(scope)) == {demo.school_a}
    students = Student.objects.visible_to(scope)
    assert students.count() == Student.objects.filter(school=demo.school_a).count() > 0
    assert set(students.values_list("school_id", flat=True)) == {demo.school_a.pk}
    assert set(Teacher.objects.visible_to(scope).values_list("school_id", flat=True)) == {demo.school_a.pk}
    assert scope.may_unmask(demo.school_a.pk) and not scope.may_unmask(demo.school_b.pk)


def test_teacher_sees_students_of_the_classes_they_teach(demo):
    teacher = demo.user("teacher").teacher
    scope = scope_for_user(demo.user("teacher"))
    taught = set(SchoolClass.objects.filter(assignments__teacher=teacher).values_list("id", flat=True)) | set(
        SchoolClass.objects.filter(head_teacher=teacher).values_list("id", flat=True)
    )
    expected = set(Student.objects.filter(school_class_id__in=taught).values_list("id", flat=True))
    assert set(Student.objects.visible_to(scope).values_list("id", flat=True)) == expected
    assert not Student.objects.visible_to(scope).filter(school=demo.school_b).exists()
    assert list(Teacher.objects.visible_to(scope)) == [teacher]
    assert not scope.unmask_all and not scope.unmask_school_ids


def test_student_sees_only_themself(demo):
    student = demo.user("student").student
    scope = scope_for_user(demo.user("student"))
    assert list(Student.objects.visible_to(scope)) == [student]
    assert not Teacher.objects.visible_to(scope).exists()


def test_parent_sees_only_their_children(demo):
    guardian = demo.user("parent").guardian
    scope = scope_for_user(demo.user("parent"))
    children = set(guardian.student_links.values_list("student_id", flat=True))
    assert set(Student.objects.visible_to(scope).values_list("id", flat=True)) == children


def test_anonymous_and_inactive_users_see_nothing(demo):
    from django.contrib.auth.models import AnonymousUser

    assert scope_for_user(AnonymousUser()) == EMPTY
    user = demo.user("teacher")
    user.is_active = False
    assert scope_for_user(user) == EMPTY
    assert not Student.objects.visible_to(EMPTY).exists()
