"""Importing teachers (school history on a move) and classes (grades made when missing)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from jiaoyun.core.identity import make_id_number
from jiaoyun.core.models import Campus, Grade, SchoolClass, Teacher, TeacherPosting
from jiaoyun.exchange.models import ImportJob
from jiaoyun.exchange.tests.helpers import problems, register_snapshot, run_import, xlsx
from jiaoyun.exchange.workbooks import rows_workbook, teacher_rows

pytestmark = pytest.mark.django_db

TEACHER_HEADERS = ["工号", "姓名", "性别", "出生日期", "身份证号", "手机号", "任教学科", "职称", "学历", "在编情况",
                   "所在学校", "到校时间", "参加工作年份"]  # fmt: skip
CLASS_HEADERS = ["学校代码", "年级", "班级", "校区", "班主任工号"]


def teacher(school, n, **changes):
    birth = dt.date(1985, 3, n)
    row = {"工号": f"X{n:05d}", "姓名": "周老师", "性别": "女", "出生日期": birth.isoformat(),
           "身份证号": make_id_number("110101", birth, n, False), "手机号": f"1370000{n:04d}", "任教学科": "数学",
           "职称": "中学一级", "学历": "研究生", "在编情况": "在编", "所在学校": school.name, "到校时间": "2015/9/1",
           "参加工作年份": "2008年"}  # fmt: skip
    row.update(changes)
    return [row.get(h, "") for h in TEACHER_HEADERS]


def test_teachers_are_created_with_a_posting_and_reimport_changes_nothing(demo):
    a = demo.school_a
    data = xlsx(TEACHER_HEADERS, [teacher(a, 1), teacher(a, 2, 任教学科="思想品德", 职称="小学高级")])
    job = run_import(demo.user("school_admin"), data, kind="teachers", school=a)
    assert (job.status, job.counts) == (ImportJob.Status.DONE, {"created": 2, "updated": 0, "unchanged": 0,
                                                                "school_changes": 0})  # fmt: skip
    made = Teacher.objects.get(staff_no="X00002")
    assert (made.subject.code, made.title, made.qualification, made.status, made.school, made.joined_school_on,
            made.started_teaching_year) == ("politics", "first", "master", "established", a, dt.date(2015, 9, 1),
                                            2008)  # fmt: skip
    assert list(made.postings.values_list("school", "start", "end", "reason")) == [
        (a.pk, dt.date(2015, 9, 1), None, "在岗")
    ]
    before = register_snapshot()
    again = run_import(demo.user("school_admin"), data, kind="teachers", school=a)
    assert again.counts == {"created": 0, "updated": 0, "unchanged": 2, "school_changes": 0}
    assert register_snapshot() == before


def test_a_teacher_moved_by_the_district_gets_a_new_posting(demo):
    a, b = demo.school_a, demo.school_b
    moving = Teacher.objects.filter(school=a).order_by("staff_no").first()
    rows = list(teacher_rows(Teacher.objects.filter(pk=moving.pk)))
    rows[0][10], rows[0][11] = b.code, b.name
    job = run_import(demo.user("district_admin"), rows_workbook("teachers", rows), kind="teachers")
    assert job.counts == {"created": 0, "updated": 1, "unchanged": 0, "school_changes": 1}
    moving.refresh_from_db()
    assert moving.school == b
    open_postings = list(
        TeacherPosting.objects.filter(teacher=moving, end=None).values_list("school", "reason")
    )
    assert open_postings == [(b.pk, "调动")]
    assert TeacherPosting.objects.filter(teacher=moving, school=a, end=timezone.localdate()).exists()


def test_teacher_problems(demo):
    a, b = demo.school_a, demo.school_b
    other = Teacher.objects.filter(school=a).exclude(id_number=None).order_by("staff_no").first()
    at_b = Teacher.objects.filter(school=b).order_by("staff_no").first()
    rows = [
        teacher(a, 1, 职称="特级"),  # row 2
        teacher(a, 2, 任教学科="天文"),  # row 3
        teacher(a, 3, 身份证号=other.id_number, 出生日期="", 性别=""),  # row 4
        teacher(a, 4, 学历=""),  # row 5
        teacher(a, 5, 工号="X 5"),  # row 6
        teacher(a, 6, 所在学校=b.name),  # row 7
        teacher(a, 7, 工号=at_b.staff_no),  # row 8: a teacher of school B
        teacher(a, 8, 手机号="1234"),  # row 9
        teacher(a, 9, 工号="X00001"),  # row 10: row 2's staff number
    ]
    before = register_snapshot()
    job = run_import(demo.user("school_admin"), xlsx(TEACHER_HEADERS, rows), kind="teachers", school=a)
    assert problems(job) == [
        (2, "职称", "bad_choice"),
        (3, "任教学科", "unknown_subject"),
        (4, "身份证号", "id_taken_teacher"),
        (5, "学历", "required"),
        (6, "工号", "bad_staff_no"),
        (7, "所在学校", "school_out_of_scope"),
        (8, "工号", "teacher_other_school"),
        (9, "手机号", "bad_phone"),
        (10, "工号", "duplicate_in_file"),
    ]
    assert job.issues[6]["params"] == {"school": b.name}
    assert register_snapshot() == before


def test_classes_are_created_with_their_grade_and_updated_by_key(demo):
    a = demo.school_a
    head = Teacher.objects.filter(school=a).order_by("staff_no").first()
    rows = [[a.code, "七年级", "3班", "本部", head.staff_no], [a.code, "初一", "1", "", ""]]
    job = run_import(demo.user("school_admin"), xlsx(CLASS_HEADERS, rows), kind="classes", school=a)
    assert (job.status, job.counts) == (ImportJob.Status.DONE, {"created": 1, "updated": 0, "unchanged": 1,
                                                                "grades_created": 0})  # fmt: skip
    made = SchoolClass.objects.get(school=a, grade__level=7, number=3)
    assert (made.campus, made.head_teacher) == (Campus.objects.get(school=a, name="本部"), head)
    again = run_import(demo.user("school_admin"), xlsx(CLASS_HEADERS, rows), kind="classes", school=a)
    assert again.counts == {"created": 0, "updated": 0, "unchanged": 2, "grades_created": 0}


def test_a_missing_grade_is_created_and_class_problems_are_reported(demo):
    a = demo.school_a
    Grade.objects.filter(school=a, level=9).delete()
    job = run_import(demo.user("district_admin"), xlsx(CLASS_HEADERS, [[a.code, "九年级", "1", "", ""]]),
                     kind="classes")  # fmt: skip
    assert job.counts["grades_created"] == 1
    assert Grade.objects.get(school=a, level=9).classes.count() == 1
    rows = [[a.code, "高一", "1", "", ""], [a.code, "七年级", "甲", "", ""], [a.code, "七年级", "4", "分部", "T999999"],
            [a.code, "七年级", "4", "", ""]]  # fmt: skip
    bad = run_import(demo.user("district_admin"), xlsx(CLASS_HEADERS, rows), kind="classes")
    assert problems(bad) == [
        (2, "年级", "level_not_in_school"),
        (3, "班级", "bad_class"),
        (4, "校区", "unknown_campus"),
        (4, "班主任工号", "unknown_teacher"),
        (5, "班级", "duplicate_in_file"),
    ]
