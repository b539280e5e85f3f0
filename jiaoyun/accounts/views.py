from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from jiaoyun.accounts import audit, ratelimit
from jiaoyun.accounts.models import AuditEvent, Role
from jiaoyun.accounts.scopes import viewer_of
from jiaoyun.core import selectors


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    error = ""
    username = ""
    status = 200
    if request.method == "POST":
        # LoginAttempt.username holds 150 characters, like User.username.
        username = request.POST.get("username", "").strip()[:150]
        password = request.POST.get("password", "")
        ip = audit.client_ip(request)
        if ratelimit.is_locked(username, ip):
            error = _("Too many failed attempts. Please wait a few minutes and try again.")
            status = 429
        else:
            user = authenticate(request, username=username, password=password)
            if user is None:
                ratelimit.record_failure(username, ip)
                audit.record(action=AuditEvent.Action.LOGIN_FAILED, target=username, request=request)
                error = _("Wrong username or password.")
                status = 400
            else:
                ratelimit.clear(username)
                login(request, user)
                next_url = request.POST.get("next", "")
                if next_url and url_has_allowed_host_and_scheme(
                    next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
                ):
                    return redirect(next_url)
                return redirect("home")
    return render(
        request,
        "accounts/login.html",
        {
            "error": error,
            "username": username,
            "next": request.POST.get("next") or request.GET.get("next", ""),
        },
        status=status,
    )


@require_http_methods(["POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, _("You have signed out."))
    return redirect("accounts:login")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    scope = viewer_of(request)
    context = {
        "summary": selectors.home_summary(viewer=scope),
        "is_parent": scope.has_role(Role.PARENT),
    }
    return render(request, "accounts/home.html", context)


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    scope = viewer_of(request)
    if not scope.has_role(Role.DISTRICT_ADMIN):
        raise PermissionDenied
    events = AuditEvent.objects.select_related("user", "system")
    params: dict[str, str] = {}
    action = request.GET.get("action", "")
    if action in AuditEvent.Action.values:
        events = events.filter(action=action)
        params["action"] = action
    q = request.GET.get("q", "").strip()[:50]
    if q:
        events = events.filter(
            Q(user__username__icontains=q) | Q(user__display_name__icontains=q) | Q(target__icontains=q)
        )
        params["q"] = q
    page = Paginator(events.order_by("-at", "-pk"), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/audit_log.html",
        {
            "page": page,
            "page_range": list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)),
            "actions": AuditEvent.Action.choices,
            "params": params,
        },
    )
