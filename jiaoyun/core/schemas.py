"""The shapes the register API reads and writes. Query schemas bound every parameter
(types, ranges, enum values, lengths) so that whatever a client sends is either a valid
query or a 422 with the field named; nothing reaches the database unchecked."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from django.db.models import TextChoices
from ninja import Schema
from pydantic import ConfigDict, Field, StringConstraints, WithJsonSchema

from jiaoyun.core.listing import ListSpec
from jiaoyun.core.models import Gender, School, Student, Teacher

# A page never holds more than this many rows: large enough for a nightly sync, small
# enough that one request cannot hold a worker for long.
MAX_LIMIT = 500
DEFAULT_LIMIT = 50
# Beyond any real register, and far below the database's 64-bit integer limit.
MAX_OFFSET = 100_000_000
MAX_ID = 2**31 - 1

# Control characters are never data here, and PostgreSQL rejects NUL in text outright.
_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"


SearchText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100, pattern=_NO_CONTROL)]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=_NO_CONTROL)
]
Code = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20, pattern=r"^[0-9A-Za-z_-]+$")
]
Address = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200, pattern=_NO_CONTROL)]
# Raw as typed; exchange.values.parse_phone and identity.id_number_problem judge them.
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=30, pattern=_NO_CONTROL)]
IdNumber = Annotated[str, StringConstraints(strip_whitespace=True, max_length=30, pattern=_NO_CONTROL)]
ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]


def _choices(choices: type[TextChoices], title: str) -> WithJsonSchema:
    """A model's choices documented inline under a name of their own: pydantic names an
    enum's schema after its class, and `Teacher.Status` and `Student.Status` are both
    `Status`, so one overwrote the other in the OpenAPI document (teachers' statuses were
    documented as the students')."""
    return WithJsonSchema(
        {"title": title, "type": "string", "enum": [str(value) for value in choices.values]}
    )


TeacherStatus = Annotated[Teacher.Status, _choices(Teacher.Status, "TeacherStatus")]
StudentStatus = Annotated[Student.Status, _choices(Student.Status, "StudentStatus")]
Year = Annotated[int, Field(ge=1900, le=2200)]
NATURAL_KEY_PATTERN = r"^[0-9A-Za-z_-]{1,20}$"


def sort_pattern(spec: ListSpec) -> str:
    keys = sorted(c.key for c in spec.columns if c.sort)
    return "^-?(" + "|".join(re.escape(k) for k in keys) + ")$"


# -- query parameters ---------------------------------------------------------------


class PageQuery(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Rows per page.")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Rows to skip.")


class PersonalQuery(PageQuery):
    masked: bool = Field(
        False,
        description="Mask personal fields even where the caller may read them unmasked "
        "(and so leave no audit record).",
    )


# -- reads ----------------------------------------------------------------------------


class PageOut(Schema):
    count: int = Field(description="Rows matching the query, over all pages.")
    limit: int
    offset: int


class Ref(Schema):
    id: int
    code: str
    name: str


class ClassRef(Schema):
    id: int
    grade: int = Field(description="Grade level: -2..0 kindergarten, 1..12 school grades.")
    number: int
    name: str


class TeacherRef(Schema):
    staff_no: str
    name: str


class SubjectOut(Schema):
    id: int
    code: str
    name: str
    name_en: str


class SubjectPage(PageOut):
    items: list[SubjectOut]


class TermOut(Schema):
    id: int
    school_year: int = Field(description="The year the school year starts.")
    semester: int = Field(description="1 autumn, 2 spring.")
    start: dt.date
    end: dt.date
    is_current: bool


class TermPage(PageOut):
    items: list[TermOut]


class SchoolOut(Schema):
    id: int
    code: str
    name: str
    kind: School.Kind
    zone: str
    address: str
    phone: str
    founded_year: int | None
    is_public: bool
    is_quality: bool
    students: int = Field(description="Enrolled students of the school.")
    teachers: int = Field(description="Serving teachers of the school.")


class SchoolPage(PageOut):
    items: list[SchoolOut]


class CampusOut(Schema):
    id: int
    name: str
    address: str
    is_main: bool


class GradeOut(Schema):
    id: int
    level: int
    name: str
    entry_year: int
    classes: list[ClassRef]


class SchoolDetailOut(SchoolOut):
    district: str
    campuses: list[CampusOut]
    grades: list[GradeOut]


class ClassOut(Schema):
    id: int
    school: Ref
    grade: int
    number: int
    name: str
    head_teacher: TeacherRef | None
    students: int = Field(description="Enrolled students.")


class ClassPage(PageOut):
    items: list[ClassOut]


class AssignmentOut(Schema):
    subject: Ref
    teacher: TeacherRef
    weekly_hours: int


class ClassDetailOut(ClassOut):
    campus: str | None
    assignments: list[AssignmentOut]


class TeacherOut(Schema):
    id: int
    staff_no: str
    name: str
    gender: Gender
    birth_date: dt.date
    id_number: str | None = Field(description="Masked (110101********123X) unless the caller may unmask.")
    phone: str = Field(description="Masked (138****5678) unless the caller may unmask.")
    school: Ref | None
    subject: Ref | None
    title: Teacher.Title
    qualification: Teacher.Qualification
    status: TeacherStatus
    joined_school_on: dt.date | None
    started_teaching_year: int | None
    masked: bool = Field(description="Whether the personal fields of this record are masked.")


class TeacherPage(PageOut):
    items: list[TeacherOut]


class PostingOut(Schema):
    school: Ref
    start: dt.date
    end: dt.date | None
    reason: str


class TeachingOut(Schema):
    school_class: ClassRef
    subject: Ref
    weekly_hours: int


class TeacherDetailOut(TeacherOut):
    postings: list[PostingOut]
    assignments: list[TeachingOut]


class StudentOut(Schema):
    id: int
    student_no: str = Field(
        description='Usually "G" and the ID number: the ID number in it masked unless the caller may unmask.'
    )
    name: str
    gender: Gender
    birth_date: dt.date
    id_number: str | None = Field(description="Masked unless the caller may unmask.")
    enrolment_year: int
    school: Ref
    school_class: ClassRef | None
    status: StudentStatus
    household: Student.Household
    masked: bool


class StudentPage(PageOut):
    items: list[StudentOut]


class GuardianOut(Schema):
    name: str
    relation: str
    phone: str = Field(description="Masked unless the caller may unmask.")
    id_number: str | None = Field(description="Masked unless the caller may unmask.")


class EnrolmentOut(Schema):
    school: Ref
    school_class: ClassRef
    start: dt.date
    end: dt.date | None
    reason: str


class StudentDetailOut(StudentOut):
    address: str | None = Field(description="Null unless the caller may unmask.")
    guardians: list[GuardianOut]
    enrolments: list[EnrolmentOut]


# -- writes ---------------------------------------------------------------------------


class WriteSchema(Schema):
    # A misspelt field would otherwise be dropped silently and its value lost.
    model_config = ConfigDict(extra="forbid")


FROM_ID = "Left out or null: taken from the ID number."
KEPT = "Left out or null: the stored value is kept (so a caller that reads it masked can still update)."


class TeacherIn(WriteSchema):
    name: Name
    gender: Gender | None = Field(None, description=FROM_ID)
    birth_date: dt.date | None = Field(None, description=FROM_ID)
    id_number: IdNumber | None = Field(None, description="GB 11643 resident ID number. " + KEPT)
    phone: Phone | None = Field(None, description="Mobile or landline with area code. " + KEPT)
    school: Code | None = Field(None, description="School code; null for district staff.")
    subject: Code | None = Field(None, description="Subject code, see GET /subjects.")
    title: Teacher.Title = Teacher.Title.NONE
    qualification: Teacher.Qualification
    status: TeacherStatus = Teacher.Status.ESTABLISHED
    joined_school_on: dt.date | None = None
    started_teaching_year: Year | None = None


class StudentIn(WriteSchema):
    name: Name
    gender: Gender | None = Field(None, description=FROM_ID)
    birth_date: dt.date | None = Field(None, description=FROM_ID)
    id_number: IdNumber | None = Field(None, description="GB 11643 resident ID number. " + KEPT)
    enrolment_year: Year
    school: Code = Field(description="School code.")
    grade: int | None = Field(None, ge=-2, le=12, description="Grade level of the class.")
    class_number: int | None = Field(None, ge=1, le=99, description="Class number within the grade.")
    status: StudentStatus = Student.Status.ENROLLED
    household: Student.Household = Student.Household.LOCAL
    address: Address | None = Field(None, description=KEPT)


def field_error(loc: tuple[str | int, ...], code: str, message: str) -> dict[str, Any]:
    """One error for a `ninja.errors.ValidationError`, in the form the API's handler reports
    as is: `loc` starts with the source ("body", "query" or "path"), then the field."""
    return {"loc": loc, "type": code, "message": message}


class ErrorItem(Schema):
    field: str | None = Field(description="Dotted name of the offending field, if one.")
    loc: list[str | int]
    code: str
    message: str


class ErrorOut(Schema):
    detail: str
    errors: list[ErrorItem] | None = None
