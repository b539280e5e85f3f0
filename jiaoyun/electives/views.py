"""Pages and the JSON API of the course supermarket. Thin: scope, selector or service, render."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from jiaoyun.accounts import sessions
from jiaoyun.accounts.scopes import Scope, viewer_of
from jiaoyun.core.ids import row_id
from jiaoyun.core.models import School
from jiaoyun.electives import forms, selectors, services
from jiaoyun.electives.models import Attendance, Catalogue, Elective, ElectivePhoto, Enrolment, Work


def _scope(request: HttpRequest) -> Scope:
    return viewer_of(request)


def _managed_catalogue(request: HttpRequest, pk: int) -> Catalogue:
    item = selectors.catalogue(viewer=_scope(request), pk=pk)
    if not selectors.may_manage(_scope(request), item.school_id):
        raise Http404
    return item


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    student = selectors.student_of(request.user)
    catalogues = list(selectors.catalogues(viewer=scope))
    manageable = [s for s in School.objects.filter(pk__in=scope.admin_school_ids)]
    return render(
        request,
        "electives/index.html",
        {
            "catalogues": catalogues,
            "student": student,
            "teaching": list(selectors.teaching(viewer=scope)),
            "manageable": manageable,
            "reportable": manageable
            if not scope.district
            else School.objects.filter(elective_catalogues__isnull=False).distinct(),
        },
    )


# --- The academic office -----------------------------------------------------------------------


@login_required
def catalogue_new(request: HttpRequest, school_pk: int) -> HttpResponse:
    if not selectors.may_manage(_scope(request), school_pk):
        raise Http404
    school = get_object_or_404(School, pk=school_pk)
    form = forms.CatalogueForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if Catalogue.objects.filter(school=school, term=form.cleaned_data["term"]).exists():
            form.add_error("term", _("This term already has a catalogue."))
        else:
            item = services.create_catalogue(
                school=school, term=form.cleaned_data["term"], title=form.cleaned_data["title"],
                max_per_student=form.cleaned_data["max_per_student"],
            )  # fmt: skip
            return redirect("electives:manage", pk=item.pk)
    return render(
        request, "electives/form.html", {"form": form, "title": _("New catalogue"), "school": school}
    )


@login_required
def manage(request: HttpRequest, pk: int) -> HttpResponse:
    """The office's page for one catalogue: settings, slots, electives, rounds, the lottery."""
    item = _managed_catalogue(request, pk)
    action = request.POST.get("action") if request.method == "POST" else None
    settings_form = forms.CatalogueForm(
        request.POST if action == "settings" else None,
        initial={"term": item.term, "title": item.title, "max_per_student": item.max_per_student,
                 "ratings_open_on": item.ratings_open_on},
    )  # fmt: skip
    settings_form.fields["term"].disabled = True
    slot_form = forms.SlotForm(request.POST if action == "slot" else None)
    round_form = forms.RoundForm(request.POST if action == "round" else None)
    try:
        if action == "settings" and settings_form.is_valid():
            services.update_catalogue(
                catalogue=item, title=settings_form.cleaned_data["title"],
                max_per_student=settings_form.cleaned_data["max_per_student"],
                ratings_open_on=settings_form.cleaned_data["ratings_open_on"],
            )  # fmt: skip
            messages.success(request, _("Saved."))
            return redirect("electives:manage", pk=pk)
        if action == "slot" and slot_form.is_valid():
            services.add_slot(catalogue=item, **slot_form.cleaned_data)
            return redirect("electives:manage", pk=pk)
        if action == "round" and round_form.is_valid():
            services.create_round(catalogue=item, **round_form.cleaned_data)
            return redirect("electives:manage", pk=pk)
        if action == "publish":
            services.publish_catalogue(catalogue=item)
            messages.success(request, _("The catalogue is published."))
            return redirect("electives:manage", pk=pk)
        if action == "lottery":
            round_id = row_id(request.POST.get("round"))
            if round_id is None:
                raise Http404
            selection_round = get_object_or_404(item.rounds, pk=round_id)
            result = services.run_lottery(round=selection_round)
            messages.success(
                request,
                _(
                    "Lottery done: %(granted)d seats for %(applicants)d students, %(waitlisted)d waitlist places."
                )
                % {
                    "granted": result.granted,
                    "applicants": result.applicants,
                    "waitlisted": result.waitlisted,
                },
            )
            return redirect("electives:manage", pk=pk)
    except services.SelectionError as refusal:
        messages.error(request, refusal.message)
    electives = list(item.electives.select_related("teacher", "slot"))
    return render(
        request,
        "electives/manage.html",
        {"catalogue": item, "settings_form": settings_form, "slot_form": slot_form, "round_form": round_form,
         "electives": electives, "slots": list(item.slots.all()), "rounds": list(item.rounds.all()),
         "now": timezone.now()},
    )  # fmt: skip


@login_required
def elective_edit(request: HttpRequest, pk: int, elective_pk: int | None = None) -> HttpResponse:
    item = _managed_catalogue(request, pk)
    elective = get_object_or_404(item.electives, pk=elective_pk) if elective_pk else None
    initial: dict[str, Any] = {}
    if elective is not None:
        initial = {f: getattr(elective, f) for f in ("title", "category", "teacher", "room", "slot", "capacity",
                                                     "grade_levels", "description")}  # fmt: skip
    form = forms.ElectiveForm(
        request.POST or None, request.FILES or None, catalogue=item, elective=elective, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        photo = data.pop("photo")
        try:
            if photo is not None:
                services.validate_photo(photo)
            with transaction.atomic():
                saved = services.save_elective(catalogue=item, elective=elective, **data)
            if photo is not None:
                services.add_photo(elective=saved, upload=photo)
            return redirect("electives:manage", pk=pk)
        except services.SelectionError as refusal:
            form.add_error(None, refusal.message)
        except ValidationError as error:
            form.add_error("photo", error)
        except IntegrityError:
            # The form checked the title, but another request took it before this save.
            if not form.title_taken(data["title"]):
                raise
            form.add_error("title", forms.DUPLICATE_TITLE)
    title = elective.title if elective else _("New elective")
    return render(
        request, "electives/form.html", {"form": form, "title": title, "catalogue": item, "multipart": True}
    )


@login_required
@require_GET
def report(request: HttpRequest, school_pk: int) -> HttpResponse:
    school = get_object_or_404(School.objects.visible_to(_scope(request)), pk=school_pk)
    terms = selectors.report(viewer=_scope(request), school=school)
    return render(request, "electives/report.html", {"school": school, "terms": terms})


# --- Students -----------------------------------------------------------------------------------


@login_required
@require_GET
def board(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.catalogue(viewer=_scope(request), pk=pk)
    student = selectors.student_of(request.user)
    found = selectors.board(viewer=_scope(request), item=item, student=student)
    for elective in found.electives:
        elective.waitlist_place = found.waitlisted.get(elective.pk)  # type: ignore[attr-defined]
    preference_rows = []
    if found.open_round is not None and found.open_round.is_preference:
        chosen = found.preferences
        preference_rows = [
            (rank, chosen[rank - 1] if rank <= len(chosen) else None)
            for rank in range(1, found.open_round.max_choices + 1)
        ]
    context = {
        "board": found,
        "preference_rows": preference_rows,
        "may_manage": selectors.may_manage(_scope(request), item.school_id),
    }
    return render(request, "electives/board.html", context)


def _student_or_refuse(request: HttpRequest) -> Any:
    student = selectors.student_of(request.user)
    if student is None:
        raise services.SelectionError("not_student")
    return student


ACTIONS: dict[str, tuple[Callable[..., Any], Any]] = {
    "select": (services.select, _("You have a seat.")),
    "withdraw": (services.withdraw, _("You gave your seat back.")),
    "waitlist": (services.join_waitlist, _("You are on the waitlist.")),
    "leave": (services.leave_waitlist, _("You left the waitlist.")),
}


@login_required
@require_POST
def act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Select, withdraw, join or leave a waitlist from the board (htmx swaps the card)."""
    elective = selectors.elective(viewer=_scope(request), pk=pk)
    if action not in ACTIONS:
        raise Http404
    call, done = ACTIONS[action]
    try:
        student = _student_or_refuse(request)
        kwargs: dict[str, Any] = {"student": student, "elective_id": elective.pk}
        if action in {"select", "withdraw"}:
            kwargs["by_id"] = request.user.pk
        call(**kwargs)
        messages.success(request, str(done))
    except services.SelectionError as refusal:
        messages.error(request, refusal.message)
    return redirect(f"{_board_url(elective)}#elective-{elective.pk}")


def _board_url(elective: Elective) -> str:
    from django.urls import reverse

    return reverse("electives:board", args=[elective.catalogue_id])


@login_required
@require_POST
def preferences(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.catalogue(viewer=_scope(request), pk=pk)
    selection_round = selectors.current_round(item)
    ids: list[int] = []
    not_keys = False  # a choice that cannot name an elective: refused like an unknown one
    for raw in request.POST.getlist("choice"):
        if not raw:  # a rank left empty
            continue
        key = row_id(raw)
        if key is None:
            not_keys = True
        elif key not in ids:
            ids.append(key)
    try:
        student = _student_or_refuse(request)
        if selection_round is None:
            raise services.SelectionError("closed")
        if not_keys:
            raise services.SelectionError("unknown")
        services.submit_preferences(round=selection_round, student=student, elective_ids=ids)
        messages.success(request, _("Your choices are saved. The lottery runs after the round closes."))
    except services.SelectionError as refusal:
        messages.error(request, refusal.message)
    return redirect("electives:board", pk=pk)


# --- The elective's page: photos, ratings, work, likes -------------------------------------------


@login_required
def elective_detail(request: HttpRequest, pk: int) -> HttpResponse:
    elective = selectors.elective(viewer=_scope(request), pk=pk)
    student = selectors.student_of(request.user)
    rating_form = forms.RatingForm(request.POST if request.POST.get("action") == "rate" else None)
    work_form = forms.WorkForm(
        request.POST if request.POST.get("action") == "work" else None,
        request.FILES if request.POST.get("action") == "work" else None,
    )
    if request.method == "POST":
        try:
            if student is None:
                raise services.SelectionError("not_student")
            if request.POST.get("action") == "rate" and rating_form.is_valid():
                services.rate(elective=elective, student=student, **rating_form.cleaned_data)
                messages.success(request, _("Thank you for rating."))
                return redirect("electives:elective", pk=pk)
            if request.POST.get("action") == "work" and work_form.is_valid():
                services.share_work(
                    elective=elective, student=student, title=work_form.cleaned_data["title"],
                    description=work_form.cleaned_data["description"], upload=work_form.cleaned_data["photo"],
                )  # fmt: skip
                messages.success(request, _("Your work is shared."))
                return redirect("electives:elective", pk=pk)
        except services.SelectionError as refusal:
            messages.error(request, refusal.message)
        except ValidationError as error:
            work_form.add_error("photo", error)
    page = selectors.elective_page(viewer=_scope(request), item=elective, student=student)
    today = timezone.localdate()
    return render(
        request,
        "electives/elective.html",
        {"page": page, "elective": elective, "rating_form": rating_form, "work_form": work_form,
         "end_of_term": today >= elective.catalogue.rating_start(),
         "may_see_roster": selectors.may_see_roster(_scope(request), elective)},
    )  # fmt: skip


@login_required
@require_POST
def like(request: HttpRequest, pk: int) -> HttpResponse:
    work = get_object_or_404(Work, pk=pk)
    elective = selectors.elective(viewer=_scope(request), pk=work.elective_id)
    try:
        services.toggle_like(work=work, student=_student_or_refuse(request))
    except services.SelectionError as refusal:
        messages.error(request, refusal.message)
    return redirect(f"{elective_url(elective)}#work-{work.pk}")


def elective_url(elective: Elective) -> str:
    from django.urls import reverse

    return reverse("electives:elective", args=[elective.pk])


@login_required
@require_GET
def photo(request: HttpRequest, kind: str, pk: int) -> FileResponse:
    """Photos are served through the scope check, not from a public media folder: many show
    children."""
    if kind not in {"elective", "work"}:
        raise Http404
    item: ElectivePhoto | Work = (
        get_object_or_404(ElectivePhoto, pk=pk) if kind == "elective" else get_object_or_404(Work, pk=pk)
    )
    selectors.elective(viewer=_scope(request), pk=item.elective_id)
    try:
        handle = item.image.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle)
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- Teachers: roster and attendance -------------------------------------------------------------


@login_required
def roster(request: HttpRequest, pk: int) -> HttpResponse:
    elective = selectors.elective(viewer=_scope(request), pk=pk)
    rows, dates, waitlist = selectors.roster(viewer=_scope(request), item=elective)
    raw_date = request.POST.get("date") or request.GET.get("date") or timezone.localdate().isoformat()
    try:
        day = dt.date.fromisoformat(raw_date)
    except ValueError:
        day = timezone.localdate()
    if request.method == "POST":
        statuses = {
            row.student.pk: request.POST.get(f"status-{row.student.pk}", Attendance.Status.PRESENT)
            for row in rows
        }
        try:
            services.record_attendance(elective=elective, date=day, statuses=statuses, by_id=request.user.pk)
            messages.success(request, _("Attendance saved."))
        except (services.SelectionError, ValidationError):
            messages.error(request, _("Attendance could not be saved."))
        return redirect(f"{request.path}?date={day.isoformat()}")
    return render(
        request,
        "electives/roster.html",
        {"elective": elective, "rows": rows, "dates": dates, "waitlist": waitlist, "day": day,
         "day_iso": day.isoformat(), "choices": forms.ATTENDANCE_CHOICES},
    )  # fmt: skip


# --- JSON API (what the phone page's scripts and the rush benchmark call) ------------------------


def _json_error(code: str, message: str, status: int) -> JsonResponse:
    response = JsonResponse({"ok": False, "error": code, "message": message}, status=status)
    if status == 409:
        # "Full" is the normal answer to most clicks in a rush, not a warning worth a log line.
        response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _signed_in(request: HttpRequest, elective_id: int | None, now: dt.datetime) -> services.SeatHolder | None:
    """The signed-in user with their student and the elective asked for, read at `now`; None
    for nobody. Two plain statements (the session row, then the user with their student and the
    elective) rather than Django's two ORM queries, a third for the student and a fourth for
    the elective: this is the endpoint a whole school clicks at once."""
    claim = sessions.session_claim(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
    if claim is None:
        return None
    if claim == sessions.GENERAL:
        if not request.user.is_authenticated:
            return None
        return services.seat_holder(request.user.pk, elective_id=elective_id, now=now)
    assert isinstance(claim, sessions.SessionClaim)
    holder = services.seat_holder(claim.user_id, elective_id=elective_id, now=now)
    if holder is None or not sessions.user_matches(
        claim, password=holder.password, is_active=holder.is_active
    ):
        return None
    return holder


def _api_call(request: HttpRequest, call: Any) -> JsonResponse:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):  # not JSON, or nested beyond the parser's depth
        body = None
    elective_id = row_id(body.get("elective")) if isinstance(body, dict) else None
    now = timezone.now()
    holder = _signed_in(request, elective_id, now)
    if holder is None:
        return _json_error("unauthenticated", _("Please sign in."), 401)
    if elective_id is None:
        return _json_error("bad_request", _('Send {"elective": id}.'), 400)
    try:
        if holder.student is None:
            raise services.SelectionError("not_student")
        call(
            student=holder.student,
            elective_id=elective_id,
            by_id=holder.user_id,
            now=now,
            target=holder.target,
        )
    except services.SelectionError as refusal:
        status = 404 if refusal.code == "unknown" else 403 if refusal.code == "not_student" else 409
        return _json_error(refusal.code, refusal.message, status)
    # No seat count here: one query less per click in a rush; the page polls seats.json.
    return JsonResponse({"ok": True, "elective": elective_id})


@require_POST
def api_select(request: HttpRequest) -> JsonResponse:
    return _api_call(request, services.select)


@require_POST
def api_withdraw(request: HttpRequest) -> JsonResponse:
    return _api_call(request, services.withdraw)


@login_required
@require_GET
def api_seats(request: HttpRequest, pk: int) -> JsonResponse:
    item = selectors.catalogue(viewer=_scope(request), pk=pk)
    student = selectors.student_of(request.user)
    mine = (
        list(Enrolment.objects.filter(catalogue=item, student=student).values_list("elective_id", flat=True))
        if student
        else []
    )
    return JsonResponse({"electives": selectors.seats(viewer=_scope(request), item=item), "mine": mine})
