"""Print the input hash of the published files (and optionally write their canonical form)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from jiaoyun.admissions.management.commands._placement_files import load_published_input


class Command(BaseCommand):
    help = (
        "Validate an applicants file and a schools file and print their input hash, the value the "
        "bureau publishes when the input is frozen. Needs no database."
    )
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--applicants", required=True, help="applicants file (.csv or .json)")
        parser.add_argument("--schools", required=True, help="schools file (.csv or .json)")
        parser.add_argument(
            "--canonical-out", help="write the canonical input document (the hashed bytes) here"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        instance = load_published_input(options["applicants"], options["schools"])
        if options["canonical_out"]:
            Path(options["canonical_out"]).write_bytes(instance.canonical_bytes())
        self.stdout.write(
            f"{len(instance.schools)} schools, {len(instance.applicants)} applicants, "
            f"{sum(s.capacity for s in instance.schools)} seats"
        )
        self.stdout.write(f"input hash: {instance.input_hash()}")
