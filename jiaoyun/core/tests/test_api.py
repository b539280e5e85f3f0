"""The register API: token and session authentication, scoping through the same selectors
as the pages, masking with its audit trail, writes by natural key, and that nothing a
client sends yields a 500."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiaoyun.accounts.models import ApiToken, AuditEvent, ExternalSystem
from jiaoyun.accounts.scopes import scope_for_user
from jiaoyun.core.identity import make_id_number, mask_id_number, mask_phone, mask_student_no
from jiaoyun.core.models import (
    ClassEnrolment,
    School,
    SchoolClass,
    Student,
    Subject,
    Teacher,
    TeacherPosting,
)

pytestmark = pytest.mark.django_db

BASE = "/api/register"
_names = itertools.count()


def bearer(school: Any = None, *, can_write: bool = False, may_unmask: bool = False) -> dict[str, str]:
    system = ExternalSystem.objects.create(
        name=f"system {next(_names)}", school=school, can_write=can_write, may_unmask=may_unmask
    )
    _, key = ApiToken.issue(system)
    return {"HTTP_AUTHORIZATION": f"Bearer {key}", "HTTP_ACCEPT_LANGUAGE": "en"}


def get(client: Any, path: str, headers: dict[str, str], **params: Any) -> Any:
    return client.get(BASE + path, params, **headers)


def put(client: Any, path: str, headers: dict[str, str], body: Any) -> Any:
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.put(BASE + path, data, content_type="application/json", **headers)


def errors_of(response: Any) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in response.json()["errors"]]


def all_items(client: Any, path: str, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = get(client, path, headers, limit=500, **params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == len(body["items"])
    return body["items"]


EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


# -- authentication -------------------------------------------------------------------


def test_requests_without_a_valid_token_get_401(demo, client):
    headers = bearer(demo.school_a)
    key = headers["HTTP_AUTHORIZATION"].removeprefix("Bearer ")
    token = ApiToken.objects.get(key_hash=ApiToken.hash_key(key))
    assert get(client, "/students", headers).status_code == 200

    cases = {
        "missing": EN,
        "wrong": {**EN, "HTTP_AUTHORIZATION": "Bearer jy_not-a-token"},
        "not bearer": {**EN, "HTTP_AUTHORIZATION": f"Token {key}"},
    }
    for name, sent in cases.items():
        response = get(client, "/students", sent)
        assert (name, response.status_code, response.json()) == (
            name,
            401,
            {"detail": "Authentication required."},
        )

    ApiToken.objects.filter(pk=token.pk).update(revoked=True)
    assert get(client, "/students", headers).status_code == 401
    ApiToken.objects.filter(pk=token.pk).update(revoked=False)
    ExternalSystem.objects.filter(pk=token.system_id).update(is_active=False)
    assert get(client, "/students", headers).status_code == 401
    assert put(client, "/students/G1", headers, {}).status_code == 401


def test_a_used_token_records_its_last_use(demo, client):
    headers = bearer()
    key = headers["HTTP_AUTHORIZATION"].removeprefix("Bearer ")
    assert ApiToken.objects.get(key_hash=ApiToken.hash_key(key)).last_used_at is None
    get(client, "/subjects", headers)
    assert ApiToken.objects.get(key_hash=ApiToken.hash_key(key)).last_used_at is not None


def test_openapi_schema_lists_every_endpoint(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    register = {path: sorted(ops) for path, ops in schema["paths"].items() if path.startswith(BASE)}
    assert register == {
        f"{BASE}/subjects": ["get"],
        f"{BASE}/terms": ["get"],
        f"{BASE}/schools": ["get"],
        f"{BASE}/schools/{{pk}}": ["get"],
        f"{BASE}/classes": ["get"],
        f"{BASE}/classes/{{pk}}": ["get"],
        f"{BASE}/teachers": ["get"],
        f"{BASE}/teachers/{{staff_no}}": ["get", "put"],
        f"{BASE}/students": ["get"],
        f"{BASE}/students/{{student_no}}": ["get", "put"],
    }
    params = {p["name"] for p in schema["paths"][f"{BASE}/students"]["get"]["parameters"]}
    assert params == {
        "limit", "offset", "masked", "q", "school", "class", "grade", "status", "household", "gender", "sort"
    }  # fmt: skip
    assert schema["components"]["securitySchemes"]["TokenAuth"] == {"type": "http", "scheme": "bearer"}
    assert client.get("/api/docs").status_code == 200


def _enum(schema: dict[str, Any], node: dict[str, Any]) -> list[str] | None:
    """The values a property or parameter of the OpenAPI document allows, through its
    references and an optional's `anyOf`."""
    while True:
        if "$ref" in node:
            node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
        elif "anyOf" in node:
            (node,) = [n for n in node["anyOf"] if n.get("type") != "null"]
        else:
            return node.get("enum")


def test_openapi_documents_each_fields_own_choices(client):
    """Every property and query parameter with choices allows exactly its model field's:
    `Teacher.Status` and `Student.Status` once shared the schema name `Status`, and the
    teachers' endpoints documented the students' statuses."""
    schema = client.get("/api/openapi.json").json()
    models = {"School": School, "Teacher": Teacher, "Student": Student}
    checked = set()
    for name, component in schema["components"]["schemas"].items():
        model = next((m for prefix, m in models.items() if name.startswith(prefix)), None)
        for prop, node in component.get("properties", {}).items() if model else ():
            field = next((f for f in model._meta.concrete_fields if f.name == prop and f.choices), None)
            if field is not None and _enum(schema, node) is not None:  # else a pattern, as for gender
                assert _enum(schema, node) == [value for value, _label in field.choices], (name, prop)
                checked.add((name, prop))
    for path, model in (
        (f"{BASE}/schools", School),
        (f"{BASE}/teachers", Teacher),
        (f"{BASE}/students", Student),
    ):
        for param in schema["paths"][path]["get"]["parameters"]:
            field = next(
                (f for f in model._meta.concrete_fields if f.name == param["name"] and f.choices), None
            )
            if field is not None and _enum(schema, param["schema"]) is not None:
                assert _enum(schema, param["schema"]) == [value for value, _label in field.choices], (
                    path,
                    param,
                )
                checked.add((path, param["name"]))
    assert {("TeacherOut", "status"), ("TeacherIn", "status"), ("StudentOut", "status"), ("StudentIn", "status"),
            (f"{BASE}/teachers", "status"), (f"{BASE}/students", "status")} <= checked  # fmt: skip


# -- scoping ----------------------------------------------------------------------------


def test_a_school_token_sees_nothing_of_another_school(demo, client):
    a, b = demo.school_a, demo.school_b
    headers = bearer(a)

    assert [s["id"] for s in all_items(client, "/schools", headers)] == [a.pk]
    classes = all_items(client, "/classes", headers)
    assert {c["id"] for c in classes} == set(
        SchoolClass.objects.filter(school=a).values_list("pk", flat=True)
    )
    teachers = all_items(client, "/teachers", headers)
    assert {t["staff_no"] for t in teachers} == set(
        Teacher.objects.filter(school=a).values_list("staff_no", flat=True)
    )
    students = all_items(client, "/students", headers)
    assert {s["id"] for s in students} == set(Student.objects.filter(school=a).values_list("pk", flat=True))
    # Asking for school B by filter gives an empty page, not B's rows.
    for path in ("/classes", "/teachers", "/students"):
        assert get(client, path, headers, school=b.pk).json()["count"] == 0

    class_b = SchoolClass.objects.filter(school=b).first()
    teacher_b = Teacher.objects.filter(school=b).first()
    student_b = Student.objects.filter(school=b).first()
    for path in (f"/schools/{b.pk}", f"/classes/{class_b.pk}", f"/teachers/{teacher_b.staff_no}",
                 f"/students/{student_b.student_no}"):  # fmt: skip
        assert get(client, path, headers).json() == {"detail": "Not found."}
    # School A's own records are there.
    student_a = Student.objects.filter(school=a).first()
    assert get(client, f"/students/{student_a.student_no}", headers).status_code == 200


def test_a_school_token_may_not_write_into_another_school(demo, client):
    a, b = demo.school_a, demo.school_b
    headers = bearer(a, can_write=True)
    student_b = Student.objects.filter(school=b).select_related("school_class__grade").first()
    before = Student.objects.values().get(pk=student_b.pk)

    # Updating B's student, even to move them into A, is refused.
    response = put(
        client, f"/students/{student_b.student_no}", headers, student_body(student_b, school=a.code)
    )
    assert (response.status_code, response.json()) == (
        403,
        {"detail": "This record belongs to a school outside your scope."},
    )
    # Creating a student in B, or moving A's student into B, is refused.
    new = new_student_body(b)
    assert put(client, "/students/GNEW0001", headers, new).status_code == 403
    student_a = Student.objects.filter(school=a).select_related("school_class__grade").first()
    moved = student_body(student_a, school=b.code, grade=None, class_number=None)
    assert put(client, f"/students/{student_a.student_no}", headers, moved).status_code == 403
    teacher_b = Teacher.objects.filter(school=b).select_related("school", "subject").first()
    assert put(client, f"/teachers/{teacher_b.staff_no}", headers, teacher_body(teacher_b)).status_code == 403

    assert Student.objects.values().get(pk=student_b.pk) == before
    assert Student.objects.get(pk=student_a.pk).school_id == a.pk
    assert not Student.objects.filter(student_no="GNEW0001").exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.API_WRITE).exists()


def test_session_teacher_sees_only_their_students(demo):
    client = demo.client("teacher")
    scope = scope_for_user(demo.user("teacher"))
    expected = set(
        Student.objects.filter(school_class_id__in=scope.roster_class_ids).values_list("pk", flat=True)
    )
    students = all_items(client, "/students", EN)
    assert {s["id"] for s in students} == expected
    assert all(s["school"]["id"] == demo.school_a.pk for s in students)
    assert [t["staff_no"] for t in all_items(client, "/teachers", EN)] == [
        demo.user("teacher").teacher.staff_no
    ]
    # A teacher reads ID numbers masked (the one in the student number too), and leaves no
    # audit record.
    for s in students:
        student = Student.objects.get(pk=s["id"])
        assert s["masked"] and (s["id_number"], s["student_no"]) == (
            mask_id_number(student.id_number),
            mask_student_no(student.student_no),
        ) != (student.id_number, student.student_no)
    assert not AuditEvent.objects.exists()
    other = Student.objects.filter(school=demo.school_a).exclude(pk__in=expected).first()
    assert get(client, f"/students/{other.student_no}", EN).status_code == 404


def test_session_student_sees_only_themself(demo):
    client = demo.client("student")
    own = demo.user("student").student
    assert [s["id"] for s in all_items(client, "/students", EN)] == [own.pk]
    assert all_items(client, "/teachers", EN) == []
    assert [c["id"] for c in all_items(client, "/classes", EN)] == [own.school_class_id]
    assert [s["id"] for s in all_items(client, "/schools", EN)] == [own.school_id]
    classmate = Student.objects.filter(school_class=own.school_class).exclude(pk=own.pk).first()
    assert get(client, f"/students/{classmate.student_no}", EN).status_code == 404
    # Their own number as the register pages show it to them: masked.
    assert get(client, f"/students/{own.student_no}", EN).json()["student_no"] == mask_student_no(
        own.student_no
    )


def test_session_parent_sees_their_children(demo):
    guardian = demo.user("parent").guardian
    children = set(guardian.student_links.values_list("student_id", flat=True))
    assert {s["id"] for s in all_items(demo.client("parent"), "/students", EN)} == children


# -- masking and audit -------------------------------------------------------------------


def test_lists_are_masked_unless_the_system_may_unmask(demo, client):
    a = demo.school_a
    ordered = list(Student.objects.filter(school=a).order_by("student_no", "pk")[:3])

    masked = get(client, "/students", bearer(a), limit=3).json()["items"]
    assert [(s["id_number"], s["masked"]) for s in masked] == [
        (mask_id_number(s.id_number), True) for s in ordered
    ]
    assert not AuditEvent.objects.exists()

    headers = bearer(a, may_unmask=True)
    plain = get(client, "/students", headers, limit=3).json()["items"]
    assert [(s["id_number"], s["masked"]) for s in plain] == [(s.id_number, False) for s in ordered]
    event = AuditEvent.objects.get()
    assert (event.action, event.target, event.user, event.system.school_id) == (
        AuditEvent.Action.API_READ, "api:students", None, a.pk)  # fmt: skip
    assert event.detail == {
        "keys": [s.student_no for s in ordered],
        "fields": ["id_number"],
        "query": {"limit": "3"},
    }

    # A system that may unmask can still ask for masked data, and then nothing is audited.
    again = get(client, "/students", headers, limit=3, masked="true").json()["items"]
    assert [s["id_number"] for s in again] == [mask_id_number(s.id_number) for s in ordered]
    assert AuditEvent.objects.count() == 1


def test_teacher_detail_masks_phone_and_audits_unmasked_reads(demo, client):
    teacher = Teacher.objects.filter(school=demo.school_a).first()
    body = get(client, f"/teachers/{teacher.staff_no}", bearer(demo.school_a)).json()
    assert (body["id_number"], body["phone"], body["masked"]) == (
        mask_id_number(teacher.id_number), mask_phone(teacher.phone), True)  # fmt: skip
    assert body["postings"] == [
        {"school": {"id": p.school_id, "code": p.school.code, "name": p.school.name},
         "start": p.start.isoformat(), "end": p.end.isoformat() if p.end else None, "reason": p.reason}
        for p in teacher.postings.all()
    ]  # fmt: skip
    admin = demo.client("school_admin")
    body = get(admin, f"/teachers/{teacher.staff_no}", EN).json()
    assert (body["id_number"], body["phone"], body["masked"]) == (teacher.id_number, teacher.phone, False)
    event = AuditEvent.objects.get()
    assert (event.action, event.target, event.user, event.system) == (
        AuditEvent.Action.API_READ, f"teacher:{teacher.staff_no}", demo.user("school_admin"), None)  # fmt: skip


def test_student_detail_has_guardians_masked_or_audited(demo, client):
    student = (
        Student.objects.filter(school=demo.school_a).prefetch_related("guardian_links__guardian").first()
    )
    links = list(student.guardian_links.order_by("pk"))
    body = get(client, f"/students/{student.student_no}", bearer(demo.school_a)).json()
    assert body["address"] is None
    assert body["guardians"] == [
        {"name": link.guardian.name, "relation": link.relation, "phone": mask_phone(link.guardian.phone),
         "id_number": None}
        for link in links
    ]  # fmt: skip
    assert [(e["school_class"]["id"], e["reason"]) for e in body["enrolments"]] == [
        (student.school_class_id, "入学")
    ]
    assert not AuditEvent.objects.exists()

    body = get(client, f"/students/{student.student_no}", bearer(may_unmask=True)).json()
    assert (body["address"], body["student_no"], body["id_number"]) == (
        student.address,
        student.student_no,
        student.id_number,
    )
    assert [g["phone"] for g in body["guardians"]] == [link.guardian.phone for link in links]
    event = AuditEvent.objects.get()
    assert (event.target, event.detail["keys"]) == (f"student:{student.student_no}", [student.student_no])


# -- pagination, filters, ordering --------------------------------------------------------


def test_teacher_filters_match_the_orm(demo, client):
    headers = bearer()
    math = Subject.objects.get(code="math")
    response = get(
        client, "/teachers", headers, school=demo.school_a.pk, subject=math.pk, status="established"
    )
    expected = Teacher.objects.filter(school=demo.school_a, subject=math, status="established")
    assert response.json()["count"] == expected.count()
    assert [t["staff_no"] for t in response.json()["items"]] == list(
        expected.order_by("staff_no", "pk").values_list("staff_no", flat=True))  # fmt: skip
    assert (
        get(client, "/teachers", headers, title="senior").json()["count"]
        == Teacher.objects.filter(title="senior").count()
    )
    one = Teacher.objects.order_by("pk").first()
    assert [
        t["staff_no"] for t in get(client, "/teachers", headers, q=one.staff_no.lower()).json()["items"]
    ] == [one.staff_no]


def test_pages_walk_the_whole_list_in_order(demo, client):
    headers = bearer()
    expected = list(Student.objects.order_by("-name", "pk").values_list("pk", flat=True))
    seen: list[int] = []
    for offset in range(0, len(expected) + 40, 40):
        body = get(client, "/students", headers, sort="-name", limit=40, offset=offset).json()
        assert (body["count"], body["limit"], body["offset"]) == (len(expected), 40, offset)
        seen += [s["id"] for s in body["items"]]
    assert seen == expected


def test_student_and_class_filters_match_the_orm(demo, client):
    headers = bearer()
    a = demo.school_a
    school_class = SchoolClass.objects.filter(school=a).order_by("pk").first()
    assert (
        get(client, "/students", headers, **{"class": school_class.pk}).json()["count"]
        == school_class.students.count()
    )
    assert get(client, "/students", headers, school=a.pk, grade=8, status="enrolled").json()["count"] == (
        Student.objects.filter(school=a, school_class__grade__level=8, status="enrolled").count()
    )
    assert get(client, "/classes", headers, school=a.pk, grade=7).json()["count"] == SchoolClass.objects.filter(
        school=a, grade__level=7).count()  # fmt: skip
    assert get(client, "/schools", headers, kind="junior").json()["count"] == 2
    # Unknown parameters are ignored, not errors.
    assert get(client, "/students", headers, colour="blue").json()["count"] == Student.objects.count()


def test_school_and_class_details(demo, client):
    headers = bearer(demo.school_a)
    a = demo.school_a
    body = get(client, f"/schools/{a.pk}", headers).json()
    assert [c["name"] for c in body["campuses"]] == list(a.campuses.values_list("name", flat=True))
    assert [(g["level"], [c["number"] for c in g["classes"]]) for g in body["grades"]] == [
        (level, list(SchoolClass.objects.filter(school=a, grade__level=level).order_by("number").values_list("number", flat=True)))
        for level in (7, 8, 9)
    ]  # fmt: skip
    assert body["students"] == Student.objects.filter(school=a, status="enrolled").count()
    school_class = SchoolClass.objects.filter(school=a).select_related("head_teacher").first()
    body = get(client, f"/classes/{school_class.pk}", headers).json()
    assert body["head_teacher"] == {
        "staff_no": school_class.head_teacher.staff_no,
        "name": school_class.head_teacher.name,
    }
    assert body["students"] == school_class.students.filter(status="enrolled").count()
    assert sorted(a["subject"]["code"] for a in body["assignments"]) == sorted(
        school_class.assignments.values_list("subject__code", flat=True))  # fmt: skip


# -- bad input -------------------------------------------------------------------------------


def test_bad_query_parameters_get_field_level_422(demo, client):
    headers = bearer()
    cases = {
        "/students?limit=100000": [("limit", "less_than_equal")],
        "/students?limit=0&offset=-1": [("limit", "greater_than_equal"), ("offset", "greater_than_equal")],
        "/students?offset=99999999999999999999": [("offset", "less_than_equal")],
        "/students?class=abc&grade=x": [("class", "int_parsing"), ("grade", "int_parsing")],
        "/students?status=expelled&sort=height": [("status", "enum"), ("sort", "string_pattern_mismatch")],
        "/teachers?school=1.5&masked=maybe": [("masked", "bool_parsing"), ("school", "int_parsing")],
        "/teachers?q=%00": [("q", "string_pattern_mismatch")],
        "/schools/abc": [("pk", "int_parsing")],
        "/schools/99999999999999999999": [("pk", "less_than_equal")],
        "/classes/0": [("pk", "greater_than_equal")],
        "/students/a%20b": [("student_no", "string_pattern_mismatch")],
    }
    for url, expected in cases.items():
        response = client.get(BASE + url, **headers)
        assert (url, response.status_code, sorted(errors_of(response))) == (url, 422, sorted(expected))
    response = client.get(BASE + "/students?limit=100000", **headers)
    assert response.json()["errors"][0]["message"] == "Ensure this value is at most 500."


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(["/schools", "/classes", "/teachers", "/students", "/subjects", "/terms"]),
    params=st.dictionaries(
        st.sampled_from(
            [
                "q",
                "school",
                "class",
                "grade",
                "subject",
                "title",
                "status",
                "gender",
                "sort",
                "limit",
                "offset",
                "masked",
                "kind",
                "zone",
                "x",
            ]
        ),  # fmt: skip
        st.one_of(st.text(max_size=30), st.integers(min_value=-(2**70), max_value=2**70).map(str)),
        max_size=5,
    ),
)
def test_no_query_yields_a_server_error(fuzz_client, path, params):
    client, headers = fuzz_client
    response = get(client, path, headers, **params)
    assert response.status_code in (200, 422), (path, params, response.content)
    assert isinstance(response.json(), dict)


@pytest.fixture
def fuzz_client(demo, client):
    return client, bearer(may_unmask=True)


# -- writes ----------------------------------------------------------------------------------


def new_student_body(school: Any, **changes: Any) -> dict[str, Any]:
    birth = dt.date(2012, 3, 14)
    body = {
        "name": "林小雨", "gender": "female", "birth_date": birth.isoformat(),
        "id_number": make_id_number("440104", birth, 1, male=False), "enrolment_year": 2024,
        "school": school.code, "grade": 8, "class_number": 1, "household": "city", "address": "广州市越秀区中山路1号",
    }  # fmt: skip
    body.update(changes)
    return body


def student_body(student: Student, **changes: Any) -> dict[str, Any]:
    body = {
        "name": student.name, "gender": student.gender, "birth_date": student.birth_date.isoformat(),
        "id_number": student.id_number, "enrolment_year": student.enrolment_year, "school": student.school.code,
        "grade": student.school_class.grade.level, "class_number": student.school_class.number,
        "status": student.status, "household": student.household, "address": student.address,
    }  # fmt: skip
    body.update(changes)
    return body


def teacher_body(teacher: Teacher, **changes: Any) -> dict[str, Any]:
    body = {
        "name": teacher.name, "gender": teacher.gender, "birth_date": teacher.birth_date.isoformat(),
        "id_number": teacher.id_number, "phone": teacher.phone,
        "school": teacher.school.code if teacher.school else None,
        "subject": teacher.subject.code if teacher.subject else None, "title": teacher.title,
        "qualification": teacher.qualification, "status": teacher.status,
        "joined_school_on": teacher.joined_school_on.isoformat() if teacher.joined_school_on else None,
        "started_teaching_year": teacher.started_teaching_year,
    }  # fmt: skip
    body.update(changes)
    return body


def test_put_creates_a_student_then_updates_idempotently(demo, client):
    a = demo.school_a
    headers = bearer(a, can_write=True)
    body = new_student_body(a)
    target = SchoolClass.objects.get(school=a, grade__level=8, number=1)

    response = put(client, "/students/GNEW0001", headers, body)
    assert response.status_code == 201, response.content
    created = response.json()
    assert {k: created[k] for k in ("student_no", "name", "gender", "birth_date", "enrolment_year", "status",
                                    "household", "id_number", "address", "masked")} == {  # fmt: skip
        "student_no": "GNEW0001", "name": "林小雨", "gender": "female", "birth_date": "2012-03-14",
        "enrolment_year": 2024, "status": "enrolled", "household": "city",
        "id_number": mask_id_number(body["id_number"]), "address": None, "masked": True,
    }  # fmt: skip
    assert created["school_class"]["id"] == target.pk
    student = Student.objects.get(student_no="GNEW0001")
    assert (student.id_number, student.school_id, student.school_class_id, student.address) == (
        body["id_number"], a.pk, target.pk, "广州市越秀区中山路1号")  # fmt: skip
    assert list(ClassEnrolment.objects.filter(student=student).values_list("school_class_id", "end", "reason")) == [
        (target.pk, None, "入学")]  # fmt: skip
    event = AuditEvent.objects.get()
    assert (event.action, event.target, event.detail["created"]) == (
        AuditEvent.Action.API_WRITE,
        "student:GNEW0001",
        True,
    )

    # The same PUT again changes nothing but is still audited as a write.
    again = put(client, "/students/GNEW0001", headers, body)
    assert again.status_code == 200
    assert again.json() == created
    assert Student.objects.filter(student_no="GNEW0001").count() == 1
    assert ClassEnrolment.objects.filter(student=student).count() == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.API_WRITE).count() == 2
    assert AuditEvent.objects.order_by("-pk").first().detail == {"created": False, "changed": []}

    # A move to another class closes the old enrolment and opens a new one.
    moved = put(client, "/students/GNEW0001", headers, {**body, "class_number": 2, "name": "林小语"})
    assert moved.status_code == 200
    assert AuditEvent.objects.order_by("-pk").first().detail == {
        "created": False,
        "changed": ["name", "school_class"],
    }
    history = list(
        ClassEnrolment.objects.filter(student=student)
        .order_by("pk")
        .values_list("school_class__number", "reason")
    )
    assert history == [(1, "入学"), (2, "调班")]
    assert ClassEnrolment.objects.filter(student=student, end__isnull=True).count() == 1


def test_student_validation_names_every_bad_field(demo, client):
    headers = bearer(demo.school_a, can_write=True)
    good = new_student_body(demo.school_a)
    bad_check = good["id_number"][:17] + ("0" if good["id_number"][17] != "0" else "1")
    cases = [
        ({"id_number": bad_check}, [("id_number", "id_number_check_digit")]),
        ({"id_number": "4401042012"}, [("id_number", "id_number_format")]),
        ({"birth_date": "2012-03-15", "gender": "male"}, [("birth_date", "birth_date_mismatch"), ("gender", "gender_mismatch")]),
        ({"school": "0000000000"}, [("school", "unknown_school")]),
        ({"class_number": 9}, [("class_number", "unknown_class")]),
        ({"grade": None}, [("grade", "missing")]),
        ({"birth_date": "yesterday", "enrolment_year": "abc", "gender": "x", "status": "gone"},
         [("birth_date", "date_from_datetime_parsing"), ("enrolment_year", "int_parsing"), ("gender", "enum"),
          ("status", "enum")]),
        ({"name": "", "address": "a\x00b", "colour": "blue"},
         [("name", "string_too_short"), ("address", "string_pattern_mismatch"), ("colour", "extra_forbidden")]),
        ({"enrolment_year": 2**80, "grade": 2**80}, [("enrolment_year", "less_than_equal"), ("grade", "less_than_equal")]),
        ({"name": ["a"], "school": 5}, [("name", "string_type"), ("school", "string_type")]),
    ]  # fmt: skip
    for changes, expected in cases:
        response = put(client, "/students/GNEW0002", headers, {**good, **changes})
        assert (changes, response.status_code, sorted(errors_of(response))) == (
            changes,
            422,
            sorted(expected),
        )
    response = put(client, "/students/GNEW0002", headers, {**good, "id_number": bad_check})
    assert response.json() == {
        "detail": "The request is not valid.",
        "errors": [{"field": "id_number", "loc": ["body", "id_number"], "code": "id_number_check_digit",
                    "message": "The check character of the ID number is wrong."}],
    }  # fmt: skip
    taken = Student.objects.exclude(id_number=None).first()
    response = put(client, "/students/GNEW0002", headers, {**good, "id_number": taken.id_number,
                                                           "birth_date": taken.birth_date.isoformat(), "gender": taken.gender})  # fmt: skip
    assert errors_of(response) == [("id_number", "id_number_taken")]
    assert not Student.objects.filter(student_no="GNEW0002").exists()
    assert not AuditEvent.objects.exists()


def test_malformed_bodies_get_4xx(demo, client):
    headers = bearer(demo.school_a, can_write=True)
    assert put(client, "/students/G1", headers, b"{not json").json() == {
        "detail": "The request body is not valid JSON."
    }
    assert put(client, "/students/G1", headers, b"\xff\xfe\x00").status_code == 400
    for body in (b"[]", b'"text"', b"null", b"42"):
        response = put(client, "/students/G1", headers, body)
        assert (body, response.status_code) == (body, 422)
    response = put(client, "/students/G1", headers, b"")
    assert response.status_code == 422
    assert ("name", "missing") in errors_of(response) or errors_of(response) == [(None, "missing")]


def test_who_may_write(demo, client):
    a = demo.school_a
    body = new_student_body(a)
    read_only = put(client, "/students/GNEW0003", bearer(a), body)
    assert (read_only.status_code, read_only.json()) == (403, {"detail": "This system may not write."})
    for name in ("teacher", "student", "parent", "district_staff", "school_admin_b"):
        assert (name, put(demo.client(name), "/students/GNEW0003", EN, body).status_code) == (name, 403)
    assert put(demo.client("school_admin"), "/students/GNEW0003", EN, body).status_code == 201
    assert (
        put(
            demo.client("district_admin"), "/students/GNEW0003", EN, {**body, "status": "suspended"}
        ).status_code
        == 200
    )
    assert Student.objects.get(student_no="GNEW0003").status == "suspended"
    writers = list(AuditEvent.objects.order_by("pk").values_list("user__username", "system"))
    assert writers == [("school_admin", None), ("district_admin", None)]


def test_put_teacher_creates_moves_and_validates(demo, client):
    a, b = demo.school_a, demo.school_b
    headers = bearer(can_write=True)  # the district's HR system
    birth = dt.date(1988, 5, 2)
    body = {
        "name": "周明", "gender": "male", "birth_date": birth.isoformat(),
        "id_number": make_id_number("440104", birth, 7, male=True), "phone": "13800001234",
        "school": a.code, "subject": "math", "title": "first", "qualification": "master",
        "joined_school_on": "2015-09-01", "started_teaching_year": 2010,
    }  # fmt: skip
    response = put(client, "/teachers/T900001", headers, body)
    assert response.status_code == 201, response.content
    assert {k: response.json()[k] for k in ("staff_no", "phone", "title", "status", "school")} == {
        "staff_no": "T900001", "phone": "138****1234", "title": "first", "status": "established",
        "school": {"id": a.pk, "code": a.code, "name": a.name},
    }  # fmt: skip
    assert put(client, "/teachers/T900001", headers, body).status_code == 200
    teacher = Teacher.objects.get(staff_no="T900001")
    assert list(TeacherPosting.objects.filter(teacher=teacher).values_list("school_id", "reason", "end")) == [
        (a.pk, "调入", None)]  # fmt: skip

    assert put(client, "/teachers/T900001", headers, {**body, "school": b.code}).status_code == 200
    postings = list(
        TeacherPosting.objects.filter(teacher=teacher).order_by("pk").values_list("school_id", "end")
    )
    assert (
        [school for school, _ in postings] == [a.pk, b.pk]
        and postings[1][1] is None
        and postings[0][1] is not None
    )

    # The body's shape is checked first; then what needs the register, all at once.
    bad = {**body, "title": "guru", "started_teaching_year": 1800}
    response = put(client, "/teachers/T900002", headers, bad)
    assert sorted(errors_of(response)) == [("started_teaching_year", "greater_than_equal"), ("title", "enum")]
    bad = {**body, "subject": "alchemy", "id_number": teacher.id_number, "phone": "call me"}
    response = put(client, "/teachers/T900002", headers, bad)
    assert sorted(errors_of(response)) == [
        ("id_number", "id_number_taken"), ("phone", "bad_phone"), ("subject", "unknown_subject")]  # fmt: skip
    # Gender and birth date come from the ID number when left out; personal fields left out
    # are kept.
    response = put(
        client, "/teachers/T900001", headers, {**body, "gender": None, "birth_date": None, "phone": None}
    )
    assert response.status_code == 200
    kept = Teacher.objects.get(staff_no="T900001")
    assert (kept.gender, kept.birth_date, kept.phone, kept.id_number) == (
        "male",
        birth,
        "13800001234",
        body["id_number"],
    )
    # A school's own system must name its school.
    response = put(
        client, "/teachers/T900002", bearer(a, can_write=True), {**body, "school": None, "id_number": None}
    )
    assert errors_of(response) == [("school", "missing")]


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=25),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(["/students/GFUZZ1", "/teachers/TFUZZ1"]),
    changes=st.dictionaries(
        st.sampled_from(
            [
                "name",
                "gender",
                "birth_date",
                "id_number",
                "enrolment_year",
                "school",
                "grade",
                "class_number",
                "status",
                "household",
                "address",
                "phone",
                "subject",
                "title",
                "qualification",
                "joined_school_on",
                "started_teaching_year",
            ]
        ),  # fmt: skip
        JSON_VALUES,
        max_size=4,
    ),
)
def test_no_body_yields_a_server_error(write_client, path, changes):
    client, headers, school = write_client
    base = (
        new_student_body(school)
        if path.startswith("/students")
        else {"name": "周明", "qualification": "master"}
    )
    response = put(client, path, headers, {**base, **changes})
    assert response.status_code in (200, 201, 400, 403, 422), (changes, response.content)
    assert isinstance(response.json(), dict)


@pytest.fixture
def write_client(demo, client):
    return client, bearer(demo.school_a, can_write=True), demo.school_a


def test_session_writes_need_the_csrf_token(demo):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(demo.user("school_admin"))
    response = put(client, "/students/GNEW0004", EN, new_student_body(demo.school_a))
    assert (response.status_code, response.json()) == (403, {"detail": "The CSRF check failed."})
    # Reads need no token, and a bearer token needs none for writes.
    assert get(client, "/subjects", EN).status_code == 200
    assert (
        put(
            client,
            "/students/GNEW0004",
            bearer(demo.school_a, can_write=True),
            new_student_body(demo.school_a),
        ).status_code
        == 201
    )
