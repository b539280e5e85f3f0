"""Imports run off the request, in the task worker (`manage.py db_worker`)."""

from __future__ import annotations

from django.tasks import task

from jiaoyun.exchange import services


@task
def run_import_job(job_id: int) -> str:
    return services.run_job(job_id).status
