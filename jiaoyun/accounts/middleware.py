from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from jiaoyun.accounts.scopes import scope_for_user


class ScopeMiddleware:
    """Attach `request.viewer`: the viewer's Scope, computed lazily once per request from the
    signed-in user. (Not `request.scope`: under ASGI that is the connection's scope dict,
    which Django itself reads.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # setattr: HttpRequest declares no `viewer`; every view reads it as request.viewer.
        setattr(request, "viewer", SimpleLazyObject(lambda: scope_for_user(request.user)))  # noqa: B010
        return self.get_response(request)
