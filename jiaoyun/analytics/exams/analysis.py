"""One exam, every analysis: the function the `exam_analyze` command, tasks and the bench call."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jiaoyun.analytics.exams import classical, diagnosis, multilevel, reports
from jiaoyun.analytics.exams.tables import (
    ExamDataError,
    ScoreMatrix,
    as_arrow,
    as_ibis,
    check_columns,
    score_matrix,
)
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
    weakest_top: int = 5  # items (and knowledge points) listed per unit in wrong-question analysis


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


def json_ready(value: Any) -> Any:
    """Numpy scalars and arrays as plain Python; NaN and infinities as None."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_ready(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


_SEPARATOR = "\x1f"  # joins subject and key into one label; never part of a name


def _labelled(table: pa.Table, key: str) -> pa.Table:
    """Add `label` = subject + key: a knowledge point's name may recur in several subjects."""
    label = pc.binary_join_element_wise(
        table["subject"].cast(pa.string()), table[key].cast(pa.string()), _SEPARATOR
    )
    return table.append_column("label", label)


def _unit_matrix(table: pa.Table, level: str, key: str, value: str) -> tuple[list, list, np.ndarray]:
    """Units of one level x keys (items or knowledge points) of a long rate table, NaN where a
    unit has no row for a key."""
    rows = table.filter(pc.equal(table["level"], level))
    unit_codes = pc.dictionary_encode(rows["unit_id"].combine_chunks())
    key_codes = pc.dictionary_encode(rows[key].combine_chunks())
    units = unit_codes.dictionary.to_pylist()
    keys = key_codes.dictionary.to_pylist()
    out = np.full((len(units), len(keys)), np.nan)
    out[unit_codes.indices.to_numpy(), key_codes.indices.to_numpy()] = rows[value].to_numpy()
    return units, keys, out


def wrong_question_tables(
    rates: pa.Table, key: str, *, top: int = 5, previous: pa.Table | None = None
) -> dict[str, pa.Table]:
    """Wrong-question analysis (错题分析) of a rate table (`item_rates` or `knowledge_point_rates`):
    per school and class, the `top` keys where its score rate falls furthest below the district's,
    with the unit's place among its peers on that key (1 = highest rate); and, given the same
    table of a previous exam, every unit's gap now next to its gap then (knowledge points, not
    items, carry over between exams)."""
    rates = _labelled(rates, key)
    district = rates.filter(pc.equal(rates["level"], reports.DISTRICT_UNIT))
    district_rate = dict(zip(district["label"].to_pylist(), district["rate"].to_pylist(), strict=True))
    columns = (
        "level",
        "unit_id",
        "subject",
        "position",
        key,
        "rate",
        "district_rate",
        "gap",
        "peer_rank",
        "peers",
    )
    weakest: dict[str, list] = {c: [] for c in columns}
    for level in ("school", "class"):
        units, labels, matrix = _unit_matrix(rates, level, "label", "rate")
        if not units:
            continue
        reference = np.array([district_rate[k] for k in labels])
        # A unit without a row for a key (nobody there sat it) is out of that key's ranking.
        filled = np.where(np.isnan(matrix), -np.inf, matrix)
        ordered = np.sort(filled, axis=0)
        # Competition rank among peers, highest rate first: 1 + the peers with a higher rate.
        peer_rank = np.stack(
            [
                len(units) - np.searchsorted(ordered[:, j], filled[:, j], side="right") + 1
                for j in range(len(labels))
            ],
            axis=1,
        )
        peers = (~np.isnan(matrix)).sum(axis=0)
        unit_rates = {u: np.where(np.isnan(matrix[i]), np.inf, matrix[i]) for i, u in enumerate(units)}
        found = diagnosis.weakest_items(unit_rates, reference, list(range(len(labels))), top=top)
        for i, unit in enumerate(units):
            for position, row in enumerate(found[unit], start=1):
                j = row["item_id"]
                subject, name = labels[j].split(_SEPARATOR, 1)
                values = (level, unit, subject, position, name, row["rate"], float(reference[j]), row["gap"])
                for c, v in zip(columns, (*values, int(peer_rank[i, j]), int(peers[j])), strict=True):
                    weakest[c].append(v)
    string, number = pa.string(), pa.float64()
    types = (string, string, string, pa.int64(), string, number, number, number, pa.int64(), pa.int64())
    out = {"weakest": pa.table(weakest, schema=pa.schema(list(zip(columns, types, strict=True))))}
    if previous is not None:
        previous = _labelled(previous, key)
        trend_columns = ("level", "unit_id", "subject", key, "gap", "previous_gap", "change")
        trend: dict[str, list] = {c: [] for c in trend_columns}
        for level in ("district", "school", "class"):
            gaps: list[dict[str, dict]] = []
            for table in (rates, previous):
                rows = table.filter(pc.equal(table["level"], level))
                by_unit: dict[str, dict] = {}
                for u, k, g in zip(
                    rows["unit_id"].cast(pa.string()).to_pylist(),
                    rows["label"].to_pylist(),
                    rows["rate_vs_district"].to_pylist(),
                    strict=True,
                ):
                    by_unit.setdefault(u, {})[k] = g
                gaps.append(by_unit)
            for u in sorted(set(gaps[0]) | set(gaps[1])):
                for row in diagnosis.compare_with_previous(gaps[0].get(u, {}), gaps[1].get(u, {})):
                    subject, name = row["key"].split(_SEPARATOR, 1)
                    trend_values = (level, u, subject, name, row["gap"], row["previous_gap"], row["change"])
                    for c, v in zip(trend_columns, trend_values, strict=True):
                        trend[c].append(v)
        trend_types = (string, string, string, string, number, number, number)
        out["trend"] = pa.table(trend, schema=pa.schema(list(zip(trend_columns, trend_types, strict=True))))
    return out


def analyze_exam(
    scores: Any,
    items: Any,
    *,
    prior: Any = None,
    teachers: Any = None,
    previous_rates: Any = None,
    options: ExamOptions | None = None,
    clock=None,
    backend: Any = None,
) -> ExamAnalysis:
    """`prior`: table (student_id, score) of a previous exam; `teachers`: (class_id, teacher_id);
    `previous_rates`: the `knowledge_point_rates` table of a previous exam (level, unit_id,
    knowledge_point, rate_vs_district), for the knowledge-point trend of wrong-question analysis;
    `backend`: the Ibis backend that runs the report queries (a fresh in-process DuckDB by
    default: one connection, each input registered once)."""
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

    con = backend if backend is not None else ibis.duckdb.connect()
    s, it = as_ibis(scores_arrow), as_ibis(items_arrow)
    totals_expr = reports.student_totals(s, it)
    tables: dict[str, pa.Table] = {}
    tables["students"] = con.to_pyarrow(reports.student_report(totals_expr))
    t_totals = ibis.memtable(tables["students"])
    tables["units"] = con.to_pyarrow(reports.unit_summary(t_totals, cuts=opts.cuts))
    tables["bands"] = con.to_pyarrow(reports.score_band_counts(t_totals, width=opts.band_width))
    tables["item_rates"] = con.to_pyarrow(reports.item_rates_by_unit(s, it))
    groups = reports.score_groups(
        t_totals.filter(t_totals.subject != reports.TOTAL), fraction=opts.group_fraction
    )
    if "option" in scores_arrow.column_names and "kind" in items_arrow.column_names:
        tables["options"] = con.to_pyarrow(reports.option_analysis(s, it, groups))
    kp_by = [c for c in ("knowledge_point", "ability") if c in items_arrow.column_names]
    for c in kp_by:
        tables[f"{c}_rates"] = con.to_pyarrow(reports.knowledge_point_rates(s, it, by=(c,)))
    # Wrong-question analysis: always across schools and classes; against a previous exam's
    # knowledge-point gaps when it is given (items differ between exams, knowledge points do not).
    tables["weakest_items"] = wrong_question_tables(tables["item_rates"], "item_id", top=opts.weakest_top)[
        "weakest"
    ]
    if "knowledge_point_rates" in tables:
        previous = None if previous_rates is None else as_arrow(previous_rates)
        if previous is not None:
            check_columns(
                previous, ("level", "unit_id", "knowledge_point", "rate_vs_district"), "previous rates"
            )
        wrong = wrong_question_tables(
            tables["knowledge_point_rates"], "knowledge_point", top=opts.weakest_top, previous=previous
        )
        tables["weakest_knowledge_points"] = wrong["weakest"]
        if "trend" in wrong:
            tables["knowledge_point_trend"] = wrong["trend"]
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
        ids = pa.array(m.student_ids)
        position = pc.index_in(ids, value_set=pr["student_id"].cast(ids.type))
        prior_scores = (
            pc.take(pr["score"], position).to_numpy(zero_copy_only=False).astype(np.float64)
        )  # null (no prior score) becomes NaN
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
                # One column per subject and knowledge point; the subject is named only when the
                # exam has more than one (a name may recur across subjects).
                units, labels, kp_rates = _unit_matrix(
                    _labelled(kp_table, "knowledge_point"), "class", "label", "rate"
                )
                several = len({lab.split(_SEPARATOR, 1)[0] for lab in labels}) > 1
                names = [
                    lab.replace(_SEPARATOR, "·") if several else lab.split(_SEPARATOR, 1)[1] for lab in labels
                ]
                order = sorted(range(len(names)), key=lambda k: names[k])
                kps = [names[k] for k in order]
                unit_index = {u: i for i, u in enumerate(units)}
                kp_matrix = np.array(
                    [
                        kp_rates[unit_index[class_ids[i]], order]
                        if class_ids[i] in unit_index
                        else np.full(len(kps), np.nan)
                        for i in known
                    ]
                )
                # Mean prior score of each class, by class code (group_ids are sorted labels).
                cls = m.class_ids[keep].astype(str)
                codes = np.searchsorted(np.asarray(class_ids), cls)
                sums = np.bincount(codes, weights=prior_scores[keep], minlength=len(class_ids))
                prior_mean = (sums / np.bincount(codes, minlength=len(class_ids)))[known]
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
    return ExamAnalysis(summary=json_ready(summary), tables=tables, timings=timings)


def to_json_ready(result: ExamAnalysis) -> dict:
    return {
        "summary": result.summary,
        "tables": {k: json_ready(v.to_pylist()) for k, v in result.tables.items()},
    }
