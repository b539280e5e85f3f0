"""Classical statistics on data small enough to check by hand.

Expected values are worked out by hand in the comments (sums of squared deviations etc.) and
written as the arithmetic that produces them; tolerance 1e-12 relative unless stated.
"""

import math

import ibis
import numpy as np
import pyarrow as pa
import pytest
from scipy import stats as scipy_stats

from jiaoyun.analytics.exams import classical, reports
from jiaoyun.analytics.exams.tables import ExamDataError, score_matrix

# 5 students x 3 items; full marks 1, 1, 3. Totals 3, 5, 1, 2, 3.
X = np.array([[1, 0, 2], [1, 1, 3], [0, 0, 1], [1, 1, 0], [0, 1, 2]], dtype=float)
MAX = np.array([1.0, 1.0, 3.0])
approx = lambda v: pytest.approx(v, rel=1e-12, abs=1e-12)  # noqa: E731


def test_moodle_test_statistics_by_hand():
    s = classical.test_statistics(X)
    # deviations of totals from 2.8: .2, 2.2, -1.8, -.8, .2
    # sum of squares 8.8, cubes 4.32, fourth powers 34.336
    m2, m3, m4 = 8.8 / 5, 4.32 / 5, 34.336 / 5
    k2 = 5 * m2 / 4
    k3 = 25 * m3 / (4 * 3)
    k4 = 25 * (6 * m4 - 3 * 4 * m2 * m2) / (4 * 3 * 2)
    assert s["count"] == 5
    assert s["mean"] == approx(2.8)
    assert s["median"] == 3.0
    assert s["sd"] == approx(math.sqrt(2.2))
    assert s["skewness"] == approx(1.8 / 2.2**1.5) == approx(k3 / k2**1.5)
    assert s["kurtosis"] == approx(4.2 / 4.84) == approx(k4 / k2**2)
    # item variances (n-1): .3, .3, 1.3
    cic = 100 * 3 / 2 * (1 - 1.9 / 2.2)
    assert s["cic"] == approx(cic)
    assert s["error_ratio"] == approx(100 * math.sqrt(1 - cic / 100))
    assert s["standard_error"] == approx(100 * math.sqrt(1 - cic / 100) * math.sqrt(2.2) / 100)


def test_skewness_kurtosis_are_the_unbiased_k_statistics_scipy_reports():
    rng = np.random.default_rng(3)
    m = rng.integers(0, 4, size=(57, 6)).astype(float)
    s = classical.test_statistics(m)
    totals = m.sum(axis=1)
    assert s["skewness"] == pytest.approx(scipy_stats.skew(totals, bias=False), rel=1e-10)
    assert s["kurtosis"] == pytest.approx(scipy_stats.kurtosis(totals, bias=False), rel=1e-10)
    # Cronbach's alpha is what Moodle calls CIC/100.
    item_var = m.var(axis=0, ddof=1).sum()
    assert s["cic"] / 100 == pytest.approx(6 / 5 * (1 - item_var / totals.var(ddof=1)), rel=1e-12)


def test_moodle_item_statistics_by_hand():
    st = classical.item_statistics(X, MAX, group_fraction=0.4)
    assert st["facility"] == approx(np.array([0.6, 0.6, 1.6 / 3]))
    assert st["sd"] == approx(np.sqrt([0.3, 0.3, 1.3]))
    # item 1: x = 1 1 0 1 0, rest = 2 4 1 1 3; cov(x, rest) = .4/4, var(rest) = 6.8/4
    assert st["discrimination_index"][0] == approx(100 * 0.1 / math.sqrt(0.3 * 1.7))
    # sorted x = 0 0 1 1 1, sorted rest = 1 1 2 3 4: covariance 2.4/4
    assert st["discriminative_efficiency"][0] == approx(100 * 0.1 / 0.6)
    # cov(item, total) = .4, .4, 1.4 (they add up to var(total) = 2.2)
    roots = np.sqrt([0.4, 0.4, 1.4])
    assert st["effective_weight"] == approx(100 * roots / roots.sum())
    # top 2 by total: students 2 (5) and 1 (3, first of the tie); bottom 2: students 3 and 4
    assert st["upper_mean"] == approx(np.array([1.0, 0.5, 2.5]))
    assert st["lower_mean"] == approx(np.array([0.5, 0.5, 0.5]))
    assert st["upper_lower_discrimination"] == approx(np.array([0.5, 0.0, 2 / 3]))


def test_dubious_items_name_their_reasons():
    st = classical.item_statistics(X, MAX, group_fraction=0.4)
    flags = classical.dubious_items(st, distractor_rates={2: {"B": (0.5, 0.0), "C": (0.0, 0.5)}})
    reasons = {(f.item_index, f.reason) for f in flags}
    assert (1, "upper-lower discrimination below 0.2") in reasons
    assert (2, "distractor B attracts the upper group more") in reasons
    assert (2, "distractor C attracts the upper group more") not in reasons
    assert (0, "discriminative efficiency below 15") not in reasons  # 16.7


def test_ranks_z_t_percentile_over_mean():
    totals = np.array([3, 5, 1, 2, 3.0])
    assert classical.competition_rank(totals).tolist() == [2, 1, 5, 4, 2]
    groups = np.array(["a", "a", "b", "b", "b"])
    assert classical.competition_rank(totals, groups).tolist() == [2, 1, 3, 2, 1]
    z = classical.z_scores(totals)
    assert z == approx((totals - 2.8) / math.sqrt(2.2))
    assert classical.t_scores(z) == approx(50 + 10 * (totals - 2.8) / math.sqrt(2.2))
    # score 3: two below (1, 2), two equal -> 100 * (2 + 1) / 5
    assert classical.percentile_rank(totals).tolist() == [60.0, 90.0, 10.0, 30.0, 60.0]
    assert classical.over_mean_rate(90.0, 80.0) == approx(0.125)


def test_bands_and_four_rates():
    totals = np.array([100, 95, 85, 84.5, 75, 60, 59.5, 39, 0.0])
    bands = classical.score_bands(totals, 100, 10)
    # [0,10): 0; [30,40): 39; [50,60): 59.5; [60,70): 60; [70,80): 75; [80,90): 85, 84.5;
    # the top band [90,100] is closed and holds 95 and 100.
    assert [b["count"] for b in bands] == [1, 0, 0, 1, 0, 1, 1, 1, 2, 2]
    assert bands[-1] == {"low": 90.0, "high": 100.0, "count": 2, "share": 2 / 9}
    rates = classical.four_rates(totals, 100)
    assert rates == {"excellent": 3 / 9, "good": 5 / 9, "pass": 6 / 9, "low": 2 / 9}
    rates = classical.four_rates(totals, 100, {"excellent": 0.9})
    assert rates["excellent"] == 2 / 9


def test_subject_contribution_shares_add_to_one():
    sub = np.array([[10, 1], [20, 2], [30, 0], [40, 5.0]])
    share = classical.subject_contribution(sub, ["语文", "数学"])
    t = sub.sum(axis=1)
    assert share["语文"] == approx(np.cov(sub[:, 0], t)[0, 1] / t.var(ddof=1))
    assert share["语文"] + share["数学"] == approx(1.0)


# A two-school district: student 1..4, math items q1 (objective, 1 mark) and q2 (4 marks).
SCORES = pa.table(
    {
        "student_id": [1, 1, 2, 2, 3, 3, 4, 4],
        "school_id": ["A", "A", "A", "A", "B", "B", "B", "B"],
        "class_id": ["A1", "A1", "A2", "A2", "B1", "B1", "B1", "B1"],
        "item_id": ["q1", "q2"] * 4,
        "score": [1.0, 3, 0, 2, 1, 4, 1, 0],
        "option": ["A", None, "B", None, "A", None, "C", None],
    }
)
ITEMS = pa.table(
    {
        "item_id": ["q1", "q2"],
        "subject": ["math", "math"],
        "max_score": [1.0, 4],
        "kind": ["objective", "subjective"],
        "key": ["A", None],
        "knowledge_point": ["k1", "k2"],
    }
)


def _rows(expr, **where):
    df = expr.to_pandas()
    for k, v in where.items():
        df = df[df[k] == v]
    return df


def test_report_tables_on_a_tiny_district():
    s, i = ibis.memtable(SCORES), ibis.memtable(ITEMS)
    totals = reports.student_totals(s, i)
    # totals: 4, 2, 5, 1 -> mean 3, SD sqrt(10/3)
    sr = _rows(reports.student_report(totals), subject="math").set_index("student_id")
    assert sr.loc[[1, 2, 3, 4], "district_rank"].tolist() == [2, 3, 1, 4]
    assert sr.loc[[1, 2, 3, 4], "school_rank"].tolist() == [1, 2, 1, 2]
    assert sr.loc[3, "z"] == approx(2 / math.sqrt(10 / 3))
    assert sr.loc[3, "t_score"] == approx(50 + 20 / math.sqrt(10 / 3))
    assert sr.loc[1, "percentile_rank"] == 62.5
    # class B1 = {5, 1}: mean 3, SD sqrt(8); A1 has one student, whose class Z is 0 by convention
    assert sr.loc[3, "class_z"] == approx(2 / math.sqrt(8))
    assert sr.loc[1, "class_z"] == 0.0

    us = reports.unit_summary(totals).to_pandas()
    us = us[us.subject == "math"].set_index(["level", "unit_id"])
    assert us.loc[("district", "district"), "sd"] == approx(math.sqrt(10 / 3))
    assert us.loc[("school", "A"), "mean"] == 3.0
    assert us.loc[("class", "A1"), "over_mean_rate"] == approx(1 / 3)  # 4 vs school A's 3
    assert us.loc[("class", "A2"), "over_mean_rate"] == approx(-1 / 3)
    assert us.loc[("school", "B"), "over_mean_rate"] == 0.0
    # cut lines of 5 marks: 85% -> 4.25, 75% -> 3.75, 60% -> 3, 40% -> 2
    assert us.loc[("district", "district"), "excellent_rate"] == 0.25
    assert us.loc[("district", "district"), "good_rate"] == 0.5
    assert us.loc[("district", "district"), "low_rate"] == 0.25
    assert us.loc[("class", "A1"), "rank"] == 1 and us.loc[("class", "A2"), "rank"] == 3

    bands = _rows(reports.score_band_counts(totals, width=2), level="district", subject="math")
    assert dict(zip(bands.band, bands["count"], strict=True)) == {0: 1, 1: 1, 2: 2}

    items = _rows(reports.item_rates_by_unit(s, i), item_id="q2").set_index(["level", "unit_id"])
    assert items.loc[("district", "district"), "rate"] == approx(9 / 16)
    assert items.loc[("class", "A1"), "rate_vs_district"] == approx(3 / 4 - 9 / 16)

    groups = reports.score_groups(totals.filter(totals.subject == "math"), fraction=0.27)
    options = reports.option_analysis(s, i, groups).to_pandas().set_index(["score_group", "option"])
    assert options.loc[("all", "A"), "rate"] == 0.5
    assert options.loc[("upper", "A"), "rate"] == 1.0  # student 3
    assert options.loc[("lower", "C"), "rate"] == 1.0  # student 4
    assert bool(options.loc[("all", "A"), "is_key"])

    kp = _rows(reports.knowledge_point_rates(s, i), knowledge_point="k1").set_index(["level", "unit_id"])
    assert kp.loc[("school", "A"), "rate"] == 0.5
    assert kp.loc[("student", "4"), "rate"] == 1.0


def test_score_matrix_pivots_and_rejects_bad_input():
    m = score_matrix(SCORES, ITEMS)
    assert m.scores.tolist() == [[1, 3], [0, 2], [1, 4], [1, 0]]
    assert m.student_ids == [1, 2, 3, 4]
    assert [m.option_labels[c] if c >= 0 else None for c in m.option_codes[:, 0]] == ["A", "B", "A", "C"]
    bad = SCORES.set_column(4, "score", pa.array([1.0, 5, 0, 2, 1, 4, 1, 0]))
    with pytest.raises(ExamDataError, match="outside"):
        score_matrix(bad, ITEMS)
    with pytest.raises(ExamDataError, match="not in items"):
        score_matrix(SCORES, ITEMS.slice(0, 1))
