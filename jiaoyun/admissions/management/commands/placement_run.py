"""Run a placement from files, without a database (see docs/admissions.md for the formats)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jiaoyun.admissions.management.commands._placement_files import load_published_input
from jiaoyun.analytics.placement import MECHANISMS, InvalidInput, run_placement
from jiaoyun.analytics.placement.files import result_csv


class Command(BaseCommand):
    help = (
        "Place applicants into schools from an applicants file and a schools file (CSV or JSON) "
        "with a seed, and write the result JSON. Needs no database."
    )
    # A notary's offline laptop has no database: nothing here may touch one.
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--applicants", required=True, help="applicants file (.csv or .json)")
        parser.add_argument("--schools", required=True, help="schools file (.csv or .json)")
        parser.add_argument("--mechanism", required=True, choices=MECHANISMS)
        parser.add_argument("--seed", required=True, help="the revealed seed")
        parser.add_argument(
            "--public-randomness",
            default="",
            help="a public random value announced in advance (e.g. a state lottery draw); default none",
        )
        parser.add_argument("--out", required=True, help="where to write the result JSON")
        parser.add_argument("--csv", help="also write one row per applicant as CSV here")

    def handle(self, *args: Any, **options: Any) -> None:
        instance = load_published_input(options["applicants"], options["schools"])
        try:
            result = run_placement(
                instance,
                mechanism=options["mechanism"],
                seed=options["seed"],
                public_randomness=options["public_randomness"],
            )
        except InvalidInput as exc:
            raise CommandError("the input cannot be placed:\n  " + "\n  ".join(exc.errors)) from exc
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        Path(options["out"]).write_bytes(result.to_bytes())
        if options["csv"]:
            Path(options["csv"]).write_text(result_csv(result), encoding="utf-8")
        document = result.document
        totals = document["totals"]
        self.stdout.write(f"input hash:      {document['input_hash']}")
        self.stdout.write(f"seed commitment: {document['seed_commitment']}")
        self.stdout.write(f"mechanism:       {document['mechanism']} ({document['algorithm_version']})")
        self.stdout.write(
            f"applicants {totals['applicants']}, seats {totals['seats']}, placed {totals['placed']}, "
            f"waitlisted {totals['waitlisted']}, unplaced {totals['unplaced']}"
        )
        self.stdout.write(self.style.SUCCESS(f"result written to {options['out']}"))
