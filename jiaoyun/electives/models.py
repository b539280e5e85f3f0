"""The elective course supermarket (课程超市): catalogues, electives, selection rounds, seats,
waitlists, attendance, ratings and students' work.

The guarantees live in the database, not in Python:

- `Elective.taken` is the seat counter; a CHECK keeps it between 0 and the capacity, and
  services move it only by a conditional UPDATE (`taken = taken + 1 WHERE taken < capacity`),
  so two requests can never sell the last seat twice.
- `Enrolment` is unique on (student, elective) and on (student, slot): a student can hold one
  seat of an elective and one elective per weekly time slot whatever races happen.
- `StudentLoad.held` counts a student's electives in a catalogue under the same kind of CHECK
  and conditional UPDATE, which enforces the per-student limit and serialises one student's
  concurrent clicks.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiaoyun.core.models import School, Student, Teacher, Term

WEEKDAYS = [
    (1, _("Monday")),
    (2, _("Tuesday")),
    (3, _("Wednesday")),
    (4, _("Thursday")),
    (5, _("Friday")),
    (6, _("Saturday")),
    (7, _("Sunday")),
]


class Catalogue(models.Model):
    """One school's offer of electives for one term."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="elective_catalogues")
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="elective_catalogues")
    title = models.CharField(_("title"), max_length=100)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    max_per_student = models.PositiveSmallIntegerField(
        _("electives per student"), default=1, help_text=_("How many electives one student may take")
    )
    ratings_open_on = models.DateField(
        _("ratings open on"), null=True, blank=True,
        help_text=_("From this day students rate electives and share their work (default: two weeks before the term ends)"),
    )  # fmt: skip
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("elective catalogue")
        verbose_name_plural = _("elective catalogues")
        ordering = ["-term__school_year", "-term__semester", "school"]
        constraints = [
            models.UniqueConstraint(fields=["school", "term"], name="electives_one_catalogue_per_term"),
            models.CheckConstraint(
                condition=Q(max_per_student__gte=1), name="electives_max_per_student_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    def rating_start(self) -> dt.date:
        return self.ratings_open_on or (self.term.end - dt.timedelta(days=14))


class TimeSlot(models.Model):
    """A weekly period in which electives of a catalogue meet."""

    catalogue = models.ForeignKey(Catalogue, on_delete=models.CASCADE, related_name="slots")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=WEEKDAYS)
    start = models.TimeField(_("start"))
    end = models.TimeField(_("end"))

    class Meta:
        verbose_name = _("time slot")
        verbose_name_plural = _("time slots")
        ordering = ["catalogue", "weekday", "start"]
        constraints = [
            models.UniqueConstraint(fields=["catalogue", "weekday", "start"], name="electives_slot_unique"),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="electives_slot_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"


class Elective(models.Model):
    class Category(models.TextChoices):
        ART = "art", _("Art")
        SPORT = "sport", _("Sport")
        TECHNOLOGY = "technology", _("Technology")
        LOCAL_CULTURE = "local_culture", _("Local culture")
        OTHER = "other", _("Other")

    catalogue = models.ForeignKey(Catalogue, on_delete=models.CASCADE, related_name="electives")
    title = models.CharField(_("title"), max_length=100)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    teacher = models.ForeignKey(
        Teacher, on_delete=models.PROTECT, related_name="electives", verbose_name=_("teacher")
    )
    room = models.CharField(_("room"), max_length=50)
    slot = models.ForeignKey(
        TimeSlot, on_delete=models.PROTECT, related_name="electives", verbose_name=_("time slot")
    )
    capacity = models.PositiveIntegerField(_("capacity"))
    taken = models.PositiveIntegerField(_("seats taken"), default=0, editable=False)
    # Grade levels (see core.Grade.level): levels stay the same from year to year, Grade rows do not.
    grade_levels = models.JSONField(_("eligible grades"), default=list)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("elective")
        verbose_name_plural = _("electives")
        ordering = ["catalogue", "slot__weekday", "slot__start", "title"]
        constraints = [
            models.UniqueConstraint(fields=["catalogue", "title"], name="electives_unique_title"),
            models.CheckConstraint(
                condition=Q(taken__gte=0) & Q(taken__lte=F("capacity")),
                name="electives_taken_within_capacity",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def seats_left(self) -> int:
        return max(self.capacity - self.taken, 0)

    def admits_level(self, level: int | None) -> bool:
        return not self.grade_levels or level in self.grade_levels


def _photo_path(instance: models.Model, filename: str) -> str:
    # The stored name never reuses the uploader's file name: it could carry a child's name.
    import uuid

    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"electives/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{suffix}"


class ElectivePhoto(models.Model):
    elective = models.ForeignKey(Elective, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(_("photo"), upload_to=_photo_path)
    caption = models.CharField(_("caption"), max_length=100, blank=True)

    class Meta:
        ordering = ["elective", "pk"]


class SelectionRound(models.Model):
    class Kind(models.TextChoices):
        PREFERENCE = "preference", _("Preference round (lottery)")
        FIRST_COME = "first_come", _("First come, first served")

    catalogue = models.ForeignKey(Catalogue, on_delete=models.CASCADE, related_name="rounds")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    opens_at = models.DateTimeField(_("opens at"))
    closes_at = models.DateTimeField(_("closes at"))
    max_choices = models.PositiveSmallIntegerField(
        _("choices per student"), default=5, help_text=_("How many electives a student may rank")
    )
    # The lottery's audit trail: the commitment is published before the round closes, the seed
    # after the draw, so anyone can re-run it (see docs/electives.md).
    seed = models.CharField(max_length=64, blank=True, editable=False)
    seed_commitment = models.CharField(_("seed commitment"), max_length=64, blank=True, editable=False)
    input_hash = models.CharField(_("input hash"), max_length=64, blank=True, editable=False)
    algorithm = models.CharField(_("algorithm"), max_length=100, blank=True, editable=False)
    allocated_at = models.DateTimeField(_("allocated at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("selection round")
        verbose_name_plural = _("selection rounds")
        ordering = ["catalogue", "opens_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=F("opens_at")), name="electives_round_closes_after_opening"
            ),
            models.CheckConstraint(
                condition=Q(max_choices__gte=1), name="electives_round_one_choice_at_least"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {timezone.localtime(self.opens_at):%m-%d %H:%M}"

    def is_open(self, now: dt.datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.opens_at <= now < self.closes_at

    def has_closed(self, now: dt.datetime | None = None) -> bool:
        return (now or timezone.now()) >= self.closes_at

    @property
    def is_preference(self) -> bool:
        return self.kind == self.Kind.PREFERENCE


class Preference(models.Model):
    round = models.ForeignKey(SelectionRound, on_delete=models.CASCADE, related_name="preferences")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="elective_preferences")
    elective = models.ForeignKey(Elective, on_delete=models.CASCADE, related_name="preferences")
    rank = models.PositiveSmallIntegerField(_("rank"))

    class Meta:
        ordering = ["round", "student", "rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "student", "rank"], name="electives_preference_rank_unique"
            ),
            models.UniqueConstraint(
                fields=["round", "student", "elective"], name="electives_preference_once"
            ),
            models.CheckConstraint(condition=Q(rank__gte=1), name="electives_preference_rank_positive"),
        ]


class Enrolment(models.Model):
    """A seat held by a student. `catalogue` and `slot` copy the elective's so that the
    database itself can refuse a second elective in one slot."""

    class Source(models.TextChoices):
        LOTTERY = "lottery", _("Lottery")
        FIRST_COME = "first_come", _("First come")
        WAITLIST = "waitlist", _("Waitlist")

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="elective_enrolments")
    elective = models.ForeignKey(Elective, on_delete=models.CASCADE, related_name="enrolments")
    catalogue = models.ForeignKey(Catalogue, on_delete=models.CASCADE, related_name="+")
    slot = models.ForeignKey(TimeSlot, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(_("source"), max_length=12, choices=Source.choices)
    rank = models.PositiveSmallIntegerField(_("preference rank"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        constraints = [
            models.UniqueConstraint(fields=["student", "elective"], name="electives_one_seat_per_elective"),
            models.UniqueConstraint(fields=["student", "slot"], name="electives_one_elective_per_slot"),
        ]
        indexes = [
            models.Index(fields=["elective", "created_at"]),
            models.Index(fields=["catalogue", "student"]),
        ]


class StudentLoad(models.Model):
    """How many electives a student holds in a catalogue: the row the per-student limit is
    enforced on, and the lock that queues one student's simultaneous requests."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="+")
    catalogue = models.ForeignKey(Catalogue, on_delete=models.CASCADE, related_name="+")
    held = models.PositiveSmallIntegerField(default=0)
    limit = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["student", "catalogue"], name="electives_load_unique"),
            models.CheckConstraint(
                condition=Q(held__gte=0) & Q(held__lte=F("limit")), name="electives_load_within_limit"
            ),
        ]


class WaitlistEntry(models.Model):
    """A place in an elective's queue. When a seat frees the first entry is promoted; a student
    who holds another elective in the same slot swaps it for this one."""

    elective = models.ForeignKey(Elective, on_delete=models.CASCADE, related_name="waitlist")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="elective_waitlist")
    rank = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["elective", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["elective", "student"], name="electives_waitlist_once"),
        ]


class SelectionEvent(models.Model):
    """The trail of every seat movement, for the academic office and for complaints."""

    class Action(models.TextChoices):
        ENROL = "enrol", _("Took a seat")
        WITHDRAW = "withdraw", _("Withdrew")
        LOTTERY = "lottery", _("Won a seat in the lottery")
        PROMOTE = "promote", _("Promoted from the waitlist")
        SWAP_OUT = "swap_out", _("Gave up a seat for a waitlisted elective")
        WAITLIST = "waitlist", _("Joined the waitlist")
        LEAVE_WAITLIST = "leave_waitlist", _("Left the waitlist")

    at = models.DateTimeField(default=timezone.now)
    catalogue = models.ForeignKey(Catalogue, on_delete=models.CASCADE, related_name="+")
    elective = models.ForeignKey(Elective, on_delete=models.CASCADE, related_name="events")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["catalogue", "action"])]


class Attendance(models.Model):
    class Status(models.TextChoices):
        PRESENT = "present", _("Present")
        LATE = "late", _("Late")
        EXCUSED = "excused", _("Excused")
        ABSENT = "absent", _("Absent")

    elective = models.ForeignKey(Elective, on_delete=models.CASCADE, related_name="attendance")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="elective_attendance")
    date = models.DateField(_("date"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)

    class Meta:
        ordering = ["elective", "date", "student"]
        constraints = [
            models.UniqueConstraint(fields=["elective", "date", "student"], name="electives_attendance_once"),
        ]


class Rating(models.Model):
    elective = models.ForeignKey(Elective, on_delete=models.CASCADE, related_name="ratings")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="elective_ratings")
    stars = models.PositiveSmallIntegerField(_("stars"))
    comment = models.CharField(_("comment"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["elective", "student"], name="electives_rating_once"),
            models.CheckConstraint(
                condition=Q(stars__gte=1) & Q(stars__lte=5), name="electives_stars_1_to_5"
            ),
        ]


class Work(models.Model):
    """A piece of work a student shares on the elective's page."""

    elective = models.ForeignKey(Elective, on_delete=models.CASCADE, related_name="works")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="elective_works")
    title = models.CharField(_("title"), max_length=100)
    description = models.CharField(_("description"), max_length=500, blank=True)
    image = models.FileField(_("photo"), upload_to=_photo_path)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]


class WorkLike(models.Model):
    work = models.ForeignKey(Work, on_delete=models.CASCADE, related_name="likes")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["work", "student"], name="electives_like_once")]
