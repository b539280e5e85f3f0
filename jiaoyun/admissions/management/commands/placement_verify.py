"""Re-run a published placement from its files and the revealed seed; compare byte for byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jiaoyun.admissions.management.commands._placement_files import load_published_input
from jiaoyun.analytics.placement import MECHANISMS, verify_placement


class Command(BaseCommand):
    help = (
        "Verify a published placement result: the seed matches its commitment, the input files "
        "hash to the recorded input hash, and a re-run gives a byte-identical result. Needs no database."
    )
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--applicants", required=True, help="the published applicants file")
        parser.add_argument("--schools", required=True, help="the published schools file")
        parser.add_argument("--result", required=True, help="the published result JSON")
        parser.add_argument("--seed", required=True, help="the seed revealed after applications closed")
        parser.add_argument("--commitment", help="the seed commitment published before applications closed")
        parser.add_argument("--mechanism", choices=MECHANISMS, help="the mechanism announced for the round")
        parser.add_argument("--public-randomness", help="the public random value announced for the round")

    def handle(self, *args: Any, **options: Any) -> None:
        instance = load_published_input(options["applicants"], options["schools"])
        try:
            published = Path(options["result"]).read_bytes()
        except FileNotFoundError as exc:
            raise CommandError(f"cannot read {options['result']}: no such file") from exc
        try:
            verification = verify_placement(
                instance,
                seed=options["seed"],
                published_result=published,
                commitment=options["commitment"],
                mechanism=options["mechanism"],
                public_randomness=options["public_randomness"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        for check, passed in verification.checks:
            mark = self.style.SUCCESS("[ok]    ") if passed else self.style.ERROR("[FAILED]")
            self.stdout.write(f"{mark} {check}")
        if verification.first_difference:
            self.stdout.write(f"first difference: {verification.first_difference}")
        if not verification.ok:
            raise CommandError("verification FAILED")
        self.stdout.write(
            self.style.SUCCESS("verified: the published result is byte-identical to the re-run")
        )
