"""Make a secret seed and the commitment to publish before applications close."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jiaoyun.analytics.placement import make_seed, seed_commitment


class Command(BaseCommand):
    help = (
        "Print a fresh 256-bit seed and its commitment (or, with --seed, the commitment of a given "
        "seed). Publish the commitment; keep the seed sealed until the run. Needs no database."
    )
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", help="compute the commitment of this seed instead of making one")

    def handle(self, *args: Any, **options: Any) -> None:
        seed = options["seed"] if options["seed"] is not None else make_seed()
        try:
            commitment = seed_commitment(seed)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["seed"] is None:
            self.stdout.write(f"seed (keep sealed until the run): {seed}")
        self.stdout.write(f"commitment (publish now):         {commitment}")
