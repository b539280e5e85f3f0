"""The register over REST: schools, classes, teachers, students, subjects and terms.

Reads go through `jiaoyun.core.selectors` with `request.viewer`, the same scoping as the
pages. Personal fields are masked unless the caller may unmask them for that record's
school; a read that returns them unmasked, and every write, goes to the audit log.
Teachers and students are addressed by their natural keys (staff number, national student
number): a PUT creates or updates the record at the address a GET reads it from.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Status
from ninja.errors import HttpError, ValidationError

from jiaoyun.accounts import audit
from jiaoyun.accounts.models import AuditEvent, Role
from jiaoyun.accounts.scopes import Scope, viewer_of
from jiaoyun.core import selectors
from jiaoyun.core.identity import (
    birth_date_of,
    gender_of,
    id_number_problem,
    mask_id_number,
    mask_phone,
    mask_student_no,
    normalize_id_number,
)
from jiaoyun.core.models import (
    ClassEnrolment,
    School,
    SchoolClass,
    Student,
    Subject,
    Teacher,
    TeacherPosting,
    Term,
)
from jiaoyun.core.schemas import (
    MAX_ID,
    NATURAL_KEY_PATTERN,
    ClassDetailOut,
    ClassPage,
    ErrorOut,
    PageQuery,
    PersonalQuery,
    SchoolDetailOut,
    SchoolPage,
    SearchText,
    StudentDetailOut,
    StudentIn,
    StudentPage,
    StudentStatus,
    SubjectPage,
    TeacherDetailOut,
    TeacherIn,
    TeacherPage,
    TeacherStatus,
    TermPage,
    field_error,
    sort_pattern,
)
from jiaoyun.exchange.values import BadValue, parse_phone

router = Router(tags=["register"])

READ_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 409: ErrorOut, 422: ErrorOut}

# Reasons written into class and school histories (data, in the register's language).
REASON_ENROLLED = "入学"
REASON_CLASS_CHANGE = "调班"
REASON_TRANSFER = "转学"
REASON_POSTED = "调入"


def _params(query: Any, *, exclude: tuple[str, ...] = ("limit", "offset", "masked")) -> dict[str, str]:
    """Query schema → the string parameters the selectors' list specs understand."""
    params: dict[str, str] = {}
    for name, value in query.model_dump(by_alias=True, exclude_none=True).items():
        if name in exclude or value == "":
            continue
        params[name] = str(value.value if isinstance(value, Enum) else value)
    return params


def _page(queryset: QuerySet[Any], query: PageQuery) -> tuple[dict[str, Any], list[Any]]:
    count = queryset.count()
    rows = list(queryset[query.offset : query.offset + query.limit])
    return {"count": count, "limit": query.limit, "offset": query.offset}, rows


def _ref(obj: Model | None) -> dict[str, Any] | None:
    if obj is None:
        return None
    return {"id": obj.pk, "code": obj.code, "name": obj.name}  # type: ignore[attr-defined]


def _class_ref(school_class: SchoolClass | None) -> dict[str, Any] | None:
    if school_class is None:
        return None
    return {
        "id": school_class.pk,
        "grade": school_class.grade.level,
        "number": school_class.number,
        "name": str(school_class),
    }


def _teacher_ref(teacher: Teacher | None) -> dict[str, Any] | None:
    if teacher is None:
        return None
    return {"staff_no": teacher.staff_no, "name": teacher.name}


def _id(value: str | None, unmask: bool) -> str | None:
    if not value:
        return None
    return value if unmask else mask_id_number(value)


def _phone(value: str, unmask: bool) -> str:
    return value if unmask else mask_phone(value)


def _audit_read(request: HttpRequest, *, target: str, keys: list[str], fields: list[str]) -> None:
    if keys:
        audit.record(
            action=AuditEvent.Action.API_READ,
            target=target,
            request=request,
            detail={"keys": keys, "fields": fields, "query": request.GET.dict()},
        )


# -- reference data ---------------------------------------------------------------------


@router.get("/subjects", response={200: SubjectPage, **READ_ERRORS}, summary="List subjects")
def list_subjects(request: HttpRequest, query: Query[PageQuery]) -> Any:
    scope = viewer_of(request)
    # Reference data every viewer may read; an empty scope (a user with no role) reads nothing.
    queryset = Subject.objects.none() if scope.is_empty else Subject.objects.order_by("code", "pk")
    page, rows = _page(queryset, query)
    page["items"] = [{"id": s.pk, "code": s.code, "name": s.name, "name_en": s.name_en} for s in rows]
    return page


@router.get("/terms", response={200: TermPage, **READ_ERRORS}, summary="List terms, newest first")
def list_terms(request: HttpRequest, query: Query[PageQuery]) -> Any:
    scope = viewer_of(request)
    queryset = Term.objects.none() if scope.is_empty else Term.objects.order_by("-school_year", "-semester")
    current = Term.current(timezone.localdate())
    page, rows = _page(queryset, query)
    page["items"] = [
        {"id": t.pk, "school_year": t.school_year, "semester": t.semester, "start": t.start,
         "end": t.end, "is_current": current is not None and t.pk == current.pk}
        for t in rows
    ]  # fmt: skip
    return page


# -- schools ------------------------------------------------------------------------------


class SchoolQuery(PageQuery):
    q: SearchText | None = None
    kind: School.Kind | None = None
    zone: SearchText | None = None
    sort: str | None = Query(
        None, pattern=sort_pattern(selectors.SCHOOLS), description="Sort key, '-' for descending."
    )


def _school_out(school: School) -> dict[str, Any]:
    return {
        "id": school.pk, "code": school.code, "name": school.name, "kind": school.kind,
        "zone": school.zone, "address": school.address, "phone": school.phone,
        "founded_year": school.founded_year, "is_public": school.is_public,
        "is_quality": school.is_quality, "students": getattr(school, "n_students", 0),
        "teachers": getattr(school, "n_teachers", 0),
    }  # fmt: skip


@router.get("/schools", response={200: SchoolPage, **READ_ERRORS}, summary="List schools")
def list_schools(request: HttpRequest, query: Query[SchoolQuery]) -> Any:
    queryset = selectors.school_list(viewer=viewer_of(request), params=_params(query))
    page, rows = _page(queryset, query)
    page["items"] = [_school_out(s) for s in rows]
    return page


@router.get(
    "/schools/{pk}",
    response={200: SchoolDetailOut, **READ_ERRORS},
    summary="A school with its campuses, grades and classes",
)
def get_school(request: HttpRequest, pk: int = Path(..., ge=1, le=MAX_ID)) -> Any:
    scope = viewer_of(request)
    school = selectors.school_detail(viewer=scope, pk=pk)
    counted = selectors.school_list(viewer=scope).get(pk=school.pk)
    grades = selectors.grades_of(viewer=scope, school=school)
    return {
        **_school_out(counted),
        "district": school.district.name,
        "campuses": [
            {"id": c.pk, "name": c.name, "address": c.address, "is_main": c.is_main}
            for c in school.campuses.order_by("-is_main", "pk")
        ],
        "grades": [
            {
                "id": g.pk,
                "level": g.level,
                "name": g.name,
                "entry_year": g.entry_year,
                "classes": [_class_ref(c) for c in getattr(g, "visible_classes", [])],
            }
            for g in grades
        ],  # fmt: skip
    }


# -- classes ------------------------------------------------------------------------------


class ClassQuery(PageQuery):
    school: int | None = Query(None, ge=1, le=MAX_ID, description="School id.")
    grade: int | None = Query(None, ge=-2, le=12, description="Grade level.")
    sort: str | None = Query(
        None, pattern=sort_pattern(selectors.CLASSES), description="Sort key, '-' for descending."
    )


def _class_out(school_class: SchoolClass, students: int) -> dict[str, Any]:
    return {
        "id": school_class.pk,
        "school": _ref(school_class.school),
        "grade": school_class.grade.level,
        "number": school_class.number,
        "name": str(school_class),
        "head_teacher": _teacher_ref(school_class.head_teacher),
        "students": students,
    }


@router.get("/classes", response={200: ClassPage, **READ_ERRORS}, summary="List classes")
def list_classes(request: HttpRequest, query: Query[ClassQuery]) -> Any:
    queryset = selectors.class_list(viewer=viewer_of(request), params=_params(query))
    page, rows = _page(queryset, query)
    page["items"] = [_class_out(c, c.n_students) for c in rows]  # type: ignore[attr-defined]
    return page


@router.get(
    "/classes/{pk}",
    response={200: ClassDetailOut, **READ_ERRORS},
    summary="A class with its subject teachers",
)
def get_class(request: HttpRequest, pk: int = Path(..., ge=1, le=MAX_ID)) -> Any:
    scope = viewer_of(request)
    school_class = selectors.class_detail(viewer=scope, pk=pk)
    counted = selectors.class_list(viewer=scope).filter(pk=pk).first()
    assignments = school_class.assignments.select_related("teacher", "subject").order_by("subject__code")
    return {
        **_class_out(school_class, getattr(counted, "n_students", 0)),
        "campus": school_class.campus.name if school_class.campus else None,
        "assignments": [
            {"subject": _ref(a.subject), "teacher": _teacher_ref(a.teacher), "weekly_hours": a.weekly_hours}
            for a in assignments
        ],
    }


# -- teachers -----------------------------------------------------------------------------


class TeacherQuery(PersonalQuery):
    q: SearchText | None = Query(None, description="Name (contains) or staff number (exact).")
    school: int | None = Query(None, ge=1, le=MAX_ID, description="School id.")
    subject: int | None = Query(None, ge=1, le=MAX_ID, description="Subject id.")
    title: Teacher.Title | None = None
    qualification: Teacher.Qualification | None = None
    status: TeacherStatus | None = None
    gender: str | None = Query(None, pattern="^(male|female)$")
    sort: str | None = Query(
        None, pattern=sort_pattern(selectors.TEACHERS), description="Sort key, '-' for descending."
    )


def _teacher_out(teacher: Teacher, unmask: bool) -> dict[str, Any]:
    return {
        "id": teacher.pk, "staff_no": teacher.staff_no, "name": teacher.name,
        "gender": teacher.gender, "birth_date": teacher.birth_date,
        "id_number": _id(teacher.id_number, unmask), "phone": _phone(teacher.phone, unmask),
        "school": _ref(teacher.school), "subject": _ref(teacher.subject), "title": teacher.title,
        "qualification": teacher.qualification, "status": teacher.status,
        "joined_school_on": teacher.joined_school_on,
        "started_teaching_year": teacher.started_teaching_year, "masked": not unmask,
    }  # fmt: skip


def _teacher_detail_out(teacher: Teacher, unmask: bool) -> dict[str, Any]:
    return {
        **_teacher_out(teacher, unmask),
        "postings": [
            {"school": _ref(p.school), "start": p.start, "end": p.end, "reason": p.reason}
            for p in teacher.postings.all()
        ],
        "assignments": [
            {
                "school_class": _class_ref(a.school_class),
                "subject": _ref(a.subject),
                "weekly_hours": a.weekly_hours,
            }
            for a in teacher.assignments.all()
        ],
    }


@router.get("/teachers", response={200: TeacherPage, **READ_ERRORS}, summary="List teachers")
def list_teachers(request: HttpRequest, query: Query[TeacherQuery]) -> Any:
    scope = viewer_of(request)
    queryset = selectors.teacher_list(viewer=scope, params=_params(query))
    page, rows = _page(queryset, query)
    items, unmasked = [], []
    for teacher in rows:
        unmask = not query.masked and scope.may_unmask_teacher(teacher)
        items.append(_teacher_out(teacher, unmask))
        if unmask:
            unmasked.append(teacher.staff_no)
    _audit_read(request, target="api:teachers", keys=unmasked, fields=["id_number", "phone"])
    page["items"] = items
    return page


def _visible_teacher(scope: Scope, staff_no: str) -> Teacher:
    pk = Teacher.objects.visible_to(scope).filter(staff_no=staff_no).values_list("pk", flat=True).first()
    if pk is None:
        raise Http404
    return selectors.teacher_detail(viewer=scope, pk=pk)


@router.get(
    "/teachers/{staff_no}",
    response={200: TeacherDetailOut, **READ_ERRORS},
    summary="A teacher with school history and teaching",
)
def get_teacher(
    request: HttpRequest,
    staff_no: str = Path(..., pattern=NATURAL_KEY_PATTERN),
    masked: bool = Query(False, description="Mask personal fields even where the caller may unmask them."),
) -> Any:
    scope = viewer_of(request)
    teacher = _visible_teacher(scope, staff_no)
    unmask = not masked and scope.may_unmask_teacher(teacher)
    if unmask:
        _audit_read(
            request,
            target=f"teacher:{teacher.staff_no}",
            keys=[teacher.staff_no],
            fields=["id_number", "phone"],
        )
    return _teacher_detail_out(teacher, unmask)


# -- students -----------------------------------------------------------------------------


class StudentQuery(PersonalQuery):
    q: SearchText | None = Query(None, description="Name (contains), student number or ID number (exact).")
    school: int | None = Query(None, ge=1, le=MAX_ID, description="School id.")
    school_class: int | None = Query(None, alias="class", ge=1, le=MAX_ID, description="Class id.")
    grade: int | None = Query(None, ge=-2, le=12, description="Grade level.")
    status: StudentStatus | None = None
    household: Student.Household | None = None
    gender: str | None = Query(None, pattern="^(male|female)$")
    sort: str | None = Query(
        None, pattern=sort_pattern(selectors.STUDENTS), description="Sort key, '-' for descending."
    )


def _student_out(student: Student, unmask: bool) -> dict[str, Any]:
    return {
        "id": student.pk, "student_no": student.student_no if unmask else mask_student_no(student.student_no),
        "name": student.name,
        "gender": student.gender, "birth_date": student.birth_date,
        "id_number": _id(student.id_number, unmask), "enrolment_year": student.enrolment_year,
        "school": _ref(student.school), "school_class": _class_ref(student.school_class),
        "status": student.status, "household": student.household, "masked": not unmask,
    }  # fmt: skip


def _student_detail_out(student: Student, unmask: bool) -> dict[str, Any]:
    return {
        **_student_out(student, unmask),
        "address": student.address if unmask else None,
        "guardians": [
            {
                "name": link.guardian.name,
                "relation": link.relation,
                "phone": _phone(link.guardian.phone, unmask),
                "id_number": _id(link.guardian.id_number, unmask),
            }
            for link in student.guardian_links.all()
        ],  # fmt: skip
        "enrolments": [
            {
                "school": _ref(e.school_class.school),
                "school_class": _class_ref(e.school_class),
                "start": e.start,
                "end": e.end,
                "reason": e.reason,
            }
            for e in student.enrolments.all()
        ],  # fmt: skip
    }


@router.get("/students", response={200: StudentPage, **READ_ERRORS}, summary="List students")
def list_students(request: HttpRequest, query: Query[StudentQuery]) -> Any:
    scope = viewer_of(request)
    queryset = selectors.student_list(viewer=scope, params=_params(query))
    page, rows = _page(queryset, query)
    items, unmasked = [], []
    for student in rows:
        unmask = not query.masked and scope.may_unmask_student(student)
        items.append(_student_out(student, unmask))
        if unmask:
            unmasked.append(student.student_no)
    _audit_read(request, target="api:students", keys=unmasked, fields=["id_number"])
    page["items"] = items
    return page


def _visible_student(scope: Scope, student_no: str) -> Student:
    pk = Student.objects.visible_to(scope).filter(student_no=student_no).values_list("pk", flat=True).first()
    if pk is None:
        raise Http404
    return selectors.student_detail(viewer=scope, pk=pk)


@router.get(
    "/students/{student_no}",
    response={200: StudentDetailOut, **READ_ERRORS},
    summary="A student with guardians and class history",
)
def get_student(
    request: HttpRequest,
    student_no: str = Path(..., pattern=NATURAL_KEY_PATTERN),
    masked: bool = Query(False, description="Mask personal fields even where the caller may unmask them."),
) -> Any:
    scope = viewer_of(request)
    student = _visible_student(scope, student_no)
    unmask = not masked and scope.may_unmask_student(student)
    if unmask:
        _audit_read(
            request, target=f"student:{student.student_no}", keys=[student.student_no],
            fields=["id_number", "address", "guardians.phone", "guardians.id_number"],
        )  # fmt: skip
    return _student_detail_out(student, unmask)


# -- writes -------------------------------------------------------------------------------
# Each upsert validates everything first and reports every bad field at once, then writes
# the record, its history and the audit event in one transaction.


def _writable_school_ids(request: HttpRequest) -> frozenset[int] | None:
    """The schools the caller may write to; None for the whole district."""
    # jiaoyun.api mounts this router, so importing it at module level would be circular.
    from jiaoyun.api import require_write

    require_write(request)
    scope = viewer_of(request)
    if getattr(request, "external_system", None) is not None:
        return None if scope.district else scope.admin_school_ids
    if scope.has_role(Role.DISTRICT_ADMIN):
        return None
    if scope.admin_school_ids:
        return scope.admin_school_ids
    raise HttpError(403, _("You may not change the register."))


def _check_writable(writable: frozenset[int] | None, school_id: int | None) -> None:
    if writable is not None and school_id not in writable:
        raise HttpError(403, _("This record belongs to a school outside your scope."))


def _person(
    errors: list[dict[str, Any]],
    payload: TeacherIn | StudentIn,
    *,
    oldest: dt.date,
) -> tuple[str | None, dt.date | None, str | None]:
    """Gender, birth date and normalized ID number. As in the importers, gender and birth
    date may be left out when a valid ID number gives them, and must agree with it when not."""
    gender = _plain(payload.gender)
    birth = payload.birth_date
    id_number = None
    if payload.id_number:
        id_number = normalize_id_number(payload.id_number)
        problem = id_number_problem(id_number)
        if problem:
            messages = {
                "format": _("An ID number has 17 digits and a check character (0-9 or X)."),
                "birth_date": _("The ID number contains an impossible birth date."),
                "check_digit": _("The check character of the ID number is wrong."),
            }
            errors.append(field_error(("body", "id_number"), f"id_number_{problem}", messages[problem]))
        else:
            if birth is not None and birth != birth_date_of(id_number):
                message = _("The birth date does not match the ID number.")
                errors.append(field_error(("body", "birth_date"), "birth_date_mismatch", message))
            if gender is not None and gender != gender_of(id_number):
                message = _("The gender does not match the ID number.")
                errors.append(field_error(("body", "gender"), "gender_mismatch", message))
            gender = gender or gender_of(id_number)
            birth = birth or birth_date_of(id_number)
    for name, value in (("gender", gender), ("birth_date", birth)):
        if value is None:
            message = _("This field is required when no valid ID number is given.")
            errors.append(field_error(("body", name), "missing", message))
    if birth is not None and not oldest <= birth <= timezone.localdate():
        errors.append(
            field_error(("body", "birth_date"), "birth_date_range", _("The birth date is not plausible."))
        )
    return gender, birth, id_number


def _school_by_code(errors: list[dict[str, Any]], code: str | None) -> School | None:
    if code is None:
        return None
    school = School.objects.filter(code=code).first()
    if school is None:
        errors.append(field_error(("body", "school"), "unknown_school", _("No school has this code.")))
    return school


def _raise_if(errors: list[dict[str, Any]]) -> None:
    if errors:
        raise ValidationError(errors)


def _save(obj: Model, values: dict[str, Any]) -> list[str]:
    """Set `values` on `obj` and save it; the names of the fields whose value changed."""
    changed = []
    for name, value in values.items():
        field = obj._meta.get_field(name)
        if field.is_relation:
            # Reading an unset foreign key of a new object raises; compare the ids.
            current, wanted = getattr(obj, field.attname), value.pk if value is not None else None  # type: ignore[union-attr]
        else:
            current, wanted = getattr(obj, name), value
        if current != wanted:
            changed.append(name)
        setattr(obj, name, value)
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        # Another request took the same ID number between our check and the save.
        raise HttpError(409, _("The record conflicts with another record; retry.")) from exc
    return sorted(changed)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _years_ago(years: int) -> dt.date:
    return dt.date(timezone.localdate().year - years, 1, 1)


@router.put(
    "/teachers/{staff_no}",
    response={200: TeacherDetailOut, 201: TeacherDetailOut, **WRITE_ERRORS},
    summary="Create or update a teacher by staff number",
)
def put_teacher(
    request: HttpRequest, payload: TeacherIn, staff_no: str = Path(..., pattern=NATURAL_KEY_PATTERN)
) -> Any:
    writable = _writable_school_ids(request)
    existing = Teacher.objects.filter(staff_no=staff_no).first()
    if existing is not None:
        _check_writable(writable, existing.school_id)

    errors: list[dict[str, Any]] = []
    school = _school_by_code(errors, payload.school)
    if payload.school is None and writable is not None:
        errors.append(field_error(("body", "school"), "missing", _("This field is required.")))
    subject = None
    if payload.subject is not None:
        subject = Subject.objects.filter(code=payload.subject).first()
        if subject is None:
            errors.append(field_error(("body", "subject"), "unknown_subject", _("No subject has this code.")))
    gender, birth, id_number = _person(errors, payload, oldest=_years_ago(80))
    if id_number and Teacher.objects.filter(id_number=id_number).exclude(staff_no=staff_no).exists():
        message = _("This ID number belongs to another teacher.")
        errors.append(field_error(("body", "id_number"), "id_number_taken", message))
    phone = payload.phone
    if phone:
        try:
            phone = parse_phone(phone)
        except BadValue:
            message = _("Enter a mobile number (11 digits) or a landline number with its area code.")
            errors.append(field_error(("body", "phone"), "bad_phone", message))
    _raise_if(errors)
    if school is not None:
        _check_writable(writable, school.pk)

    values = {
        "name": payload.name, "gender": gender, "birth_date": birth, "school": school, "subject": subject,
        "title": _plain(payload.title), "qualification": _plain(payload.qualification),
        "status": _plain(payload.status), "joined_school_on": payload.joined_school_on,
        "started_teaching_year": payload.started_teaching_year,
    }  # fmt: skip
    # Personal fields left out are kept: a caller that reads them masked can still update.
    if id_number is not None:
        values["id_number"] = id_number
    if phone is not None:
        values["phone"] = phone
    today = timezone.localdate()
    with transaction.atomic():
        teacher = Teacher.objects.select_for_update().filter(staff_no=staff_no).first()
        created = teacher is None
        teacher = teacher or Teacher(staff_no=staff_no)
        old_school_id = teacher.school_id
        changed = _save(teacher, values)
        if created or old_school_id != teacher.school_id:
            teacher.postings.filter(end__isnull=True).update(end=today)
            if school is not None:
                start = payload.joined_school_on or today
                TeacherPosting.objects.create(
                    teacher=teacher, school=school, start=start, reason=REASON_POSTED
                )
        audit.record(
            action=AuditEvent.Action.API_WRITE, target=f"teacher:{staff_no}", request=request,
            detail={"created": created, "changed": changed},
        )  # fmt: skip
    fresh = selectors.teacher_detail(viewer=viewer_of(request), pk=teacher.pk)
    # The response echoes what the caller sent: masked, so it needs no audit of its own.
    return Status(201 if created else 200, _teacher_detail_out(fresh, unmask=False))


@router.put(
    "/students/{student_no}",
    response={200: StudentDetailOut, 201: StudentDetailOut, **WRITE_ERRORS},
    summary="Create or update a student by national student number",
)
def put_student(
    request: HttpRequest, payload: StudentIn, student_no: str = Path(..., pattern=NATURAL_KEY_PATTERN)
) -> Any:
    writable = _writable_school_ids(request)
    existing = Student.objects.filter(student_no=student_no).first()
    if existing is not None:
        _check_writable(writable, existing.school_id)

    errors: list[dict[str, Any]] = []
    school = _school_by_code(errors, payload.school)
    school_class = None
    if (payload.grade is None) != (payload.class_number is None):
        missing = "grade" if payload.grade is None else "class_number"
        message = _("Give both the grade and the class number, or neither.")
        errors.append(field_error(("body", missing), "missing", message))
    elif school is not None and payload.grade is not None and payload.class_number is not None:
        school_class = (
            SchoolClass.objects.filter(school=school, grade__level=payload.grade, number=payload.class_number)
            .select_related("grade")
            .first()
        )
        if school_class is None:
            message = _("The school has no such class.")
            errors.append(field_error(("body", "class_number"), "unknown_class", message))
    gender, birth, id_number = _person(errors, payload, oldest=_years_ago(30))
    if id_number and Student.objects.filter(id_number=id_number).exclude(student_no=student_no).exists():
        message = _("This ID number belongs to another student.")
        errors.append(field_error(("body", "id_number"), "id_number_taken", message))
    if payload.enrolment_year > timezone.localdate().year + 1:
        message = _("The enrolment year is in the future.")
        errors.append(field_error(("body", "enrolment_year"), "enrolment_year_range", message))
    _raise_if(errors)
    assert school is not None
    _check_writable(writable, school.pk)

    values = {
        "name": payload.name, "gender": gender, "birth_date": birth, "enrolment_year": payload.enrolment_year,
        "school": school, "school_class": school_class, "status": _plain(payload.status),
        "household": _plain(payload.household),
    }  # fmt: skip
    if id_number is not None:
        values["id_number"] = id_number
    if payload.address is not None:
        values["address"] = payload.address
    today = timezone.localdate()
    with transaction.atomic():
        student = Student.objects.select_for_update().filter(student_no=student_no).first()
        created = student is None
        student = student or Student(student_no=student_no)
        old_school_id, old_class_id = student.school_id, student.school_class_id
        changed = _save(student, values)
        if created or old_class_id != student.school_class_id:
            student.enrolments.filter(end__isnull=True).update(end=today)
            if school_class is not None:
                if created:
                    reason = REASON_ENROLLED
                elif old_school_id != school.pk:
                    reason = REASON_TRANSFER
                else:
                    reason = REASON_CLASS_CHANGE
                ClassEnrolment.objects.create(
                    student=student, school_class=school_class, start=today, reason=reason
                )
        audit.record(
            action=AuditEvent.Action.API_WRITE, target=f"student:{student_no}", request=request,
            detail={"created": created, "changed": changed},
        )  # fmt: skip
    fresh = selectors.student_detail(viewer=viewer_of(request), pk=student.pk)
    return Status(201 if created else 200, _student_detail_out(fresh, unmask=False))
