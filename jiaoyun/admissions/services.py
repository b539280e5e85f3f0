"""Every write of the admissions app: keyword-only, typed, one transaction each."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiaoyun.admissions.models import (
    Application,
    Entry,
    Outcome,
    PlacementRound,
    RegistrationWindow,
    RoundSchool,
    Tier,
)
from jiaoyun.analytics.placement import (
    Applicant,
    InvalidInput,
    School,
    make_instance,
    run_placement,
    seed_commitment,
)
from jiaoyun.analytics.placement.files import applicants_csv, schools_csv
from jiaoyun.core.models import Guardian, Student


def _round_is_open(round_id: int) -> bool:
    # Read from the database, not from a cached related object: a draw may just have happened.
    return PlacementRound.objects.filter(pk=round_id, status=PlacementRound.Status.OPEN).exists()


def open_window(
    *,
    round: PlacementRound,
    kindergarten: Any,
    zone: str,
    seats: int,
    tiers: list[str],
    opens_on: dt.date,
    closes_on: dt.date,
    waitlist_size: int | None = None,
) -> RegistrationWindow:
    unknown = [t for t in tiers if t not in Tier.values]
    if unknown or len(set(tiers)) != len(tiers):
        raise ValidationError(_("Priority tiers must be distinct known tiers."))
    if round.kind != PlacementRound.Kind.KINDERGARTEN or round.status != PlacementRound.Status.OPEN:
        raise ValidationError(_("Windows can only be opened in an open kindergarten round."))
    return RegistrationWindow.objects.create(
        round=round,
        kindergarten=kindergarten,
        zone=zone,
        seats=seats,
        tiers=tiers,
        waitlist_size=waitlist_size,
        opens_on=opens_on,
        closes_on=closes_on,
    )


@transaction.atomic
def submit_application(
    *,
    window: RegistrationWindow,
    guardian: Guardian,
    child_name: str,
    child_birth_date: dt.date,
    child_id_number: str,
    claimed_tier: str = "",
    documents: str = "",
    today: dt.date | None = None,
) -> Application:
    today = today or timezone.localdate()
    if not window.opens_on <= today <= window.closes_on:
        raise ValidationError(_("This registration window is not open."))
    if claimed_tier and claimed_tier not in window.tiers:
        raise ValidationError(_("This kindergarten does not use the tier you claimed."))
    if Application.objects.filter(window=window, child_id_number=child_id_number).exists():
        raise ValidationError(_("This child already has an application here."))
    # Locking the window row serialises concurrent submissions, so numbers never collide.
    RegistrationWindow.objects.select_for_update().get(pk=window.pk)
    sequence = Application.objects.filter(window__round=window.round).count() + 1
    return Application.objects.create(
        window=window,
        number=f"K{window.round_id}-{sequence:06d}",
        guardian=guardian,
        child_name=child_name,
        child_birth_date=child_birth_date,
        child_id_number=child_id_number,
        claimed_tier=claimed_tier,
        documents=documents,
    )


@transaction.atomic
def review_application(
    *, application: Application, decision: str, reason: str, reviewer: Any, tier: str = ""
) -> Application:
    """Accept into a tier (or the general tier), ask for more documents, or reject: always with a
    reason the parent sees."""
    if not reason.strip():
        raise ValidationError(_("Give the parent a reason."))
    if not _round_is_open(application.window.round_id):
        raise ValidationError(_("The draw has taken place; applications can no longer be reviewed."))
    if decision not in (
        Application.Status.ACCEPTED,
        Application.Status.MORE_INFO,
        Application.Status.REJECTED,
    ):
        raise ValidationError(_("Unknown decision."))
    if decision == Application.Status.ACCEPTED and tier and tier not in application.window.tiers:
        raise ValidationError(_("This kindergarten does not use that tier."))
    application.status = decision
    application.tier = tier if decision == Application.Status.ACCEPTED else ""
    application.review_reason = reason.strip()
    application.reviewed_at = timezone.now()
    application.reviewed_by = reviewer
    application.save()
    return application


@transaction.atomic
def publish_commitment(*, round: PlacementRound, commitment: str) -> PlacementRound:
    commitment = commitment.strip().lower()
    if not _round_is_open(round.pk):
        raise ValidationError(_("The draw has already taken place."))
    if len(commitment) != 64 or any(c not in "0123456789abcdef" for c in commitment):
        raise ValidationError(_("A commitment is 64 hexadecimal digits."))
    round.seed_commitment = commitment
    round.save(update_fields=["seed_commitment"])
    return round


@transaction.atomic
def register_graduates(*, round: PlacementRound, students: list[Student]) -> list[Entry]:
    """Bring graduating primary students from the register into a middle-school round; their
    zone is their primary school's zone."""
    existing = set(Entry.objects.filter(round=round).values_list("student_id", flat=True))
    start = Entry.objects.filter(round=round).count()
    entries = []
    for offset, student in enumerate((s for s in students if s.pk not in existing), start=1):
        entries.append(
            Entry.objects.create(
                round=round,
                student=student,
                number=f"M{round.pk}-{start + offset:06d}",
                zone=student.school.zone,
            )
        )
    return entries


@transaction.atomic
def set_preferences(
    *, entry: Entry, school_codes: list[str], categories: dict[str, str] | None = None
) -> Entry:
    if not _round_is_open(entry.round_id):
        raise ValidationError(_("The draw has already taken place."))
    in_zone = set(
        RoundSchool.objects.filter(round=entry.round, zone=entry.zone).values_list("school__code", flat=True)
    )
    if len(set(school_codes)) != len(school_codes) or not set(school_codes) <= in_zone:
        raise ValidationError(_("List each school of your zone at most once."))
    entry.preferences = school_codes
    if categories is not None:
        entry.categories = categories
    entry.save(update_fields=["preferences", "categories"])
    return entry


def _kindergarten_input(round: PlacementRound) -> tuple[list[School], list[Applicant]]:
    windows = list(round.windows.select_related("kindergarten"))
    schools = [
        School(
            id=w.placement_id,
            capacity=w.seats,
            zone="",
            categories=tuple(w.tiers),
            waitlist=w.waitlist_size,
        )
        for w in windows
    ]
    by_window = {w.pk: w.placement_id for w in windows}
    applicants = [
        Applicant(
            id=a.number,
            preferences=(by_window[a.window_id],),
            categories={by_window[a.window_id]: a.tier} if a.tier else {},
        )
        for a in Application.objects.filter(window__round=round, status=Application.Status.ACCEPTED)
    ]
    return schools, applicants


def _middle_input(round: PlacementRound) -> tuple[list[School], list[Applicant]]:
    schools = [
        School(id=rs.school.code, capacity=rs.capacity, zone=rs.zone, categories=tuple(rs.categories))
        for rs in round.schools.select_related("school")
    ]
    applicants = [
        Applicant(id=e.number, zone=e.zone, preferences=tuple(e.preferences), categories=dict(e.categories))
        for e in round.entries.all()
    ]
    return schools, applicants


@transaction.atomic
def draw_round(*, round: PlacementRound, seed: str, by: Any, public_randomness: str = "") -> PlacementRound:
    """Freeze the input, check the revealed seed against the commitment, run, and record it all."""
    round = PlacementRound.objects.select_for_update().get(pk=round.pk)
    if round.status != PlacementRound.Status.OPEN:
        raise ValidationError(_("The draw has already taken place."))
    if not round.seed_commitment:
        raise ValidationError(_("Publish the seed commitment before the draw."))
    try:
        commitment = seed_commitment(seed)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
    if commitment != round.seed_commitment:
        raise ValidationError(_("The seed does not match the published commitment."))
    if round.kind == PlacementRound.Kind.KINDERGARTEN:
        schools, applicants = _kindergarten_input(round)
    else:
        schools, applicants = _middle_input(round)
    try:
        instance = make_instance(schools, applicants)
        result = run_placement(
            instance, mechanism=round.mechanism, seed=seed, public_randomness=public_randomness
        )
    except (InvalidInput, ValueError) as exc:
        raise ValidationError(str(exc)) from exc

    outcomes = {row["id"]: row for row in result.applicants}
    if round.kind == PlacementRound.Kind.KINDERGARTEN:
        for application in Application.objects.filter(
            window__round=round, status=Application.Status.ACCEPTED
        ):
            row = outcomes[application.number]
            application.outcome = row["status"]
            application.lottery_number = row["lottery_number"]
            application.waitlist_position = row["waitlist_position"]
            application.save(update_fields=["outcome", "lottery_number", "waitlist_position"])
    else:
        school_by_code = {rs.school.code: rs.school for rs in round.schools.select_related("school")}
        for entry in round.entries.all():
            row = outcomes[entry.number]
            entry.outcome = row["status"] if row["status"] != Outcome.WAITLISTED else Outcome.UNPLACED
            entry.placed_school = school_by_code.get(row["school"]) if row["status"] == "placed" else None
            entry.choice = row["choice"]
            entry.lottery_number = row["lottery_number"]
            entry.save(update_fields=["outcome", "placed_school", "choice", "lottery_number"])

    round.status = PlacementRound.Status.DRAWN
    round.seed = seed
    round.public_randomness = public_randomness
    round.input_hash = result.document["input_hash"]
    round.algorithm_version = result.document["algorithm_version"]
    round.input_schools_csv = schools_csv(instance.schools)
    round.input_applicants_csv = applicants_csv(instance.applicants)
    round.result_json = result.to_bytes().decode("utf-8")
    round.drawn_at = timezone.now()
    round.drawn_by = by
    round.save()
    return round
