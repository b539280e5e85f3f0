from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from jiaoyun.accounts import audit, ratelimit
from jiaoyun.accounts.models import AuditEvent, Role
from jiaoyun.core import selectors


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    error = ""
    username = ""
    if request.method == "POST":
        username = request.POST.get("username", "").strip()
        password = request.POST.get("password", "")
        ip = audit.client_ip(request)
        if ratelimit.is_locked(username, ip):
            error = _("Too many failed attempts. Please wait a few minutes and try again.")
        else:
            user = authenticate(request, username=username, password=password)
            if user is None:
                ratelimit.record_failure(username, ip)
                audit.record(action=AuditEvent.Action.LOGIN_FAILED, target=username, request=request)
                error = _("Wrong username or password.")
            else:
                ratelimit.clear(username)
                login(request, user)
                next_url = request.POST.get("next", "")
                if next_url and url_has_allowed_host_and_scheme(
                    next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
                ):
                    return redirect(next_url)
                return redirect("home")
    status = 200 if not error else 400
    return render(
        request,
        "accounts/login.html",
        {"error": error, "username": username, "next": request.GET.get("next", "")},
        status=status,
    )


@require_http_methods(["POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, _("You have signed out."))
    return redirect("accounts:login")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    scope = request.scope  # type: ignore[attr-defined]
    context = {
        "summary": selectors.home_summary(viewer=scope),
        "is_parent": scope.has_role(Role.PARENT),
    }
    return render(request, "accounts/home.html", context)


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    scope = request.scope  # type: ignore[attr-defined]
    if not scope.has_role(Role.DISTRICT_ADMIN):
        return HttpResponseForbidden(_("Only district administrators may read the audit log."))
    events = AuditEvent.objects.select_related("user", "system")
    action = request.GET.get("action", "")
    if action in AuditEvent.Action.values:
        events = events.filter(action=action)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/audit_log.html",
        {"page": page, "actions": AuditEvent.Action.choices, "action": action},
    )
