"""The REST API for other systems: one NinjaAPI, each app adds its router.

Authentication: `Authorization: Bearer <key>` with a token of a named external system
(scoped to the district or to one school), or the signed-in session for the site's own
pages. Either way `request.scope` is the viewer's scope, as on the pages.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import APIKeyCookie, HttpBearer

from jiaoyun.accounts.models import ApiToken
from jiaoyun.accounts.scopes import scope_for_system, scope_for_user


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = (
            ApiToken.objects.select_related("system")
            .filter(key_hash=ApiToken.hash_key(token), revoked=False, system__is_active=True)
            .first()
        )
        if found is None:
            return None
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=timezone.now())
        request.external_system = found.system  # type: ignore[attr-defined]
        request.scope = scope_for_system(found.system)  # type: ignore[attr-defined]
        return found.system


class SessionAuth(APIKeyCookie):
    """The site's own session (CSRF-checked for writes)."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if request.user.is_authenticated:
            request.scope = scope_for_user(request.user)  # type: ignore[attr-defined]
            return request.user
        return None


api = NinjaAPI(
    title="Jiaoyun API",
    version="1.0.0",
    description="The district register and the services built on it. "
    "Authenticate with `Authorization: Bearer <token>` of a registered external system.",
    auth=[TokenAuth(), SessionAuth()],
    docs_url="/docs",
)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> Any:
    return api.create_response(
        request, {"detail": _("The request is not valid."), "errors": exc.errors}, status=422
    )


@api.exception_handler(AuthenticationError)
def auth_error(request: HttpRequest, exc: AuthenticationError) -> Any:
    return api.create_response(request, {"detail": _("Authentication required.")}, status=401)


def require_write(request: HttpRequest) -> None:
    system = getattr(request, "external_system", None)
    if system is not None and not system.can_write:
        raise HttpError(403, _("This system may not write."))


from jiaoyun.core.api import router as core_router  # noqa: E402

api.add_router("/register/", core_router)
