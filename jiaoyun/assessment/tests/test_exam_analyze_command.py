"""The file-in, JSON-out command on a small simulated district (no database touched)."""

import json

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from jiaoyun.analytics.exams import classical
from jiaoyun.analytics.exams.simulate import simulate_exam
from jiaoyun.analytics.exams.tables import score_matrix


def test_exam_analyze_writes_every_section(tmp_path):
    exam = simulate_exam(
        seed=4,
        n_schools=4,
        classes_per_school=2,
        students_per_class=25,
        n_objective=6,
        n_subjective=3,
        subjective_max=(2, 3),
        subjects=("数学", "物理"),
    )
    pq.write_table(exam.scores, tmp_path / "scores.parquet")
    pacsv.write_csv(exam.items.drop_columns(["a", "b"]), tmp_path / "items.csv")
    st = exam.students
    pq.write_table(
        pa.table({"student_id": st["student_id"], "score": st["prior_score"]}), tmp_path / "prior.parquet"
    )
    pairs = sorted(set(zip(st["class_id"].to_pylist(), st["teacher_id"].to_pylist(), strict=True)))
    pq.write_table(
        pa.table({"class_id": [c for c, _ in pairs], "teacher_id": [t for _, t in pairs]}),
        tmp_path / "teachers.parquet",
    )
    out = tmp_path / "report.json"
    call_command(
        "exam_analyze",
        "--scores", str(tmp_path / "scores.parquet"),
        "--items", str(tmp_path / "items.csv"),
        "--prior", str(tmp_path / "prior.parquet"),
        "--teachers", str(tmp_path / "teachers.parquet"),
        "--borderline-ranks", "20-30",
        "--cuts", "excellent=0.9",
        "--out", str(out),
    )  # fmt: skip
    report = json.loads(out.read_text(encoding="utf-8"))
    summary = report["summary"]
    present = sum(1 for a in st["absent"].to_pylist() if not a)
    assert summary["students"] == present
    # The command's numbers are the kernels' numbers on the same matrix.
    m = score_matrix(exam.scores, exam.items)
    math_cols = m.subject_columns("数学")
    expected = classical.test_statistics(m.filled()[:, math_cols])
    assert summary["subjects"]["数学"]["test"]["cic"] == pytest.approx(expected["cic"], rel=1e-12)
    assert summary["subjects"]["数学"]["four_rates"]["excellent"] == pytest.approx(
        classical.four_rates(
            m.filled()[:, math_cols].sum(axis=1),
            summary["subjects"]["数学"]["full_marks"],
            {"excellent": 0.9},
        )["excellent"]
    )
    assert summary["irt"]["数学"]["model"] == "gpcm" and summary["irt"]["数学"]["converged"]
    assert {r["rank"] for r in summary["borderline"]} <= set(range(20, 31))
    assert len(summary["value_added"]["schools"]) == 4
    assert {t["teacher_id"] for t in summary["teachers"]} == {t for _, t in pairs}
    assert set(summary["subject_contribution"]) == {"数学", "物理"}
    assert {"students", "units", "bands", "item_rates", "options", "knowledge_point_rates", "items"} <= set(
        report["tables"]
    )
    assert len(report["tables"]["students"]) == 3 * present  # two subjects and the total


def test_exam_analyze_reports_bad_input(tmp_path):
    pq.write_table(
        pa.table(
            {"student_id": [1], "school_id": ["A"], "class_id": ["A1"], "item_id": ["q9"], "score": [1.0]}
        ),
        tmp_path / "s.parquet",
    )
    pq.write_table(pa.table({"item_id": ["q1"], "max_score": [1.0]}), tmp_path / "i.parquet")
    with pytest.raises(CommandError, match="not in items"):
        call_command(
            "exam_analyze",
            "--scores",
            str(tmp_path / "s.parquet"),
            "--items",
            str(tmp_path / "i.parquet"),
            "--out",
            str(tmp_path / "o.json"),
        )
