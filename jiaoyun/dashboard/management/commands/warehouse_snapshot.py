from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from jiaoyun.dashboard import services


class Command(BaseCommand):
    help = "Snapshot the register into the lake and materialise the warehouse views (for cron)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--day", help="snapshot day (YYYY-MM-DD), default today")

    def handle(self, *args: Any, **options: Any) -> None:
        day = dt.date.fromisoformat(options["day"]) if options["day"] else None
        result = services.take_snapshot(day=day)
        rows = ", ".join(f"{k} {v}" for k, v in result.rows.items())
        self.stdout.write(f"snapshot {result.day}: {rows}; {result.views} views in {result.seconds:.1f} s")
