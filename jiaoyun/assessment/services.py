"""Every write of the assessment app."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from django.db import transaction

from jiaoyun.accounts import audit
from jiaoyun.accounts.models import AuditEvent
from jiaoyun.accounts.scopes import Scope
from jiaoyun.assessment import storage
from jiaoyun.assessment.models import Exam, Item, Paper
from jiaoyun.assessment.scoresheets import ItemSpec, ScoreSheet, read_score_sheet
from jiaoyun.core.models import Student


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
        storage.write_atomically(sittings, storage.sittings_path(locked.exam_id, locked.pk))
        locked.scores_version = storage.write_atomically(
            scores, storage.scores_path(locked.exam_id, locked.pk)
        )
        absent = int(pc.sum(sittings["absent"]).as_py() or 0)
        locked.students_absent = absent
        locked.students_scored = sittings.num_rows - absent
        locked.save(update_fields=["scores_version", "students_absent", "students_scored"])
        audit.record(
            action=AuditEvent.Action.IMPORT,
            target=f"exam:{locked.exam_id}:paper:{locked.pk}",
            request=request,
            detail={"present": sheet.present, "absent": sheet.absent},
        )
    return ScoreImportResult(sheet=sheet, applied=True)
