"""Importing students: every kind of problem at its row and column, all or nothing,
idempotence, class history and guardians."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from jiaoyun.accounts.models import AuditEvent
from jiaoyun.core.identity import check_character
from jiaoyun.core.models import ClassEnrolment, Guardian, Student, StudentGuardian
from jiaoyun.exchange.formats import STUDENT_COLUMNS
from jiaoyun.exchange.messages import describe
from jiaoyun.exchange.models import ImportJob
from jiaoyun.exchange.tests.helpers import (
    REGION,
    STUDENT_HEADERS,
    grade_class,
    new_id,
    problems,
    register_snapshot,
    rows_of,
    run_import,
    student,
    xlsx,
)
from jiaoyun.exchange.workbooks import rows_workbook, student_rows

pytestmark = pytest.mark.django_db


def test_new_students_are_created_with_class_history_and_guardians(demo):
    a = demo.school_a
    records = [student(a, seq=1), student(a, seq=2, 姓名="李小红", 性别="女", 班级="(2)班", 监护人姓名="李大红",
                                          与学生关系="母亲")]  # fmt: skip
    job = run_import(demo.user("district_admin"), xlsx(STUDENT_HEADERS, rows_of(records)))
    assert (job.status, job.issues, job.rows_total) == (ImportJob.Status.DONE, [], 2)
    assert job.counts == {"created": 2, "updated": 0, "unchanged": 0, "class_changes": 0,
                          "guardians_created": 2, "guardians_updated": 0}  # fmt: skip
    first = Student.objects.get(student_no=f"G{new_id(1)}")
    assert (first.name, first.gender, first.birth_date, first.id_number, first.school, first.school_class) == (
        "张小明", "male", dt.date(2012, 9, 1), new_id(1), a, grade_class(a, 7, 1),
    )  # fmt: skip
    assert first.enrolment_year == grade_class(a, 7, 1).grade.entry_year
    assert (first.household, first.status) == ("local", "enrolled")
    second = Student.objects.get(student_no=f"G{new_id(2, male=False)}")
    assert second.school_class == grade_class(a, 7, 2)
    assert list(first.enrolments.values_list("school_class", "start", "end", "reason")) == [
        (grade_class(a, 7, 1).pk, timezone.localdate(), None, "导入")
    ]
    assert list(second.guardian_links.values_list("guardian__name", "guardian__phone", "relation")) == [
        ("李大红", "13900000002", "mother")
    ]
    event = AuditEvent.objects.get(action=AuditEvent.Action.IMPORT)
    assert (event.user, event.target, event.detail["counts"]["created"]) == (
        demo.user("district_admin"), f"import:{job.pk} students", 2,
    )  # fmt: skip


def _bad_id(sequence: int) -> str:
    good = new_id(sequence)
    wrong = "0" if good[-1] != "0" else "1"
    return good[:17] + wrong


def _impossible_birth_id() -> str:
    first17 = f"{REGION}20121345001"
    return first17 + check_character(first17)


def test_every_problem_is_reported_at_its_row_and_column(demo):
    a = demo.school_a
    taken = Student.objects.filter(school=a).exclude(id_number=None).order_by("pk").first()
    assert taken is not None
    records = [
        student(a, seq=1),  # row 2: good
        student(a, seq=2, 姓名=""),  # row 3
        student(a, seq=3, 出生日期="九月一日"),  # row 4
        student(a, seq=4, 出生日期="2012-02-30"),  # row 5
        student(a, seq=5, 性别="未知"),  # row 6
        student(a, seq=6, 身份证号=_bad_id(6)),  # row 7
        student(a, seq=7, 身份证号="11010120120901"),  # row 8
        student(a, seq=8, 身份证号=_impossible_birth_id()),  # row 9
        student(a, seq=9, 出生日期="2012-09-02"),  # row 10
        student(a, seq=10, 性别="女", 身份证号=new_id(10, male=True)),  # row 11: the ID number is a man's
        student(a, seq=11, 学校代码="9999999999", 学校名称=""),  # row 12
        student(a, seq=12, 班级="9班"),  # row 13
        student(a, seq=13, 全国学籍号=f"G{new_id(1)}"),  # row 14: row 2's number
        student(a, seq=14, 身份证号=taken.id_number, 出生日期="", 性别=""),  # row 15
        student(a, seq=15, 监护人电话="12345"),  # row 16
        student(a, seq=16, 年级="九年级半"),  # row 17
        student(a, seq=17, 班级="甲班"),  # row 18
        student(a, seq=18, 户籍="火星"),  # row 19
        student(a, seq=19, 学校名称="越秀区执信中学"),  # row 20: code of A, name of B
        student(a, seq=20, 监护人电话="13900000001", 监护人姓名="王五"),  # row 21: row 2's guardian phone
        student(a, seq=21, 监护人电话=""),  # row 22
        student(a, seq=22, 身份证号=new_id(1)),  # row 23: row 2's ID number
        student(a, seq=23, 入学年份="去年"),  # row 24
    ]
    before = register_snapshot()
    job = run_import(demo.user("district_admin"), xlsx(STUDENT_HEADERS, rows_of(records)))
    assert job.status == ImportJob.Status.REJECTED
    assert problems(job) == [
        (3, "姓名", "required"),
        (4, "出生日期", "bad_date"),
        (5, "出生日期", "impossible_date"),
        (6, "性别", "bad_choice"),
        (7, "身份证号", "id_check_digit"),
        (8, "身份证号", "id_format"),
        (9, "身份证号", "id_birth_date"),
        (10, "出生日期", "id_birth_mismatch"),
        (11, "性别", "id_gender_mismatch"),
        (12, "学校代码", "unknown_school"),
        (13, "班级", "unknown_class"),
        (14, "全国学籍号", "duplicate_in_file"),
        (15, "身份证号", "id_taken_student"),
        (16, "监护人电话", "bad_phone"),
        (17, "年级", "unknown_grade"),
        (18, "班级", "bad_class"),
        (19, "户籍", "bad_choice"),
        (20, "学校名称", "school_mismatch"),
        (21, "监护人姓名", "guardian_name_conflict"),
        (22, "监护人电话", "guardian_incomplete"),
        (23, "身份证号", "duplicate_in_file"),
        (24, "入学年份", "bad_year"),
    ]
    assert job.issue_count == 22 and job.counts == {}
    assert register_snapshot() == before
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.IMPORT).exists()
    by_row = {i["row"]: i for i in job.issues}
    assert by_row[10]["params"] == {"expected": "2012-09-01"}
    assert by_row[14]["params"] == {"other_row": 2}
    assert by_row[15]["params"] == {"other": taken.student_no}
    assert by_row[21]["params"] == {"other": "张大明", "other_row": 2}
    assert by_row[7]["value"] == _bad_id(6)


def test_problems_read_in_chinese_by_default_and_in_english_on_request():
    with translation.override("zh-hans"):
        assert (
            describe("id_check_digit") == "身份证号最后一位与校验码不符（GB 11643），请检查是否有数字录错。"
        )
        assert (
            describe("id_gender_mismatch", {"expected_gender": "male"})
            == "性别与身份证号不符，身份证号显示为 男。"
        )
        assert describe("duplicate_in_file", {"other_row": 2}) == "本文件第 2 行也有相同的值。"
    with translation.override("en"):
        assert describe("id_check_digit") == (
            "The last character of the ID number does not match its check digit (GB 11643): "
            "look for a mistyped digit."
        )
        assert describe("id_gender_mismatch", {"expected_gender": "female"}) == (
            "The gender does not match the ID number, which says Female."
        )


def test_id_numbers_that_excel_stored_as_numbers(demo):
    a = demo.school_a
    sequence = next(n for n in range(1, 50) if new_id(n).isdigit())
    record = student(a, seq=sequence)
    record["身份证号"] = int(new_id(sequence))  # what Excel does to a number typed into a General cell
    job = run_import(demo.user("district_admin"), xlsx(STUDENT_HEADERS, rows_of([record])))
    assert problems(job) == [(2, "身份证号", "id_lost_digits")]


def test_one_bad_row_changes_nothing(demo):
    a = demo.school_a
    existing = Student.objects.filter(school=a).order_by("pk").first()
    assert existing is not None
    rows = list(student_rows(Student.objects.filter(pk=existing.pk)))
    rows[0][5] = "改过的名字"  # a change that would be applied...
    template = [c.header for c in STUDENT_COLUMNS]
    good = rows_of([student(a, seq=1)], template)
    bad = rows_of([student(a, seq=2, 出生日期="2012-02-30")], template)
    before = register_snapshot()
    job = run_import(demo.user("district_admin"), rows_workbook("students", rows + good + bad))
    assert problems(job) == [(4, "出生日期", "impossible_date")]
    assert register_snapshot() == before


def test_reimporting_the_register_changes_nothing(demo):
    students = Student.objects.filter(school=demo.school_a)
    data = rows_workbook("students", student_rows(students))
    before = register_snapshot()
    job = run_import(demo.user("school_admin"), data, school=demo.school_a)
    n = students.count()
    assert (job.status, job.rows_total) == (ImportJob.Status.DONE, n)
    assert job.counts == {"created": 0, "updated": 0, "unchanged": n, "class_changes": 0,
                          "guardians_created": 0, "guardians_updated": 0}  # fmt: skip
    assert register_snapshot() == before


def test_importing_the_same_new_file_twice(demo):
    a = demo.school_a
    data = xlsx(STUDENT_HEADERS, rows_of([student(a, seq=n) for n in range(1, 6)]))
    first = run_import(demo.user("school_admin"), data, school=a)
    assert first.counts["created"] == 5
    after_first = register_snapshot()
    second = run_import(demo.user("school_admin"), data, school=a)
    assert second.counts == {"created": 0, "updated": 0, "unchanged": 5, "class_changes": 0,
                             "guardians_created": 0, "guardians_updated": 0}  # fmt: skip
    assert register_snapshot() == after_first


def test_a_class_move_is_recorded_in_the_class_history(demo):
    a = demo.school_a
    moving = Student.objects.filter(school_class=grade_class(a, 7, 1)).order_by("pk").first()
    assert moving is not None
    rows = list(student_rows(Student.objects.filter(pk=moving.pk)))
    rows[0][3] = "2班"
    rows[0][10] = "外市"
    job = run_import(demo.user("school_admin"), rows_workbook("students", rows), school=a)
    assert job.counts == {"created": 0, "updated": 1, "unchanged": 0, "class_changes": 1,
                          "guardians_created": 0, "guardians_updated": 0}  # fmt: skip
    moving.refresh_from_db()
    assert (moving.school_class, moving.household) == (grade_class(a, 7, 2), "outside")
    today = timezone.localdate()
    history = list(
        ClassEnrolment.objects.filter(student=moving)
        .order_by("pk")
        .values_list("school_class", "end", "reason")
    )
    assert history[-2:] == [(grade_class(a, 7, 1).pk, today, "入学"), (grade_class(a, 7, 2).pk, None, "调班")]


def test_guardians_are_matched_by_phone_and_shared_by_siblings(demo):
    a = demo.school_a
    shared = {"监护人姓名": "陈大文", "监护人电话": "13912345678", "与学生关系": "父亲"}
    records = [student(a, seq=1, **shared), student(a, seq=2, **shared)]
    job = run_import(demo.user("school_admin"), xlsx(STUDENT_HEADERS, rows_of(records)), school=a)
    assert job.counts["guardians_created"] == 1
    guardian = Guardian.objects.get(phone="13912345678")
    assert guardian.student_links.count() == 2
    # The guardian's name corrected and the relation changed on a second upload.
    records = [student(a, seq=1, **{**shared, "监护人姓名": "陈大雯", "与学生关系": "其他"}),
               student(a, seq=2, **{**shared, "监护人姓名": "陈大雯"})]  # fmt: skip
    job = run_import(demo.user("school_admin"), xlsx(STUDENT_HEADERS, rows_of(records)), school=a)
    assert (job.counts["updated"], job.counts["guardians_updated"]) == (2, 1)
    guardian.refresh_from_db()
    assert guardian.name == "陈大雯"
    assert sorted(StudentGuardian.objects.filter(guardian=guardian).values_list("relation", flat=True)) == [
        "father", "other",
    ]  # fmt: skip


def test_a_phone_number_of_another_familys_guardian_is_refused(demo):
    a = demo.school_a
    other = Guardian.objects.filter(student_links__student__school=a).order_by("pk").first()
    assert other is not None
    record = student(a, seq=1, 监护人电话=other.phone, 监护人姓名="不是" + other.name)
    job = run_import(demo.user("school_admin"), xlsx(STUDENT_HEADERS, rows_of([record])), school=a)
    assert problems(job) == [(2, "监护人电话", "guardian_phone_taken")]
    assert job.issues[0]["params"] == {"other": other.name[0] + "*" * (len(other.name) - 1)}


def test_header_synonyms_title_rows_and_missing_gender_and_birth_taken_from_the_id(demo):
    a = demo.school_a
    headers = [
        "*学籍号",
        "学生姓名",
        "所在年级",
        "班级名称",
        "身份证件号码",
        "家长姓名",
        "家长手机号",
        "备注",
    ]
    row = [f"G{new_id(1)}", "赵一", "初一", "七年级(2)班", new_id(1), "赵二", "13911112222", "转入"]
    job = run_import(
        demo.user("school_admin"), xlsx(headers, [row], title_rows=["越秀区文德中学学生名单"]), school=a
    )
    assert (job.status, job.ignored_columns) == (ImportJob.Status.DONE, ["备注"])
    created = Student.objects.get(student_no=f"G{new_id(1)}")
    assert (created.gender, created.birth_date, created.school_class) == ("male", dt.date(2012, 9, 1),
                                                                         grade_class(a, 7, 2))  # fmt: skip
    assert created.guardian_links.get().relation == "other"


def test_file_level_problems(demo):
    admin = demo.user("district_admin")
    missing = run_import(
        admin, xlsx(["学校代码", "姓名", "年级", "班级"], [["1440100004", "某", "七年级", "1"]])
    )
    assert problems(missing) == [(1, "全国学籍号", "missing_column")]
    twice = run_import(admin, xlsx(STUDENT_HEADERS + ["学籍号"], [["x"] * 15]))
    assert problems(twice) == [(1, "学籍号", "duplicate_column")]
    empty = run_import(admin, xlsx(STUDENT_HEADERS, []))
    assert problems(empty) == [(None, "", "empty")]
    no_header = run_import(admin, xlsx(["a", "b"], [["1", "2"]]))
    assert problems(no_header) == [(1, "", "no_header")]
    broken = run_import(admin, b"PK\x03\x04 not really a zip file", name="坏.xlsx")
    assert (broken.status, problems(broken)) == (ImportJob.Status.REJECTED, [(None, "", "unreadable")])
    no_school = run_import(admin, xlsx(["全国学籍号", "姓名", "年级", "班级"], [["G1", "某", "七年级", "1"]]))
    assert problems(no_school) == [(1, "学校名称", "missing_column")]


def test_check_only_writes_nothing(demo):
    a = demo.school_a
    before = register_snapshot()
    job = run_import(demo.user("school_admin"), xlsx(STUDENT_HEADERS, rows_of([student(a, seq=1)])), school=a,
                     validate_only=True)  # fmt: skip
    assert (job.status, job.counts["created"]) == (ImportJob.Status.VALIDATED, 1)
    assert register_snapshot() == before
