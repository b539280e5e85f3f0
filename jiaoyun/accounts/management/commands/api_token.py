"""Register an external system and give it API tokens, or take them away.

    manage.py api_token create "学籍系统" --school 1440100004 --write --unmask
    manage.py api_token issue "学籍系统"
    manage.py api_token revoke "学籍系统" [--prefix jy_AbCdE]
    manage.py api_token list

`create` and `issue` print the new key alone on standard output, so that a script can
capture it; it is shown this once, as only its hash is stored.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from jiaoyun.accounts.models import ApiToken, ExternalSystem
from jiaoyun.core.models import School


class Command(BaseCommand):
    help = "Create external systems with a scope and issue, revoke or list their API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Register a system and print its first token.")
        create.add_argument("name")
        create.add_argument("--school", metavar="CODE", help="Scope to this school (default: the district).")
        create.add_argument("--write", action="store_true", help="May create and update records.")
        create.add_argument("--unmask", action="store_true", help="May read ID numbers and phones unmasked.")
        issue = actions.add_parser("issue", help="Print a new token for a registered system.")
        issue.add_argument("name")
        revoke = actions.add_parser("revoke", help="Revoke a system's tokens (all, or one by prefix).")
        revoke.add_argument("name")
        revoke.add_argument("--prefix", help="The first 8 characters of the token to revoke.")
        actions.add_parser("list", help="List systems and their tokens.")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, "_" + options["action"])(**options)

    def _system(self, name: str) -> ExternalSystem:
        try:
            return ExternalSystem.objects.get(name=name)
        except ExternalSystem.DoesNotExist:
            raise CommandError(f"No external system is named {name!r}.") from None

    def _print_key(self, system: ExternalSystem, key: str) -> None:
        scope = system.school.name if system.school else "district"
        self.stderr.write(f"New token for {system.name} ({scope}); it is shown only this once:")
        self.stdout.write(key)

    @transaction.atomic
    def _create(self, *, name: str, school: str | None, write: bool, unmask: bool, **options: Any) -> None:
        if ExternalSystem.objects.filter(name=name).exists():
            raise CommandError(f"A system named {name!r} exists already; use `issue` for another token.")
        found = None
        if school:
            found = School.objects.filter(code=school).first()
            if found is None:
                raise CommandError(f"No school has the code {school!r}.")
        system = ExternalSystem.objects.create(name=name, school=found, can_write=write, may_unmask=unmask)
        _, key = ApiToken.issue(system)
        self._print_key(system, key)

    def _issue(self, *, name: str, **options: Any) -> None:
        system = self._system(name)
        if not system.is_active:
            raise CommandError(f"{name!r} is not active.")
        _, key = ApiToken.issue(system)
        self._print_key(system, key)

    def _revoke(self, *, name: str, prefix: str | None, **options: Any) -> None:
        tokens = self._system(name).tokens.filter(revoked=False)
        if prefix:
            tokens = tokens.filter(prefix=prefix)
        revoked = tokens.update(revoked=True)
        if prefix and not revoked:
            raise CommandError(f"{name!r} has no live token starting {prefix!r}.")
        self.stdout.write(f"Revoked {revoked} token(s) of {name}.")

    def _list(self, **options: Any) -> None:
        systems = ExternalSystem.objects.select_related("school").prefetch_related("tokens").order_by("name")
        for system in systems:
            rights = ", ".join(
                r for r, on in (("write", system.can_write), ("unmask", system.may_unmask)) if on
            )
            state = "" if system.is_active else " [inactive]"
            scope = system.school.code if system.school else "district"
            self.stdout.write(f"{system.name}\t{scope}\t{rights or 'read'}{state}")
            for token in system.tokens.order_by("pk"):
                used = (
                    token.last_used_at.isoformat(timespec="minutes") if token.last_used_at else "never used"
                )
                self.stdout.write(f"  {token.prefix}…\t{'revoked' if token.revoked else used}")
