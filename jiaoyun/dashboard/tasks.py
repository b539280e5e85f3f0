"""Background work of the warehouse (Django's tasks API)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.tasks import task

from jiaoyun.dashboard import services


@task()
def snapshot_register(day: str | None = None) -> dict[str, Any]:
    """Snapshot the register into the lake and materialise every view. Scheduled daily (or
    weekly) by the bureau; the dashboard's button enqueues it on demand."""
    result = services.take_snapshot(day=dt.date.fromisoformat(day) if day else None)
    return {"day": result.day.isoformat(), "rows": result.rows, "views": result.views,
            "seconds": round(result.seconds, 2)}  # fmt: skip
