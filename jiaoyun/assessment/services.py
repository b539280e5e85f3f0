"""Every write of the assessment app."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from django.db import transaction
from django.utils import timezone

from jiaoyun.accounts import audit
from jiaoyun.accounts.models import AuditEvent
from jiaoyun.accounts.scopes import Scope
from jiaoyun.analytics.exams import diagnosis, multilevel
from jiaoyun.analytics.exams.analysis import ExamOptions, analyze_exam, json_ready
from jiaoyun.analytics.exams.reports import TOTAL
from jiaoyun.assessment import storage
from jiaoyun.assessment.models import Exam, FollowUpPlan, Item, Paper
from jiaoyun.assessment.scoresheets import ItemSpec, ScoreSheet, read_score_sheet
from jiaoyun.core.models import Student, Subject, Teacher, TeachingAssignment


@dataclass
class ScoreImportResult:
    sheet: ScoreSheet
    applied: bool


def exam_roster(*, exam: Exam, viewer: Scope) -> pl.DataFrame:
    """The students who may appear on this exam's score sheets when `viewer` uploads
    them: the exam's grade in the exam's schools, narrowed to the schools the viewer
    administers (district staff: all)."""
    students = Student.objects.filter(
        status=Student.Status.ENROLLED, school_class__grade__level=exam.grade_level
    )
    if exam.school_id:
        students = students.filter(school_id=exam.school_id)
    if not viewer.district:
        students = students.filter(school_id__in=viewer.admin_school_ids)
    rows = students.values_list("student_no", "id", "name", "school_id", "school_class_id")
    return pl.DataFrame(
        list(rows),
        schema={"student_no": pl.String, "student_id": pl.Int64, "name": pl.String,
                "school_id": pl.Int64, "class_id": pl.Int64},
        orient="row",
    )  # fmt: skip


def item_specs(paper: Paper) -> list[ItemSpec]:
    return [
        ItemSpec(
            item_id=i.pk,
            number=i.number,
            max_score=float(i.max_score),
            objective=i.kind == Item.Kind.OBJECTIVE,
            key=i.key,
            option_count=i.option_count or 4,
        )
        for i in paper.items.order_by("position")
    ]


def store_scores(*, paper: Paper, scores: pa.Table, sittings: pa.Table) -> None:
    """Write a paper's scores and sittings to the lake and record them on the paper (the
    caller holds the paper's row lock). Uploads and the demo generator both come here."""
    storage.write_atomically(sittings, storage.sittings_path(paper.exam_id, paper.pk))
    paper.scores_version = storage.write_atomically(scores, storage.scores_path(paper.exam_id, paper.pk))
    absent = int(pc.sum(sittings["absent"]).as_py() or 0)
    paper.students_absent = absent
    paper.students_scored = sittings.num_rows - absent
    paper.save(update_fields=["scores_version", "students_absent", "students_scored"])


def import_scores(*, paper: Paper, data: bytes, viewer: Scope, request=None) -> ScoreImportResult:  # type: ignore[no-untyped-def]
    """Validate a score sheet; if it has no problem, replace the paper's scores of the
    schools the uploader is responsible for (other schools' scores stay) in the lake."""
    roster = exam_roster(exam=paper.exam, viewer=viewer)
    sheet = read_score_sheet(data, items=item_specs(paper), roster=roster)
    if sheet.issues or sheet.scores is None or sheet.sittings is None:
        return ScoreImportResult(sheet=sheet, applied=False)
    responsible = pa.array(sorted(set(roster["school_id"].to_list())), type=pa.int64())
    with transaction.atomic():
        locked = Paper.objects.select_for_update().get(pk=paper.pk)
        scores, sittings = sheet.scores, sheet.sittings
        old_scores = storage.read(storage.scores_path(locked.exam_id, locked.pk))
        old_sittings = storage.read(storage.sittings_path(locked.exam_id, locked.pk))
        if old_scores is not None and old_sittings is not None and not viewer.district:
            keep = pc.invert(pc.is_in(old_scores["school_id"], value_set=responsible))
            scores = pa.concat_tables([old_scores.filter(keep), scores.cast(old_scores.schema)])
            keep = pc.invert(pc.is_in(old_sittings["school_id"], value_set=responsible))
            sittings = pa.concat_tables([old_sittings.filter(keep), sittings.cast(old_sittings.schema)])
        store_scores(paper=locked, scores=scores, sittings=sittings)
        audit.record(
            action=AuditEvent.Action.IMPORT,
            target=f"exam:{locked.exam_id}:paper:{locked.pk}",
            request=request,
            detail={"present": sheet.present, "absent": sheet.absent},
        )
        request_analysis(exam=paper.exam)
    return ScoreImportResult(sheet=sheet, applied=True)


# ---------------------------------------------------------------------------------------
# Analysis: the exam's papers from the lake through `analyze_exam`, materialised next to
# the scores. Constants rather than settings: they are the defaults the reports explain.

SCORE_SCHEMA = pa.schema(
    [("student_id", pa.int64()), ("school_id", pa.int64()), ("class_id", pa.int64()),
     ("item_id", pa.int64()), ("score", pa.float64()), ("option", pa.string())]
)  # fmt: skip
# IRT calibration is only meaningful, and only worth its seconds, with enough students.
IRT_MIN_STUDENTS = 200
# 临界生: a window around the pass line (60% of the total full marks), 3% of full marks wide
# on either side.
MIN_PRIOR_MATCHES = 10


class AnalysisError(Exception):
    pass


def analysis_inputs(exam: Exam) -> str:
    """A fingerprint of the scores an analysis reads: it changes with any import."""
    versions = sorted(
        (p.pk, p.scores_version) for p in Paper.objects.filter(exam=exam).exclude(scores_version="")
    )
    return hashlib.sha256(repr(versions).encode()).hexdigest()[:32] if versions else ""


def request_analysis(*, exam: Exam) -> None:
    """Mark the exam queued and enqueue the task once the scores are committed (the worker
    must see them)."""
    from jiaoyun.assessment import tasks

    Exam.objects.filter(pk=exam.pk).update(analysis_status=Exam.AnalysisStatus.QUEUED, analysis_error="")
    exam_id = exam.pk
    transaction.on_commit(lambda: tasks.analyze_exam_task.enqueue(exam_id))


def read_exam_scores(exam: Exam) -> tuple[pa.Table, pa.Table]:
    """The long scores of every paper that has them, and the item table `analyze_exam`
    reads (subject by name; an item's first knowledge point is the one it is analysed under)."""
    papers = list(Paper.objects.filter(exam=exam).exclude(scores_version="").select_related("subject"))
    parts = []
    for paper in papers:
        table = storage.read(storage.scores_path(exam.pk, paper.pk))
        if table is not None and table.num_rows:
            parts.append(table.select(SCORE_SCHEMA.names).cast(SCORE_SCHEMA))
    if not parts:
        raise AnalysisError("no scores")
    scores = pa.concat_tables(parts)
    # A student without a class in the register still counts for the school and district.
    scores = scores.set_column(2, "class_id", pc.fill_null(scores["class_id"], 0))
    rows = (
        Item.objects.filter(paper__in=papers)
        .select_related("paper__subject")
        .order_by("paper__subject__code", "position")
    )
    items: dict[str, list[Any]] = {k: [] for k in (
        "item_id", "number", "subject", "max_score", "kind", "key", "knowledge_point", "ability", "question_type"
    )}  # fmt: skip
    for item in rows:
        kps = item.knowledge_point_list
        items["item_id"].append(item.pk)
        items["number"].append(item.number)
        items["subject"].append(item.paper.subject.name)
        items["max_score"].append(float(item.max_score))
        items["kind"].append(item.kind)
        items["key"].append(item.key or None)
        items["knowledge_point"].append(kps[0] if kps else "")
        items["ability"].append(item.ability or "")
        items["question_type"].append(item.question_type or "")
    item_table = pa.table(items, schema=pa.schema([
        ("item_id", pa.int64()), ("number", pa.string()), ("subject", pa.string()), ("max_score", pa.float64()),
        ("kind", pa.string()), ("key", pa.string()), ("knowledge_point", pa.string()), ("ability", pa.string()),
        ("question_type", pa.string()),
    ]))  # fmt: skip
    return scores, item_table


def student_subject_totals(exam: Exam) -> dict[str, dict[int, float]]:
    """Per subject name (and TOTAL): each student's score, straight from the raw scores."""
    scores, items = read_exam_scores(exam)
    subject_of = dict(zip(items["item_id"].to_pylist(), items["subject"].to_pylist(), strict=True))
    frame = pl.from_arrow(scores.select(["student_id", "item_id", "score"]))
    assert isinstance(frame, pl.DataFrame)
    frame = frame.with_columns(
        pl.col("item_id").replace_strict(subject_of, return_dtype=pl.String).alias("subject")
    )
    out: dict[str, dict[int, float]] = {}
    for (subject,), part in frame.group_by(["subject"]):
        sums = part.group_by("student_id").agg(pl.col("score").sum())
        out[str(subject)] = dict(zip(sums["student_id"].to_list(), sums["score"].to_list(), strict=True))
    totals = frame.group_by("student_id").agg(pl.col("score").sum())
    out[TOTAL] = dict(zip(totals["student_id"].to_list(), totals["score"].to_list(), strict=True))
    return out


def _subject_value_added(
    *,
    exam: Exam,
    scores: pa.Table,
    items: pa.Table,
    prior: dict[str, dict[int, float]] | None,
    kp_rates: pa.Table | None,
) -> tuple[pa.Table, dict[str, list[dict]]]:
    """Value-added of classes per subject (this subject's score on the prior score of the
    same subject, or the prior total when the prior exam lacks the subject), and the
    diagnosis of each subject's teachers, whose classes come from the register's teaching
    assignments."""
    rows: list[dict] = []
    teachers: dict[str, list[dict]] = {}
    if not prior:
        return pa.table({"subject": pa.array([], pa.string())}), teachers
    subject_of = dict(zip(items["item_id"].to_pylist(), items["subject"].to_pylist(), strict=True))
    frame = pl.from_arrow(scores.select(["student_id", "class_id", "item_id", "score"]))
    assert isinstance(frame, pl.DataFrame)
    frame = frame.with_columns(
        pl.col("item_id").replace_strict(subject_of, return_dtype=pl.String).alias("subject")
    )
    per_student = frame.group_by(["subject", "student_id", "class_id"]).agg(pl.col("score").sum())
    subject_ids = {s.name: s.pk for s in Subject.objects.filter(name__in=set(subject_of.values()))}
    for subject in sorted(set(subject_of.values())):
        part = per_student.filter(pl.col("subject") == subject).sort("student_id")
        lookup = prior.get(subject) or prior.get(TOTAL) or {}
        prior_scores = np.array(
            [lookup.get(s, np.nan) for s in part["student_id"].to_list()], dtype=np.float64
        )
        keep = ~np.isnan(prior_scores)
        classes = np.array(part["class_id"].to_list())[keep]
        if keep.sum() < MIN_PRIOR_MATCHES or len(set(classes.tolist())) < 2:
            continue
        current = part["score"].to_numpy()[keep]
        centred = prior_scores[keep] - prior_scores[keep].mean()
        fit, va = multilevel.value_added(current, centred, classes.astype(str))
        rows += [{"subject": subject, **r, "unit_id": int(r["unit_id"])} for r in va]
        teacher_of = dict(
            TeachingAssignment.objects.filter(
                subject_id=subject_ids.get(subject, 0), school_class_id__in=[int(c) for c in fit.group_ids]
            ).values_list("school_class_id", "teacher_id")
        )
        known = [i for i, c in enumerate(fit.group_ids) if int(c) in teacher_of]
        if kp_rates is None or len(known) < 2:
            continue
        kp_rows = [r for r in kp_rates.to_pylist() if r["level"] == "class" and r["subject"] == subject
                   and r["knowledge_point"]]  # fmt: skip
        kps = sorted({r["knowledge_point"] for r in kp_rows})
        if not kps:
            continue
        rate = {(r["unit_id"], r["knowledge_point"]): r["rate"] for r in kp_rows}
        kp_matrix = np.array([[rate.get((fit.group_ids[i], k), np.nan) for k in kps] for i in known])
        class_labels = classes.astype(str)
        prior_mean = np.array([prior_scores[keep][class_labels == fit.group_ids[i]].mean() for i in known])
        teachers[subject] = diagnosis.teacher_diagnosis(
            [int(fit.group_ids[i]) for i in known],
            [teacher_of[int(fit.group_ids[i])] for i in known],
            fit.blup[known],
            fit.blup_se[known],
            prior_mean,
            kp_matrix,
            kps,
        )
    table = pa.Table.from_pylist(rows) if rows else pa.table({"subject": pa.array([], pa.string())})
    return table, teachers


def exam_options(exam: Exam, *, full_marks: float, n_students: int) -> ExamOptions:
    """The exam's own cut lines and borderline rule, as the analytics take them."""
    ranks = (
        (exam.borderline_rank_from, exam.borderline_rank_to)
        if exam.borderline_rank_from and exam.borderline_rank_to
        else None
    )
    return ExamOptions(
        irt_model="auto" if n_students >= IRT_MIN_STUDENTS else "none",
        band_width=float(exam.band_width),
        cuts={
            "excellent": float(exam.excellent_cut), "good": float(exam.good_cut),
            "pass": float(exam.pass_cut), "low": float(exam.low_cut),
        },
        borderline_cut=None if ranks else float(exam.borderline_line),
        borderline_window=round(float(exam.borderline_window) * full_marks, 1),
        borderline_ranks=ranks,
    )  # fmt: skip


def analyze(*, exam: Exam) -> Exam:
    """Analyse the exam from its scores in the lake and publish the results as a new
    version (Parquet tables and a JSON summary). The exam's status says how it went; the
    previous version stays in use until the new one is complete."""
    Exam.objects.filter(pk=exam.pk).update(analysis_status=Exam.AnalysisStatus.RUNNING, analysis_error="")
    staging = None
    try:
        inputs = analysis_inputs(exam)
        scores, items = read_exam_scores(exam)
        prior = prior_total = None
        if exam.prior_id:
            try:
                prior = student_subject_totals(exam.prior)  # type: ignore[arg-type]
            except AnalysisError:
                prior = None
            if prior:
                present = set(pc.unique(scores["student_id"]).to_pylist())
                matched = {k: v for k, v in prior[TOTAL].items() if k in present}
                if len(matched) >= MIN_PRIOR_MATCHES:
                    prior_total = pa.table({"student_id": list(matched), "score": list(matched.values())},
                                           schema=pa.schema([("student_id", pa.int64()), ("score", pa.float64())]))  # fmt: skip
                else:
                    prior = None
        n_students = len(pc.unique(scores["student_id"]))
        full = float(pc.sum(items["max_score"]).as_py())
        options = exam_options(exam, full_marks=full, n_students=n_students)
        result = analyze_exam(scores, items.drop_columns(["number"]), prior=prior_total, options=options)
        tables = dict(result.tables)
        abilities = [
            t.append_column("subject", pa.array([name.removeprefix("abilities_")] * t.num_rows, pa.string()))
            for name, t in tables.items() if name.startswith("abilities_")
        ]  # fmt: skip
        tables = {k: v for k, v in tables.items() if not k.startswith("abilities_")}
        if abilities:
            tables["abilities"] = pa.concat_tables(abilities)
        tables["item_meta"] = items
        class_va, teacher_diagnosis = _subject_value_added(
            exam=exam, scores=scores, items=items, prior=prior, kp_rates=tables.get("knowledge_point_rates")
        )
        tables["subject_value_added"] = class_va
        summary = dict(result.summary)
        summary.update(json_ready({
            "exam_id": exam.pk,
            "prior_exam_id": exam.prior_id if prior else None,
            "full_marks": full,
            "borderline_line": float(exam.borderline_line) * full,
            "borderline_window": options.borderline_window,
            "teacher_diagnosis": teacher_diagnosis,
            "irt_model": options.irt_model,
        }))  # fmt: skip
        staging = storage.write_analysis(exam.pk, tables, summary)
        with transaction.atomic():
            locked = Exam.objects.select_for_update().get(pk=exam.pk)
            version = locked.analysis_version + 1
            storage.publish_analysis(staging, exam.pk, version)
            staging = None
            locked.analysis_version = version
            locked.analysis_status = Exam.AnalysisStatus.DONE
            locked.analysed_at = timezone.now()
            locked.analysis_inputs = inputs
            locked.analysis_error = ""
            locked.save(update_fields=["analysis_version", "analysis_status", "analysed_at",
                                       "analysis_inputs", "analysis_error"])  # fmt: skip
        storage.prune_analyses(exam.pk, keep=version)
        return locked
    except Exception as exc:
        if staging is not None:
            storage.discard(staging)
        message = "no scores" if isinstance(exc, AnalysisError) else f"{type(exc).__name__}: {exc}"
        Exam.objects.filter(pk=exam.pk).update(analysis_status=Exam.AnalysisStatus.FAILED,
                                               analysis_error=message[:2000])  # fmt: skip
        raise


def save_follow_up_plan(
    *,
    student: Student,
    exam: Exam,
    teacher: Teacher,
    plan: str,
    target: Any = None,
    subject: Subject | None = None,
    status: str = FollowUpPlan.Status.OPEN,
    pk: int | None = None,
) -> FollowUpPlan:
    """Record (or update) a teacher's plan for one borderline student of one exam."""
    with transaction.atomic():
        obj = (
            FollowUpPlan.objects.select_for_update().get(pk=pk, student=student)
            if pk
            else FollowUpPlan(student=student, exam=exam, teacher=teacher)
        )
        obj.plan, obj.target, obj.subject, obj.status = plan, target, subject, status
        obj.save()
    return obj
