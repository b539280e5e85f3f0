"""Classical test and item statistics (Moodle's definitions) and the Chinese report metrics.

Every function is a numpy kernel over a dense students x items matrix or a vector of totals;
the formulas and their sources are in docs/exam-analysis.md. Group-bys over schools and classes
live in `reports.py` (Ibis).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MOODLE_MIN_DISCRIMINATIVE_EFFICIENCY = 15.0
DEFAULT_CUTS = {"excellent": 0.85, "good": 0.75, "pass": 0.60, "low": 0.40}


def test_statistics(matrix: np.ndarray) -> dict[str, float | int | None]:
    """Moodle's quiz statistics for the totals of `matrix` (students x items, no NaN)."""
    x = np.asarray(matrix, dtype=np.float64)
    totals = x.sum(axis=1)
    s, p = totals.shape[0], x.shape[1]
    out: dict[str, float | int | None] = {
        "count": s,
        "mean": float(totals.mean()) if s else None,
        "median": float(np.median(totals)) if s else None,
        "sd": None,
        "skewness": None,
        "kurtosis": None,
        "cic": None,
        "error_ratio": None,
        "standard_error": None,
    }
    if s < 2:
        return out
    d = totals - totals.mean()
    m2, m3, m4 = (d**2).mean(), (d**3).mean(), (d**4).mean()
    out["sd"] = float(np.sqrt((d**2).sum() / (s - 1)))
    if s < 3:
        return out
    k2 = s * m2 / (s - 1)
    if k2 == 0:
        return out
    k3 = s * s * m3 / ((s - 1) * (s - 2))
    out["skewness"] = float(k3 / k2**1.5)
    if s > 3:
        k4 = s * s * ((s + 1) * m4 - 3 * (s - 1) * m2 * m2) / ((s - 1) * (s - 2) * (s - 3))
        out["kurtosis"] = float(k4 / (k2 * k2))
    if p > 1:
        sum_item_variance = float(x.var(axis=0, ddof=1).sum())
        cic = 100 * p / (p - 1) * (1 - sum_item_variance / k2)
        out["cic"] = float(cic)
        if cic <= 100:
            error_ratio = float(100 * np.sqrt(max(0.0, 1 - cic / 100)))
            out["error_ratio"] = error_ratio
            out["standard_error"] = float(error_ratio * float(out["sd"] or 0.0) / 100)
    return out


def upper_lower_groups(totals: np.ndarray, fraction: float = 0.27) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the top and bottom `fraction` of students by total.

    Group size is round(fraction * n) (at least 1); ties at the boundary go by input order, so
    the groups always have the same size, as in Kelley's method.
    """
    n = totals.shape[0]
    size = max(1, int(round(fraction * n)))
    order = np.argsort(-totals, kind="stable")
    upper = np.zeros(n, dtype=bool)
    lower = np.zeros(n, dtype=bool)
    upper[order[:size]] = True
    lower[order[::-1][:size]] = True
    return upper, lower


def item_statistics(
    matrix: np.ndarray, max_scores: np.ndarray, *, group_fraction: float = 0.27
) -> dict[str, np.ndarray]:
    """Per-item facility, SD, discrimination (two ways), discriminative efficiency, weight."""
    x = np.asarray(matrix, dtype=np.float64)
    s = x.shape[0]
    totals = x.sum(axis=1)
    other = totals[:, None] - x
    xc = x - x.mean(axis=0)
    oc = other - other.mean(axis=0)
    tc = totals - totals.mean()
    denom = max(s - 1, 1)
    var_x = (xc**2).sum(axis=0) / denom
    var_o = (oc**2).sum(axis=0) / denom
    cov_xo = (xc * oc).sum(axis=0) / denom
    cov_xt = (xc * tc[:, None]).sum(axis=0) / denom
    # Moodle's maximum covariance pairs the i-th smallest mark with the i-th smallest rest score.
    xs = np.sort(x, axis=0)
    os_ = np.sort(other, axis=0)
    cov_max = ((xs - xs.mean(axis=0)) * (os_ - os_.mean(axis=0))).sum(axis=0) / denom
    with np.errstate(invalid="ignore", divide="ignore"):
        facility = x.mean(axis=0) / max_scores
        product = var_x * var_o
        discrimination_index = np.where(product > 0, 100 * cov_xo / np.sqrt(product), np.nan)
        discriminative_efficiency = np.where(cov_max != 0, 100 * cov_xo / cov_max, np.nan)
    root = np.sqrt(np.clip(cov_xt, 0, None))
    total_root = root[cov_xt >= 0].sum()
    effective_weight = np.where((cov_xt >= 0) & (total_root > 0), 100 * root / total_root, np.nan)
    upper, lower = upper_lower_groups(totals, group_fraction)
    upper_mean = x[upper].mean(axis=0)
    lower_mean = x[lower].mean(axis=0)
    return {
        "facility": facility,
        "mean": x.mean(axis=0),
        "sd": np.sqrt(var_x),
        "discrimination_index": discrimination_index,
        "discriminative_efficiency": discriminative_efficiency,
        "effective_weight": effective_weight,
        "upper_mean": upper_mean,
        "lower_mean": lower_mean,
        "upper_lower_discrimination": (upper_mean - lower_mean) / max_scores,
    }


@dataclass(frozen=True)
class ItemFlag:
    item_index: int
    reason: str


def dubious_items(
    stats: dict[str, np.ndarray],
    *,
    min_efficiency: float = MOODLE_MIN_DISCRIMINATIVE_EFFICIENCY,
    min_facility: float = 0.05,
    max_facility: float = 0.95,
    min_upper_lower: float = 0.2,
    distractor_rates: dict[int, dict[str, tuple[float, float]]] | None = None,
) -> list[ItemFlag]:
    """Items a teaching-research officer should look at, each with its reason.

    `distractor_rates` maps item index -> {wrong option: (upper-group rate, lower-group rate)}.
    """
    flags = []
    for j in range(len(stats["facility"])):
        de = stats["discriminative_efficiency"][j]
        if np.isnan(de) or de < min_efficiency:
            flags.append(ItemFlag(j, f"discriminative efficiency below {min_efficiency:g}"))
        di = stats["discrimination_index"][j]
        if not np.isnan(di) and di < 0:
            flags.append(ItemFlag(j, "negative item-rest correlation"))
        f = stats["facility"][j]
        if f < min_facility:
            flags.append(ItemFlag(j, f"too hard (facility below {min_facility:g})"))
        if f > max_facility:
            flags.append(ItemFlag(j, f"too easy (facility above {max_facility:g})"))
        if stats["upper_lower_discrimination"][j] < min_upper_lower:
            flags.append(ItemFlag(j, f"upper-lower discrimination below {min_upper_lower:g}"))
        for option, (upper_rate, lower_rate) in sorted((distractor_rates or {}).get(j, {}).items()):
            if upper_rate > lower_rate:
                flags.append(ItemFlag(j, f"distractor {option} attracts the upper group more"))
    return flags


def competition_rank(values: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """1-based rank, highest first, ties share the best rank (1, 2, 2, 4), within each group."""
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[0]
    if groups is None:
        group_codes = np.zeros(n, dtype=np.int64)
    else:
        _, group_codes = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    order = np.lexsort((-values, group_codes))
    sorted_groups = group_codes[order]
    sorted_values = values[order]
    position = np.arange(n)
    group_start = np.r_[True, sorted_groups[1:] != sorted_groups[:-1]]
    start_index = np.maximum.accumulate(np.where(group_start, position, 0))
    new_value = np.r_[True, (sorted_values[1:] != sorted_values[:-1]) | group_start[1:]]
    tie_start = np.maximum.accumulate(np.where(new_value, position, 0))
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = tie_start - start_index + 1
    return ranks


def z_scores(values: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """(x - mean)/SD with the sample SD (n-1) of the student's group; 0 where the SD is 0."""
    values = np.asarray(values, dtype=np.float64)
    if groups is None:
        groups = np.zeros(values.shape[0], dtype=np.int64)
    _, codes = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    count = np.bincount(codes)
    mean = np.bincount(codes, weights=values) / count
    dev = values - mean[codes]
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(np.bincount(codes, weights=dev**2) / (count - 1))
        z = dev / sd[codes]
    return np.where(np.isfinite(z), z, 0.0)


def t_scores(z: np.ndarray) -> np.ndarray:
    return 50 + 10 * np.asarray(z)


def percentile_rank(values: np.ndarray) -> np.ndarray:
    """百分等级: 100 x (share scoring below + half the share scoring the same)."""
    values = np.asarray(values, dtype=np.float64)
    sorted_values = np.sort(values)
    below = np.searchsorted(sorted_values, values, side="left")
    at_or_below = np.searchsorted(sorted_values, values, side="right")
    return 100 * (below + 0.5 * (at_or_below - below)) / values.shape[0]


def over_mean_rate(mean: float | np.ndarray, reference_mean: float | np.ndarray) -> np.ndarray:
    """超均率 = (mean - reference mean) / reference mean."""
    return (np.asarray(mean) - np.asarray(reference_mean)) / np.asarray(reference_mean)


def score_bands(totals: np.ndarray, full_marks: float, width: float) -> list[dict]:
    """Counts in [lo, lo + width) bands from 0; the top band is closed to include full marks."""
    edges = np.arange(0, full_marks + width, width, dtype=np.float64)
    edges = edges[edges < full_marks]
    index = np.clip(np.floor(np.asarray(totals) / width).astype(np.int64), 0, len(edges) - 1)
    counts = np.bincount(index, minlength=len(edges))
    n = max(len(totals), 1)
    return [
        {
            "low": float(lo),
            "high": float(min(lo + width, full_marks)),
            "count": int(c),
            "share": float(c / n),
        }
        for lo, c in zip(edges, counts, strict=True)
    ]


def four_rates(totals: np.ndarray, full_marks: float, cuts: dict[str, float] | None = None) -> dict:
    """优秀/良好/及格 rates: share at or above the cut; 低分 rate: share below the low cut.

    Cuts are fractions of full marks (defaults 0.85/0.75/0.60/0.40).
    """
    cuts = {**DEFAULT_CUTS, **(cuts or {})}
    totals = np.asarray(totals, dtype=np.float64)
    n = max(totals.shape[0], 1)
    eps = 1e-9 * full_marks  # cut x full marks is not always exact in binary
    return {
        "excellent": float((totals >= cuts["excellent"] * full_marks - eps).sum() / n),
        "good": float((totals >= cuts["good"] * full_marks - eps).sum() / n),
        "pass": float((totals >= cuts["pass"] * full_marks - eps).sum() / n),
        "low": float((totals < cuts["low"] * full_marks - eps).sum() / n),
    }


def subject_contribution(subject_totals: np.ndarray, subjects: Sequence[str]) -> dict[str, float]:
    """Share of the variance of the grand total carried by each subject: cov(s, T) / var(T).

    The shares add up to 1; a subject that spreads students widely and agrees with the others
    contributes most to who ranks where.
    """
    x = np.asarray(subject_totals, dtype=np.float64)
    t = x.sum(axis=1)
    tc = t - t.mean()
    var_t = (tc**2).sum()
    if var_t == 0:
        return {s: float("nan") for s in subjects}
    return {s: float(((x[:, k] - x[:, k].mean()) * tc).sum() / var_t) for k, s in enumerate(subjects)}
