"""Borderline students (临界生), wrong-question analysis and teacher diagnosis.

Numpy/pandas-free kernels over per-student and per-unit tables already computed by `reports`.
"""

from __future__ import annotations

import numpy as np

from jiaoyun.analytics.exams.classical import competition_rank


def borderline_students(
    totals: np.ndarray,
    subject_scores: np.ndarray,
    subjects: list[str],
    *,
    cut_score: float | None = None,
    score_window: float = 0.0,
    rank_window: tuple[int, int] | None = None,
) -> list[dict]:
    """Students within `score_window` of `cut_score`, or ranked inside `rank_window` (inclusive).

    The subjects holding each one back are those below their subject line, drawn by the
    equal-proportion rule (等比例法): the subject score reached by the same share of students as
    reach the total line (the cut, or the score at the window's upper rank).
    """
    totals = np.asarray(totals, dtype=np.float64)
    ranks = competition_rank(totals)
    if rank_window is not None:
        chosen = (ranks >= rank_window[0]) & (ranks <= rank_window[1])
        line = float(np.sort(totals)[::-1][min(rank_window[0], len(totals)) - 1])
    elif cut_score is not None:
        chosen = np.abs(totals - cut_score) <= score_window
        line = cut_score
    else:
        raise ValueError("give a cut score or a rank window")
    share = (totals >= line).mean()
    subject_lines = [float(np.quantile(subject_scores[:, k], 1 - share)) for k in range(len(subjects))]
    out = []
    for i in np.flatnonzero(chosen):
        weak = [s for k, s in enumerate(subjects) if subject_scores[i, k] < subject_lines[k]]
        out.append(
            {
                "index": int(i),
                "total": float(totals[i]),
                "rank": int(ranks[i]),
                "gap": float(totals[i] - line),
                "weak_subjects": weak,
            }
        )
    return out


def weakest_items(
    unit_rates: dict[str, np.ndarray], district_rates: np.ndarray, item_ids: list, *, top: int = 5
) -> dict[str, list[dict]]:
    """For each unit, the items where its score rate falls furthest below the district's."""
    out = {}
    for unit, rates in unit_rates.items():
        gap = np.asarray(rates) - district_rates
        order = np.argsort(gap, kind="stable")[:top]
        out[unit] = [
            {"item_id": item_ids[j], "rate": float(rates[j]), "gap": float(gap[j])}
            for j in order
            if gap[j] < 0
        ]
    return out


def compare_with_previous(current_gap: dict[str, float], previous_gap: dict[str, float]) -> list[dict]:
    """Knowledge points (or items) by gap to the district now and in the previous exam."""
    keys = sorted(set(current_gap) | set(previous_gap))
    return [
        {
            "key": k,
            "gap": current_gap.get(k),
            "previous_gap": previous_gap.get(k),
            "change": None
            if k not in current_gap or k not in previous_gap
            else current_gap[k] - previous_gap[k],
        }
        for k in keys
    ]


def comparable_classes(prior_means: np.ndarray, index: int, *, k: int = 5) -> np.ndarray:
    """The k other classes closest in mean prior score: the fair comparison for a class."""
    distance = np.abs(np.asarray(prior_means) - prior_means[index])
    distance[index] = np.inf
    return np.argsort(distance, kind="stable")[: min(k, len(distance) - 1)]


def teacher_diagnosis(
    class_ids: list,
    class_teachers: list,
    class_value_added: np.ndarray,
    class_value_added_se: np.ndarray,
    class_prior_means: np.ndarray,
    class_kp_rates: np.ndarray,
    knowledge_points: list[str],
    *,
    k: int = 5,
    margin: float = 0.05,
) -> list[dict]:
    """Each teacher: value-added (precision-weighted mean of their classes' intercepts, with a
    95% interval) and the knowledge points where their classes beat or trail comparable classes
    (the k classes nearest in prior attainment) by more than `margin` in score rate."""
    out = []
    teachers = sorted(set(class_teachers))
    teachers_arr = np.array(class_teachers, dtype=object)
    for t in teachers:
        idx = np.flatnonzero(teachers_arr == t)
        w = 1 / np.asarray(class_value_added_se)[idx] ** 2
        va = float((w * class_value_added[idx]).sum() / w.sum())
        se = float(np.sqrt(1 / w.sum()))
        diffs = []
        for i in idx:
            peers = comparable_classes(class_prior_means, int(i), k=k)
            diffs.append(class_kp_rates[i] - class_kp_rates[peers].mean(axis=0))
        diff = np.mean(diffs, axis=0)
        lo, hi = va - 1.96 * se, va + 1.96 * se
        out.append(
            {
                "teacher_id": t,
                "classes": [class_ids[i] for i in idx],
                "value_added": va,
                "low": lo,
                "high": hi,
                "call": "above" if lo > 0 else "below" if hi < 0 else "not distinguishable",
                "strengths": [kp for kp, d in zip(knowledge_points, diff, strict=True) if d > margin],
                "weaknesses": [kp for kp, d in zip(knowledge_points, diff, strict=True) if d < -margin],
                "kp_difference": {kp: float(d) for kp, d in zip(knowledge_points, diff, strict=True)},
            }
        )
    return out
