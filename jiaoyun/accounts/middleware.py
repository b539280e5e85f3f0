from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import sync_and_async_middleware
from django.utils.functional import SimpleLazyObject

from jiaoyun.accounts.scopes import scope_for_user


def _attach(request: HttpRequest) -> None:
    """Attach `request.viewer`: the viewer's Scope, computed lazily (in the view's thread,
    on first use) from the signed-in user. Not `request.scope`: under ASGI that is the
    connection's scope dict, which Django itself reads."""
    # setattr: HttpRequest declares no `viewer`; views read it through scopes.viewer_of.
    setattr(request, "viewer", SimpleLazyObject(lambda: scope_for_user(request.user)))  # noqa: B010


@sync_and_async_middleware
def ScopeMiddleware(get_response: Callable[[HttpRequest], Any]) -> Callable[[HttpRequest], Any]:
    # Async-capable, so that under ASGI a request does not hop to a thread and back just to
    # attach a lazy object.
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponse:
            _attach(request)
            response: Awaitable[HttpResponse] = get_response(request)
            return await response

        return middleware

    def sync_middleware(request: HttpRequest) -> HttpResponse:
        _attach(request)
        return get_response(request)  # type: ignore[no-any-return]

    return sync_middleware
