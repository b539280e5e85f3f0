"""Login rate limiting: failed attempts per username and per client address."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from jiaoyun.accounts.models import LoginAttempt


def _since() -> dt.datetime:
    return timezone.now() - dt.timedelta(seconds=settings.LOGIN_RATE_WINDOW_SECONDS)


def is_locked(username: str, ip: str | None) -> bool:
    recent = LoginAttempt.objects.filter(at__gte=_since())
    limit = settings.LOGIN_RATE_LIMIT
    if recent.filter(username=username.lower()).count() >= limit:
        return True
    # An address may try a few more usernames than one username may be tried.
    return bool(ip) and recent.filter(ip=ip).count() >= limit * 4


def record_failure(username: str, ip: str | None) -> None:
    LoginAttempt.objects.create(username=username.lower(), ip=ip)


def clear(username: str) -> None:
    LoginAttempt.objects.filter(username=username.lower()).delete()
