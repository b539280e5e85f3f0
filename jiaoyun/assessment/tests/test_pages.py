"""Exam pages: who may set up and upload, and the round trip through the test client."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from jiaoyun.assessment.models import Exam, Paper
from jiaoyun.core.models import Student, Term

pytestmark = pytest.mark.django_db

STRUCTURE = "科目,题号,满分,题型,答案\n数学,1,4,单选,C\n数学,2,10,解答,\n"


@pytest.fixture
def lake(settings, tmp_path):
    settings.LAKE_URL = str(tmp_path)


def create_exam(client, **extra):
    data = {
        "name": "七年级期中联考",
        "term": Term.objects.first().pk,
        "grade_level": 7,
        "held_on": "2026-11-10",
    }
    return client.post("/assessment/exams/new/", {**data, **extra})


def upload(client, url, content: bytes, name="f.csv"):
    f = io.BytesIO(content)
    f.name = name
    return client.post(url, {"file": f})


def test_district_sets_up_a_joint_exam_and_schools_send_their_scores(demo, lake):
    district = demo.client("district_staff")
    response = create_exam(district)
    exam = Exam.objects.get()
    assert response.status_code == 302 and exam.kind == "joint" and exam.school is None
    response = upload(district, f"/assessment/exams/{exam.pk}/structure/", STRUCTURE.encode())
    assert response.status_code == 302
    paper = Paper.objects.get(exam=exam)

    school = demo.client("school_admin")
    # A school administrator may not change a joint exam's structure...
    assert upload(school, f"/assessment/exams/{exam.pk}/structure/", STRUCTURE.encode()).status_code == 403
    # ...but downloads a score sheet listing exactly their grade-7 students.
    sheet = school.get(f"/assessment/exams/{exam.pk}/papers/{paper.pk}/scores.xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(sheet.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("全国学籍号", "姓名", "1", "2", "状态")
    expected = set(
        Student.objects.filter(school=demo.school_a, school_class__grade__level=7).values_list(
            "student_no", flat=True
        )
    )
    assert {r[0] for r in rows[1:]} == expected

    lines = ["全国学籍号,姓名,1,2"] + [f"{r[0]},{r[1]},C,8" for r in rows[1:]]
    response = upload(
        school, f"/assessment/exams/{exam.pk}/papers/{paper.pk}/scores/", "\n".join(lines).encode()
    )
    assert response.status_code == 302
    paper.refresh_from_db()
    assert paper.students_scored == len(expected)


def test_the_score_sheet_with_full_student_numbers_is_for_who_may_read_them(demo, lake):
    """A student number is "G" and the ID number: district staff, who see ID numbers
    masked, neither get the sheet nor its link (they upload what the schools filled in);
    a district administrator does, and the download is in the audit log."""
    from jiaoyun.accounts.models import AuditEvent

    staff = demo.client("district_staff")
    create_exam(staff)
    exam = Exam.objects.get()
    upload(staff, f"/assessment/exams/{exam.pk}/structure/", STRUCTURE.encode())
    paper = Paper.objects.get(exam=exam)
    sheet = f"/assessment/exams/{exam.pk}/papers/{paper.pk}/scores.xlsx"
    assert staff.get(sheet).status_code == 403
    page = staff.get(f"/assessment/exams/{exam.pk}/").content.decode()
    assert sheet not in page and f"/assessment/exams/{exam.pk}/papers/{paper.pk}/scores/" in page
    admin = demo.client("district_admin")
    assert sheet in admin.get(f"/assessment/exams/{exam.pk}/").content.decode()
    rows = list(
        openpyxl.load_workbook(io.BytesIO(admin.get(sheet).content)).active.iter_rows(values_only=True)
    )
    grade7 = Student.objects.filter(school_class__grade__level=7, status="enrolled")
    assert {r[0] for r in rows[1:]} == set(grade7.values_list("student_no", flat=True))
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT, target__endswith="score_sheet")
    assert (event.user, event.detail["students"]) == (demo.user("district_admin"), grade7.count())


def test_a_bad_score_sheet_is_explained_in_chinese(demo, lake):
    district = demo.client("district_staff")
    create_exam(district)
    exam = Exam.objects.get()
    upload(district, f"/assessment/exams/{exam.pk}/structure/", STRUCTURE.encode())
    paper = Paper.objects.get(exam=exam)
    student = Student.objects.filter(school_class__grade__level=7).first()
    bad = f"全国学籍号,姓名,1,2\n{student.student_no},{student.name},C,11\n".encode()
    response = upload(district, f"/assessment/exams/{exam.pk}/papers/{paper.pk}/scores/", bad)
    assert response.status_code == 400
    page = response.content.decode()
    assert "分数必须在 0 到 10 之间。" in page
    paper.refresh_from_db()
    assert paper.students_scored == 0


def test_teachers_students_and_other_schools_may_not_set_up_or_upload(demo, lake):
    for name in ("teacher", "student", "parent"):
        assert create_exam(demo.client(name)).status_code == 403
    exam = Exam.objects.create(
        name="A校月考",
        kind="school",
        school=demo.school_a,
        term=Term.objects.first(),
        grade_level=7,
        held_on=dt.date(2026, 11, 1),
    )
    other = demo.client("school_admin_b")
    assert other.get(f"/assessment/exams/{exam.pk}/").status_code == 404
    assert upload(other, f"/assessment/exams/{exam.pk}/structure/", STRUCTURE.encode()).status_code == 404
    # A school administrator cannot create an exam for another school.
    response = create_exam(other, school=demo.school_a.pk)
    assert response.status_code == 200 and Exam.objects.count() == 1


def test_cut_lines_and_borderline_rule_are_the_exams_own(demo, lake):
    from jiaoyun.assessment import services

    exam = Exam.objects.create(
        name="期末", term=Term.objects.first(), grade_level=7, held_on=dt.date(2026, 12, 1)
    )
    district = demo.client("district_staff")
    url = f"/assessment/exams/{exam.pk}/settings/"
    good = {
        "excellent_cut": "0.9", "good_cut": "0.8", "pass_cut": "0.6", "low_cut": "0.3", "band_width": "5",
        "borderline_line": "0.6", "borderline_window": "0.05", "borderline_rank_from": "", "borderline_rank_to": "",
    }  # fmt: skip
    # Cut lines out of order, half a rank window: explained, nothing saved.
    response = district.post(url, {**good, "good_cut": "0.95", "borderline_rank_from": "10"})
    assert response.status_code == 400
    exam.refresh_from_db()
    assert float(exam.excellent_cut) == 0.85
    assert district.post(url, good).status_code == 302
    exam.refresh_from_db()
    options = services.exam_options(exam, full_marks=200, n_students=10)
    assert options.cuts == {"excellent": 0.9, "good": 0.8, "pass": 0.6, "low": 0.3}
    assert (options.band_width, options.borderline_cut, options.borderline_window) == (5.0, 0.6, 10.0)
    assert options.borderline_ranks is None
    district.post(url, {**good, "borderline_rank_from": "100", "borderline_rank_to": "150"})
    exam.refresh_from_db()
    options = services.exam_options(exam, full_marks=200, n_students=10)
    assert options.borderline_ranks == (100, 150) and options.borderline_cut is None
    # Only those who run the analysis may change it.
    assert demo.client("school_admin").post(url, good).status_code == 403
