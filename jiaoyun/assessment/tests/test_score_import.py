"""Importing a paper's score sheet into the lake, school by school."""

from __future__ import annotations

import datetime as dt

import pyarrow.parquet as pq
import pytest

from jiaoyun.accounts.models import AuditEvent
from jiaoyun.accounts.scopes import scope_for_user
from jiaoyun.assessment import services, storage
from jiaoyun.assessment.models import Exam, Item, Paper
from jiaoyun.core.models import Student, Subject, Term

pytestmark = pytest.mark.django_db


@pytest.fixture
def paper(demo, settings, tmp_path):
    settings.LAKE_URL = str(tmp_path)
    exam = Exam.objects.create(
        name="七年级期中联考", term=Term.objects.first(), grade_level=7, held_on=dt.date(2026, 11, 10)
    )
    paper = Paper.objects.create(exam=exam, subject=Subject.objects.get(code="math"))
    Item.objects.create(
        paper=paper, position=1, number="1", max_score=4, kind="objective", key="C", option_count=4
    )
    Item.objects.create(paper=paper, position=2, number="2", max_score=10, kind="subjective")
    return paper


def csv_for(students, answers):
    lines = ["全国学籍号,姓名,1,2"]
    for s, (a1, a2) in zip(students, answers, strict=True):
        lines.append(f"{s.student_no},{s.name},{a1},{a2}")
    return ("\n".join(lines) + "\n").encode()


def grade7(school):
    return list(Student.objects.filter(school=school, school_class__grade__level=7).order_by("student_no"))


def test_a_school_replaces_only_its_own_scores(demo, paper):
    a, b = grade7(demo.school_a), grade7(demo.school_b)
    assert len(a) >= 2 and len(b) >= 2
    viewer_a = scope_for_user(demo.user("school_admin"))
    viewer_b = scope_for_user(demo.user("school_admin_b"))

    result = services.import_scores(paper=paper, data=csv_for(a, [("C", 7)] * len(a)), viewer=viewer_a)
    assert result.applied and result.sheet.issues == []
    result = services.import_scores(paper=paper, data=csv_for(b, [("A", 5.5)] * len(b)), viewer=viewer_b)
    assert result.applied
    # School A sends again with other answers: B's scores stay as they were.
    result = services.import_scores(paper=paper, data=csv_for(a, [("B", 2)] * len(a)), viewer=viewer_a)
    assert result.applied

    scores = pq.read_table(storage.scores_path(paper.exam_id, paper.pk)).to_pylist()
    by_student = {(r["student_id"], r["item_id"]): (r["score"], r["option"]) for r in scores}
    first, second = paper.items.order_by("position")
    for s in a:
        assert by_student[(s.pk, first.pk)] == (0.0, "B")
        assert by_student[(s.pk, second.pk)] == (2.0, None)
    for s in b:
        assert by_student[(s.pk, first.pk)] == (0.0, "A")
        assert by_student[(s.pk, second.pk)] == (5.5, None)
    assert len(scores) == 2 * (len(a) + len(b))
    paper.refresh_from_db()
    assert (paper.students_scored, paper.students_absent) == (len(a) + len(b), 0)
    assert (
        AuditEvent.objects.filter(action="import", target=f"exam:{paper.exam_id}:paper:{paper.pk}").count()
        == 3
    )


def test_a_school_cannot_send_another_schools_students(demo, paper):
    b = grade7(demo.school_b)
    result = services.import_scores(
        paper=paper, data=csv_for(b, [("C", 1)] * len(b)), viewer=scope_for_user(demo.user("school_admin"))
    )
    assert not result.applied
    assert {i.code for i in result.sheet.issues} == {"unknown_student"}
    assert len(result.sheet.issues) == len(b)
    assert not storage.scores_path(paper.exam_id, paper.pk).exists()
