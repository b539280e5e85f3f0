"""Writing the audit log: every export and every unmasked view of personal data."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from jiaoyun.accounts.models import AuditEvent, ExternalSystem


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    *,
    action: str,
    target: str,
    request: HttpRequest | None = None,
    user: Any = None,
    system: ExternalSystem | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    if user is None and request is not None and request.user.is_authenticated:
        user = request.user
    if system is None and request is not None:
        system = getattr(request, "external_system", None)
    return AuditEvent.objects.create(
        action=action,
        target=target[:200],
        user=user if user is not None and getattr(user, "is_authenticated", False) else None,
        system=system,
        detail=detail or {},
        ip=client_ip(request),
    )
