"""Thin pages over the selectors and services: the bureau's rounds and windows, the notary's
files, the kindergarten's review queue, and a parent's applications and preferences."""

from __future__ import annotations

import csv
import io
import shlex
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiaoyun.accounts import audit
from jiaoyun.accounts.models import AuditEvent
from jiaoyun.accounts.scopes import Scope, viewer_of
from jiaoyun.admissions import selectors, services
from jiaoyun.admissions.forms import (
    ApplyForm,
    CommitmentForm,
    DrawForm,
    MoreDocumentsForm,
    PreferencesForm,
    ReviewForm,
    RoundForm,
    RoundSchoolForm,
    WindowForm,
    split_list,
)
from jiaoyun.admissions.models import Application, PlacementRound
from jiaoyun.core.exports import xlsx_bytes, xlsx_response
from jiaoyun.core.identity import mask_id_number


def _bureau(request: HttpRequest) -> Scope:
    """Rounds and windows are the bureau's: other roles get a 403, not a half-working form."""
    scope = viewer_of(request)
    if not scope.district:
        raise PermissionDenied
    return scope


def _explain(request: HttpRequest, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


def _guardian(request: HttpRequest) -> Any:
    guardian = getattr(request.user, "guardian", None)
    if guardian is None:
        raise PermissionDenied
    return guardian


# The bureau: rounds, windows, the draw.


@login_required
def round_list(request: HttpRequest) -> HttpResponse:
    scope = viewer_of(request)
    return render(
        request,
        "admissions/round_list.html",
        {"rounds": selectors.round_list(viewer=scope), "may_create": scope.district},
    )


@login_required
def round_create(request: HttpRequest) -> HttpResponse:
    _bureau(request)
    form = RoundForm(request.POST or None, initial={"school_year": timezone.localdate().year})
    if request.method == "POST" and form.is_valid():
        try:
            round = services.create_round(**form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("admissions:round_detail", round.pk)
    return render(request, "admissions/round_form.html", {"form": form})


@login_required
def round_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = viewer_of(request)
    round = selectors.round_detail(viewer=scope, pk=pk)
    context: dict[str, Any] = {
        "round": round,
        "school_rows": selectors.round_school_rows(viewer=scope, round=round),
        "entries": selectors.round_entries(viewer=scope, round=round),
        "bureau": scope.district,
    }
    if scope.district:
        applications = selectors.applications_to_review(viewer=scope, round=round)
        context |= {
            "windows": round.windows.select_related("kindergarten").order_by("kindergarten__code", "zone"),
            "round_schools": round.schools.select_related("school").order_by("zone", "school__code"),
            "application_count": applications.count(),
            "accepted_count": applications.filter(status=Application.Status.ACCEPTED).count(),
            "waiting_count": applications.filter(
                status__in=[Application.Status.SUBMITTED, Application.Status.MORE_INFO]
            ).count(),
            "graduate_count": selectors.graduating_students(viewer=scope)
            .exclude(placement_entries__round=round)
            .count(),
            "commitment_form": CommitmentForm(),
            "draw_form": DrawForm(),
            "school_form": RoundSchoolForm(zones=selectors.register_zones()),
        }
    return render(request, "admissions/round_detail.html", context)


def _post_action(request: HttpRequest, pk: int, action: Any) -> HttpResponse:
    scope = _bureau(request)
    round = selectors.round_detail(viewer=scope, pk=pk)
    try:
        message = action(round)
    except ValidationError as exc:
        _explain(request, exc)
    else:
        messages.success(request, message)
    return redirect("admissions:round_detail", round.pk)


@login_required
@require_POST
def round_commit(request: HttpRequest, pk: int) -> HttpResponse:
    def commit(round: PlacementRound) -> str:
        form = CommitmentForm(request.POST)
        if not form.is_valid():
            raise ValidationError(_("A commitment is 64 hexadecimal digits."))
        services.publish_commitment(round=round, commitment=form.cleaned_data["commitment"])
        return _("The seed commitment is published.")

    return _post_action(request, pk, commit)


@login_required
@require_POST
def round_freeze(request: HttpRequest, pk: int) -> HttpResponse:
    def freeze(round: PlacementRound) -> str:
        round = services.freeze_round(round=round)
        return _("Applications are closed; the input hash is %(hash)s.") % {"hash": round.input_hash}

    return _post_action(request, pk, freeze)


@login_required
@require_POST
def round_draw(request: HttpRequest, pk: int) -> HttpResponse:
    def draw(round: PlacementRound) -> str:
        form = DrawForm(request.POST)
        if not form.is_valid():
            raise ValidationError(_("Enter the revealed seed."))
        services.draw_round(
            round=round,
            seed=form.cleaned_data["seed"],
            public_randomness=form.cleaned_data["public_randomness"],
            by=request.user,
        )
        return _("The draw is recorded.")

    return _post_action(request, pk, draw)


@login_required
@require_POST
def round_school_add(request: HttpRequest, pk: int) -> HttpResponse:
    def add(round: PlacementRound) -> str:
        form = RoundSchoolForm(request.POST, zones=selectors.register_zones())
        if not form.is_valid():
            raise ValidationError(
                [f"{form[name].label}: {' '.join(str(m) for m in e)}" for name, e in form.errors.items()]
            )
        data = form.cleaned_data
        added = services.add_round_school(
            round=round,
            school=data["school"],
            zone=data["zone"],
            capacity=data["capacity"],
            categories=split_list(data["categories"]),
        )
        return _("%(school)s is in the round.") % {"school": added.school.name}

    return _post_action(request, pk, add)


@login_required
@require_POST
def round_categories(request: HttpRequest, pk: int) -> HttpResponse:
    def assign(round: PlacementRound) -> str:
        upload = request.FILES.get("file")
        if upload is None or (upload.size or 0) > 20 * 1024 * 1024:
            raise ValidationError(_("Choose a spreadsheet of at most 20 MB."))
        n = services.assign_categories(round=round, data=upload.read())
        return _("Priority categories recorded for %(n)d students.") % {"n": n}

    return _post_action(request, pk, assign)


@login_required
@require_POST
def round_register(request: HttpRequest, pk: int) -> HttpResponse:
    def register(round: PlacementRound) -> str:
        students = list(selectors.graduating_students(viewer=viewer_of(request)).order_by("student_no"))
        added = services.register_graduates(round=round, students=students)
        return _("%(n)d graduating students added.") % {"n": len(added)}

    return _post_action(request, pk, register)


@login_required
def window_list(request: HttpRequest) -> HttpResponse:
    scope = viewer_of(request)
    if not scope.district and not scope.admin_school_ids:
        raise PermissionDenied
    return render(request, "admissions/window_list.html", {"windows": selectors.window_list(viewer=scope)})


@login_required
def window_create(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _bureau(request)
    round = selectors.round_detail(viewer=scope, pk=pk)
    form = WindowForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.open_window(
                round=round,
                kindergarten=data["kindergarten"],
                zone=data["zone"],
                seats=data["seats"],
                tiers=data["tiers"],
                tier_documents=data["tier_documents"],
                waitlist_size=data["waitlist_size"],
                opens_on=data["opens_on"],
                closes_on=data["closes_on"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The registration window is open."))
            return redirect("admissions:round_detail", round.pk)
    return render(request, "admissions/window_form.html", {"form": form, "round": round})


# Results, exports and the notary's files.


def _result_context(request: HttpRequest, pk: int) -> tuple[PlacementRound, list[dict[str, Any]]]:
    scope = viewer_of(request)
    if not scope.district and not scope.admin_school_ids:
        raise PermissionDenied
    round = selectors.round_detail(viewer=scope, pk=pk)
    if round.status != PlacementRound.Status.DRAWN:
        raise Http404
    return round, selectors.result_rows(viewer=scope, round=round)


@login_required
def round_results(request: HttpRequest, pk: int) -> HttpResponse:
    round, rows = _result_context(request, pk)
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["school_name"] or _("No seat"), []).append(row)
    return render(
        request,
        "admissions/round_results.html",
        {
            "round": round,
            "groups": groups,
            "school_rows": selectors.round_school_rows(viewer=viewer_of(request), round=round),
        },
    )


@login_required
def round_results_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    round, rows = _result_context(request, pk)
    status_labels = {"placed": _("Placed"), "waitlisted": _("Waitlisted"), "unplaced": _("Not placed")}
    headers = [
        _("School"),
        _("Result"),
        _("Waitlist position"),
        _("Application number"),
        _("Name"),
        _("From"),
        _("Choice"),
        _("Priority category"),
        _("Lottery number"),
    ]
    content = xlsx_bytes(
        headers,
        (
            [
                row["school_name"],
                str(status_labels[row["status"]]),
                row["waitlist_position"],
                row["id"],
                row["name"],
                row["origin"],
                row["choice"],
                row["category"],
                row["lottery_number"],
            ]
            for row in rows
        ),
        sheet=round.name,
    )
    audit.record(
        action=AuditEvent.Action.EXPORT,
        target=f"placement round {round.pk} results",
        request=request,
        detail={"rows": len(rows)},
    )
    return xlsx_response(content, f"placement-{round.pk}-results.xlsx")


def _file_names(round: PlacementRound) -> dict[str, str]:
    return {
        "applicants": f"round-{round.pk}-applicants.csv",
        "schools": f"round-{round.pk}-schools.csv",
        "result": f"round-{round.pk}-result.json",
        "commitment": f"round-{round.pk}-commitment.txt",
    }


def _verify_command(round: PlacementRound) -> str:
    names = _file_names(round)
    parts = [
        "python",
        "manage.py",
        "placement_verify",
        "--applicants",
        names["applicants"],
        "--schools",
        names["schools"],
        "--result",
        names["result"],
        "--seed",
        shlex.quote(round.seed) if round.seed else "SEED",
        "--commitment",
        round.seed_commitment,
        "--mechanism",
        round.mechanism,
    ]
    if round.public_randomness:
        parts += ["--public-randomness", shlex.quote(round.public_randomness)]
    return " ".join(parts)


@login_required
def round_notary(request: HttpRequest, pk: int) -> HttpResponse:
    round = selectors.round_published(viewer=viewer_of(request), user=request.user, pk=pk)
    names = _file_names(round)
    files = [
        ("commitment", names["commitment"], bool(round.seed_commitment), _("The seed commitment")),
        ("applicants", names["applicants"], bool(round.input_applicants_csv), _("Frozen input: applicants")),
        ("schools", names["schools"], bool(round.input_schools_csv), _("Frozen input: schools")),
        ("result", names["result"], bool(round.result_json), _("The result, as recorded at the draw")),
    ]
    return render(
        request,
        "admissions/round_notary.html",
        {"round": round, "files": files, "command": _verify_command(round) if round.seed_commitment else ""},
    )


@login_required
def round_file(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """The published files, byte for byte as stored: they carry application numbers only."""
    round = selectors.round_published(viewer=viewer_of(request), user=request.user, pk=pk)
    contents = {
        "commitment": round.seed_commitment + "\n" if round.seed_commitment else "",
        "applicants": round.input_applicants_csv,
        "schools": round.input_schools_csv,
        "result": round.result_json,
    }
    if not contents.get(name):
        raise Http404
    content_type = (
        "application/json" if name == "result" else "text/plain" if name == "commitment" else "text/csv"
    )
    response = HttpResponse(contents[name].encode("utf-8"), content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_file_names(round)[name]}"'
    return response


@login_required
def round_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The viewer's rows of the result as CSV; exports of placement data are audited."""
    scope = viewer_of(request)
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


# The kindergarten: reviews.


@login_required
def review_queue(request: HttpRequest) -> HttpResponse:
    scope = viewer_of(request)
    if not scope.district and not scope.admin_school_ids:
        raise PermissionDenied
    status = request.GET.get("status", "waiting")
    applications = (
        selectors.applications_to_review(viewer=scope)
        .annotate(upload_count=Count("uploads"))
        .order_by("submitted_at", "number")
    )
    if status == "waiting":
        applications = applications.filter(
            status=Application.Status.SUBMITTED, window__round__status=PlacementRound.Status.OPEN
        )
    elif status in Application.Status.values:
        applications = applications.filter(status=status)
    rows = [(a, mask_id_number(a.child_id_number)) for a in applications]
    return render(
        request,
        "admissions/review_queue.html",
        {"rows": rows, "status": status, "statuses": Application.Status.choices},
    )


@login_required
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = viewer_of(request)
    application = selectors.application_for_review(viewer=scope, pk=pk)
    may_reveal = scope.may_unmask(application.window.kindergarten_id)
    revealed = may_reveal and request.GET.get("reveal") == "1"
    if revealed:
        audit.record(
            action=AuditEvent.Action.UNMASK,
            target=f"admission application {application.number}",
            request=request,
            detail={"fields": ["child_id_number"]},
        )
    form = ReviewForm(request.POST or None, application=application)
    if request.method == "POST" and form.is_valid():
        try:
            services.review_application(
                application=application,
                decision=form.cleaned_data["decision"],
                tier=form.cleaned_data["tier"],
                reason=form.cleaned_data["reason"],
                reviewer=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The review is saved; the parent sees it now."))
            return redirect("admissions:review_queue")
    return render(
        request,
        "admissions/review_detail.html",
        {
            "application": application,
            "id_number": application.child_id_number
            if revealed
            else mask_id_number(application.child_id_number),
            "may_reveal": may_reveal,
            "revealed": revealed,
            "form": form,
            "is_open": application.window.round.status == PlacementRound.Status.OPEN,
        },
    )


@login_required
def document_download(request: HttpRequest, pk: int) -> FileResponse:
    document, as_staff = selectors.document_for(viewer=viewer_of(request), user=request.user, pk=pk)
    if as_staff:
        audit.record(
            action=AuditEvent.Action.UNMASK,
            target=f"admission document {document.application.number}/{document.pk}",
            request=request,
        )
    return FileResponse(
        document.file.open("rb"),
        content_type=document.content_type,
        filename=document.original_name,
        as_attachment=True,
    )


# Parents: applications and preferences.


@login_required
def my_applications(request: HttpRequest) -> HttpResponse:
    scope = viewer_of(request)
    has_guardian = getattr(request.user, "guardian", None) is not None
    return render(
        request,
        "admissions/my_applications.html",
        {
            "applications": selectors.own_applications(user=request.user).prefetch_related("uploads"),
            "windows": selectors.open_windows(today=timezone.localdate()) if has_guardian else [],
            "entries": selectors.own_entries(viewer=scope),
            "more_form": MoreDocumentsForm(),
        },
    )


@login_required
def apply(request: HttpRequest, pk: int) -> HttpResponse:
    guardian = _guardian(request)
    window = selectors.open_window_for_parent(pk=pk, today=timezone.localdate())
    form = ApplyForm(request.POST or None, request.FILES or None, window=window)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            application = services.submit_application(
                window=window,
                guardian=guardian,
                child_name=data["child_name"],
                child_birth_date=data["child_birth_date"],
                child_id_number=data["child_id_number"],
                household=data["household"],
                claimed_tier=data["claimed_tier"],
                files=data["documents"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request, _("Application %(number)s is submitted.") % {"number": application.number}
            )
            return redirect("admissions:my_applications")
    return render(request, "admissions/apply_form.html", {"form": form, "window": window})


@login_required
@require_POST
def application_more(request: HttpRequest, pk: int) -> HttpResponse:
    guardian = _guardian(request)
    application = selectors.own_application(user=request.user, pk=pk)
    form = MoreDocumentsForm(request.POST, request.FILES)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("admissions:my_applications")
    try:
        services.add_documents(
            application=application,
            guardian=guardian,
            files=form.cleaned_data["documents"],
            note=form.cleaned_data["note"],
        )
    except ValidationError as exc:
        _explain(request, exc)
    else:
        messages.success(request, _("The documents are sent; the kindergarten will review again."))
    return redirect("admissions:my_applications")


@login_required
def entry_preferences(request: HttpRequest, pk: int) -> HttpResponse:
    entry = selectors.own_entry(viewer=viewer_of(request), pk=pk)
    schools = [(rs.school.code, rs.school.name) for rs in selectors.zone_schools(entry=entry)]
    is_open = entry.round.status == PlacementRound.Status.OPEN
    form = PreferencesForm(request.POST or None, schools=schools, current=list(entry.preferences))
    if request.method == "POST":
        if not is_open:
            messages.error(request, _("The round is closed; preferences can no longer change."))
        elif form.is_valid():
            try:
                services.set_preferences(entry=entry, school_codes=form.cleaned_data["school_codes"])
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Your preferences are saved."))
                return redirect("admissions:my_applications")
    return render(
        request,
        "admissions/preferences_form.html",
        {"entry": entry, "form": form, "is_open": is_open, "single_school": len(schools) == 1},
    )
