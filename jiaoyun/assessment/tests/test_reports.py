"""Exam analysis and reports end to end on the tiny demo district: two rounds of demo exams
built and analysed once for the module, then every report and download, for every role."""

from __future__ import annotations

import io

import numpy as np
import openpyxl
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from django.test import override_settings

from jiaoyun.accounts.models import AuditEvent
from jiaoyun.assessment import storage
from jiaoyun.assessment.demo import build_demo_exams
from jiaoyun.assessment.models import Exam, FollowUpPlan, Paper
from jiaoyun.assessment.reports import track_plan
from jiaoyun.assessment.results import Results
from jiaoyun.core.identity import mask_student_no
from jiaoyun.core.models import SchoolClass, Student, Teacher

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def exams(django_db_setup, django_db_blocker, tmp_path_factory):
    """The two demo exams of grade 7 (the demo users' grade), committed for the module and
    removed after it, with their lake in a temporary folder."""
    lake = tmp_path_factory.mktemp("lake")
    with override_settings(LAKE_URL=str(lake)), django_db_blocker.unblock():
        built = build_demo_exams(seed=3, grade_level=7)
        yield built.exams
        Exam.objects.filter(pk__in=[e.pk for e in built.exams]).delete()


@pytest.fixture
def current(exams):
    return Exam.objects.get(pk=exams[1].pk)


def raw_scores(exam: Exam):
    """Every item score of the exam straight from the lake, as a students x items sum."""
    parts = [pq.read_table(storage.scores_path(exam.pk, p.pk)) for p in Paper.objects.filter(exam=exam)]
    return parts


def test_the_analysis_is_materialised_next_to_the_scores(exams, current):
    prior = Exam.objects.get(pk=exams[0].pk)
    assert [prior.analysis_status, current.analysis_status] == ["done", "done"]
    assert current.prior_id == prior.pk and current.analysis_version == 1 and current.analysed_at is not None
    folder = storage.analysis_dir(current.pk, 1)
    assert (folder / "summary.json").exists() and (folder / "units.parquet").exists()
    results = Results.of(current)
    present = set()
    for table in raw_scores(current):
        present |= set(pc.unique(table["student_id"]).to_pylist())
    assert results.summary["students"] == len(present)
    assert results.summary["prior_exam_id"] == prior.pk
    # Value-added needs the prior exam: it is there for schools and, per subject, for classes.
    assert {r["unit_id"] for r in results.summary["value_added"]["schools"]} == {
        str(s) for s in Student.objects.filter(pk__in=present).values_list("school_id", flat=True)
    }
    assert results.table("subject_value_added").num_rows > 0


def test_a_class_mean_matches_the_parquet(demo, current):
    """The class report's mean in 数学 is the mean over the class's students of their summed
    item scores, computed here from the raw Parquet."""
    math = Paper.objects.get(exam=current, subject__code="math")
    table = pq.read_table(storage.scores_path(current.pk, math.pk))
    school_class = demo.user("teacher").teacher.head_of_classes.first()
    mine = table.filter(pc.equal(table["class_id"], school_class.pk))
    totals: dict[int, float] = {}
    for sid, score in zip(mine["student_id"].to_pylist(), mine["score"].to_pylist(), strict=True):
        totals[sid] = totals.get(sid, 0.0) + score
    expected = sum(totals.values()) / len(totals)
    results = Results.of(current)
    row = results.rows("units", level="class", unit_id=str(school_class.pk), subject="数学")[0]
    assert row["count"] == len(totals)
    assert row["mean"] == pytest.approx(expected, abs=1e-9)
    page = demo.client("teacher").get(f"/assessment/exams/{current.pk}/reports/class/{school_class.pk}/")
    assert page.status_code == 200 and f"{expected:.2f}" in page.content.decode()


def test_a_students_total_rank_and_item_facility_match_the_parquet(demo, current):
    tables = raw_scores(current)
    totals: dict[int, float] = {}
    for t in tables:
        for sid, score in zip(t["student_id"].to_pylist(), t["score"].to_pylist(), strict=True):
            totals[sid] = totals.get(sid, 0.0) + score
    student = demo.user("student").student
    mine = totals[student.pk]
    rank = 1 + sum(1 for v in totals.values() if v > mine)  # competition ranking
    row = Results.of(current).rows("students", student_id=student.pk, subject="总分")[0]
    assert (row["score"], row["district_rank"]) == (mine, rank)
    # 难度 P of item 1 of 数学: mean mark / full marks over the students who sat the paper.
    math = Paper.objects.get(exam=current, subject__code="math")
    item = math.items.get(number="1")
    t = pq.read_table(storage.scores_path(current.pk, math.pk))
    marks = t.filter(pc.equal(t["item_id"], item.pk))["score"].to_numpy()
    stats = Results.of(current).rows("items", item_id=item.pk)[0]
    assert stats["facility"] == pytest.approx(float(np.mean(marks)) / float(item.max_score), abs=1e-12)


def report_urls(exam, demo):
    teacher = demo.user("teacher").teacher
    student = demo.user("student").student
    return {
        "district": f"/assessment/exams/{exam.pk}/reports/district/",
        "school_a": f"/assessment/exams/{exam.pk}/reports/school/{demo.school_a.pk}/",
        "school_b": f"/assessment/exams/{exam.pk}/reports/school/{demo.school_b.pk}/",
        "class_a": f"/assessment/exams/{exam.pk}/reports/class/{student.school_class_id}/",
        "teacher_a": f"/assessment/exams/{exam.pk}/reports/teacher/{teacher.pk}/",
        "student_a": f"/assessment/exams/{exam.pk}/reports/student/{student.pk}/",
    }


# Who may open which report (everyone else gets 404).
ALLOWED = {
    "district": {"district_admin", "district_staff"},
    "school_a": {"district_admin", "district_staff", "school_admin"},
    "school_b": {"district_admin", "district_staff", "school_admin_b"},
    "class_a": {"district_admin", "district_staff", "school_admin", "teacher"},
    "teacher_a": {"district_admin", "district_staff", "school_admin", "teacher"},
    "student_a": {"district_admin", "district_staff", "school_admin", "teacher", "student", "parent"},
}
ROLES = ("district_admin", "district_staff", "school_admin", "school_admin_b", "teacher", "teacher_b",
         "student", "student_b", "parent", "parent_b")  # fmt: skip


def test_every_report_and_download_is_scoped_for_every_role(demo, current):
    urls = report_urls(current, demo)
    for role in ROLES:
        client = demo.client(role)
        for name, url in urls.items():
            expected = 200 if role in ALLOWED[name] else 404
            assert client.get(url).status_code == expected, (role, name)
            assert client.get(url + "report.xlsx").status_code == expected, (role, name, "xlsx")


def test_a_student_sees_only_their_own_report_and_a_parent_only_their_child(demo, current):
    student = demo.user("student").student
    classmate = Student.objects.filter(school_class=student.school_class).exclude(pk=student.pk).first()
    for role in ("student", "parent"):
        client = demo.client(role)
        url = f"/assessment/exams/{current.pk}/reports/student/{classmate.pk}/"
        assert client.get(url).status_code == 404
        assert client.get(url + "report.pdf").status_code == 404
    page = demo.client("student").get(f"/assessment/exams/{current.pk}/")
    links = [u for u in page.context["report_links"]]
    assert [u for _, u in links] == [f"/assessment/exams/{current.pk}/reports/student/{student.pk}/"]


def sheet_rows(content: bytes, title: str) -> list[tuple]:
    """The header and data rows of a sheet (the section's note follows a blank row)."""
    book = openpyxl.load_workbook(io.BytesIO(content))
    rows = list(book[title].iter_rows(values_only=True))
    return rows[: rows.index(tuple([None] * len(rows[0])))] if tuple([None] * len(rows[0])) in rows else rows


def test_workbooks_hold_only_rows_in_scope_and_are_audited(demo, current):
    student = demo.user("student").student
    school_class = student.school_class
    response = demo.client("teacher").get(
        f"/assessment/exams/{current.pk}/reports/class/{school_class.pk}/report.xlsx"
    )
    assert response.status_code == 200
    rows = sheet_rows(response.content, "学生排名")
    sat = {r["student_id"] for r in Results.of(current).rows("students", class_id=school_class.pk)}
    numbers = list(Student.objects.filter(pk__in=sat).values_list("student_no", flat=True))
    # Masked, for every reader: a student number is "G" and the ID number.
    assert {r[1] for r in rows[1:]} == {mask_student_no(n) for n in numbers}
    page = demo.client("teacher").get(f"/assessment/exams/{current.pk}/reports/class/{school_class.pk}/")
    assert mask_student_no(numbers[0]) in page.text and not any(n in page.text for n in numbers)
    assert (
        AuditEvent.objects.filter(
            action=AuditEvent.Action.EXPORT, target=f"exam:{current.pk}:report:class:{school_class.pk}"
        ).count()
        == 1
    )

    response = demo.client("school_admin").get(
        f"/assessment/exams/{current.pk}/reports/school/{demo.school_a.pk}/report.xlsx"
    )
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    a_students = {
        mask_student_no(n)
        for n in Student.objects.filter(school=demo.school_a).values_list("student_no", flat=True)
    }
    borderline = sheet_rows(response.content, "临界生")[1:]
    assert {r[1] for r in borderline} <= a_students
    a_classes = set(
        SchoolClass.objects.filter(school=demo.school_a, grade__level=7).values_list("pk", flat=True)
    )
    assert len(book.sheetnames) > 5
    assert len(sheet_rows(response.content, "班级对比")[1:]) == len(a_classes) * 4  # 3 subjects and the total

    response = demo.client("parent").get(
        f"/assessment/exams/{current.pk}/reports/student/{student.pk}/report.xlsx"
    )
    scores = sheet_rows(response.content, "成绩与排名")
    assert [r[0] for r in scores[1:]] == ["语文", "英语", "数学", "总分"]


def test_the_pdf_is_a_pdf(demo, current):
    student = demo.user("student").student
    response = demo.client("parent").get(
        f"/assessment/exams/{current.pk}/reports/student/{student.pk}/report.pdf"
    )
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert response["Content-Type"] == "application/pdf"


def test_teachers_record_follow_up_plans_tracked_into_later_exams(demo, exams, current):
    prior = Exam.objects.get(pk=exams[0].pk)
    student = demo.user("student").student
    url = f"/assessment/exams/{prior.pk}/students/{student.pk}/plans/"
    data = {"plan": "每周两次数学辅导", "target": "150", "status": "open", "subject": ""}
    # Not their teacher, not a teacher at all: no plan.
    assert demo.client("teacher_b").post(url, data).status_code == 404
    assert demo.client("student").post(url, data).status_code == 403
    assert demo.client("school_admin").post(url, data).status_code == 403
    response = demo.client("teacher").post(url, data)
    assert response.status_code == 302
    plan = FollowUpPlan.objects.get()
    assert (plan.student, plan.exam, plan.teacher) == (student, prior, demo.user("teacher").teacher)
    tracked = track_plan(plan)
    total = Results.of(current).rows("students", student_id=student.pk, subject="总分")[0]["score"]
    assert [(t["exam"].pk, t["total"], t["crossed"]) for t in tracked["later"]] == [
        (current.pk, total, total >= 150)
    ]
    # The plan shows on the student's report of the later exam, for the parent too.
    page = demo.client("parent").get(f"/assessment/exams/{current.pk}/reports/student/{student.pk}/")
    assert "每周两次数学辅导" in page.content.decode()
    # Only its author updates it.
    update = {**data, "plan_id": plan.pk, "status": "achieved"}
    other = Teacher.objects.filter(school=demo.school_a).exclude(pk=plan.teacher_id).first()
    assert other is not None
    demo.client("teacher").post(url, update)
    plan.refresh_from_db()
    assert plan.status == "achieved"
    # A plan named by something that cannot be a key is no plan of theirs.
    for bad in ("abc", "1.5", "²", str(2**63)):
        assert (
            demo.client("teacher").post(url, {**update, "plan_id": bad, "status": "open"}).status_code == 404
        )
    plan.refresh_from_db()
    assert (plan.status, FollowUpPlan.objects.count()) == ("achieved", 1)


def test_a_score_import_queues_the_analysis_and_the_task_publishes_it(
    demo, exams, django_capture_on_commit_callbacks
):
    import datetime as dt

    from django.core.management import call_command

    from jiaoyun.accounts.scopes import scope_for_user
    from jiaoyun.assessment import services
    from jiaoyun.assessment.models import Item
    from jiaoyun.core.models import Subject, Term

    exam = Exam.objects.create(
        name="七年级周测", term=Term.objects.first(), grade_level=7, held_on=dt.date(2026, 12, 1)
    )
    paper = Paper.objects.create(exam=exam, subject=Subject.objects.get(code="math"))
    Item.objects.create(paper=paper, position=1, number="1", max_score=4, kind="objective", key="C", option_count=4,
                        knowledge_points="数与式")  # fmt: skip
    Item.objects.create(
        paper=paper, position=2, number="2", max_score=10, kind="subjective", knowledge_points="函数"
    )
    students = list(Student.objects.filter(school_class__grade__level=7).order_by("student_no"))
    lines = ["全国学籍号,姓名,1,2"] + [
        f"{s.student_no},{s.name},{'CA'[i % 2]},{i % 11}" for i, s in enumerate(students)
    ]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = services.import_scores(paper=paper, data="\n".join(lines).encode(),
                                        viewer=scope_for_user(demo.user("district_staff")))  # fmt: skip
    assert result.applied and len(callbacks) == 1
    exam.refresh_from_db()
    assert (exam.analysis_status, exam.analysis_version) == ("done", 1)
    assert exam.analysis_inputs == services.analysis_inputs(exam)
    # Item 2's district mean is the mean of the marks written on the sheet.
    row = Results.of(exam).rows("items", item_id=paper.items.get(number="2").pk)[0]
    assert row["mean"] == pytest.approx(sum(i % 11 for i in range(len(students))) / len(students), abs=1e-12)
    # The button queues a new run for those who manage the exam, and no one else.
    assert demo.client("school_admin").post(f"/assessment/exams/{exam.pk}/analyse/").status_code == 403
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert demo.client("district_staff").post(f"/assessment/exams/{exam.pk}/analyse/").status_code == 302
    exam.refresh_from_db()
    assert exam.analysis_status == "queued" and len(callbacks) == 1
    # demo_exams leaves a database with exams alone.
    out = io.StringIO()
    call_command("demo_exams", "--if-empty", stdout=out)
    assert "no demo exams built" in out.getvalue()
