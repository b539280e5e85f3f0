"""Demo exams on the demo district: `manage.py demo_exams --seed 7 --if-empty`."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jiaoyun.assessment.demo import build_demo_exams
from jiaoyun.assessment.models import Exam
from jiaoyun.core.models import District


class Command(BaseCommand):
    help = "Two rounds of demo joint exams (语文, 数学, 英语) of one grade, scored and analysed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--grade", type=int, default=7, help="grade level (7: the demo users' grade)")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if any exam exists.")

    def handle(self, *args: Any, seed: int, grade: int, if_empty: bool, **options: Any) -> None:
        if not District.objects.exists():
            raise CommandError("Build the demo district first (manage.py demo_district).")
        if if_empty and Exam.objects.exists():
            self.stdout.write("Exams exist already; no demo exams built.")
            return
        started = time.perf_counter()
        result = build_demo_exams(seed=seed, grade_level=grade)
        took = time.perf_counter() - started
        if not result.exams:
            raise CommandError(f"No enrolled students in grade {grade}.")
        names = "、".join(e.name for e in result.exams)
        self.stdout.write(self.style.SUCCESS(
            f"Built {len(result.exams)} exams ({names}) for {result.students} students, "
            f"{result.score_rows} item scores, analysed, in {took:.0f} s."
        ))  # fmt: skip
