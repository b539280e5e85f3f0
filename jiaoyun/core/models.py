"""The register: district, schools, campuses, grades, classes, subjects, terms, teachers,
students and guardians. Every other app reads it through `jiaoyun.core.selectors`.

Scoping lives on the querysets: `Model.objects.visible_to(scope)` is the one filter that
pages, the API, exports and live channels all apply (see `jiaoyun.accounts.scopes`).

The register's unique text keys (student and staff numbers, ID numbers, guardians' phones)
are `UniqueConstraint`s, not `unique=True`: the same unique index and the same validation
message, without the `varchar_pattern_ops` copy of the index Django adds on PostgreSQL for
`LIKE`, which nothing uses and every import writes (see docs/data-exchange.md).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

if TYPE_CHECKING:
    from jiaoyun.accounts.scopes import Scope


class Gender(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class District(models.Model):
    code = models.CharField(_("code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("district")
        verbose_name_plural = _("districts")

    def __str__(self) -> str:
        return self.name


class SchoolQuerySet(models.QuerySet["School"]):
    def visible_to(self, scope: Scope) -> SchoolQuerySet:
        if scope.district:
            return self
        return self.filter(id__in=scope.school_ids)


class School(models.Model):
    class Kind(models.TextChoices):
        KINDERGARTEN = "kindergarten", _("Kindergarten")
        PRIMARY = "primary", _("Primary school")
        JUNIOR = "junior", _("Junior high school")
        SENIOR = "senior", _("Senior high school")
        COMPLETE = "complete", _("Complete secondary school")
        NINE_YEAR = "nine_year", _("Nine-year school")
        TWELVE_YEAR = "twelve_year", _("Twelve-year school")

    # Grade levels each kind teaches (see Grade.level).
    LEVELS: dict[str, range] = {
        Kind.KINDERGARTEN: range(-2, 1),
        Kind.PRIMARY: range(1, 7),
        Kind.JUNIOR: range(7, 10),
        Kind.SENIOR: range(10, 13),
        Kind.COMPLETE: range(7, 13),
        Kind.NINE_YEAR: range(1, 10),
        Kind.TWELVE_YEAR: range(1, 13),
    }

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="schools")
    code = models.CharField(_("school code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    address = models.CharField(_("address"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    zone = models.CharField(_("school zone"), max_length=50, blank=True)
    founded_year = models.PositiveSmallIntegerField(_("founded"), null=True, blank=True)
    is_public = models.BooleanField(_("public"), default=True)
    is_quality = models.BooleanField(
        _("quality school"), default=False, help_text=_("Provincial or national model school")
    )

    objects = SchoolQuerySet.as_manager()

    class Meta:
        verbose_name = _("school")
        verbose_name_plural = _("schools")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def levels(self) -> range:
        return self.LEVELS[self.kind]


class Campus(models.Model):
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="campuses")
    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=200, blank=True)
    is_main = models.BooleanField(_("main campus"), default=False)

    class Meta:
        verbose_name = _("campus")
        verbose_name_plural = _("campuses")
        constraints = [
            models.UniqueConstraint(fields=["school", "name"], name="campus_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.school.name} {self.name}"


class Subject(models.Model):
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=30, unique=True)
    name_en = models.CharField(_("English name"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("subject")
        verbose_name_plural = _("subjects")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Term(models.Model):
    school_year = models.PositiveSmallIntegerField(_("school year"), help_text=_("Starting year"))
    semester = models.PositiveSmallIntegerField(_("semester"), choices=[(1, _("Autumn")), (2, _("Spring"))])
    start = models.DateField(_("start"))
    end = models.DateField(_("end"))

    class Meta:
        verbose_name = _("term")
        verbose_name_plural = _("terms")
        ordering = ["-school_year", "-semester"]
        constraints = [
            models.UniqueConstraint(fields=["school_year", "semester"], name="term_unique"),
        ]

    def __str__(self) -> str:
        half = _("first term") if self.semester == 1 else _("second term")
        return f"{self.school_year}-{self.school_year + 1} {half}"

    @classmethod
    def current(cls, today: dt.date | None = None) -> Term | None:
        today = today or dt.date.today()
        return cls.objects.filter(start__lte=today).order_by("-start").first()


GRADE_NAMES = {
    -2: pgettext_lazy("grade", "Nursery"),
    -1: pgettext_lazy("grade", "Kindergarten middle"),
    0: pgettext_lazy("grade", "Kindergarten senior"),
    1: pgettext_lazy("grade", "Grade 1"),
    2: pgettext_lazy("grade", "Grade 2"),
    3: pgettext_lazy("grade", "Grade 3"),
    4: pgettext_lazy("grade", "Grade 4"),
    5: pgettext_lazy("grade", "Grade 5"),
    6: pgettext_lazy("grade", "Grade 6"),
    7: pgettext_lazy("grade", "Grade 7"),
    8: pgettext_lazy("grade", "Grade 8"),
    9: pgettext_lazy("grade", "Grade 9"),
    10: pgettext_lazy("grade", "Grade 10"),
    11: pgettext_lazy("grade", "Grade 11"),
    12: pgettext_lazy("grade", "Grade 12"),
}
# Names schools write in their spreadsheets, mapped to a level (Chinese only: these are
# data, not UI strings).
GRADE_ALIASES: dict[str, int] = {
    "小班": -2, "中班": -1, "大班": 0,
    "一年级": 1, "二年级": 2, "三年级": 3, "四年级": 4, "五年级": 5, "六年级": 6,
    "七年级": 7, "八年级": 8, "九年级": 9, "初一": 7, "初二": 8, "初三": 9,
    "高一": 10, "高二": 11, "高三": 12, "十年级": 10, "十一年级": 11, "十二年级": 12,
}  # fmt: skip


class GradeQuerySet(models.QuerySet["Grade"]):
    def visible_to(self, scope: Scope) -> GradeQuerySet:
        if scope.district:
            return self
        return self.filter(school_id__in=scope.school_ids)


class Grade(models.Model):
    """One grade level of a school in the current school year (levels -2..0 are the
    kindergarten years, 1..12 the primary and secondary grades)."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="grades")
    level = models.SmallIntegerField(_("level"))
    entry_year = models.PositiveSmallIntegerField(_("entry year"))

    objects = GradeQuerySet.as_manager()

    class Meta:
        verbose_name = _("grade")
        verbose_name_plural = _("grades")
        ordering = ["school", "level"]
        constraints = [
            models.UniqueConstraint(fields=["school", "level"], name="grade_unique_level"),
        ]

    def __str__(self) -> str:
        return str(self.name)

    @property
    def name(self) -> str:
        return str(GRADE_NAMES.get(self.level, self.level))


class SchoolClassQuerySet(models.QuerySet["SchoolClass"]):
    def visible_to(self, scope: Scope) -> SchoolClassQuerySet:
        if scope.district:
            return self
        return self.filter(Q(school_id__in=scope.admin_school_ids) | Q(id__in=scope.class_ids))


class SchoolClass(models.Model):
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="classes")
    grade = models.ForeignKey(Grade, on_delete=models.CASCADE, related_name="classes")
    campus = models.ForeignKey(Campus, on_delete=models.SET_NULL, null=True, blank=True)
    number = models.PositiveSmallIntegerField(_("class number"))
    head_teacher = models.ForeignKey(
        "Teacher",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="head_of_classes",
        verbose_name=_("head teacher"),
    )

    objects = SchoolClassQuerySet.as_manager()

    class Meta:
        verbose_name = _("class")
        verbose_name_plural = _("classes")
        ordering = ["school", "grade__level", "number"]
        constraints = [
            models.UniqueConstraint(fields=["grade", "number"], name="class_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.grade.name}({self.number})"

    @property
    def name(self) -> str:
        return str(self)


class TeacherQuerySet(models.QuerySet["Teacher"]):
    def visible_to(self, scope: Scope) -> TeacherQuerySet:
        if scope.district:
            return self
        return self.filter(Q(school_id__in=scope.admin_school_ids) | Q(id__in=scope.teacher_ids))


class Teacher(models.Model):
    class Title(models.TextChoices):
        SENIOR_PROFESSOR = "professor", _("Senior (professorial)")
        SENIOR = "senior", _("Senior")
        FIRST = "first", _("First class")
        SECOND = "second", _("Second class")
        THIRD = "third", _("Third class")
        NONE = "none", _("Unranked")

    class Qualification(models.TextChoices):
        DOCTORATE = "doctorate", _("Doctorate")
        MASTER = "master", _("Master")
        BACHELOR = "bachelor", _("Bachelor")
        ASSOCIATE = "associate", _("Associate")
        SECONDARY = "secondary", _("Secondary or below")

    class Status(models.TextChoices):
        ESTABLISHED = "established", _("On the establishment")
        CONTRACT = "contract", _("Contract")
        SECONDED = "seconded", _("Seconded")
        RETIRED = "retired", _("Retired")
        LEFT = "left", _("Left")

    staff_no = models.CharField(_("staff number"), max_length=20)  # unique: Meta.constraints
    name = models.CharField(_("name"), max_length=50)
    gender = models.CharField(_("gender"), max_length=6, choices=Gender.choices)
    birth_date = models.DateField(_("birth date"))
    id_number = models.CharField(_("ID number"), max_length=18, null=True, blank=True)  # unique
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    subject = models.ForeignKey(
        Subject, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("subject")
    )
    title = models.CharField(_("professional title"), max_length=12, choices=Title.choices)
    qualification = models.CharField(_("qualification"), max_length=12, choices=Qualification.choices)
    status = models.CharField(
        _("employment status"), max_length=12, choices=Status.choices, default=Status.ESTABLISHED
    )
    school = models.ForeignKey(
        School,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="teachers",
        verbose_name=_("school"),
    )
    joined_school_on = models.DateField(_("at this school since"), null=True, blank=True)
    started_teaching_year = models.PositiveSmallIntegerField(_("teaching since"), null=True, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="teacher",
    )

    objects = TeacherQuerySet.as_manager()

    class Meta:
        verbose_name = _("teacher")
        verbose_name_plural = _("teachers")
        ordering = ["staff_no"]
        indexes = [models.Index(fields=["school", "subject"]), models.Index(fields=["name"])]
        constraints = [
            models.UniqueConstraint(fields=["staff_no"], name="teacher_unique_staff_no"),
            models.UniqueConstraint(fields=["id_number"], name="teacher_unique_id_number"),
        ]

    def __str__(self) -> str:
        return self.name


class TeacherPosting(models.Model):
    """A teacher's time at one school: the school history."""

    teacher = models.ForeignKey(Teacher, on_delete=models.CASCADE, related_name="postings")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="postings")
    start = models.DateField(_("from"))
    end = models.DateField(_("until"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=50, blank=True)

    class Meta:
        ordering = ["teacher", "start"]


class TeachingAssignment(models.Model):
    teacher = models.ForeignKey(Teacher, on_delete=models.CASCADE, related_name="assignments")
    school_class = models.ForeignKey(SchoolClass, on_delete=models.CASCADE, related_name="assignments")
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT)
    weekly_hours = models.PositiveSmallIntegerField(_("weekly periods"), default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["school_class", "subject"], name="assignment_one_teacher_per_subject"
            ),
        ]


class StudentQuerySet(models.QuerySet["Student"]):
    def visible_to(self, scope: Scope) -> StudentQuerySet:
        if scope.district:
            return self
        return self.filter(
            Q(school_id__in=scope.admin_school_ids)
            | Q(school_class_id__in=scope.roster_class_ids)
            | Q(id__in=scope.student_ids)
        )


class Student(models.Model):
    class Status(models.TextChoices):
        ENROLLED = "enrolled", _("Enrolled")
        SUSPENDED = "suspended", _("Suspended")
        TRANSFERRED = "transferred", _("Transferred out")
        GRADUATED = "graduated", _("Graduated")

    class Household(models.TextChoices):
        LOCAL = "local", _("Local household")
        CITY = "city", _("Other district of the city")
        OUTSIDE = "outside", _("Outside the city")

    student_no = models.CharField(_("national student number"), max_length=20)  # unique: Meta.constraints
    name = models.CharField(_("name"), max_length=50)
    gender = models.CharField(_("gender"), max_length=6, choices=Gender.choices)
    birth_date = models.DateField(_("birth date"))
    id_number = models.CharField(_("ID number"), max_length=18, null=True, blank=True)  # unique
    enrolment_year = models.PositiveSmallIntegerField(_("enrolment year"))
    # No index of its own: the (school, school_class) index serves lookups by school.
    school = models.ForeignKey(
        School, on_delete=models.PROTECT, related_name="students", verbose_name=_("school"), db_index=False
    )
    school_class = models.ForeignKey(
        SchoolClass,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="students",
        verbose_name=_("class"),
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.ENROLLED)
    household = models.CharField(
        _("household registration"), max_length=8, choices=Household.choices, default=Household.LOCAL
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="student",
    )

    objects = StudentQuerySet.as_manager()

    class Meta:
        verbose_name = _("student")
        verbose_name_plural = _("students")
        ordering = ["student_no"]
        indexes = [models.Index(fields=["school", "school_class"]), models.Index(fields=["name"])]
        constraints = [
            models.UniqueConstraint(fields=["student_no"], name="student_unique_student_no"),
            models.UniqueConstraint(fields=["id_number"], name="student_unique_id_number"),
        ]

    def __str__(self) -> str:
        return self.name


class ClassEnrolment(models.Model):
    """A student's time in one class: the class history."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="enrolments")
    school_class = models.ForeignKey(SchoolClass, on_delete=models.CASCADE, related_name="enrolments")
    start = models.DateField(_("from"))
    end = models.DateField(_("until"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=50, blank=True)

    class Meta:
        ordering = ["student", "start"]


class Guardian(models.Model):
    name = models.CharField(_("name"), max_length=50)
    phone = models.CharField(_("phone"), max_length=20)  # unique: Meta.constraints
    id_number = models.CharField(_("ID number"), max_length=18, null=True, blank=True)  # unique
    workplace = models.CharField(_("workplace"), max_length=100, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="guardian",
    )

    class Meta:
        verbose_name = _("guardian")
        verbose_name_plural = _("guardians")
        constraints = [
            models.UniqueConstraint(fields=["phone"], name="guardian_unique_phone"),
            # Partial: guardians seldom have an ID number (NULLs are never equal anyway), so
            # the index holds only the numbers there are, not a null entry per guardian.
            models.UniqueConstraint(
                fields=["id_number"], condition=Q(id_number__isnull=False), name="guardian_unique_id_number"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class StudentGuardian(models.Model):
    class Relation(models.TextChoices):
        FATHER = "father", _("Father")
        MOTHER = "mother", _("Mother")
        GRANDPARENT = "grandparent", _("Grandparent")
        OTHER = "other", _("Other guardian")

    # No index of its own: the unique (student, guardian) index serves lookups by student.
    student = models.ForeignKey(
        Student, on_delete=models.CASCADE, related_name="guardian_links", db_index=False
    )
    guardian = models.ForeignKey(Guardian, on_delete=models.CASCADE, related_name="student_links")
    relation = models.CharField(_("relation"), max_length=12, choices=Relation.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["student", "guardian"], name="student_guardian_unique"),
        ]
