from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jiaoyun.core.demo import DEMO_PASSWORD, SCALES, build_district, iter_demo_logins
from jiaoyun.core.models import District


class Command(BaseCommand):
    help = "Build the demo district (same seed, same district)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--scale", choices=sorted(SCALES), default="full")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if a district exists.")

    def handle(self, *args: Any, seed: int, scale: str, if_empty: bool, **options: Any) -> None:
        if District.objects.exists():
            if if_empty:
                self.stdout.write("The database already holds a district; nothing built.")
                self.print_logins()
                return
            raise CommandError("The database already holds a district. Use a fresh database.")
        started = time.perf_counter()
        demo = build_district(seed=seed, scale=SCALES[scale])
        took = time.perf_counter() - started
        counts = ", ".join(f"{v} {k}" for k, v in demo.counts.items())
        self.stdout.write(self.style.SUCCESS(f"Built the demo district in {took:.0f} s: {counts}."))
        self.print_logins()

    def print_logins(self) -> None:
        self.stdout.write(f"Demo logins (password: {DEMO_PASSWORD}):")
        for username, name in iter_demo_logins():
            self.stdout.write(f"  {username:16} {name}")
