"""What the placement commands share: reading the published files with a clear error."""

from __future__ import annotations

from django.core.management.base import CommandError

from jiaoyun.analytics.placement import Instance, InvalidInput
from jiaoyun.analytics.placement.files import load_instance


def load_published_input(applicants: str, schools: str) -> Instance:
    try:
        return load_instance(applicants, schools)
    except FileNotFoundError as exc:
        raise CommandError(f"cannot read {exc.filename}: no such file") from exc
    except InvalidInput as exc:
        raise CommandError("the input is not valid:\n  " + "\n  ".join(exc.errors)) from exc
