"""Every write of the admissions app: keyword-only, typed, one transaction each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiaoyun.admissions.models import (
    Application,
    ApplicationDocument,
    Entry,
    Mechanism,
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
from jiaoyun.analytics.placement.instance import FORBIDDEN_IN_NAMES
from jiaoyun.core.identity import birth_date_of, id_number_problem, normalize_id_number
from jiaoyun.core.models import Guardian, Student
from jiaoyun.core.models import School as RegisterSchool

# What a parent may upload: scans and photos of paper documents. The content is sniffed, not
# only the file name, because a renamed executable must not reach a reviewer's computer.
DOCUMENT_SIGNATURES = {
    "pdf": (b"%PDF-", "application/pdf"),
    "jpg": (b"\xff\xd8\xff", "image/jpeg"),
    "jpeg": (b"\xff\xd8\xff", "image/jpeg"),
    "png": (b"\x89PNG\r\n\x1a\n", "image/png"),
}
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
MAX_DOCUMENTS = 10


def document_problem(upload: UploadedFile) -> str | None:
    """Why an uploaded document is refused (a sentence for the parent), or None."""
    name = upload.name or ""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in DOCUMENT_SIGNATURES:
        return _("%(name)s: only PDF, JPG and PNG files are accepted.") % {"name": name}
    if (upload.size or 0) > MAX_DOCUMENT_BYTES:
        return _("%(name)s: a file may be at most 5 MB.") % {"name": name}
    if not upload.size:
        return _("%(name)s: the file is empty.") % {"name": name}
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    signature, _type = DOCUMENT_SIGNATURES[extension]
    if not head.startswith(signature):
        return _("%(name)s: the content is not a %(kind)s file.") % {"name": name, "kind": extension.upper()}
    return None


def _store_documents(application: Application, files: Sequence[UploadedFile]) -> None:
    problems = [p for p in (document_problem(f) for f in files) if p]
    if problems:
        raise ValidationError(problems)
    if application.uploads.count() + len(files) > MAX_DOCUMENTS:
        raise ValidationError(_("An application holds at most %(n)d documents.") % {"n": MAX_DOCUMENTS})
    for upload in files:
        extension = (upload.name or "").rsplit(".", 1)[-1].lower()
        ApplicationDocument.objects.create(
            application=application,
            file=upload,
            original_name=(upload.name or "")[:200],
            content_type=DOCUMENT_SIGNATURES[extension][1],
            size=upload.size or 0,
        )


def _clean_name(value: str, what: str) -> str:
    value = value.strip()
    if not value or any(c in value for c in FORBIDDEN_IN_NAMES):
        raise ValidationError(
            _("%(what)s must not be empty nor contain ; : or line breaks.") % {"what": what}
        )
    return value


@transaction.atomic
def create_round(*, name: str, kind: str, school_year: int, mechanism: str) -> PlacementRound:
    """A kindergarten round always runs the tier draw; a middle-school round runs the mechanism
    the district chose for it."""
    if kind not in PlacementRound.Kind.values:
        raise ValidationError(_("Unknown kind of round."))
    if kind == PlacementRound.Kind.KINDERGARTEN:
        mechanism = Mechanism.KINDERGARTEN
    elif mechanism not in (Mechanism.BOSTON, Mechanism.DEFERRED_ACCEPTANCE):
        raise ValidationError(_("Choose immediate or deferred acceptance for a middle-school round."))
    if not name.strip():
        raise ValidationError(_("Give the round a name."))
    return PlacementRound.objects.create(
        name=name.strip(), kind=kind, school_year=school_year, mechanism=mechanism
    )


@transaction.atomic
def add_round_school(
    *, round: PlacementRound, school: RegisterSchool, zone: str, capacity: int, categories: list[str]
) -> RoundSchool:
    if round.kind != PlacementRound.Kind.MIDDLE or not _round_is_open(round.pk):
        raise ValidationError(_("Schools can only be added to an open middle-school round."))
    if 7 not in RegisterSchool.LEVELS.get(school.kind, range(0)):
        raise ValidationError(_("%(school)s has no grade 7.") % {"school": school.name})
    zone = _clean_name(zone, _("The zone"))
    categories = [_clean_name(c, _("A priority category")) for c in categories]
    if len(set(categories)) != len(categories):
        raise ValidationError(_("List each priority category once."))
    if RoundSchool.objects.filter(round=round, school=school).exists():
        raise ValidationError(_("%(school)s is already in this round.") % {"school": school.name})
    return RoundSchool.objects.create(
        round=round, school=school, zone=zone, capacity=capacity, categories=categories
    )


def _round_is_open(round_id: int) -> bool:
    # Read from the database, not from a cached related object: a draw may just have happened.
    return PlacementRound.objects.filter(pk=round_id, status=PlacementRound.Status.OPEN).exists()


@transaction.atomic
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
    tier_documents: dict[str, str] | None = None,
) -> RegistrationWindow:
    unknown = [t for t in tiers if t not in Tier.values]
    if unknown or len(set(tiers)) != len(tiers):
        raise ValidationError(_("Priority tiers must be distinct known tiers."))
    if round.kind != PlacementRound.Kind.KINDERGARTEN or not _round_is_open(round.pk):
        raise ValidationError(_("Windows can only be opened in an open kindergarten round."))
    if kindergarten.kind != RegisterSchool.Kind.KINDERGARTEN:
        raise ValidationError(_("%(school)s is not a kindergarten.") % {"school": kindergarten.name})
    if closes_on < opens_on:
        raise ValidationError(_("A window cannot close before it opens."))
    if zone:
        zone = _clean_name(zone, _("The zone"))
    documents = {t: text.strip() for t, text in (tier_documents or {}).items() if t in tiers and text.strip()}
    try:
        with transaction.atomic():
            return RegistrationWindow.objects.create(
                round=round,
                kindergarten=kindergarten,
                zone=zone,
                seats=seats,
                tiers=tiers,
                tier_documents=documents,
                waitlist_size=waitlist_size,
                opens_on=opens_on,
                closes_on=closes_on,
            )
    except IntegrityError as exc:
        raise ValidationError(
            _("%(school)s already has a window for this zone in this round.") % {"school": kindergarten.name}
        ) from exc


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
    household: str = "",
    files: Sequence[UploadedFile] = (),
    today: dt.date | None = None,
) -> Application:
    today = today or timezone.localdate()
    if not _round_is_open(window.round_id) or not window.opens_on <= today <= window.closes_on:
        raise ValidationError(_("This registration window is not open."))
    child_id_number = normalize_id_number(child_id_number)
    if id_number_problem(child_id_number):
        raise ValidationError(_("The ID number is not a valid resident ID number (GB 11643)."))
    if birth_date_of(child_id_number) != child_birth_date:
        raise ValidationError(_("The birth date does not match the ID number."))
    if not child_name.strip():
        raise ValidationError(_("Give the child's name."))
    if household and household not in Student.Household.values:
        raise ValidationError(_("Unknown household registration."))
    if claimed_tier and claimed_tier not in window.tiers:
        raise ValidationError(_("This kindergarten does not use the tier you claimed."))
    if claimed_tier and window.tier_documents.get(claimed_tier) and not files:
        raise ValidationError(
            _("Upload the documents this tier needs: %(documents)s")
            % {"documents": window.tier_documents[claimed_tier]}
        )
    # One submission at a time per round (its row locked): the check that a child is in one
    # draw per round (two kindergartens would mean two seats or none) and the round-wide
    # application number both read the round's applications, and two windows of a round
    # take applications at once. Freezing the round locks the same row: none slips in after.
    locked = PlacementRound.objects.select_for_update().get(pk=window.round_id)
    if locked.status != PlacementRound.Status.OPEN:
        raise ValidationError(_("This registration window is not open."))
    if Application.objects.filter(window__round_id=window.round_id, child_id_number=child_id_number).exists():
        raise ValidationError(_("This child already has an application in this round."))
    sequence = Application.objects.filter(window__round=window.round).count() + 1
    application = Application.objects.create(
        window=window,
        number=f"K{window.round_id}-{sequence:06d}",
        guardian=guardian,
        child_name=child_name.strip(),
        child_birth_date=child_birth_date,
        child_id_number=child_id_number,
        household=household,
        claimed_tier=claimed_tier,
        documents=documents,
    )
    _store_documents(application, files)
    return application


@transaction.atomic
def add_documents(
    *, application: Application, guardian: Guardian, files: Sequence[UploadedFile], note: str = ""
) -> Application:
    """The parent answers a request for more documents; the application goes back to the queue."""
    if application.guardian_id != guardian.pk:
        raise ValidationError(_("This is not your application."))
    if not _round_is_open(application.window.round_id):
        raise ValidationError(_("Applications are closed."))
    if application.status != Application.Status.MORE_INFO:
        raise ValidationError(_("The kindergarten has not asked for more documents."))
    if not files:
        raise ValidationError(_("Choose at least one file."))
    _store_documents(application, files)
    if note.strip():
        application.documents = (application.documents + "\n" + note.strip()).strip()
    application.status = Application.Status.SUBMITTED
    application.save(update_fields=["documents", "status"])
    return application


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
    current = PlacementRound.objects.select_for_update().get(pk=round.pk)
    # A commitment that could be swapped after people saw it would commit to nothing.
    if current.seed_commitment and current.seed_commitment != commitment:
        raise ValidationError(_("The commitment has been published and cannot be changed."))
    round.seed_commitment = commitment
    round.commitment_published_at = current.commitment_published_at or timezone.now()
    round.save(update_fields=["seed_commitment", "commitment_published_at"])
    return round


@transaction.atomic
def register_graduates(*, round: PlacementRound, students: list[Student]) -> list[Entry]:
    """Bring graduating primary students from the register into a middle-school round; their
    zone is their primary school's zone."""
    if round.kind != PlacementRound.Kind.MIDDLE or not _round_is_open(round.pk):
        raise ValidationError(_("Students can only be added to an open middle-school round."))
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


CATEGORY_HEADERS = ("全国学籍号", "学校代码", "优先类别")


@transaction.atomic
def assign_categories(*, round: PlacementRound, data: bytes) -> int:
    """Record which students hold which priority category at which school, from a sheet with
    the columns 全国学籍号, 学校代码, 优先类别 (one row per student and school). All or nothing:
    every bad row is named and nothing changes. Returns the number of students updated."""
    from jiaoyun.exchange.reader import UnreadableFile, read_table
    from jiaoyun.exchange.values import text

    if round.kind != PlacementRound.Kind.MIDDLE or not _round_is_open(round.pk):
        raise ValidationError(_("Priority categories can only be set while a middle-school round is open."))
    try:
        rows = [[text(c) for c in cells] for _n, cells in read_table(data).rows]
    except UnreadableFile:
        raise ValidationError(_("The file cannot be read as an Excel workbook or a CSV file.")) from None
    rows = [r for r in rows if any(r)]
    if not rows or [h.strip() for h in rows[0][:3]] != list(CATEGORY_HEADERS):
        raise ValidationError(
            _("The first row must be the headers %(headers)s.") % {"headers": "、".join(CATEGORY_HEADERS)}
        )
    entries = {e.student.student_no: e for e in round.entries.select_related("student")}
    schools = {rs.school.code: rs for rs in round.schools.select_related("school")}
    problems: list[str] = []
    assigned: dict[str, dict[str, str]] = {}
    for number, cells in enumerate(rows[1:], start=2):
        student_no, code, category = (cells + ["", "", ""])[:3]
        where = _("Row %(row)s") % {"row": number}
        if student_no not in entries:
            problems.append(f"{where}: " + _("%(no)s is not in this round.") % {"no": student_no or "—"})
        elif code not in schools:
            problems.append(
                f"{where}: " + _("No school with code %(code)s in this round.") % {"code": code or "—"}
            )
        elif category not in schools[code].categories:
            problems.append(
                f"{where}: "
                + _("%(school)s has no priority category %(category)s; it has %(accepted)s.")
                % {"school": schools[code].school.name, "category": category or "—",
                   "accepted": "、".join(schools[code].categories) or "—"}
            )  # fmt: skip
        elif code in assigned.get(student_no, {}):
            problems.append(f"{where}: " + _("This student already has a category at this school above."))
        else:
            assigned.setdefault(student_no, {})[code] = category
    if problems:
        raise ValidationError(problems)
    for student_no, categories in assigned.items():
        entry = entries[student_no]
        entry.categories = categories
        entry.save(update_fields=["categories"])
    return len(assigned)


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


def _instance(round: PlacementRound) -> Any:
    if round.kind == PlacementRound.Kind.KINDERGARTEN:
        schools, applicants = _kindergarten_input(round)
    else:
        schools, applicants = _middle_input(round)
    try:
        return make_instance(schools, applicants)
    except InvalidInput as exc:
        raise ValidationError(exc.errors) from exc


@transaction.atomic
def freeze_round(*, round: PlacementRound) -> PlacementRound:
    """Close applications, reviews and preferences, and record the input the draw will read:
    the bureau publishes these files and their hash before the seed is revealed."""
    round = PlacementRound.objects.select_for_update().get(pk=round.pk)
    if round.status != PlacementRound.Status.OPEN:
        raise ValidationError(_("The round is already closed."))
    if not round.seed_commitment:
        raise ValidationError(_("Publish the seed commitment before applications close."))
    instance = _instance(round)
    round.status = PlacementRound.Status.FROZEN
    round.input_hash = instance.input_hash()
    round.input_schools_csv = schools_csv(instance.schools)
    round.input_applicants_csv = applicants_csv(instance.applicants)
    round.frozen_at = timezone.now()
    round.save(
        update_fields=["status", "input_hash", "input_schools_csv", "input_applicants_csv", "frozen_at"]
    )
    return round


@transaction.atomic
def draw_round(*, round: PlacementRound, seed: str, by: Any, public_randomness: str = "") -> PlacementRound:
    """Check the revealed seed against the commitment, run on the frozen input (freezing it now
    if the bureau skipped that step), and record it all."""
    round = PlacementRound.objects.select_for_update().get(pk=round.pk)
    if round.status == PlacementRound.Status.DRAWN:
        raise ValidationError(_("The draw has already taken place."))
    if not round.seed_commitment:
        raise ValidationError(_("Publish the seed commitment before the draw."))
    try:
        commitment = seed_commitment(seed)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
    if commitment != round.seed_commitment:
        raise ValidationError(_("The seed does not match the published commitment."))
    instance = _instance(round)
    # Every write checks that the round is open, so this can only fail if the database was
    # changed behind the application's back: then the published hash no longer names the input.
    if round.status == PlacementRound.Status.FROZEN and instance.input_hash() != round.input_hash:
        raise ValidationError(_("The input changed after it was frozen; the draw is refused."))
    try:
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
