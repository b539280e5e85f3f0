"""The navigation each role sees. Other apps add their entries to NAVIGATION."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from jiaoyun.accounts.models import Role
from jiaoyun.accounts.scopes import Scope


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: str | Promise
    visible: Callable[[Scope], bool]


def _district(scope: Scope) -> bool:
    return scope.district


def _staff(scope: Scope) -> bool:
    return scope.district or bool(scope.admin_school_ids) or bool(scope.teacher_ids)


def _admins(scope: Scope) -> bool:
    return scope.district or bool(scope.admin_school_ids)


NAVIGATION: list[NavItem] = [
    NavItem("home", _("Home"), lambda s: True),
    NavItem("core:school_list", _("Schools"), lambda s: bool(s.school_ids) or s.district),
    NavItem("core:class_list", _("Classes"), _staff),
    NavItem("core:teacher_list", _("Teachers"), _admins),
    NavItem("core:student_list", _("Students"), lambda s: not s.is_empty),
    NavItem("exchange:import_list", _("Imports"), _admins),
    NavItem("accounts:audit", _("Audit log"), lambda s: s.has_role(Role.DISTRICT_ADMIN)),
    NavItem("api-1.0.0:openapi-view", _("API"), _district),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    scope = getattr(request, "scope", None)
    if scope is None or not request.user.is_authenticated:
        return {"nav_items": []}
    items = []
    for item in NAVIGATION:
        if not item.visible(scope):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        items.append({"url": url, "label": item.label, "active": request.path == url})
    return {"nav_items": items, "role_names": [Role(r).label for r in sorted(scope.roles) if r in Role.values]}
