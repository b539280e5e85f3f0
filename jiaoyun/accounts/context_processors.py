"""The navigation each role sees. Other apps add their entries to NAVIGATION.

An entry names a URL (and may compute its arguments from the viewer's scope, for links to
"my" record) and says for which scopes it shows; an entry whose URL does not resolve (an app
not installed yet) is left out.
"""

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
    # Positional URL arguments taken from the scope (None: the entry does not apply).
    args: Callable[[Scope], tuple[Any, ...] | None] | None = None


def _district(scope: Scope) -> bool:
    return scope.district


def _admins(scope: Scope) -> bool:
    return scope.district or bool(scope.admin_school_ids)


def _teacher_only(scope: Scope) -> bool:
    """Teachers who hold no administrative role: their navigation is about their own work."""
    return bool(scope.teacher_ids) and not _admins(scope)


def _learner_only(scope: Scope) -> bool:
    return bool(scope.student_ids) and not _admins(scope) and not scope.teacher_ids


def _only(ids: frozenset[int]) -> tuple[int] | None:
    return (next(iter(ids)),) if len(ids) == 1 else None


NAVIGATION: list[NavItem] = [
    NavItem("home", _("Home"), lambda s: True),
    NavItem("core:school_list", _("Schools"), _admins),
    NavItem(
        "core:school_detail",
        _("My school"),
        _teacher_only,
        lambda s: _only(s.school_ids),
    ),
    NavItem("core:class_list", _("Classes"), _admins),
    NavItem("core:class_list", _("My classes"), lambda s: _teacher_only(s) and bool(s.roster_class_ids)),
    NavItem("core:teacher_list", _("Teachers"), _admins),
    NavItem("core:student_list", _("Students"), lambda s: _admins(s) or _teacher_only(s)),
    NavItem(
        "core:teacher_detail",
        _("My record"),
        _teacher_only,
        lambda s: _only(s.teacher_ids),
    ),
    NavItem(
        "core:student_detail",
        _("My record"),
        lambda s: _learner_only(s) and s.has_role(Role.STUDENT),
        lambda s: _only(s.student_ids),
    ),
    NavItem(
        "core:student_list",
        _("My children"),
        lambda s: _learner_only(s) and s.has_role(Role.PARENT),
    ),
    NavItem("exchange:import_list", _("Imports"), _admins),
    NavItem("accounts:audit", _("Audit log"), lambda s: s.has_role(Role.DISTRICT_ADMIN)),
    NavItem("api-1.0.0:openapi-view", _("API"), _district),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    scope = getattr(request, "viewer", None)
    if scope is None or not request.user.is_authenticated:
        return {"nav_items": []}
    items = []
    for item in NAVIGATION:
        if not item.visible(scope):
            continue
        args = item.args(scope) if item.args else ()
        if args is None:
            continue
        try:
            url = reverse(item.url_name, args=args)
        except NoReverseMatch:
            continue
        # The home page is active only on itself; other entries also on the pages below them.
        active = request.path == url or (url != "/" and request.path.startswith(url) and not args)
        items.append({"url": url, "label": item.label, "active": active})
    return {
        "nav_items": items,
        "role_names": [Role(r).label for r in sorted(scope.roles) if r in Role.values],
    }
