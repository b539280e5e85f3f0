"""Analyses run off the request, in the task worker (`manage.py db_worker`)."""

from __future__ import annotations

from django.tasks import task

from jiaoyun.assessment import services
from jiaoyun.assessment.models import Exam


@task()
def analyze_exam_task(exam_id: int) -> dict:
    exam = Exam.objects.filter(pk=exam_id).first()
    if exam is None:
        return {"exam": exam_id, "status": "gone"}
    try:
        exam = services.analyze(exam=exam)
    except Exception:
        # The failure is on the exam (status and message) for its page to show.
        exam.refresh_from_db()
    return {"exam": exam_id, "status": exam.analysis_status, "version": exam.analysis_version}
