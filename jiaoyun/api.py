"""The REST API for other systems: one NinjaAPI, each app adds its router.

Authentication: `Authorization: Bearer <key>` with a token of a named external system
(scoped to the district or to one school), or the signed-in session for the site's own
pages. Either way `request.viewer` is the viewer's scope, as on the pages.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
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
        request.viewer = scope_for_system(found.system)  # type: ignore[attr-defined]
        return found.system


class SessionAuth(APIKeyCookie):
    """The site's own session (CSRF-checked for writes)."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if request.user.is_authenticated:
            request.viewer = scope_for_user(request.user)  # type: ignore[attr-defined]
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


# Pydantic's messages are English only; these are the ones a client can provoke, in the
# request's language. Anything else falls back to a generic message.
_PYDANTIC_MESSAGES: dict[str, str] = {
    "missing": gettext_noop("This field is required."),
    "extra_forbidden": gettext_noop("Unknown field."),
    "int_parsing": gettext_noop("Enter a whole number."),
    "int_type": gettext_noop("Enter a whole number."),
    "int_from_float": gettext_noop("Enter a whole number."),
    "float_parsing": gettext_noop("Enter a number."),
    "bool_parsing": gettext_noop("Enter true or false."),
    "bool_type": gettext_noop("Enter true or false."),
    "string_type": gettext_noop("Enter a text value."),
    "date_parsing": gettext_noop("Enter a valid date (YYYY-MM-DD)."),
    "date_from_datetime_parsing": gettext_noop("Enter a valid date (YYYY-MM-DD)."),
    "date_from_datetime_inexact": gettext_noop("Enter a valid date (YYYY-MM-DD)."),
    "date_type": gettext_noop("Enter a valid date (YYYY-MM-DD)."),
    "enum": gettext_noop("Select one of: %(expected)s."),
    "literal_error": gettext_noop("Select one of: %(expected)s."),
    "greater_than_equal": gettext_noop("Ensure this value is at least %(ge)s."),
    "greater_than": gettext_noop("Ensure this value is greater than %(gt)s."),
    "less_than_equal": gettext_noop("Ensure this value is at most %(le)s."),
    "less_than": gettext_noop("Ensure this value is less than %(lt)s."),
    "string_too_short": gettext_noop("This field may not be blank."),
    "string_too_long": gettext_noop("Ensure this value has at most %(max_length)s characters."),
    "string_pattern_mismatch": gettext_noop("Enter a value in the expected format."),
    "model_attributes_type": gettext_noop("Expected a JSON object."),
    "dict_type": gettext_noop("Expected a JSON object."),
    "model_type": gettext_noop("Expected a JSON object."),
    "list_type": gettext_noop("Expected a list."),
}


def _error_message(error: dict[str, Any]) -> str:
    # Errors raised by our own validation (see jiaoyun.core.schemas.field_error) come
    # translated already.
    if "message" in error:
        return str(error["message"])
    template = _PYDANTIC_MESSAGES.get(error.get("type", ""))
    if template is None:
        return _("Enter a valid value.")
    try:
        return _(template) % (error.get("ctx") or {})
    except (KeyError, TypeError, ValueError):
        return _(template).split(":")[0] + "."


def _field_name(loc: tuple[Any, ...] | list[Any], body_param: bool) -> str | None:
    # Ninja nests a body under the name of the view's parameter; clients know only the
    # fields of the JSON object they sent.
    parts = [str(p) for p in loc[2 if body_param else 1 :]]
    return ".".join(parts) or None


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> Any:
    errors = []
    for error in exc.errors:
        loc = list(error.get("loc") or ())
        body_param = bool(loc) and loc[0] == "body" and "message" not in error
        errors.append(
            {
                "field": _field_name(loc, body_param),
                "loc": [loc[0], *loc[2:]] if body_param else loc,
                "code": str(error.get("type", "invalid")),
                "message": _error_message(error),
            }
        )
    return api.create_response(
        request, {"detail": _("The request is not valid."), "errors": errors}, status=422
    )


@api.exception_handler(AuthenticationError)
def auth_error(request: HttpRequest, exc: AuthenticationError) -> Any:
    return api.create_response(request, {"detail": _("Authentication required.")}, status=401)


# Ninja's own messages for errors raised before a view runs, in the request's language.
_NINJA_MESSAGES = {
    "Cannot parse request body": gettext_noop("The request body is not valid JSON."),
    "CSRF check Failed": gettext_noop("The CSRF check failed."),
}


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> Any:
    message = str(exc)
    if message.split(" (")[0] in _NINJA_MESSAGES:
        message = _(_NINJA_MESSAGES[message.split(" (")[0]])
    return api.create_response(request, {"detail": message}, status=exc.status_code)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> Any:
    return api.create_response(request, {"detail": _("Not found.")}, status=404)


def require_write(request: HttpRequest) -> None:
    system = getattr(request, "external_system", None)
    if system is not None and not system.can_write:
        raise HttpError(403, _("This system may not write."))


from jiaoyun.core.api import router as core_router  # noqa: E402

api.add_router("/register/", core_router)
