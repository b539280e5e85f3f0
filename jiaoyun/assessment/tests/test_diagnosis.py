"""Borderline students, wrong-question analysis and teacher diagnosis on data checked by hand.

Expected values are worked out in the comments; tolerance 1e-12 absolute unless stated.
"""

import math

import ibis
import numpy as np
import pyarrow as pa
import pytest

from jiaoyun.analytics.exams import diagnosis, reports
from jiaoyun.analytics.exams.analysis import ExamOptions, analyze_exam, wrong_question_tables
from jiaoyun.analytics.exams.simulate import simulate_exam

approx = lambda v: pytest.approx(v, rel=1e-12, abs=1e-12)  # noqa: E731

# Six students, two subjects; totals 90, 85, 80, 75, 70, 60 (district ranks 1..6).
SUBJECTS = ["语文", "数学"]
SUBJECT_SCORES = np.array([[50, 40], [40, 45], [45, 35], [30, 45], [40, 30], [30, 30]], dtype=float)
TOTALS = SUBJECT_SCORES.sum(axis=1)


def test_borderline_by_score_window_and_the_subjects_holding_back():
    rows = diagnosis.borderline_students(TOTALS, SUBJECT_SCORES, SUBJECTS, cut_score=80, score_window=5)
    # |total - 80| <= 5: 85, 80, 75. Half the students reach 80, so each subject line is its
    # median: 语文 (30 30 40 40 45 50) -> 40, 数学 (30 30 35 40 45 45) -> 37.5.
    assert rows == [
        {"index": 1, "total": 85.0, "rank": 2, "gap": 5.0, "weak_subjects": []},
        {"index": 2, "total": 80.0, "rank": 3, "gap": 0.0, "weak_subjects": ["数学"]},  # 35 < 37.5
        {"index": 3, "total": 75.0, "rank": 4, "gap": -5.0, "weak_subjects": ["语文"]},  # 30 < 40
    ]


def test_borderline_by_rank_window():
    rows = diagnosis.borderline_students(TOTALS, SUBJECT_SCORES, SUBJECTS, rank_window=(2, 4))
    # The line is the total at rank 2 (85), reached by 2 of 6 students: subject lines are the
    # 2/3 quantiles (linear, position 5 x 2/3 = 3 1/3): 40 + 5/3 in both subjects.
    line = 40 + 5 / 3
    assert [r["index"] for r in rows] == [1, 2, 3]
    assert [r["rank"] for r in rows] == [2, 3, 4]
    assert [r["gap"] for r in rows] == [0.0, -5.0, -10.0]
    assert [r["weak_subjects"] for r in rows] == [["语文"], ["数学"], ["语文"]]  # 40, 35, 30 < line
    assert line < 45  # so 数学 45 of students 1 and 3 is not holding them back


def test_borderline_rank_window_keeps_ties_together():
    totals = np.array([90.0, 80, 80, 70])
    rows = diagnosis.borderline_students(totals, totals[:, None], ["总分"], rank_window=(2, 3))
    # ranks 1, 2, 2, 4: both students tied at 80 are in, the 4th is not
    assert [(r["index"], r["rank"]) for r in rows] == [(1, 2), (2, 2)]
    with pytest.raises(ValueError):
        diagnosis.borderline_students(totals, totals[:, None], ["总分"])


def test_weakest_items_orders_by_gap_and_drops_items_above_the_district():
    district = np.array([0.6, 0.8, 0.5, 0.7])
    units = {"A": np.array([0.5, 0.9, 0.3, 0.8]), "B": np.array([0.7, 0.6, 0.6, 0.9])}
    out = diagnosis.weakest_items(units, district, ["q1", "q2", "q3", "q4"], top=2)
    # A: gaps -.1, .1, -.2, .1 -> q3, q1; B: gaps .1, -.2, .1, .2 -> q2 only (q1 is above)
    assert [r["item_id"] for r in out["A"]] == ["q3", "q1"]
    assert out["A"][0]["gap"] == approx(-0.2) and out["A"][0]["rate"] == 0.3
    assert out["A"][1]["gap"] == approx(-0.1)
    assert [r["item_id"] for r in out["B"]] == ["q2"]
    assert out["B"][0]["gap"] == approx(-0.2)


def test_compare_with_previous():
    rows = diagnosis.compare_with_previous({"k1": -0.1, "k2": 0.05}, {"k1": -0.3, "k3": 0.02})
    assert [r["key"] for r in rows] == ["k1", "k2", "k3"]
    assert rows[0]["gap"] == -0.1 and rows[0]["previous_gap"] == -0.3
    assert rows[0]["change"] == approx(0.2)
    assert rows[1] == {"key": "k2", "gap": 0.05, "previous_gap": None, "change": None}
    assert rows[2] == {"key": "k3", "gap": None, "previous_gap": 0.02, "change": None}


def test_teacher_diagnosis_by_hand():
    out = diagnosis.teacher_diagnosis(
        ["c1", "c2", "c3", "c4"],
        ["T1", "T1", "T2", "T3"],
        np.array([1.0, 3.0, -2.0, 2.5]),
        np.array([1.0, 2.0, 0.5, 1.0]),
        np.array([60.0, 62, 70, 75]),
        np.array([[0.6, 0.5], [0.7, 0.4], [0.5, 0.6], [0.8, 0.5]]),
        ["k1", "k2"],
        k=2,
    )
    by = {t["teacher_id"]: t for t in out}
    # T1: weights 1/se^2 = 1, 1/4 -> (1 + 3/4) / 1.25 = 1.4, SE sqrt(1/1.25)
    se = math.sqrt(1 / 1.25)
    assert by["T1"]["classes"] == ["c1", "c2"]
    assert by["T1"]["value_added"] == approx(1.4)
    assert by["T1"]["low"] == approx(1.4 - 1.96 * se) and by["T1"]["high"] == approx(1.4 + 1.96 * se)
    assert by["T1"]["call"] == "not distinguishable"
    assert by["T2"]["call"] == "below"  # -2 +- 0.98
    assert by["T3"]["call"] == "above"  # 2.5 +- 1.96
    # Nearest 2 classes by prior mean: c1 -> c2, c3; c2 -> c1, c3; c3 -> c4, c2; c4 -> c3, c2.
    # c1 - peers: (0.6 - 0.6, 0.5 - 0.5) = (0, 0); c2: (0.7 - 0.55, 0.4 - 0.55) = (.15, -.15)
    assert by["T1"]["kp_difference"]["k1"] == approx(0.075)
    assert by["T1"]["kp_difference"]["k2"] == approx(-0.075)
    assert (by["T1"]["strengths"], by["T1"]["weaknesses"]) == (["k1"], ["k2"])
    # c3: (0.5 - 0.75, 0.6 - 0.45); c4: (0.8 - 0.6, 0.5 - 0.5)
    assert by["T2"]["kp_difference"]["k1"] == approx(-0.25)
    assert by["T2"]["kp_difference"]["k2"] == approx(0.15)
    assert (by["T2"]["strengths"], by["T2"]["weaknesses"]) == (["k2"], ["k1"])
    assert by["T3"]["kp_difference"]["k1"] == approx(0.2)
    assert (by["T3"]["strengths"], by["T3"]["weaknesses"]) == (["k1"], [])


# The two-school district of test_classical: q1 (1 mark), q2 (4 marks).
SCORES = pa.table(
    {
        "student_id": [1, 1, 2, 2, 3, 3, 4, 4],
        "school_id": ["A", "A", "A", "A", "B", "B", "B", "B"],
        "class_id": ["A1", "A1", "A2", "A2", "B1", "B1", "B1", "B1"],
        "item_id": ["q1", "q2"] * 4,
        "score": [1.0, 3, 0, 2, 1, 4, 1, 0],
    }
)
ITEMS = pa.table(
    {
        "item_id": ["q1", "q2"],
        "subject": ["math", "math"],
        "max_score": [1.0, 4],
        "knowledge_point": ["k1", "k2"],
    }
)


def test_weakest_items_of_schools_and_classes_with_peer_ranks():
    rates = reports.item_rates_by_unit(ibis.memtable(SCORES), ibis.memtable(ITEMS)).to_pyarrow()
    weakest = wrong_question_tables(rates, "item_id", top=5)["weakest"].to_pylist()
    rows = {(r["level"], r["unit_id"], r["item_id"]): r for r in weakest}
    # district: q1 3/4, q2 9/16. Classes: A1 (1, 3/4) above both; A2 (0, 1/2); B1 (1, 1/2).
    # Schools: A (1/2, 5/8), B (1, 1/2).
    assert sorted(rows) == [
        ("class", "A2", "q1"),
        ("class", "A2", "q2"),
        ("class", "B1", "q2"),
        ("school", "A", "q1"),
        ("school", "B", "q2"),
    ]
    a2 = rows[("class", "A2", "q1")]
    assert (a2["position"], a2["gap"], a2["district_rate"]) == (1, -0.75, 0.75)
    assert (a2["peer_rank"], a2["peers"]) == (3, 3)  # below A1 and B1 (both 1)
    assert rows[("class", "A2", "q2")]["position"] == 2
    assert rows[("class", "A2", "q2")]["gap"] == approx(-1 / 16)
    assert rows[("class", "B1", "q2")]["peer_rank"] == 2  # ties with A2 behind A1's 3/4
    assert rows[("school", "A", "q1")]["gap"] == approx(-0.25)
    assert rows[("school", "B", "q2")]["subject"] == "math"


def test_knowledge_point_trend_against_a_previous_exam():
    rates = reports.knowledge_point_rates(ibis.memtable(SCORES), ibis.memtable(ITEMS)).to_pyarrow()
    previous = pa.table(
        {
            "level": ["class", "class", "school"],
            "unit_id": ["A2", "A2", "C"],
            "subject": ["math", "math", "math"],
            "knowledge_point": ["k1", "k9", "k1"],
            "rate_vs_district": [-0.5, 0.1, 0.2],
        }
    )
    trend = wrong_question_tables(rates, "knowledge_point", previous=previous)["trend"].to_pylist()
    rows = {(r["level"], r["unit_id"], r["knowledge_point"]): r for r in trend}
    # A2 on k1: 0 now against the district's 3/4 -> -0.75, was -0.5: change -0.25
    assert rows[("class", "A2", "k1")]["gap"] == -0.75
    assert rows[("class", "A2", "k1")]["change"] == approx(-0.25)
    assert rows[("class", "A2", "k9")]["gap"] is None and rows[("class", "A2", "k9")]["previous_gap"] == 0.1
    assert rows[("school", "C", "k1")]["gap"] is None  # a school that did not sit this exam
    assert rows[("class", "B1", "k2")]["previous_gap"] is None


def test_analyze_exam_carries_wrong_question_tables():
    exam = simulate_exam(seed=5, n_schools=3, classes_per_school=2, students_per_class=20, n_subjective=3)
    options = ExamOptions(irt_model="none", weakest_top=3)
    first = analyze_exam(exam.scores, exam.items, options=options)
    weakest = first.tables["weakest_items"]
    assert set(weakest["level"].to_pylist()) == {"school", "class"}
    assert max(weakest["position"].to_pylist()) <= 3
    assert all(g < 0 for g in weakest["gap"].to_pylist())
    assert "knowledge_point_trend" not in first.tables
    # Against itself as the previous exam every change is 0.
    again = analyze_exam(
        exam.scores, exam.items, previous_rates=first.tables["knowledge_point_rates"], options=options
    )
    trend = again.tables["knowledge_point_trend"]
    assert trend.num_rows > 0
    assert all(c == 0 for c in trend["change"].to_pylist())
