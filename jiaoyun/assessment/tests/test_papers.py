"""The paper structure import: every problem with its row and column; idempotent."""

from __future__ import annotations

import datetime as dt

import pytest

from jiaoyun.assessment.models import Exam, Item
from jiaoyun.assessment.papers import import_structure
from jiaoyun.core.models import Term

pytestmark = pytest.mark.django_db

GOOD = """科目,题号,满分,题型,答案,选项数,知识点,能力层级,题目类型
数学,1,4,单选,c,4,有理数；数轴,识记,选择题
数学,2,5,多选,"A,C",4,方程,理解,选择题
数学,13（1）,10,解答,,,函数,应用,解答题
语文,1,3,客观题,B,,字音,识记,选择题
"""


@pytest.fixture
def exam(demo):
    return Exam.objects.create(
        name="期中", term=Term.objects.first(), grade_level=7, held_on=dt.date(2026, 11, 10)
    )


def test_structure_is_imported_and_reimport_changes_nothing(exam):
    result = import_structure(exam=exam, data=GOOD.encode())
    assert result.issues == [] and result.changed and (result.papers, result.items) == (2, 4)
    math = exam.papers.get(subject__code="math")
    got = list(math.items.values_list("number", "max_score", "kind", "key", "option_count", "ability"))
    assert [(n, float(m), k, key, o, a) for n, m, k, key, o, a in got] == [
        ("1", 4.0, "objective", "C", 4, "识记"),
        ("2", 5.0, "objective", "AC", 4, "理解"),
        ("13(1)", 10.0, "subjective", "", 0, "应用"),
    ]
    assert math.items.get(number="1").knowledge_point_list == ["有理数", "数轴"]
    ids = set(Item.objects.values_list("pk", flat=True))
    again = import_structure(exam=exam, data=GOOD.encode("gbk"))
    assert again.issues == [] and not again.changed
    assert set(Item.objects.values_list("pk", flat=True)) == ids


def test_every_problem_has_its_row_and_column(exam):
    bad = """科目,题号,满分,题型,答案,选项数,能力层级
天文,1,4,单选,A,4,识记
数学,1,4.3,单选,,4,识记
数学,2,4,单选,E,4,理解
数学,2,4,问答,,9,记忆
"""
    result = import_structure(exam=exam, data=bad.encode())
    got = [(i.row, i.column, i.value, i.code) for i in result.issues]
    assert got == [
        (2, "科目", "天文", "unknown_subject"),
        (3, "满分", "4.3", "bad_marks"),
        (3, "答案", "", "key_required"),
        (4, "答案", "E", "bad_key"),
        (5, "题型", "问答", "bad_kind"),
        (5, "选项数", "9", "bad_options"),
        (5, "能力层级", "记忆", "bad_ability"),
        (5, "题号", "2", "duplicate_item"),
    ]
    assert not exam.papers.exists()
