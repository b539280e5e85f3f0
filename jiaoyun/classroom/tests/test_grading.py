"""Answers, keys and the distributions the screen draws (no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiaoyun.classroom import grading


@pytest.mark.parametrize(
    ("kind", "raw", "clean"),
    [
        ("single", 2, 2),
        ("multiple", [3, 0, 3], [0, 3]),
        ("true_false", False, False),
        ("number", " 3,5 ", 3.5),
        ("number", 4.0, 4),
        ("text", "  光合作用\n需要  光 ", "光合作用 需要 光"),
    ],
)
def test_clean_value(kind: str, raw: object, clean: object) -> None:
    assert grading.clean_value(kind, ["a", "b", "c", "d"], raw) == clean


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        ("single", 4),
        ("single", True),
        ("single", "1"),
        ("multiple", []),
        ("multiple", [1, 9]),
        ("true_false", 1),
        ("number", "nan"),
        ("number", "abc"),
        ("number", "1e308"),
        ("number", -1e101),
        ("number", 10**400),  # a JSON integer too long for a float
        ("number", float("inf")),
        ("text", ""),
        ("text", "字" * 201),
    ],
)
def test_invalid_answers(kind: str, raw: object) -> None:
    with pytest.raises(grading.InvalidAnswer):
        grading.clean_value(kind, ["a", "b", "c", "d"], raw)


def test_grade() -> None:
    assert grading.grade("number", 3.14, 0.01, 3.149) is True
    assert grading.grade("number", 3.14, 0, 3.15) is False
    assert grading.grade("text", ["光合作用"], 0, "光合 作用。") is True
    assert grading.grade("multiple", [0, 2], 0, [0, 2]) is True
    assert grading.grade("multiple", [0, 2], 0, [0]) is False
    assert grading.grade("single", None, 0, 1) is None


def test_terms_are_bigrams_without_particles() -> None:
    assert grading.terms("我的作文开头很难") == {"作文", "文开", "开头"}
    assert grading.terms("Hello world, 好") == {"hello", "world", "好"}


def test_top_terms_count_each_answer_once() -> None:
    answers = ["材料材料太少", "不会找材料", "结构乱"]
    assert grading.top_terms(answers, limit=3) == [("材料", 2), ("会找", 1), ("找材", 1)]


def test_histogram() -> None:
    assert grading.histogram([1, 2, 2, 3]) == [
        {"label": "1", "count": 1},
        {"label": "2", "count": 2},
        {"label": "3", "count": 1},
    ]
    wide = grading.histogram([float(v) for v in range(0, 100, 7)])
    assert [b["label"] for b in wide] == [
        "0–10",
        "10–20",
        "20–30",
        "30–40",
        "40–50",
        "50–60",
        "60–70",
        "70–80",
        "80–90",
        "90–100",
    ]
    assert [b["count"] for b in wide] == [2, 1, 2, 1, 2, 1, 1, 2, 1, 2]


@given(
    st.lists(st.floats(min_value=-grading.MAX_NUMBER, max_value=grading.MAX_NUMBER), min_size=1, max_size=40)
)
def test_a_histogram_of_any_accepted_answers_counts_each_once(values: list[float]) -> None:
    """Answers at both ends of the accepted range (the span of 1e308 and -1e308 was
    infinite, and the survey report a server error)."""
    answers = [grading.clean_value("number", [], v) for v in values]
    assert sum(b["count"] for b in grading.histogram([float(a) for a in answers])) == len(values)


def test_a_histogram_of_answers_stored_before_the_bound_still_draws() -> None:
    values = [-1e308, 1e308, *range(10)]
    bins = grading.histogram([float(v) for v in values])
    assert sum(b["count"] for b in bins) == len(values) and bins[0]["count"] == 1 and bins[-1]["count"] == 1


def test_distribution_of_true_false_uses_the_labels() -> None:
    assert grading.distribution("true_false", ["对", "错"], [True, False, True]) == {
        "chart": "bars",
        "labels": ["对", "错"],
        "counts": [2, 1],
    }
