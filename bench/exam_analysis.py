"""Exam analysis at district size: 100,000 students x 40 items (25 objective, 15 partial credit).

Prints seconds and peak resident memory per stage, then IRT calibration side by side with the
`mirt` package (and girth on a 10,000-student sample) on the same data, with the largest
parameter differences. Run: .venv/bin/python bench/exam_analysis.py [--students N]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ibis

from jiaoyun.analytics.exams import classical, multilevel, reports
from jiaoyun.analytics.exams.analysis import irt_categories
from jiaoyun.analytics.exams.simulate import simulate_exam
from jiaoyun.analytics.exams.tables import score_matrix
from jiaoyun.analytics.psychometrics import irt

ROWS: list[tuple[str, float, str]] = []


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stage(name: str, fn, note: str = ""):
    start = time.perf_counter()
    out = fn()
    ROWS.append((name, time.perf_counter() - start, note))
    print(f"{name:<44} {ROWS[-1][1]:8.2f} s   peak {peak_mb():7.0f} MB  {note}", flush=True)
    return out


def import_sheets(exam) -> None:
    """Score sheets as scanning systems export them (one row per student, objective items as
    the letters chosen), imported end to end: read, validate against the roster, score the
    letters, write the Parquet the lake keeps."""
    import io
    import tempfile

    import polars as pl
    import pyarrow.parquet as pq
    import xlsxwriter

    from jiaoyun.assessment.scoresheets import ItemSpec, read_score_sheet

    items = exam.items.to_pylist()
    specs = [
        ItemSpec(item_id=k, number=str(k + 1), max_score=it["max_score"], objective=it["kind"] == "objective",
                 key=it["key"] or "", option_count=4)
        for k, it in enumerate(items)
    ]  # fmt: skip
    index = {it["item_id"]: k for k, it in enumerate(items)}
    long = pl.from_arrow(exam.scores)
    cell = (
        pl.when(pl.col("option").is_not_null())
        .then(pl.col("option"))
        .otherwise(pl.col("score").cast(pl.Int64, strict=False).cast(pl.String))
    )
    wide = (
        long.with_columns(
            pl.col("item_id").replace_strict(index, return_dtype=pl.Int64).alias("k"), cell.alias("cell")
        )
        .pivot(on="k", index="student_id", values="cell")
        .sort("student_id")
    )
    wide = wide.select(
        ("G" + pl.col("student_id").cast(pl.String)).alias("全国学籍号"),
        *[pl.col(str(k)).fill_null("").alias(str(k + 1)) for k in range(len(items))],
    )
    roster = pl.from_arrow(exam.students).select(
        ("G" + pl.col("student_id").cast(pl.String)).alias("student_no"),
        "student_id",
        pl.lit("").alias("name"),
        pl.col("school_id").cast(pl.Categorical).to_physical().cast(pl.Int64).alias("school_id"),
        pl.col("class_id").cast(pl.Categorical).to_physical().cast(pl.Int64).alias("class_id"),
    )
    csv_bytes = wide.write_csv().encode()
    book = io.BytesIO()
    workbook = xlsxwriter.Workbook(book, {"constant_memory": True})
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, wide.columns)
    for r, row in enumerate(wide.iter_rows(), start=1):
        sheet.write_row(r, 0, row)
    workbook.close()
    xlsx_bytes = book.getvalue()

    def run(data: bytes) -> int:
        sheet = read_score_sheet(data, items=specs, roster=roster)
        assert not sheet.issues, sheet.issues[:3]
        with tempfile.TemporaryDirectory() as folder:
            pq.write_table(sheet.scores, f"{folder}/scores.parquet", compression="zstd")
        return sheet.scores.num_rows

    note = f"{wide.height:,} students x {len(items)} items"
    stage(
        "import score sheet: csv (validate + Parquet)",
        lambda: run(csv_bytes),
        f"{note}, {len(csv_bytes) >> 20} MB",
    )
    stage(
        "import score sheet: xlsx (validate + Parquet)",
        lambda: run(xlsx_bytes),
        f"{note}, {len(xlsx_bytes) >> 20} MB",
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--girth-students", type=int, default=10_000)
    args = parser.parse_args()
    per_class = 50
    n_classes = max(1, args.students // per_class)
    exam = stage(
        "simulate",
        lambda: simulate_exam(
            seed=7,
            n_schools=max(1, n_classes // 10),
            classes_per_school=min(10, n_classes),
            students_per_class=per_class,
        ),
    )
    rows = exam.scores.num_rows
    import_sheets(exam)
    m = stage("pivot long -> matrix", lambda: score_matrix(exam.scores, exam.items), f"{rows:,} score rows")
    x = m.filled()
    stage("classical: test statistics (Moodle)", lambda: classical.test_statistics(x))
    stage("classical: item statistics (Moodle + 27%)", lambda: classical.item_statistics(x, m.max_scores))
    totals = x.sum(axis=1)
    stage(
        "classical: ranks, Z/T, percentile (numpy)",
        lambda: (
            classical.competition_rank(totals, m.school_ids.astype(str)),
            classical.z_scores(totals),
            classical.percentile_rank(totals),
        ),
    )

    s, it = ibis.memtable(exam.scores), ibis.memtable(exam.items)
    con = ibis.duckdb.connect()
    s_db = con.create_table("scores", exam.scores)
    it_db = con.create_table("items", exam.items)
    del s, it

    def materialise():
        tot = reports.student_totals(s_db, it_db)
        students = con.create_table("students", reports.student_report(tot).to_pyarrow(), overwrite=True)
        out = {"students": students.count().execute()}
        out["units"] = reports.unit_summary(students).to_pyarrow().num_rows
        out["bands"] = reports.score_band_counts(students, width=10).to_pyarrow().num_rows
        out["item_rates"] = reports.item_rates_by_unit(s_db, it_db).to_pyarrow().num_rows
        groups = reports.score_groups(students.filter(students.subject != reports.TOTAL))
        out["options"] = reports.option_analysis(s_db, it_db, groups).to_pyarrow().num_rows
        out["kp"] = reports.knowledge_point_rates(s_db, it_db).to_pyarrow().num_rows
        out["ability"] = reports.knowledge_point_rates(s_db, it_db, by=("ability",)).to_pyarrow().num_rows
        return out

    counts = stage("reports: every table (DuckDB via Ibis)", materialise)
    print("    rows:", counts)
    stage(
        "between-school ICC (REML)",
        lambda: multilevel.between_unit_difference(totals, m.school_ids.astype(str)),
    )
    prior = exam.students.filter(~exam.students["absent"].to_numpy(zero_copy_only=False))[
        "prior_score"
    ].to_numpy()
    stage(
        "value-added, classes (REML)",
        lambda: multilevel.value_added(totals, prior - prior.mean(), m.class_ids.astype(str)),
    )

    y = irt_categories(m, np.arange(len(m.item_ids)))
    dich = y[:, m.kinds == "objective"]
    ours_2pl = stage("IRT 2PL, 25 objective items: ours", lambda: irt.fit(dich, "2pl"))
    ours_mixed = stage("IRT 2PL+GPCM, all 40 items: ours", lambda: irt.fit(y, "gpcm"))
    stage("EAP abilities (40 items)", lambda: irt.eap(ours_mixed, y))
    stage("MAP abilities (40 items)", lambda: irt.map_estimate(ours_mixed, y))
    try:
        import mirt
    except ImportError:
        print("mirt not installed: no side-by-side")
        return
    mirt.fit_mirt(dich[:500, :5], model="2PL")  # warm the compiled backend outside the timing
    ref_2pl = stage("IRT 2PL, 25 objective items: mirt", lambda: mirt.fit_mirt(dich, model="2PL"))
    n_obj = int((m.kinds == "objective").sum())
    ref_mixed = stage(
        "IRT 2PL+GPCM, all 40 items: mirt",
        lambda: mirt.fit_mirt(y, model=["2PL"] * n_obj + ["GPCM"] * (y.shape[1] - n_obj)),
    )
    p = ref_2pl.model.parameters
    print(
        f"    2PL  max |a - a_mirt| = {np.abs(ours_2pl.slopes - p['discrimination']).max():.4f}   max |b - b_mirt| = {np.abs(ours_2pl.difficulties[:, 0] - p['difficulty']).max():.4f}   logL {ours_2pl.log_likelihood:.2f} vs {ref_2pl.log_likelihood:.2f}   iterations {ours_2pl.n_iterations} vs {ref_2pl.n_iterations}"
    )
    q = ref_mixed.model.parameters
    slopes = np.r_[q["2PL.discrimination"], q["GPCM.discrimination"]]
    steps = ours_mixed.difficulties[n_obj:]
    ref_steps = q["GPCM.steps"]
    mask = ~np.isnan(steps) & ~np.isnan(ref_steps[:, : steps.shape[1]])
    print(
        f"    GPCM max |a - a_mirt| = {np.abs(ours_mixed.slopes - slopes).max():.4f}   max |step - step_mirt| = {np.abs(steps[mask] - ref_steps[:, : steps.shape[1]][mask]).max():.4f}   logL {ours_mixed.log_likelihood:.2f} vs {ref_mixed.log_likelihood:.2f}"
    )
    try:
        import girth
    except ImportError:
        return
    sample = dich[: args.girth_students]
    ours_small = stage(f"IRT 2PL, {len(sample):,} students: ours", lambda: irt.fit(sample, "2pl"))
    g = stage(f"IRT 2PL, {len(sample):,} students: girth", lambda: girth.twopl_mml(sample.T))
    print(
        f"    girth max |a - a_girth| = {np.abs(ours_small.slopes - g['Discrimination']).max():.4f}   max |b - b_girth| = {np.abs(ours_small.difficulties[:, 0] - g['Difficulty']).max():.4f} (girth integrates on a uniform grid, not Gauss-Hermite)"
    )


if __name__ == "__main__":
    main()
