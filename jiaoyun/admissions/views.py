"""Thin pages over the selectors: rounds and their results, and a parent's applications."""

from __future__ import annotations

import csv
import io

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from jiaoyun.accounts import audit
from jiaoyun.accounts.models import AuditEvent
from jiaoyun.accounts.scopes import Scope
from jiaoyun.admissions import selectors


@login_required
def round_list(request: HttpRequest) -> HttpResponse:
    scope: Scope = request.scope  # type: ignore[attr-defined]
    return render(request, "admissions/round_list.html", {"rounds": selectors.round_list(viewer=scope)})


@login_required
def round_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope: Scope = request.scope  # type: ignore[attr-defined]
    round = selectors.round_detail(viewer=scope, pk=pk)
    return render(
        request,
        "admissions/round_detail.html",
        {
            "round": round,
            "school_rows": selectors.round_school_rows(viewer=scope, round=round),
            "entries": selectors.round_entries(viewer=scope, round=round),
        },
    )


@login_required
def round_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The viewer's rows of the result as CSV; exports of placement data are audited."""
    scope: Scope = request.scope  # type: ignore[attr-defined]
    round = selectors.round_detail(viewer=scope, pk=pk)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [_("Application number"), _("Student"), _("Outcome"), _("School"), _("Choice"), _("Lottery number")]
    )
    entries = selectors.round_entries(viewer=scope, round=round)
    for entry in entries:
        writer.writerow(
            [
                entry.number,
                entry.student.name,
                entry.get_outcome_display(),
                entry.placed_school.name if entry.placed_school else "",
                entry.choice or "",
                entry.lottery_number or "",
            ]
        )
    audit.record(
        action=AuditEvent.Action.EXPORT,
        target=f"placement round {round.pk}",
        request=request,
        detail={"rows": len(entries)},
    )
    response = HttpResponse(out.getvalue().encode("utf-8-sig"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="placement-{round.pk}.csv"'
    return response


@login_required
def my_applications(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "admissions/my_applications.html",
        {"applications": selectors.own_applications(user=request.user)},
    )
