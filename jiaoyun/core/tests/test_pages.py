"""The register's pages and exports, seen by every role of the tiny demo district.

Expected rows come from the ORM directly (not from the selectors under test): what each
role may see is spelled out here once, in `expected_pks`.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.db.models import Q
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from jiaoyun.accounts.models import AuditEvent
from jiaoyun.core.identity import mask_id_number, mask_phone, mask_student_no
from jiaoyun.core.models import School, SchoolClass, Student, Teacher
from jiaoyun.core.views import PAGE_SIZE

pytestmark = pytest.mark.django_db

LISTS = {
    "schools": ("core:school_list", School),
    "classes": ("core:class_list", SchoolClass),
    "teachers": ("core:teacher_list", Teacher),
    "students": ("core:student_list", Student),
}
DETAILS = {
    "schools": "core:school_detail",
    "classes": "core:class_detail",
    "teachers": "core:teacher_detail",
    "students": "core:student_detail",
}
ROLES = ("district_admin", "district_staff", "school_admin", "teacher", "student", "parent")


def taught_classes(teacher: Teacher) -> set[int]:
    return set(
        SchoolClass.objects.filter(Q(head_teacher=teacher) | Q(assignments__teacher=teacher)).values_list(
            "pk", flat=True
        )
    )


def expected_pks(demo: Any, username: str, kind: str) -> set[int]:
    """What each demo user may list, from the register directly."""
    model = LISTS[kind][1]
    everything = set(model.objects.values_list("pk", flat=True))
    user = demo.user(username)
    role = username.removesuffix("_b")
    if role in ("district_admin", "district_staff"):
        return everything
    if role == "school_admin":
        school = demo.school_b if username.endswith("_b") else demo.school_a
        field = "pk" if model is School else "school_id"
        return set(model.objects.filter(**{field: school.pk}).values_list("pk", flat=True))
    if role == "teacher":
        teacher = user.teacher
        return {
            "schools": {teacher.school_id},
            "classes": taught_classes(teacher),
            "teachers": {teacher.pk},
            "students": set(
                Student.objects.filter(school_class__in=taught_classes(teacher)).values_list("pk", flat=True)
            ),
        }[kind]
    children = (
        [user.student]
        if role == "student"
        else [link.student for link in user.guardian.student_links.select_related("student")]
    )
    return {
        "schools": {c.school_id for c in children},
        "classes": {c.school_class_id for c in children},
        "teachers": set(),
        "students": {c.pk for c in children},
    }[kind]


def listed_pks(client: Client, url_name: str, query: str = "") -> tuple[set[int], Any]:
    """Every row a list offers across its pages (walking the pager), and the last response."""
    pks: set[int] = set()
    page = 1
    while True:
        response = client.get(f"{reverse(url_name)}?{query}&page={page}")
        assert response.status_code == 200
        pks |= {obj.pk for obj in response.context["page"].object_list}
        if not response.context["page"].has_next():
            return pks, response
        page += 1


def workbook_rows(response: Any) -> tuple[list[str], list[list[Any]]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    return [str(h) for h in rows[0]], rows[1:]


def export_keys(kind: str, rows: list[list[Any]]) -> set[Any]:
    """The exported rows as register keys: school code, staff number, student number, and
    (school name, class name) for classes."""
    if kind == "classes":
        return {(r[1], r[0]) for r in rows}
    return {r[0] for r in rows}


def register_keys(kind: str, pks: set[int]) -> set[Any]:
    if kind == "schools":
        return set(School.objects.filter(pk__in=pks).values_list("code", flat=True))
    if kind == "teachers":
        return set(Teacher.objects.filter(pk__in=pks).values_list("staff_no", flat=True))
    if kind == "students":
        # Lists and exports show the ID number inside a student number masked.
        return {
            mask_student_no(no)
            for no in Student.objects.filter(pk__in=pks).values_list("student_no", flat=True)
        }
    return {
        (c.school.name, str(c))
        for c in SchoolClass.objects.filter(pk__in=pks).select_related("school", "grade")
    }


# --- anonymous visitors ---------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_login(demo):
    client = Client()
    student = Student.objects.first()
    urls = [reverse("home"), reverse("accounts:audit")]
    urls += [reverse(name) for name, _model in LISTS.values()]
    urls += [reverse("core:student_list") + "?format=xlsx", reverse("core:student_detail", args=[student.pk])]
    urls += [reverse("core:school_detail", args=[demo.school_a.pk])]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:login") + "?next="), url
    assert AuditEvent.objects.count() == 0


# --- what each role lists and exports -------------------------------------------------


@pytest.mark.parametrize("username", [*ROLES, "school_admin_b", "teacher_b"])
@pytest.mark.parametrize("kind", list(LISTS))
def test_lists_and_exports_hold_exactly_what_the_role_may_see(demo, username, kind):
    client = demo.client(username)
    url_name = LISTS[kind][0]
    expected = expected_pks(demo, username, kind)
    listed, response = listed_pks(client, url_name)
    assert listed == expected
    assert response.context["page"].paginator.count == len(expected)

    headers, rows = workbook_rows(client.get(reverse(url_name) + "?format=xlsx"))
    assert len(rows) == len(expected)
    assert export_keys(kind, rows) == register_keys(kind, expected)
    assert headers == [str(c.label) for c in response.context["spec"].columns]
    event = AuditEvent.objects.get()
    assert (event.action, event.target, event.user) == ("export", kind, demo.user(username))
    assert event.detail["rows"] == len(expected) and event.detail["unmasked"] is False


@pytest.mark.parametrize("username", ["school_admin", "teacher", "student", "parent"])
def test_school_a_users_see_nothing_of_school_b(demo, username):
    client = demo.client(username)
    b = demo.school_b
    b_student = Student.objects.filter(school=b).first()
    b_teacher = Teacher.objects.filter(school=b).first()
    b_class = SchoolClass.objects.filter(school=b).first()
    for name, _model in LISTS.values():
        page = client.get(reverse(name))
        assert b.name not in page.content.decode()
        export = client.get(reverse(name) + "?format=xlsx")
        _headers, rows = workbook_rows(export)
        assert not any(b.name in str(cell) for row in rows for cell in row)
        # Filtering on B's school is no way in either (the school list has no such filter).
        filtered = client.get(reverse(name) + f"?school={b.pk}").context["page"].paginator
        assert filtered.count == (1 if name == "core:school_list" else 0)
    for name, obj in [
        ("core:school_detail", b),
        ("core:class_detail", b_class),
        ("core:teacher_detail", b_teacher),
        ("core:student_detail", b_student),
    ]:
        assert client.get(reverse(name, args=[obj.pk])).status_code == 404
        assert client.get(reverse(name, args=[obj.pk]) + "?reveal=1").status_code == 404
    assert AuditEvent.objects.filter(action="unmask").count() == 0


def test_teacher_reaches_only_the_classes_and_students_they_teach(demo):
    teacher = demo.user("teacher").teacher
    client = demo.client("teacher")
    taught = taught_classes(teacher)
    own_school = SchoolClass.objects.filter(school=teacher.school)
    other_class = own_school.exclude(pk__in=taught).first()
    other_student = Student.objects.filter(school=teacher.school).exclude(school_class__in=taught).first()
    colleague = Teacher.objects.filter(school=teacher.school).exclude(pk=teacher.pk).first()
    assert other_class and other_student and colleague
    assert client.get(reverse("core:class_detail", args=[other_class.pk])).status_code == 404
    assert client.get(reverse("core:student_detail", args=[other_student.pk])).status_code == 404
    assert client.get(reverse("core:teacher_detail", args=[colleague.pk])).status_code == 404
    for class_id in taught:
        page = client.get(reverse("core:class_detail", args=[class_id]))
        assert page.status_code == 200
        assert {s.pk for s in page.context["students"]} == set(
            Student.objects.filter(school_class_id=class_id).values_list("pk", flat=True)
        )
    # The school page shows the teacher's own classes only.
    page = client.get(reverse("core:school_detail", args=[teacher.school_id]))
    shown = {c.pk for grade in page.context["grades"] for c in grade.visible_classes}
    assert shown == taught


def test_student_sees_only_themself_and_parent_only_their_children(demo):
    me = demo.user("student").student
    classmate = Student.objects.filter(school_class=me.school_class).exclude(pk=me.pk).first()
    client = demo.client("student")
    assert client.get(reverse("core:student_detail", args=[me.pk])).status_code == 200
    assert client.get(reverse("core:student_detail", args=[classmate.pk])).status_code == 404
    page = client.get(reverse("core:class_detail", args=[me.school_class_id]))
    assert [s.pk for s in page.context["students"]] == [me.pk]

    guardian = demo.user("parent").guardian
    children = set(guardian.student_links.values_list("student_id", flat=True))
    parent = demo.client("parent")
    for child in children:
        assert parent.get(reverse("core:student_detail", args=[child])).status_code == 200
    stranger = Student.objects.exclude(pk__in=children).filter(school=demo.school_a).first()
    assert parent.get(reverse("core:student_detail", args=[stranger.pk])).status_code == 404


# --- masking and the audit log --------------------------------------------------------


def test_student_detail_is_masked_until_an_allowed_role_reveals_it(demo):
    student = (
        Student.objects.filter(school=demo.school_a).prefetch_related("guardian_links__guardian").first()
    )
    phones = [link.guardian.phone for link in student.guardian_links.all()]
    url = reverse("core:student_detail", args=[student.pk])
    admin = demo.client("school_admin")

    # The national student number is "G" and the ID number (the real format): it is masked too.
    page = admin.get(url).content.decode()
    assert student.id_number not in page and mask_id_number(student.id_number) in page
    assert all(p not in page and mask_phone(p) in page for p in phones)
    assert AuditEvent.objects.count() == 0

    page = admin.get(url + "?reveal=1").content.decode()
    assert student.id_number in page and all(p in page for p in phones)
    event = AuditEvent.objects.get()
    assert (event.action, event.target, event.user) == (
        "unmask",
        f"student:{student.student_no}",
        demo.user("school_admin"),
    )
    assert event.detail == {
        "fields": sorted(
            ["id_number", "student_no"]
            + [f"guardian_phone_{link.guardian_id}" for link in student.guardian_links.all()]
        )
    }

    # Roles that may not unmask get the masked page, and nothing is written.
    for username in ("teacher", "district_staff", "parent"):
        client = demo.client(username)
        response = client.get(url + "?reveal=1")
        if response.status_code == 404:
            continue
        body = response.content.decode()
        assert student.id_number not in body and all(p not in body for p in phones)
    assert AuditEvent.objects.count() == 1


def test_teacher_detail_reveal_is_audited_once_per_view(demo):
    teacher = Teacher.objects.filter(school=demo.school_a).first()
    url = reverse("core:teacher_detail", args=[teacher.pk])
    admin = demo.client("district_admin")
    assert teacher.id_number not in admin.get(url).content.decode()
    for _ in range(2):
        body = admin.get(url + "?reveal=1").content.decode()
        assert teacher.id_number in body and teacher.phone in body
    assert AuditEvent.objects.filter(action="unmask", target=f"teacher:{teacher.staff_no}").count() == 2


def test_list_pages_never_show_full_identifiers(demo):
    client = demo.client("district_admin")
    body = client.get(reverse("core:student_list")).content.decode()
    for student in Student.objects.order_by("student_no")[:PAGE_SIZE]:
        assert mask_id_number(student.id_number) in body
        assert student.id_number not in body
    body = client.get(reverse("core:teacher_list")).content.decode()
    for teacher in Teacher.objects.order_by("staff_no")[:PAGE_SIZE]:
        assert teacher.id_number not in body and teacher.phone not in body


def test_exports_are_masked_unless_an_allowed_role_asks(demo):
    url = reverse("core:student_list") + "?format=xlsx"
    a_students = {s.student_no: s.id_number for s in Student.objects.filter(school=demo.school_a)}
    admin = demo.client("school_admin")

    headers, rows = workbook_rows(admin.get(url))
    id_col = headers.index("身份证号")
    assert {r[0]: r[id_col] for r in rows} == {
        mask_student_no(no): mask_id_number(i) for no, i in a_students.items()
    }

    headers, rows = workbook_rows(admin.get(url + "&unmask=1"))
    assert {r[0]: r[id_col] for r in rows} == a_students
    events = list(AuditEvent.objects.order_by("pk").values_list("action", "detail"))
    assert [(a, d["unmasked"], d["rows"]) for a, d in events] == [
        ("export", False, len(a_students)),
        ("export", True, len(a_students)),
    ]

    # A teacher, district staff and a parent may not unmask: refused, and nothing exported.
    for username in ("teacher", "district_staff", "parent"):
        assert demo.client(username).get(url + "&unmask=1").status_code == 403
    # The school list has no personal columns to unmask.
    assert (
        demo.client("district_admin").get(reverse("core:school_list") + "?format=xlsx&unmask=1").status_code
        == 403
    )
    assert AuditEvent.objects.count() == 2

    # The district administrator may unmask teachers' phones across the district.
    headers, rows = workbook_rows(
        demo.client("district_admin").get(reverse("core:teacher_list") + "?format=xlsx&unmask=1")
    )
    phone_col = headers.index("电话")
    assert {r[0]: r[phone_col] for r in rows} == dict(Teacher.objects.values_list("staff_no", "phone"))


def test_unmask_button_shows_only_for_roles_that_may(demo):
    url = reverse("core:student_list")
    assert demo.client("school_admin").get(url).context["may_unmask_export"] is True
    assert demo.client("district_admin").get(url).context["may_unmask_export"] is True
    for username in ("district_staff", "teacher", "parent"):
        response = demo.client(username).get(url)
        assert response.context["may_unmask_export"] is False
        assert "unmask=1" not in response.content.decode()


def test_audit_log_is_for_district_administrators(demo):
    demo.client("school_admin").get(reverse("core:student_list") + "?format=xlsx")
    student = Student.objects.filter(school=demo.school_a).first()
    demo.client("school_admin").get(reverse("core:student_detail", args=[student.pk]) + "?reveal=1")
    for username in ("district_staff", "school_admin", "teacher", "student", "parent"):
        assert demo.client(username).get(reverse("accounts:audit")).status_code == 403
    client = demo.client("district_admin")
    page = client.get(reverse("accounts:audit"))
    assert [e.action for e in page.context["page"].object_list] == ["unmask", "export"]
    only_exports = client.get(reverse("accounts:audit") + "?action=export")
    assert [e.target for e in only_exports.context["page"].object_list] == ["students"]
    by_target = client.get(reverse("accounts:audit") + f"?q={student.student_no}")
    assert [e.action for e in by_target.context["page"].object_list] == ["unmask"]
    assert client.get(reverse("accounts:audit") + "?action=nope&page=abc&q=" + "x" * 500).status_code == 200


# --- paging, filtering, sorting -------------------------------------------------------


def page_pks(response: Any) -> list[int]:
    return [obj.pk for obj in response.context["page"].object_list]


def test_pages_follow_the_default_order(demo):
    client = demo.client("district_admin")
    ordered = list(Student.objects.order_by("student_no", "pk").values_list("pk", flat=True))
    assert len(ordered) > 2 * PAGE_SIZE
    url = reverse("core:student_list")
    assert page_pks(client.get(url)) == ordered[:PAGE_SIZE]
    assert page_pks(client.get(url + "?page=2")) == ordered[PAGE_SIZE : 2 * PAGE_SIZE]
    last = (len(ordered) - 1) // PAGE_SIZE + 1
    assert page_pks(client.get(url + f"?page={last}")) == ordered[(last - 1) * PAGE_SIZE :]
    # Out-of-range and malformed pages fall back instead of failing.
    assert page_pks(client.get(url + "?page=9999")) == ordered[(last - 1) * PAGE_SIZE :]
    assert page_pks(client.get(url + "?page=abc")) == ordered[:PAGE_SIZE]


def test_filters_and_search_match_the_register(demo):
    client = demo.client("district_admin")
    url = reverse("core:student_list")
    a = demo.school_a
    response = client.get(url + f"?school={a.pk}&grade=8&gender=female")
    expected = Student.objects.filter(school=a, school_class__grade__level=8, gender="female")
    assert set(page_pks(response)) == set(expected.values_list("pk", flat=True))
    assert response.context["page"].paginator.count == expected.count() > 0

    school_class = SchoolClass.objects.filter(school=a).first()
    response = client.get(url + f"?class={school_class.pk}")
    assert set(page_pks(response)) == set(school_class.students.values_list("pk", flat=True))

    student = Student.objects.filter(school=a).first()
    for q in (student.student_no, student.id_number, student.name):
        found = set(page_pks(client.get(url + f"?q={q}")))
        assert student.pk in found
        assert found == set(
            Student.objects.filter(
                Q(name__icontains=q) | Q(student_no__iexact=q) | Q(id_number__iexact=q)
            ).values_list("pk", flat=True)
        )

    teachers = client.get(reverse("core:teacher_list") + "?title=senior&status=established")
    expected_teachers = Teacher.objects.filter(title="senior", status="established")
    assert set(page_pks(teachers)) == set(expected_teachers.values_list("pk", flat=True))

    schools = client.get(reverse("core:school_list") + "?kind=junior")
    assert set(page_pks(schools)) == {demo.school_a.pk, demo.school_b.pk}

    classes = client.get(reverse("core:class_list") + f"?school={a.pk}&grade=7")
    assert page_pks(classes) == list(
        SchoolClass.objects.filter(school=a, grade__level=7).order_by("number").values_list("pk", flat=True)
    )


def test_sorting_matches_the_register(demo):
    client = demo.client("district_admin")
    url = reverse("core:student_list")
    by_birth = list(Student.objects.order_by("-birth_date", "pk").values_list("pk", flat=True))
    assert page_pks(client.get(url + "?sort=-birth_date")) == by_birth[:PAGE_SIZE]
    assert page_pks(client.get(url + "?sort=-birth_date&page=2")) == by_birth[PAGE_SIZE : 2 * PAGE_SIZE]
    by_name = list(Teacher.objects.order_by("name", "pk").values_list("pk", flat=True))
    assert page_pks(client.get(reverse("core:teacher_list") + "?sort=name")) == by_name[:PAGE_SIZE]
    # Schools by enrolled students, most first (the count is an annotation, not a field).
    counts = {s.pk: s.students.filter(status="enrolled").count() for s in School.objects.all()}
    expected = sorted(counts, key=lambda pk: (-counts[pk], pk))
    assert page_pks(client.get(reverse("core:school_list") + "?sort=-students")) == expected
    # An unknown or unsortable key keeps the default order.
    default = page_pks(client.get(url))
    assert page_pks(client.get(url + "?sort=id_number")) == default
    assert page_pks(client.get(url + "?sort=nope")) == default
    # The export follows the page's filter and order.
    _headers, rows = workbook_rows(
        client.get(url + f"?school={demo.school_a.pk}&sort=-birth_date&format=xlsx")
    )
    assert [r[0] for r in rows] == [
        mask_student_no(no)
        for no in Student.objects.filter(school=demo.school_a)
        .order_by("-birth_date", "pk")
        .values_list("student_no", flat=True)
    ]


def test_htmx_requests_get_the_list_fragment(demo):
    client = demo.client("district_admin")
    url = reverse("core:student_list") + "?sort=name"
    fragment = client.get(url, headers={"HX-Request": "true"})
    body = fragment.content.decode()
    assert "<html" not in body and '<form class="filters" id="list-filters" hx-swap-oob="true"' in body
    assert "HX-Request" in fragment["Vary"]
    assert page_pks(fragment) == list(
        Student.objects.order_by("name", "pk").values_list("pk", flat=True)[:PAGE_SIZE]
    )
    # A history restore after a cache miss needs the whole page.
    restore = client.get(url, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.content.decode()
    assert "<html" in client.get(url).content.decode()


BAD_QUERIES = [
    "school=abc",
    "school=%C2%B2",
    "school=99999999999999999999999",
    "class=1x",
    "grade=seven",
    "subject=-",
    "sort=nope",
    "sort=-",
    "sort=--name",
    "page=abc",
    "page=-1",
    "page=0",
    "page=99999",
    "kind=zzz&zone=nowhere",
    "q=" + "%25" * 300,
    "format=pdf",
    "unmask=1",
    "status=%00",
]


@pytest.mark.parametrize("kind", list(LISTS))
def test_bad_query_parameters_never_fail(demo, kind):
    client = demo.client("school_admin")
    for query in BAD_QUERIES:
        response = client.get(f"{reverse(LISTS[kind][0])}?{query}")
        assert response.status_code == 200, query
    assert client.get(f"/register/{kind}/abc/").status_code == 404
    assert client.get(f"/register/{kind}/99999999/").status_code == 404


# --- navigation, home pages, language -------------------------------------------------


REGISTER_NAV = {
    "首页",
    "学校",
    "本校",
    "班级",
    "我的班级",
    "教师",
    "学生",
    "我的档案",
    "我的孩子",
    "数据导入",
    "审计日志",
    "数据接口",
}


def nav_labels(response: Any) -> list[str]:
    """The register's entries of the navigation (other apps add their own)."""
    return [
        str(item["label"]) for item in response.context["nav_items"] if str(item["label"]) in REGISTER_NAV
    ]


def test_navigation_fits_the_role(demo):
    assert nav_labels(demo.client("district_admin").get("/")) == [
        "首页", "学校", "班级", "教师", "学生", "数据导入", "审计日志", "数据接口",
    ]  # fmt: skip
    assert nav_labels(demo.client("district_staff").get("/")) == [
        "首页", "学校", "班级", "教师", "学生", "数据导入", "数据接口",
    ]  # fmt: skip
    assert nav_labels(demo.client("school_admin").get("/")) == [
        "首页", "学校", "班级", "教师", "学生", "数据导入",
    ]  # fmt: skip
    assert nav_labels(demo.client("teacher").get("/")) == ["首页", "本校", "我的班级", "学生", "我的档案"]
    assert nav_labels(demo.client("student").get("/")) == ["首页", "我的档案"]
    assert nav_labels(demo.client("parent").get("/")) == ["首页", "我的孩子"]


def test_home_pages_show_each_role_its_own_records(demo):
    teacher = demo.user("teacher").teacher
    home = demo.client("teacher").get("/")
    assert {c.pk for c in home.context["summary"]["own_classes"]} == taught_classes(teacher)
    assert "counts" not in home.context["summary"]

    parent = demo.user("parent").guardian
    home = demo.client("parent").get("/")
    children = list(parent.student_links.values_list("student__name", flat=True))
    assert [s.name for s in home.context["summary"]["own_students"]] == children
    assert "我的孩子" in home.content.decode()

    home = demo.client("student").get("/")
    assert [s.pk for s in home.context["summary"]["own_students"]] == [demo.user("student").student.pk]

    home = demo.client("school_admin").get("/")
    assert home.context["summary"]["counts"] == {
        "schools": 1,
        "classes": SchoolClass.objects.filter(school=demo.school_a).count(),
        "teachers": Teacher.objects.filter(school=demo.school_a)
        .exclude(status__in=["retired", "left"])
        .count(),
        "students": Student.objects.filter(school=demo.school_a, status="enrolled").count(),
    }
    assert [s.pk for s in home.context["summary"]["admin_schools"]] == [demo.school_a.pk]

    home = demo.client("district_admin").get("/")
    assert home.context["summary"]["counts"]["students"] == Student.objects.filter(status="enrolled").count()
    assert sum(row["schools"] for row in home.context["summary"]["by_kind"]) == School.objects.count()


def test_pages_are_chinese_by_default_and_english_on_request(demo):
    client = demo.client("school_admin")
    url = reverse("core:school_detail", args=[demo.school_a.pk])
    body = client.get(url).content.decode()
    assert '<html lang="zh-hans">' in body
    assert "年级与班级" in body and "七年级" in body and "退出" in body

    response = client.post(reverse("set_language"), {"language": "en", "next": url})
    assert response.status_code == 302 and response["Location"] == url
    body = client.get(url).content.decode()
    assert '<html lang="en">' in body
    assert "Grades and classes" in body and "Grade 7" in body and "Sign out" in body
    assert "七年级" not in body
    _headers, rows = workbook_rows(client.get(reverse("core:class_list") + "?format=xlsx"))
    assert {r[2] for r in rows} == {"Grade 7", "Grade 8", "Grade 9"}


def test_pages_carry_a_content_security_policy_and_no_inline_script(demo):
    response = demo.client("district_admin").get(reverse("core:student_list"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy and "unsafe-inline" not in policy
    body = response.content.decode()
    assert body.count("<script") == body.count("<script src=")
    assert " style=" not in body and "<style" not in body and " onclick=" not in body


def test_a_menu_value_the_menu_no_longer_offers_is_dropped(demo):
    client = demo.client("district_admin")
    b_class = SchoolClass.objects.filter(school=demo.school_b).first()
    # A class of school B chosen before the school menu moved to school A.
    response = client.get(reverse("core:student_list") + f"?school={demo.school_a.pk}&class={b_class.pk}")
    assert response.context["params"] == {"school": str(demo.school_a.pk)}
    assert set(page_pks(response)) == set(
        Student.objects.filter(school=demo.school_a).values_list("pk", flat=True)
    )
    # Without a school the district's class menu is not offered, and the class still filters.
    response = client.get(reverse("core:student_list") + f"?class={b_class.pk}")
    assert set(page_pks(response)) == set(b_class.students.values_list("pk", flat=True))


def test_only_roles_that_see_id_numbers_may_search_by_them(demo):
    teacher = demo.user("teacher").teacher
    student = Student.objects.filter(school_class__head_teacher=teacher).first()
    url = reverse("core:student_list") + f"?q={student.id_number}"
    assert demo.client("teacher").get(url).context["page"].paginator.count == 0
    assert demo.client("school_admin").get(url).context["page"].paginator.count == 1
