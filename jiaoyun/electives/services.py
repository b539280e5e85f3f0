"""Every write of the course supermarket: keyword-only, one transaction each.

Seats move only through `_take_seat` and `_release_seat`: a conditional UPDATE on the
elective's counter (`taken = taken + 1 WHERE taken < capacity`) and an INSERT guarded by the
unique constraints on (student, elective) and (student, slot). The hot elective row is
touched last, so its row lock is held only for the commit, not for the whole request. On
PostgreSQL a swap through the waitlist can lock two electives in opposite orders; the
database then aborts one transaction as a deadlock and `_retrying` runs it again.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiaoyun.analytics.electives import lottery
from jiaoyun.core.models import Grade, School, SchoolClass, Student, Teacher, Term
from jiaoyun.electives.models import (
    Attendance,
    Catalogue,
    Elective,
    ElectivePhoto,
    Enrolment,
    Preference,
    Rating,
    SelectionEvent,
    SelectionRound,
    StudentLoad,
    TimeSlot,
    WaitlistEntry,
    Work,
    WorkLike,
)

T = TypeVar("T")

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTO_PIXELS = 40_000_000
PHOTO_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
# PostgreSQL's deadlock_detected and serialization_failure: safe to run the transaction again.
RETRYABLE_SQLSTATES = {"40P01", "40001"}
# Rows per multi-row INSERT of the lottery: 5,000 rows of at most 7 columns stay under
# PostgreSQL's 65,535 parameters per statement.
BULK_ROWS = 5000


class SelectionError(Exception):
    """A refusal the student or the office can act on. `code` is stable for the JSON API."""

    MESSAGES: dict[str, Any] = {
        "unknown": _("This elective does not exist."),
        "not_published": _("This catalogue is not published yet."),
        "closed": _("No selection round is open now."),
        "lottery_pending": _("The lottery of the preference round has not been run yet."),
        "not_eligible": _("This elective is not open to your grade."),
        "full": _("This elective is full."),
        "already_enrolled": _("You already have a seat in this elective."),
        "slot_taken": _("You already have an elective at this time."),
        "limit_reached": _("You already have as many electives as you may take."),
        "not_enrolled": _("You have no seat in this elective."),
        "not_full": _("This elective still has seats: take one instead of waiting."),
        "already_waitlisted": _("You are already on the waitlist."),
        "not_waitlisted": _("You are not on the waitlist."),
        "too_many_choices": _("You ranked more electives than this round allows."),
        "duplicate_choice": _("You ranked an elective twice."),
        "not_preference_round": _("This is not a preference round."),
        "round_open": _("The round is still open."),
        "already_allocated": _("The lottery of this round has already been run."),
        "ratings_closed": _("Ratings and work open at the end of term."),
        "own_work": _("You cannot like your own work."),
        "not_student": _("Only students choose electives."),
        "capacity_below_taken": _("The capacity cannot be lower than the seats already taken."),
        "slot_in_use": _("Students already hold seats: the time slot cannot change."),
        "empty_catalogue": _("Add electives before publishing."),
        "limit_below_held": _("Some students already hold more electives than that."),
    }

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(code)

    @property
    def message(self) -> str:
        return str(self.MESSAGES.get(self.code, self.code))


def _retrying[T](work: Callable[[], T], attempts: int = 5, *, atomic: bool = True) -> T:
    """Run `work` in a transaction (or as the single statement it is, without `atomic`),
    again after a deadlock or a serialization failure."""
    for attempt in range(attempts):
        try:
            if not atomic:
                return work()
            with transaction.atomic():
                return work()
        except OperationalError as error:
            sqlstate = getattr(error.__cause__, "sqlstate", None)
            if sqlstate not in RETRYABLE_SQLSTATES or attempt == attempts - 1:
                raise
            time.sleep(0.005 * (attempt + 1))
    raise AssertionError("unreachable")


# --- The academic office: catalogues, slots, electives, rounds ---------------------------------


def create_catalogue(*, school: School, term: Term, title: str, max_per_student: int = 1) -> Catalogue:
    with transaction.atomic():
        return Catalogue.objects.create(
            school=school, term=term, title=title, max_per_student=max_per_student
        )


def update_catalogue(
    *, catalogue: Catalogue, title: str, max_per_student: int, ratings_open_on: dt.date | None
) -> Catalogue:
    with transaction.atomic():
        catalogue = Catalogue.objects.select_for_update().get(pk=catalogue.pk)
        if StudentLoad.objects.filter(catalogue=catalogue, held__gt=max_per_student).exists():
            raise SelectionError("limit_below_held")
        catalogue.title = title
        catalogue.max_per_student = max_per_student
        catalogue.ratings_open_on = ratings_open_on
        catalogue.save()
        StudentLoad.objects.filter(catalogue=catalogue).update(limit=max_per_student)
        return catalogue


def publish_catalogue(*, catalogue: Catalogue) -> Catalogue:
    with transaction.atomic():
        if not catalogue.electives.exists():
            raise SelectionError("empty_catalogue")
        catalogue.status = Catalogue.Status.PUBLISHED
        catalogue.published_at = timezone.now()
        catalogue.save(update_fields=["status", "published_at"])
        return catalogue


def add_slot(*, catalogue: Catalogue, weekday: int, start: dt.time, end: dt.time) -> TimeSlot:
    with transaction.atomic():
        return TimeSlot.objects.create(catalogue=catalogue, weekday=weekday, start=start, end=end)


def save_elective(
    *,
    catalogue: Catalogue,
    title: str,
    category: str,
    teacher: Teacher,
    room: str,
    slot: TimeSlot,
    capacity: int,
    grade_levels: Sequence[int],
    description: str = "",
    elective: Elective | None = None,
) -> Elective:
    """Create an elective, or change one. A larger capacity promotes the waitlist at once."""

    def work() -> Elective:
        if elective is None:
            return Elective.objects.create(
                catalogue=catalogue, title=title, category=category, teacher=teacher, room=room,
                slot=slot, capacity=capacity, grade_levels=sorted(set(grade_levels)), description=description,
            )  # fmt: skip
        current = Elective.objects.select_for_update().get(pk=elective.pk)
        if capacity < current.taken:
            raise SelectionError("capacity_below_taken")
        if slot.pk != current.slot_id and current.taken:
            raise SelectionError("slot_in_use")
        current.title, current.category, current.teacher, current.room = title, category, teacher, room
        current.slot, current.capacity, current.description = slot, capacity, description
        current.grade_levels = sorted(set(grade_levels))
        current.save()
        _promote([current.pk])
        return current

    return _retrying(work)


def validate_photo(upload: UploadedFile) -> str:
    """Check that an upload is a JPEG, PNG or WebP photo of sane size; return its extension.
    The decoder, not the file name or the browser's content type, decides the type."""
    from PIL import Image, UnidentifiedImageError

    if upload.size is None or upload.size > MAX_PHOTO_BYTES:
        raise ValidationError(_("A photo may be at most 5 MB."), code="too_large")
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            kind = image.format
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(_("This file is not a photo."), code="not_image") from None
    finally:
        upload.seek(0)
    if kind not in PHOTO_FORMATS:
        raise ValidationError(_("Photos must be JPEG, PNG or WebP."), code="bad_type")
    if width * height > MAX_PHOTO_PIXELS:
        raise ValidationError(_("This photo has too many pixels."), code="too_many_pixels")
    return PHOTO_FORMATS[kind]


def add_photo(*, elective: Elective, upload: UploadedFile, caption: str = "") -> ElectivePhoto:
    extension = validate_photo(upload)
    upload.name = f"photo.{extension}"
    with transaction.atomic():
        return ElectivePhoto.objects.create(elective=elective, image=upload, caption=caption)


def create_round(
    *, catalogue: Catalogue, kind: str, opens_at: dt.datetime, closes_at: dt.datetime, max_choices: int = 5
) -> SelectionRound:
    seed = lottery_seed = ""
    if kind == SelectionRound.Kind.PREFERENCE:
        seed = secrets.token_hex(32)
        lottery_seed = lottery.seed_commitment(seed)
    with transaction.atomic():
        return SelectionRound.objects.create(
            catalogue=catalogue, kind=kind, opens_at=opens_at, closes_at=closes_at,
            max_choices=max_choices, seed=seed, seed_commitment=lottery_seed,
        )  # fmt: skip


# --- Students: preferences, seats, waitlists ----------------------------------------------------


def _level(student: Student) -> int | None:
    school_class = student.school_class
    return school_class.grade.level if school_class is not None else None


# The seat path is the one request a whole school sends at once, so it is written as a few
# plain SQL statements (portable between SQLite and PostgreSQL) instead of ORM queries, whose
# compilation costs more CPU than the database spends running them.
_ELECTIVE = Elective._meta.db_table
_CATALOGUE = Catalogue._meta.db_table
_ROUND = SelectionRound._meta.db_table
_ENROLMENT = Enrolment._meta.db_table
_EVENT = SelectionEvent._meta.db_table
_LOAD = StudentLoad._meta.db_table

# One read answers everything a request checks before it writes: the elective, its catalogue,
# the kind of the round open now (the earliest opened, as students see it) and whether a closed
# preference round still awaits its lottery. The four %s are `_target_params(now)`.
_TARGET_COLUMNS = f"""
    e.id, e.catalogue_id, e.slot_id, e.capacity, e.taken, e.grade_levels, c.status, c.max_per_student,
    (SELECT r.kind FROM "{_ROUND}" r
      WHERE r.catalogue_id = e.catalogue_id AND r.opens_at <= %s AND r.closes_at > %s
      ORDER BY r.opens_at, r.id LIMIT 1),
    EXISTS (SELECT 1 FROM "{_ROUND}" r
             WHERE r.catalogue_id = e.catalogue_id AND r.kind = %s AND r.closes_at <= %s
               AND r.allocated_at IS NULL)"""
_TARGET_SQL = f"""
    SELECT {_TARGET_COLUMNS}
      FROM "{_ELECTIVE}" e JOIN "{_CATALOGUE}" c ON c.id = e.catalogue_id
     WHERE e.id = %s AND c.school_id = %s"""
# Student load +1, or a first row holding 1: one statement whatever the student held before;
# no row comes back when the student is at the limit.
_LOAD_SQL = f"""
    INSERT INTO "{_LOAD}" (student_id, catalogue_id, held, "limit") VALUES (%s, %s, 1, %s)
    ON CONFLICT (student_id, catalogue_id) DO UPDATE SET held = "{_LOAD}".held + 1
     WHERE "{_LOAD}".held < "{_LOAD}"."limit"
    RETURNING id"""
_ENROL_SQL = f"""
    INSERT INTO "{_ENROLMENT}" (student_id, elective_id, catalogue_id, slot_id, source, rank, created_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id"""
_EVENT_SQL = f"""
    INSERT INTO "{_EVENT}" (at, catalogue_id, elective_id, student_id, action, by_id)
    VALUES (%s, %s, %s, %s, %s, %s)"""
# The compare-and-swap on the seat counter: 0 rows means full.
_SEAT_SQL = f'UPDATE "{_ELECTIVE}" SET taken = taken + 1 WHERE id = %s AND taken < capacity'
_TAKE_SEAT_SQL = "SELECT electives_take_seat(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
_TAKE_SEAT_REFUSALS = {-1: "full", -2: "limit_reached"}


def _target_params(now: dt.datetime) -> list[Any]:
    when = connection.ops.adapt_datetimefield_value(now)
    return [when, when, SelectionRound.Kind.PREFERENCE.value, when]


@dataclass(frozen=True, slots=True)
class Target:
    """What `_TARGET_COLUMNS` read of one elective for one student at one moment (`row` is None
    when the elective is not one of the student's school), read ahead by `seat_holder`."""

    elective_id: int
    now: dt.datetime
    row: tuple[Any, ...] | None


def _elective_for(
    student: Student, elective_id: int, now: dt.datetime, target: Target | None = None
) -> Elective:
    """The elective, with its catalogue and the state of its rounds at `now`, in one query
    (none when `target` read it already). Sets `open_round_kind` (None when no round is open)
    and `lottery_pending` on it."""
    if target is not None and target.elective_id == elective_id and target.now == now:
        row = target.row
    else:
        with connection.cursor() as cursor:
            cursor.execute(_TARGET_SQL, [*_target_params(now), elective_id, student.school_id])
            row = cursor.fetchone()
    if row is None:
        raise SelectionError("unknown")
    pk, catalogue_id, slot_id, capacity, taken, levels, status, max_per_student, kind, pending = row
    if isinstance(levels, str):
        levels = json.loads(levels)
    elective = Elective(
        id=pk, catalogue_id=catalogue_id, slot_id=slot_id, capacity=capacity, taken=taken, grade_levels=levels
    )
    elective.catalogue = Catalogue(
        id=catalogue_id, school_id=student.school_id, status=status, max_per_student=max_per_student
    )
    for instance in (elective, elective.catalogue):  # rows read from the database, not new ones
        instance._state.adding = False
        instance._state.db = connection.alias
    if not elective.catalogue.is_published:
        raise SelectionError("not_published")
    elective.open_round_kind = kind  # type: ignore[attr-defined]
    elective.lottery_pending = bool(pending)  # type: ignore[attr-defined]
    return elective


def _seat_holder_sql() -> str:
    user, student, school_class, grade = get_user_model()._meta, Student._meta, SchoolClass._meta, Grade._meta
    return (
        "SELECT u.password, u.is_active, s.id, s.school_id, s.school_class_id, s.status, cl.grade_id, g.level, "
        f"{_TARGET_COLUMNS} "
        f'FROM "{user.db_table}" u LEFT JOIN "{student.db_table}" s ON s.user_id = u.id '
        f'LEFT JOIN "{school_class.db_table}" cl ON cl.id = s.school_class_id '
        f'LEFT JOIN "{grade.db_table}" g ON g.id = cl.grade_id '
        f'LEFT JOIN ("{_ELECTIVE}" e JOIN "{_CATALOGUE}" c ON c.id = e.catalogue_id) '
        "ON e.id = %s AND c.school_id = s.school_id WHERE u.id = %s"
    )


_SEAT_HOLDER_SQL = _seat_holder_sql()


@dataclass(frozen=True, slots=True)
class SeatHolder:
    """A user as the JSON API's hot path reads them: what `accounts.sessions.user_matches`
    checks, their student (None for a user who is not one) and, when asked for, the elective
    they are asking about as `_elective_for` reads it."""

    user_id: Any
    password: str
    is_active: bool
    student: Student | None
    target: Target | None = None


def seat_holder(
    user_id: Any, *, elective_id: int | None = None, now: dt.datetime | None = None
) -> SeatHolder | None:
    """The user and their student, with just what taking a seat checks (school, status,
    grade level), and with `elective_id` the elective as of `now`, in one plain query: the JSON
    API's hot path, where building ORM queries cost more CPU than running them and each
    statement is a round trip. The student's other fields load on access, as with `.only()`.
    None for no such user."""
    now = now or timezone.now()
    with connection.cursor() as cursor:  # no elective asked for: the join finds none
        cursor.execute(_SEAT_HOLDER_SQL, [*_target_params(now), elective_id, user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    password, is_active, pk, school_id, class_id, status, grade_id, level = row[:8]
    if pk is None:
        return SeatHolder(user_id, password, is_active, None)
    db = connection.alias
    student = Student.from_db(
        db, ["id", "school_id", "school_class_id", "status"], [pk, school_id, class_id, status]
    )
    if class_id is not None:
        school_class = SchoolClass.from_db(db, ["id", "grade_id"], [class_id, grade_id])
        school_class.grade = Grade.from_db(db, ["id", "level"], [grade_id, level])
        student.school_class = school_class
    else:
        student.school_class = None
    target = (
        None if elective_id is None else Target(elective_id, now, row[8:] if row[8] is not None else None)
    )
    return SeatHolder(user_id, password, is_active, student, target)


def _require_open_round(elective: Elective, *, first_come: bool) -> None:
    """Refuse unless a round is open (a first-come round when `first_come`), and while a closed
    preference round awaits its lottery."""
    if elective.lottery_pending:  # type: ignore[attr-defined]
        raise SelectionError("lottery_pending")
    kind = elective.open_round_kind  # type: ignore[attr-defined]
    if kind is None or (first_come and kind == SelectionRound.Kind.PREFERENCE):
        raise SelectionError("closed")


def _check_eligible(student: Student, elective: Elective) -> None:
    if student.status != Student.Status.ENROLLED or not elective.admits_level(_level(student)):
        raise SelectionError("not_eligible")


def _take_seat(
    *, student_id: int, elective: Elective, limit: int, source: str, action: str, rank: int | None = None,
    by_id: int | None = None, count_load: bool = True,
) -> Enrolment:  # fmt: skip
    """Claim a seat or raise SelectionError ("full", "limit_reached"); IntegrityError on a
    duplicate seat or a second elective in the slot (the caller diagnoses which). On
    PostgreSQL one function call, a statement that is a transaction of its own; elsewhere
    four statements (`_take_seat_statements`), inside the caller's transaction."""
    now = timezone.now()  # the trail keeps the real time, whatever `now` the round was checked at
    when = connection.ops.adapt_datetimefield_value(now)
    catalogue_id = elective.catalogue_id
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The same four statements in one function call (migration 0002).
            cursor.execute(
                _TAKE_SEAT_SQL,
                [student_id, elective.pk, catalogue_id, elective.slot_id, limit, source, rank, when, action, by_id,
                 count_load],
            )  # fmt: skip
            (enrolment_id,) = cursor.fetchone()
            if enrolment_id < 0:
                raise SelectionError(_TAKE_SEAT_REFUSALS[enrolment_id])
        else:
            enrolment_id = _take_seat_statements(cursor, student_id, elective, limit, source, rank, when, action,
                                                 by_id, count_load)  # fmt: skip
    return Enrolment(
        id=enrolment_id, student_id=student_id, elective_id=elective.pk, catalogue_id=catalogue_id,
        slot_id=elective.slot_id, source=source, rank=rank, created_at=now,
    )  # fmt: skip


def _take_seat_statements(
    cursor: Any, student_id: int, elective: Elective, limit: int, source: str, rank: int | None, when: Any,
    action: str, by_id: int | None, count_load: bool,
) -> int:  # fmt: skip
    """`_take_seat` as four statements (SQLite): the student's load, the seat row, its event,
    and the elective's counter last, so that the hot row stays locked only until the commit.
    A refusal raises after writes that the caller's transaction rolls back."""
    catalogue_id = elective.catalogue_id
    if count_load:
        cursor.execute(_LOAD_SQL, [student_id, catalogue_id, limit])
        if cursor.fetchone() is None:
            raise SelectionError("limit_reached")
    cursor.execute(_ENROL_SQL, [student_id, elective.pk, catalogue_id, elective.slot_id, source, rank, when])
    (enrolment_id,) = cursor.fetchone()
    cursor.execute(_EVENT_SQL, [when, catalogue_id, elective.pk, student_id, action, by_id])
    cursor.execute(_SEAT_SQL, [elective.pk])
    if cursor.rowcount != 1:
        raise SelectionError("full")
    return int(enrolment_id)


def _release_seat(*, enrolment: Enrolment, action: str, by_id: int | None, count_load: bool = True) -> None:
    enrolment.delete()
    if count_load:
        StudentLoad.objects.filter(
            student_id=enrolment.student_id, catalogue_id=enrolment.catalogue_id
        ).update(held=F("held") - 1)
    Elective.objects.filter(pk=enrolment.elective_id).update(taken=F("taken") - 1)
    SelectionEvent.objects.create(
        catalogue_id=enrolment.catalogue_id, elective_id=enrolment.elective_id, student_id=enrolment.student_id,
        action=action, by_id=by_id,
    )  # fmt: skip


def _diagnose_conflict(student: Student, elective: Elective) -> SelectionError:
    if Enrolment.objects.filter(student=student, elective=elective).exists():
        return SelectionError("already_enrolled")
    return SelectionError("slot_taken")


def select(
    *, student: Student, elective_id: int, by_id: int | None = None, now: dt.datetime | None = None,
    target: Target | None = None,
) -> Enrolment:  # fmt: skip
    """Take a seat in a first-come round: one read (none given the `target` read with the
    student), then one short transaction."""
    now = now or timezone.now()
    elective = _elective_for(student, elective_id, now, target)
    _require_open_round(elective, first_come=True)
    _check_eligible(student, elective)
    if elective.taken >= elective.capacity:
        # Refused on the committed state just read, without a transaction: in a rush most
        # clicks on a hot elective end here. (A seat freed a moment later would go to the
        # waitlist's head first anyway; the counter's compare-and-swap below is the guarantee.)
        raise SelectionError("full")
    try:
        return _retrying(
            lambda: _take_seat(
                student_id=student.pk,
                elective=elective,
                limit=elective.catalogue.max_per_student,
                source=Enrolment.Source.FIRST_COME,
                action=SelectionEvent.Action.ENROL,
                by_id=by_id,
            ),  # fmt: skip
            # On PostgreSQL one statement: no BEGIN and COMMIT round trips around it, unless
            # inside a caller's transaction, where a refusal must roll back to a savepoint.
            atomic=connection.vendor != "postgresql" or connection.in_atomic_block,
        )
    except IntegrityError:
        raise _diagnose_conflict(student, elective) from None


def withdraw(
    *, student: Student, elective_id: int, by_id: int | None = None, now: dt.datetime | None = None,
    target: Target | None = None,
) -> None:  # fmt: skip
    """Give a seat back during an open round; the waitlist's head takes it in the same transaction."""
    now = now or timezone.now()
    elective = _elective_for(student, elective_id, now, target)
    _require_open_round(elective, first_come=False)

    def work() -> None:
        enrolment = Enrolment.objects.select_for_update().filter(student=student, elective=elective).first()
        if enrolment is None:
            raise SelectionError("not_enrolled")
        _release_seat(enrolment=enrolment, action=SelectionEvent.Action.WITHDRAW, by_id=by_id)
        _promote([elective.pk])

    _retrying(work)


def join_waitlist(*, student: Student, elective_id: int, now: dt.datetime | None = None) -> WaitlistEntry:
    now = now or timezone.now()
    elective = _elective_for(student, elective_id, now)
    _require_open_round(elective, first_come=True)
    _check_eligible(student, elective)

    def work() -> WaitlistEntry:
        current = Elective.objects.select_for_update().get(pk=elective.pk)
        if current.taken < current.capacity:
            raise SelectionError("not_full")
        if Enrolment.objects.filter(student=student, elective=elective).exists():
            raise SelectionError("already_enrolled")
        if WaitlistEntry.objects.filter(student=student, elective=elective).exists():
            raise SelectionError("already_waitlisted")
        entry = WaitlistEntry.objects.create(student=student, elective=elective, created_at=now)
        SelectionEvent.objects.create(
            catalogue_id=elective.catalogue_id, elective=elective, student=student,
            action=SelectionEvent.Action.WAITLIST,
        )  # fmt: skip
        return entry

    try:
        return _retrying(work)
    except IntegrityError:
        raise SelectionError("already_waitlisted") from None


def leave_waitlist(*, student: Student, elective_id: int) -> None:
    with transaction.atomic():
        deleted, _ = WaitlistEntry.objects.filter(student=student, elective_id=elective_id).delete()
        if not deleted:
            raise SelectionError("not_waitlisted")
        elective = Elective.objects.get(pk=elective_id)
        SelectionEvent.objects.create(
            catalogue_id=elective.catalogue_id, elective=elective, student=student,
            action=SelectionEvent.Action.LEAVE_WAITLIST,
        )  # fmt: skip


def _promote(elective_ids: list[int]) -> int:
    """Inside a transaction: fill free seats from the waitlists, head first. A student who holds
    another elective in the same slot swaps it, which frees that elective's seat in turn."""
    promoted = 0
    queue = list(elective_ids)
    while queue:
        elective = Elective.objects.select_for_update().select_related("catalogue").get(pk=queue.pop(0))
        while elective.taken < elective.capacity:
            entry = WaitlistEntry.objects.filter(elective=elective).order_by("created_at", "pk").first()
            if entry is None:
                break
            entry.delete()
            if Enrolment.objects.filter(student_id=entry.student_id, elective=elective).exists():
                continue
            held = Enrolment.objects.filter(student_id=entry.student_id, slot_id=elective.slot_id).first()
            if held is not None:
                _release_seat(
                    enrolment=held, action=SelectionEvent.Action.SWAP_OUT, by_id=None, count_load=False
                )
                queue.append(held.elective_id)
            try:
                _take_seat(
                    student_id=entry.student_id, elective=elective, limit=elective.catalogue.max_per_student,
                    source=Enrolment.Source.WAITLIST, action=SelectionEvent.Action.PROMOTE, rank=entry.rank,
                    count_load=held is None,
                )  # fmt: skip
            except SelectionError as refusal:
                if refusal.code != "limit_reached":
                    raise
                continue
            # The student now has this slot: waitlists they ranked lower in it are moot.
            later = WaitlistEntry.objects.filter(
                student_id=entry.student_id, elective__slot_id=elective.slot_id
            )
            if entry.rank is not None:
                later = later.exclude(rank__lt=entry.rank)
            later.delete()
            promoted += 1
            elective.taken += 1
    return promoted


def submit_preferences(
    *, round: SelectionRound, student: Student, elective_ids: Sequence[int], now: dt.datetime | None = None
) -> list[Preference]:
    now = now or timezone.now()
    if not round.is_preference:
        raise SelectionError("not_preference_round")
    if not round.is_open(now):
        raise SelectionError("closed")
    if not round.catalogue.is_published or round.catalogue.school_id != student.school_id:
        raise SelectionError("not_published")
    if len(elective_ids) > round.max_choices:
        raise SelectionError("too_many_choices")
    if len(set(elective_ids)) != len(elective_ids):
        raise SelectionError("duplicate_choice")
    electives = {e.pk: e for e in Elective.objects.filter(catalogue=round.catalogue, pk__in=elective_ids)}
    if len(electives) != len(elective_ids):
        raise SelectionError("unknown")
    for elective in electives.values():
        _check_eligible(student, elective)
    with transaction.atomic():
        Preference.objects.filter(round=round, student=student).delete()
        return Preference.objects.bulk_create(
            [
                Preference(round=round, student=student, elective=electives[eid], rank=rank)
                for rank, eid in enumerate(elective_ids, start=1)
            ]
        )


@dataclass
class LotteryResult:
    round: SelectionRound
    applicants: int
    granted: int
    waitlisted: int
    by_rank: dict[int, int]  # rank -> seats granted at that rank


def run_lottery(*, round: SelectionRound, now: dt.datetime | None = None) -> LotteryResult:
    """Allocate the seats of a closed preference round (see jiaoyun.analytics.electives.lottery)."""
    now = now or timezone.now()
    with transaction.atomic():
        selection_round = (
            SelectionRound.objects.select_for_update().select_related("catalogue").get(pk=round.pk)
        )
        if not selection_round.is_preference:
            raise SelectionError("not_preference_round")
        if not selection_round.has_closed(now):
            raise SelectionError("round_open")
        if selection_round.allocated_at is not None:
            raise SelectionError("already_allocated")
        catalogue = selection_round.catalogue
        electives = {e.pk: e for e in Elective.objects.select_for_update().filter(catalogue=catalogue)}
        choices: dict[int, list[int]] = defaultdict(list)
        students: set[int] = set()
        # Plain tuples, not model rows: a district's round is tens of thousands of preferences.
        for student_id, elective_id, status, level in (
            Preference.objects.filter(round=selection_round)
            .order_by("student_id", "rank")
            .values_list(
                "student_id", "elective_id", "student__status", "student__school_class__grade__level"
            )
        ):
            students.add(student_id)
            if status == Student.Status.ENROLLED and electives[elective_id].admits_level(level):
                choices[student_id].append(elective_id)
        held: dict[int, set[int]] = defaultdict(set)
        for student_id, slot_id in Enrolment.objects.filter(catalogue=catalogue).values_list(
            "student_id", "slot_id"
        ):
            held[student_id].add(slot_id)
        applicants = [
            lottery.Applicant(
                id=sid,
                choices=tuple(choices[sid]),
                room=catalogue.max_per_student - len(held[sid]),
                held_slots=frozenset(held[sid]),
            )  # fmt: skip
            for sid in sorted(students)
        ]
        courses = [
            lottery.Course(id=e.pk, seats=e.capacity - e.taken, slot=e.slot_id) for e in electives.values()
        ]
        allocation = lottery.allocate(courses, applicants, seed=selection_round.seed)

        # One multi-row INSERT per table (BULK_ROWS rows each) and one statement per counter.
        Enrolment.objects.bulk_create(
            [
                Enrolment(
                    student_id=sid,
                    elective_id=eid,
                    catalogue=catalogue,
                    slot_id=electives[eid].slot_id,
                    source=Enrolment.Source.LOTTERY,
                    rank=rank,
                )  # fmt: skip
                for sid, eid, rank in allocation.granted
            ],
            batch_size=BULK_ROWS,
        )
        SelectionEvent.objects.bulk_create(
            [
                SelectionEvent(
                    at=now,
                    catalogue=catalogue,
                    elective_id=eid,
                    student_id=sid,
                    action=SelectionEvent.Action.LOTTERY,
                )
                for sid, eid, _ in allocation.granted
            ],
            batch_size=BULK_ROWS,
        )
        WaitlistEntry.objects.bulk_create(
            [
                WaitlistEntry(elective_id=eid, student_id=sid, rank=rank, created_at=now)
                for sid, eid, rank in allocation.waitlisted
            ],
            batch_size=BULK_ROWS,
            ignore_conflicts=True,
        )
        # Nothing else moves seats of this catalogue meanwhile (first-come rounds refuse while
        # the lottery is pending, and the electives are locked), so the counters are what was
        # read plus what was granted.
        seats_granted = Counter(eid for _sid, eid, _rank in allocation.granted)
        for elective_id, n in seats_granted.items():
            electives[elective_id].taken += n
        Elective.objects.bulk_update(
            [electives[eid] for eid in seats_granted], ["taken"], batch_size=BULK_ROWS
        )
        seats_won = Counter(sid for sid, _eid, _rank in allocation.granted)
        StudentLoad.objects.bulk_create(
            [
                StudentLoad(
                    student_id=sid,
                    catalogue=catalogue,
                    held=len(held[sid]) + n,
                    limit=catalogue.max_per_student,
                )
                for sid, n in seats_won.items()
            ],
            update_conflicts=True,
            unique_fields=["student", "catalogue"],
            update_fields=["held"],
            batch_size=BULK_ROWS,
        )
        selection_round.input_hash = allocation.input_hash
        selection_round.algorithm = lottery.ALGORITHM
        selection_round.allocated_at = now
        selection_round.save(update_fields=["input_hash", "algorithm", "allocated_at"])
    by_rank: dict[int, int] = defaultdict(int)
    for _sid, _eid, rank in allocation.granted:
        by_rank[rank] += 1
    return LotteryResult(
        round=selection_round, applicants=len(applicants), granted=len(allocation.granted),
        waitlisted=len(allocation.waitlisted), by_rank=dict(sorted(by_rank.items())),
    )  # fmt: skip


# --- Teaching and the end of term ---------------------------------------------------------------


def record_attendance(
    *, elective: Elective, date: dt.date, statuses: Mapping[int, str], by_id: int | None
) -> int:
    """Upsert one lesson's register. Only students holding a seat can be marked."""
    enrolled = set(Enrolment.objects.filter(elective=elective).values_list("student_id", flat=True))
    unknown = set(statuses) - enrolled
    if unknown:
        raise SelectionError("not_enrolled")
    valid = set(Attendance.Status.values)
    if any(status not in valid for status in statuses.values()):
        raise ValidationError(_("Unknown attendance status."))
    with transaction.atomic():
        Attendance.objects.bulk_create(
            [
                Attendance(elective=elective, student_id=sid, date=date, status=status, recorded_by_id=by_id)
                for sid, status in statuses.items()
            ],
            update_conflicts=True,
            unique_fields=["elective", "date", "student"],
            update_fields=["status", "recorded_by"],
        )
    return len(statuses)


def _require_end_of_term(*, elective: Elective, student: Student, today: dt.date | None) -> None:
    today = today or timezone.localdate()
    if not Enrolment.objects.filter(elective=elective, student=student).exists():
        raise SelectionError("not_enrolled")
    if today < elective.catalogue.rating_start():
        raise SelectionError("ratings_closed")


def rate(
    *, elective: Elective, student: Student, stars: int, comment: str = "", today: dt.date | None = None
) -> Rating:
    if not 1 <= stars <= 5:
        raise ValidationError(_("Give one to five stars."))
    _require_end_of_term(elective=elective, student=student, today=today)
    with transaction.atomic():
        rating, _created = Rating.objects.update_or_create(
            elective=elective, student=student, defaults={"stars": stars, "comment": comment}
        )
        return rating


def share_work(
    *, elective: Elective, student: Student, title: str, description: str, upload: UploadedFile,
    today: dt.date | None = None,
) -> Work:  # fmt: skip
    _require_end_of_term(elective=elective, student=student, today=today)
    extension = validate_photo(upload)
    upload.name = f"work.{extension}"
    with transaction.atomic():
        return Work.objects.create(
            elective=elective, student=student, title=title, description=description, image=upload
        )


def toggle_like(*, work: Work, student: Student) -> bool:
    """Like a classmate's work, or take the like back. Returns whether it is liked now."""
    if work.student_id == student.pk:
        raise SelectionError("own_work")
    if not Enrolment.objects.filter(elective_id=work.elective_id, student=student).exists():
        raise SelectionError("not_enrolled")
    with transaction.atomic():
        deleted, _ = WorkLike.objects.filter(work=work, student=student).delete()
        if deleted:
            return False
        WorkLike.objects.bulk_create([WorkLike(work=work, student=student)], ignore_conflicts=True)
        return True
