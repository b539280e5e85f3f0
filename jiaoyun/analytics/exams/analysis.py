"""One exam, every analysis: the function the `exam_analyze` command, tasks and the bench call."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pyarrow as pa

from jiaoyun.analytics.exams import classical, diagnosis, multilevel, reports
from jiaoyun.analytics.exams.tables import ExamDataError, ScoreMatrix, as_arrow, as_ibis, score_matrix
from jiaoyun.analytics.psychometrics import irt


@dataclass
class ExamOptions:
    band_width: float = 10.0
    cuts: dict[str, float] = field(default_factory=dict)
    group_fraction: float = 0.27
    irt_model: str = "auto"  # auto | none | rasch | 1pl | 2pl | gpcm
    borderline_cut: float | None = None  # fraction of full marks
    borderline_window: float = 5.0  # marks either side of the cut
    borderline_ranks: tuple[int, int] | None = None


@dataclass
class ExamAnalysis:
    summary: dict
    tables: dict[str, pa.Table]
    timings: dict[str, float] = field(default_factory=dict)


def irt_categories(m: ScoreMatrix, columns: np.ndarray) -> np.ndarray:
    """Objective items are right/wrong; subjective items score in whole marks (0..max)."""
    x = m.scores[:, columns]
    out = np.where(np.isnan(x), -1, np.rint(np.nan_to_num(x))).astype(np.int64)
    objective = m.kinds[columns] == "objective"
    out[:, objective] = np.where(
        x[:, objective] >= m.max_scores[columns][objective], 1, np.where(np.isnan(x[:, objective]), -1, 0)
    )
    return out


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_clean(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def analyze_exam(
    scores: Any,
    items: Any,
    *,
    prior: Any = None,
    teachers: Any = None,
    options: ExamOptions | None = None,
    clock=None,
) -> ExamAnalysis:
    """`prior`: table (student_id, score) of a previous exam; `teachers`: (class_id, teacher_id)."""
    import time

    opts = options or ExamOptions()
    clock = clock or time.perf_counter
    timings: dict[str, float] = {}
    start = clock()

    def lap(name: str) -> None:
        nonlocal start
        now = clock()
        timings[name] = now - start
        start = now

    scores_arrow, items_arrow = as_arrow(scores), as_arrow(items)
    m = score_matrix(scores_arrow, items_arrow)
    filled = m.filled()
    lap("matrix")
    subjects = sorted(set(m.subjects.tolist()))
    summary: dict[str, Any] = {"students": m.n_students, "items": len(m.item_ids), "subjects": {}}
    item_tables = []
    for subject in subjects:
        cols = m.subject_columns(subject)
        x = filled[:, cols]
        test = classical.test_statistics(x)
        stats = classical.item_statistics(x, m.max_scores[cols], group_fraction=opts.group_fraction)
        full = float(m.max_scores[cols].sum())
        totals = x.sum(axis=1)
        summary["subjects"][subject] = {
            "full_marks": full,
            "test": test,
            "four_rates": classical.four_rates(totals, full, opts.cuts),
            "bands": classical.score_bands(totals, full, opts.band_width),
        }
        item_tables.append(
            pa.table(
                {
                    "item_id": [m.item_ids[c] for c in cols],
                    "subject": [subject] * len(cols),
                    **{k: v for k, v in stats.items()},
                }
            )
        )
    lap("classical")

    s, it = as_ibis(scores_arrow), as_ibis(items_arrow)
    totals_expr = reports.student_totals(s, it)
    tables: dict[str, pa.Table] = {}
    tables["students"] = reports.student_report(totals_expr).to_pyarrow()
    t_totals = ibis.memtable(tables["students"])
    tables["units"] = reports.unit_summary(t_totals, cuts=opts.cuts).to_pyarrow()
    tables["bands"] = reports.score_band_counts(t_totals, width=opts.band_width).to_pyarrow()
    tables["item_rates"] = reports.item_rates_by_unit(s, it).to_pyarrow()
    groups = reports.score_groups(
        t_totals.filter(t_totals.subject != reports.TOTAL), fraction=opts.group_fraction
    )
    if "option" in scores_arrow.column_names and "kind" in items_arrow.column_names:
        tables["options"] = reports.option_analysis(s, it, groups).to_pyarrow()
    kp_by = [c for c in ("knowledge_point", "ability") if c in items_arrow.column_names]
    for c in kp_by:
        tables[f"{c}_rates"] = reports.knowledge_point_rates(s, it, by=(c,)).to_pyarrow()
    lap("reports")

    # Dubious items, with distractors that draw the upper group more than the lower.
    distractors: dict[str, dict[str, tuple[float, float]]] = {}
    if "options" in tables:
        for row in tables["options"].filter(pa.compute.invert(tables["options"]["is_key"])).to_pylist():
            if row["score_group"] in ("upper", "lower"):
                pair = distractors.setdefault(row["item_id"], {}).setdefault(row["option"], (0.0, 0.0))
                distractors[row["item_id"]][row["option"]] = (
                    (row["rate"], pair[1]) if row["score_group"] == "upper" else (pair[0], row["rate"])
                )
    flags = []
    for table in item_tables:
        ids = table["item_id"].to_pylist()
        stats = {k: table[k].to_numpy() for k in table.column_names if k not in ("item_id", "subject")}
        rates = {j: distractors[i] for j, i in enumerate(ids) if i in distractors}
        flags += [
            {"item_id": ids[f.item_index], "reason": f.reason}
            for f in classical.dubious_items(stats, distractor_rates=rates)
        ]
    tables["items"] = pa.concat_tables(item_tables)
    summary["dubious_items"] = flags
    lap("flags")

    if opts.irt_model != "none":
        summary["irt"] = {}
        for subject in subjects:
            cols = m.subject_columns(subject)
            y = irt_categories(m, cols)
            model = opts.irt_model
            if model == "auto":
                model = "gpcm" if y.max() > 1 else "2pl"
            fitted = irt.fit(y, model)
            abilities = irt.eap(fitted, y)
            fit_stats = irt.item_fit(fitted, y, abilities.theta)
            grid = np.linspace(-4, 4, 33)
            summary["irt"][subject] = {
                "model": model,
                "converged": fitted.converged,
                "iterations": fitted.n_iterations,
                "log_likelihood": fitted.log_likelihood,
                "latent_sd": fitted.latent_sd,
                "items": [
                    {
                        "item_id": m.item_ids[c],
                        "slope": fitted.slopes[k],
                        "slope_se": None if fitted.slope_se is None else fitted.slope_se[k],
                        "difficulties": fitted.difficulties[k][: fitted.n_categories[k] - 1],
                        "infit": fit_stats["infit"][k],
                        "outfit": fit_stats["outfit"][k],
                    }
                    for k, c in enumerate(cols)
                ],
                "test_information": {"theta": grid, "information": fitted.test_information(grid)},
            }
            tables[f"abilities_{subject}"] = pa.table(
                {"student_id": m.student_ids, "theta_eap": abilities.theta, "se": abilities.se}
            )
        lap("irt")

    grand = filled.sum(axis=1)
    summary["between_schools"] = multilevel.between_unit_difference(grand, m.school_ids.astype(str))
    summary["school_mean_and_spread"] = multilevel.unit_mean_and_spread(grand, m.school_ids.astype(str))
    if len(subjects) > 1:
        sub = np.stack([filled[:, m.subject_columns(s_)].sum(axis=1) for s_ in subjects], axis=1)
        summary["subject_contribution"] = classical.subject_contribution(sub, subjects)
    else:
        sub = grand[:, None]

    if opts.borderline_cut is not None or opts.borderline_ranks is not None:
        full = float(m.max_scores.sum())
        rows = diagnosis.borderline_students(
            grand,
            sub,
            subjects,
            cut_score=None if opts.borderline_cut is None else opts.borderline_cut * full,
            score_window=opts.borderline_window,
            rank_window=opts.borderline_ranks,
        )
        summary["borderline"] = [{"student_id": m.student_ids[r.pop("index")], **r} for r in rows]

    if prior is not None:
        pr = as_arrow(prior)
        lookup = dict(zip(pr["student_id"].to_pylist(), pr["score"].to_pylist(), strict=True))
        prior_scores = np.array([lookup.get(sid, np.nan) for sid in m.student_ids], dtype=np.float64)
        keep = ~np.isnan(prior_scores)
        if keep.sum() < 10:
            raise ExamDataError("prior exam: fewer than 10 students match this exam")
        # Centre the prior so the intercept is the expected score of an average student.
        centred = prior_scores[keep] - prior_scores[keep].mean()
        _, school_va = multilevel.value_added(grand[keep], centred, m.school_ids[keep].astype(str))
        class_fit, class_va = multilevel.value_added(grand[keep], centred, m.class_ids[keep].astype(str))
        summary["value_added"] = {"schools": school_va, "classes": class_va}
        if teachers is not None:
            tt = as_arrow(teachers)
            teacher_of = dict(
                zip([str(c) for c in tt["class_id"].to_pylist()], tt["teacher_id"].to_pylist(), strict=True)
            )
            class_ids = class_fit.group_ids
            known = [i for i, c in enumerate(class_ids) if c in teacher_of]
            kp_table = tables.get("knowledge_point_rates")
            if kp_table is not None and known:
                kp_rows = [r for r in kp_table.to_pylist() if r["level"] == "class"]
                kps = sorted({r["knowledge_point"] for r in kp_rows})
                rate = {(r["unit_id"], r["knowledge_point"]): r["rate"] for r in kp_rows}
                kp_matrix = np.array([[rate.get((class_ids[i], k), np.nan) for k in kps] for i in known])
                cls = m.class_ids[keep].astype(str)
                prior_mean = np.array([prior_scores[keep][cls == class_ids[i]].mean() for i in known])
                summary["teachers"] = diagnosis.teacher_diagnosis(
                    [class_ids[i] for i in known],
                    [teacher_of[class_ids[i]] for i in known],
                    class_fit.blup[known],
                    class_fit.blup_se[known],
                    prior_mean,
                    kp_matrix,
                    kps,
                )
    lap("multilevel")
    return ExamAnalysis(summary=_clean(summary), tables=tables, timings=timings)


def to_json_ready(result: ExamAnalysis) -> dict:
    return {"summary": result.summary, "tables": {k: _clean(v.to_pylist()) for k, v in result.tables.items()}}
