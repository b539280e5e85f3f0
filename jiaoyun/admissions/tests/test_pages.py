"""The admission pages through the Django test client: the bureau, the kindergarten, parents and
the notary, each seeing only what their scope allows; bad input explained and nothing changed."""

from __future__ import annotations

import datetime as dt
import shlex
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from jiaoyun.accounts.models import AuditEvent, Role, RoleGrant
from jiaoyun.admissions import services
from jiaoyun.admissions.models import Application, ApplicationDocument, Entry, PlacementRound
from jiaoyun.analytics.placement import seed_commitment
from jiaoyun.core.identity import make_id_number, mask_id_number
from jiaoyun.core.models import Guardian, School, Student

pytestmark = pytest.mark.django_db

SEED = "pages-seed-" + "7" * 32
COMMITMENT = seed_commitment(SEED)
PDF = b"%PDF-1.4\n% a scanned household register\n"
POLICY_CHILD = make_id_number("440104", dt.date(2023, 3, 1), 11, male=True)
LOCAL_CHILD = make_id_number("440104", dt.date(2023, 4, 2), 12, male=False)


@pytest.fixture(autouse=True)
def private_documents(tmp_path, monkeypatch):
    """Uploads go to a temporary folder, never to the developer's var/."""
    field = ApplicationDocument._meta.get_field("file")
    monkeypatch.setattr(field, "storage", FileSystemStorage(location=tmp_path / "private"))


def english(client: Client) -> Client:
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def login(demo: Any, name: str) -> Client:
    return english(demo.client(name))


def login_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return english(client)


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def pdf(name: str = "register.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def admin_of(school: School, username: str) -> Any:
    user = get_user_model().objects.create_user(username=username)
    RoleGrant.objects.create(user=user, role=Role.SCHOOL_ADMIN, school=school)
    return user


@pytest.fixture
def kindergarten(demo):
    return School.objects.get(kind=School.Kind.KINDERGARTEN)


@pytest.fixture
def open_window(demo, kindergarten):
    """A kindergarten round with one window open today: one seat, policy before household."""
    round = services.create_round(
        name="Kindergarten 2027", kind="kindergarten", school_year=2027, mechanism=""
    )
    today = timezone.localdate()
    window = services.open_window(
        round=round,
        kindergarten=kindergarten,
        zone="",
        seats=1,
        tiers=["policy", "household"],
        tier_documents={"policy": "Policy certificate"},
        opens_on=today - dt.timedelta(days=1),
        closes_on=today + dt.timedelta(days=30),
    )
    return round, window


def apply_as(client: Client, window: Any, **changes: Any) -> Any:
    data = {
        "child_name": "小明",
        "child_birth_date": "2023-03-01",
        "child_id_number": POLICY_CHILD,
        "household": "local",
        "claimed_tier": "policy",
        "documents": [pdf()],
    } | changes
    return client.post(reverse("admissions:apply", args=[window.pk]), data, follow=True)


def test_kindergarten_path_from_window_to_verified_result(demo, kindergarten, tmp_path, monkeypatch):
    bureau = login(demo, "district_admin")
    created = bureau.post(
        reverse("admissions:round_create"),
        {"name": "Kindergarten 2027", "kind": "kindergarten", "school_year": 2027, "mechanism": "boston"},
    )
    round = PlacementRound.objects.get(name="Kindergarten 2027")
    assert created.url == reverse("admissions:round_detail", args=[round.pk])
    # A kindergarten round always runs the tier draw, whatever the form said.
    assert round.mechanism == "kindergarten"
    today = timezone.localdate()
    window_form = {
        "kindergarten": kindergarten.pk,
        "zone": "",
        "seats": 1,
        "waitlist_size": "",
        "opens_on": (today - dt.timedelta(days=1)).isoformat(),
        "closes_on": (today + dt.timedelta(days=30)).isoformat(),
        "rank_policy": "1",
        "rank_household": "2",
        "documents_policy": "Policy certificate",
        "documents_household": "",
    }
    # Seats or a waitlist beyond any kindergarten (a number the database cannot hold was a 500).
    for field in ("seats", "waitlist_size"):
        refused = bureau.post(
            reverse("admissions:window_create", args=[round.pk]), {**window_form, field: 10**20}
        )
        assert refused.status_code == 200 and list(refused.context["form"].errors) == [field]
    assert not round.windows.exists()
    bureau.post(reverse("admissions:window_create", args=[round.pk]), window_form)
    window = round.windows.get()
    assert (window.seats, window.tiers, window.tier_documents) == (
        1,
        ["policy", "household"],
        {"policy": "Policy certificate"},
    )
    windows_page = bureau.get(reverse("admissions:window_list"))
    assert [w.pk for w in windows_page.context["windows"]] == [window.pk]

    parent, parent_b = login(demo, "parent"), login(demo, "parent_b")
    assert [w.pk for w in parent.get(reverse("admissions:my_applications")).context["windows"]] == [window.pk]
    applied = apply_as(parent, window)
    assert messages_of(applied) == [f"Application K{round.pk}-000001 is submitted."]
    apply_as(
        parent_b,
        window,
        child_name="小红",
        child_birth_date="2023-04-02",
        child_id_number=LOCAL_CHILD,
        claimed_tier="household",
        documents=[],
    )
    first, second = Application.objects.filter(window=window).order_by("number")
    assert (first.child_name, first.claimed_tier, first.uploads.count()) == ("小明", "policy", 1)
    assert (second.child_name, second.claimed_tier, second.uploads.count()) == ("小红", "household", 0)

    reviewer = login_user(admin_of(kindergarten, "kg-admin"))
    assert [a.number for a, _ in reviewer.get(reverse("admissions:review_queue")).context["rows"]] == [
        first.number,
        second.number,
    ]
    for application, tier in ((first, "policy"), (second, "household")):
        reviewer.post(
            reverse("admissions:review_detail", args=[application.pk]),
            {"decision": "accepted", "tier": tier, "reason": "Documents complete"},
        )
    assert list(Application.objects.order_by("number").values_list("status", "tier", "review_reason")) == [
        ("accepted", "policy", "Documents complete"),
        ("accepted", "household", "Documents complete"),
    ]

    bureau.post(reverse("admissions:round_commit", args=[round.pk]), {"commitment": COMMITMENT.upper()})
    detail = bureau.get(reverse("admissions:round_detail", args=[round.pk]))
    assert f'<code id="commitment">{COMMITMENT}</code>' in detail.content.decode()
    frozen = bureau.post(reverse("admissions:round_freeze", args=[round.pk]), follow=True)
    round.refresh_from_db()
    assert round.status == "frozen" and len(round.input_hash) == 64
    assert messages_of(frozen) == [f"Applications are closed; the input hash is {round.input_hash}."]
    assert f'<code id="input-hash">{round.input_hash}</code>' in frozen.content.decode()
    late = apply_as(login(demo, "parent"), window, child_id_number=LOCAL_CHILD, child_birth_date="2023-04-02")
    assert late.status_code == 404  # the window is no longer offered

    drawn = bureau.post(reverse("admissions:round_draw", args=[round.pk]), {"seed": SEED}, follow=True)
    assert messages_of(drawn) == ["The draw is recorded."]
    round.refresh_from_db()
    assert (round.status, round.seed, round.algorithm_version) == ("drawn", SEED, "jiaoyun-placement/1")

    # Tiers fill in order: the policy child takes the one seat, the household child waits first.
    mine = parent.get(reverse("admissions:my_applications")).context["applications"]
    assert [(a.number, a.outcome, a.waitlist_position) for a in mine] == [(first.number, "placed", None)]
    theirs = parent_b.get(reverse("admissions:my_applications")).context["applications"]
    assert [(a.number, a.outcome, a.waitlist_position) for a in theirs] == [(second.number, "waitlisted", 1)]

    results = bureau.get(reverse("admissions:round_results", args=[round.pk]))
    assert {
        school: [(r["id"], r["status"]) for r in rows] for school, rows in results.context["groups"].items()
    } == {kindergarten.name: [(first.number, "placed"), (second.number, "waitlisted")]}

    notary = bureau.get(reverse("admissions:round_notary", args=[round.pk]))
    assert [(key, name, available) for key, name, available, _ in notary.context["files"]] == [
        ("commitment", f"round-{round.pk}-commitment.txt", True),
        ("applicants", f"round-{round.pk}-applicants.csv", True),
        ("schools", f"round-{round.pk}-schools.csv", True),
        ("result", f"round-{round.pk}-result.json", True),
    ]
    command = notary.context["command"]
    assert command == (
        f"python manage.py placement_verify --applicants round-{round.pk}-applicants.csv "
        f"--schools round-{round.pk}-schools.csv --result round-{round.pk}-result.json "
        f"--seed {SEED} --commitment {COMMITMENT} --mechanism kindergarten"
    )
    # The notary downloads the files into one folder and runs the command shown, as shown.
    for key, name, _, _ in notary.context["files"]:
        download = bureau.get(reverse("admissions:round_file", args=[round.pk, key]))
        (tmp_path / name).write_bytes(download.content)
    monkeypatch.chdir(tmp_path)
    call_command(*shlex.split(command)[2:])
    assert (tmp_path / f"round-{round.pk}-commitment.txt").read_text() == COMMITMENT + "\n"
    # A parent who applied follows the link on their page to the same files (the round is
    # otherwise out of their scope: a kindergarten child is not in the register).
    page = parent.get(reverse("admissions:my_applications")).content.decode()
    assert reverse("admissions:round_notary", args=[round.pk]) in page
    assert (
        parent.get(reverse("admissions:round_notary", args=[round.pk])).context["files"]
        == notary.context["files"]
    )
    result = parent.get(reverse("admissions:round_file", args=[round.pk, "result"]))
    assert result.content == (tmp_path / f"round-{round.pk}-result.json").read_bytes()
    assert login(demo, "teacher").get(reverse("admissions:round_notary", args=[round.pk])).status_code == 404


def test_bad_input_is_explained_and_changes_nothing(demo, open_window, kindergarten):
    round, window = open_window
    parent = login(demo, "parent")
    wrong_check = POLICY_CHILD[:-1] + ("0" if POLICY_CHILD[-1] != "0" else "1")
    response = apply_as(parent, window, child_id_number=wrong_check)
    assert response.context["form"].errors == {
        "child_id_number": ["The check digit of this ID number is wrong; please check each digit."]
    }
    response = apply_as(parent, window, child_birth_date="2023-03-02")
    assert response.context["form"].errors == {
        "child_birth_date": ["The birth date does not match the ID number."]
    }
    response = apply_as(parent, window, documents=[SimpleUploadedFile("register.docx", b"PK\x03\x04")])
    assert response.context["form"].errors == {
        "documents": ["register.docx: only PDF, JPG and PNG files are accepted."]
    }
    response = apply_as(
        parent, window, documents=[SimpleUploadedFile("register.pdf", b"MZ\x90\x00 not a pdf")]
    )
    assert response.context["form"].errors == {"documents": ["register.pdf: the content is not a PDF file."]}
    response = apply_as(
        parent, window, documents=[SimpleUploadedFile("big.png", b"\x89PNG\r\n\x1a\n" + b"0" * (5 << 20))]
    )
    assert response.context["form"].errors == {"documents": ["big.png: a file may be at most 5 MB."]}
    response = apply_as(parent, window, documents=[])
    assert response.context["form"].errors == {"documents": ["This tier needs: Policy certificate"]}
    assert Application.objects.count() == 0 and ApplicationDocument.objects.count() == 0

    apply_as(parent, window)
    application = Application.objects.get()
    reviewer = login_user(admin_of(kindergarten, "kg-admin"))
    response = reviewer.post(
        reverse("admissions:review_detail", args=[application.pk]), {"decision": "rejected", "reason": "  "}
    )
    assert response.context["form"].errors == {"reason": ["Write the reason the parent will see."]}
    application.refresh_from_db()
    assert (application.status, application.review_reason) == ("submitted", "")

    bureau = login(demo, "district_admin")
    response = bureau.post(
        reverse("admissions:round_commit", args=[round.pk]), {"commitment": "abc"}, follow=True
    )
    assert messages_of(response) == ["A commitment is 64 hexadecimal digits."]
    response = bureau.post(reverse("admissions:round_freeze", args=[round.pk]), follow=True)
    assert messages_of(response) == ["Publish the seed commitment before applications close."]
    bureau.post(reverse("admissions:round_commit", args=[round.pk]), {"commitment": COMMITMENT}, follow=True)
    response = bureau.post(
        reverse("admissions:round_commit", args=[round.pk]),
        {"commitment": seed_commitment("other")},
        follow=True,
    )
    assert messages_of(response) == ["The commitment has been published and cannot be changed."]
    bureau.post(reverse("admissions:round_freeze", args=[round.pk]), follow=True)
    response = bureau.post(
        reverse("admissions:round_draw", args=[round.pk]), {"seed": "a guess"}, follow=True
    )
    assert messages_of(response) == ["The seed does not match the published commitment."]
    round.refresh_from_db()
    assert (round.status, round.seed_commitment, round.seed, round.result_json) == (
        "frozen",
        COMMITMENT,
        "",
        "",
    )


def test_more_documents_requested_and_sent(demo, open_window, kindergarten):
    _, window = open_window
    parent = login(demo, "parent")
    apply_as(parent, window)
    application = Application.objects.get()
    reviewer = login_user(admin_of(kindergarten, "kg-admin"))
    reviewer.post(
        reverse("admissions:review_detail", args=[application.pk]),
        {"decision": "more_info", "reason": "The policy certificate is unreadable; scan it again."},
    )
    page = parent.get(reverse("admissions:my_applications"))
    assert "The policy certificate is unreadable; scan it again." in page.content.decode()
    sent = parent.post(
        reverse("admissions:application_more", args=[application.pk]),
        {"documents": [pdf("certificate.pdf")], "note": "Rescanned"},
        follow=True,
    )
    assert messages_of(sent) == ["The documents are sent; the kindergarten will review again."]
    application.refresh_from_db()
    assert (application.status, application.uploads.count()) == ("submitted", 2)
    assert [d.original_name for d in application.uploads.all()] == ["register.pdf", "certificate.pdf"]
    # The parent downloads their own document; the reviewer's download is audited.
    document = application.uploads.first()
    assert parent.get(reverse("admissions:document", args=[document.pk])).getvalue() == PDF
    assert reviewer.get(reverse("admissions:document", args=[document.pk])).getvalue() == PDF
    assert list(AuditEvent.objects.filter(action="unmask").values_list("target", flat=True)) == [
        f"admission document {application.number}/{document.pk}"
    ]


def test_each_viewer_sees_only_their_own_applications(demo, open_window, kindergarten):
    _, window = open_window
    apply_as(login(demo, "parent"), window)
    apply_as(
        login(demo, "parent_b"),
        window,
        child_name="小红",
        child_birth_date="2023-04-02",
        child_id_number=LOCAL_CHILD,
        claimed_tier="household",
        documents=[pdf("b.pdf")],
    )
    mine, theirs = Application.objects.order_by("number")
    assert [
        a.pk for a in login(demo, "parent").get(reverse("admissions:my_applications")).context["applications"]
    ] == [mine.pk]
    parent = login(demo, "parent")
    assert parent.get(reverse("admissions:review_detail", args=[theirs.pk])).status_code == 404
    assert parent.get(reverse("admissions:document", args=[theirs.uploads.get().pk])).status_code == 404
    assert parent.post(reverse("admissions:application_more", args=[theirs.pk])).status_code == 404

    other_kindergarten = School.objects.create(
        district=kindergarten.district, code="KX99", name="Other kindergarten", kind=School.Kind.KINDERGARTEN
    )
    outsider = login_user(admin_of(other_kindergarten, "kx-admin"))
    assert list(outsider.get(reverse("admissions:review_queue")).context["rows"]) == []
    assert outsider.get(reverse("admissions:review_detail", args=[mine.pk])).status_code == 404
    assert outsider.get(reverse("admissions:document", args=[mine.uploads.get().pk])).status_code == 404
    junior_admin = login(demo, "school_admin")
    assert junior_admin.get(reverse("admissions:review_detail", args=[mine.pk])).status_code == 404
    # School administrators and parents cannot run the bureau's steps.
    assert junior_admin.get(reverse("admissions:round_create")).status_code == 403
    assert parent.post(reverse("admissions:round_freeze", args=[window.round_id])).status_code == 403


def test_child_id_numbers_are_masked_and_unmasking_is_audited(demo, open_window, kindergarten):
    _, window = open_window
    apply_as(login(demo, "parent"), window)
    application = Application.objects.get()
    url = reverse("admissions:review_detail", args=[application.pk])
    reviewer = login_user(admin_of(kindergarten, "kg-admin"))
    queue = reviewer.get(reverse("admissions:review_queue"))
    assert [masked for _, masked in queue.context["rows"]] == [mask_id_number(POLICY_CHILD)]
    assert POLICY_CHILD not in queue.content.decode()
    assert reviewer.get(url).context["id_number"] == mask_id_number(POLICY_CHILD)
    assert AuditEvent.objects.filter(action="unmask").count() == 0
    assert reviewer.get(url + "?reveal=1").context["id_number"] == POLICY_CHILD
    assert list(AuditEvent.objects.filter(action="unmask").values_list("target", "detail")) == [
        (f"admission application {application.number}", {"fields": ["child_id_number"]})
    ]
    # District staff may review the queue but not unmask: asking changes nothing and logs nothing.
    staff = login(demo, "district_staff")
    staff_page = staff.get(url + "?reveal=1")
    assert (staff_page.context["id_number"], staff_page.context["may_reveal"]) == (
        mask_id_number(POLICY_CHILD),
        False,
    )
    # Nor the scanned documents, which carry the full number: no link, and 404 by address.
    document = application.uploads.get()
    link = reverse("admissions:document", args=[document.pk])
    assert document.original_name in staff_page.content.decode() and link not in staff_page.content.decode()
    assert staff.get(link).status_code == 404
    assert AuditEvent.objects.filter(action="unmask").count() == 1
    assert link in reviewer.get(url).content.decode()
    assert login(demo, "district_admin").get(link).status_code == 200
    assert AuditEvent.objects.filter(action="unmask").count() == 2


def test_middle_school_round_with_preferences_results_and_export(demo):
    bureau = login(demo, "district_admin")
    bureau.post(
        reverse("admissions:round_create"),
        {"name": "小升初 2027", "kind": "middle", "school_year": 2027, "mechanism": "deferred-acceptance"},
    )
    round = PlacementRound.objects.get(name="小升初 2027")
    assert round.mechanism == "deferred-acceptance"
    primary_1, primary_2 = School.objects.filter(kind=School.Kind.PRIMARY).order_by("code")
    extra = School.objects.create(
        district=primary_1.district, code="JX99", name="Extra junior", kind=School.Kind.JUNIOR
    )
    # Two schools serve the first primary's zone (families choose); one serves the second's.
    for school, zone, capacity in (
        (demo.school_a, primary_1.zone, 1),
        (demo.school_b, primary_1.zone, 50),
        (extra, primary_2.zone, 50),
    ):
        bureau.post(
            reverse("admissions:round_school_add", args=[round.pk]),
            {"school": school.pk, "zone": zone, "capacity": capacity, "categories": "policy；sibling"},
            follow=True,
        )
    assert list(
        round.schools.order_by("school__code").values_list("school__code", "zone", "categories")
    ) == sorted(
        [
            (demo.school_a.code, primary_1.zone, ["policy", "sibling"]),
            (demo.school_b.code, primary_1.zone, ["policy", "sibling"]),
            ("JX99", primary_2.zone, ["policy", "sibling"]),
        ]
    )
    huge = bureau.post(
        reverse("admissions:round_school_add", args=[round.pk]),
        {"school": extra.pk, "zone": primary_2.zone, "capacity": 10**20},
        follow=True,
    )
    assert messages_of(huge) == ["seats: Ensure this value is less than or equal to 10000."]
    bad = bureau.post(
        reverse("admissions:round_school_add", args=[round.pk]),
        {"school": primary_1.pk, "zone": primary_1.zone, "capacity": 5},
        follow=True,
    )
    assert messages_of(bad) == [
        "school: Select a valid choice. That choice is not one of the available choices."
    ]
    with translation.override("en"), pytest.raises(ValidationError, match="has no grade 7"):
        services.add_round_school(
            round=round, school=primary_1, zone=primary_1.zone, capacity=5, categories=[]
        )

    graduates = Student.objects.filter(status="enrolled", school_class__grade__level=6)
    expected = {s: graduates.filter(school=s).count() for s in (primary_1, primary_2)}
    registered = bureau.post(reverse("admissions:round_register", args=[round.pk]), follow=True)
    assert messages_of(registered) == [f"{sum(expected.values())} graduating students added."]

    child = graduates.filter(school=primary_1).order_by("student_no").first()
    guardian = Guardian.objects.filter(student_links__student=child).first()
    guardian.user = get_user_model().objects.create_user(username="grade6-parent")
    guardian.save()
    parent = login_user(guardian.user)
    entry = Entry.objects.get(round=round, student=child)
    assert [e.pk for e in parent.get(reverse("admissions:my_applications")).context["entries"]] == [entry.pk]
    url = reverse("admissions:entry_preferences", args=[entry.pk])
    gap = parent.post(url, {"choice_1": "", "choice_2": demo.school_a.code})
    assert gap.context["form"].non_field_errors() == ["Fill the choices from the first one on, without gaps."]
    parent.post(url, {"choice_1": demo.school_b.code, "choice_2": demo.school_a.code})
    entry.refresh_from_db()
    assert entry.preferences == [demo.school_b.code, demo.school_a.code]
    other = (
        Entry.objects.filter(round=round)
        .exclude(student__in=Student.objects.filter(guardian_links__guardian=guardian))
        .first()
    )
    assert parent.get(reverse("admissions:entry_preferences", args=[other.pk])).status_code == 404

    bureau.post(reverse("admissions:round_commit", args=[round.pk]), {"commitment": COMMITMENT})
    bureau.post(reverse("admissions:round_freeze", args=[round.pk]))
    closed = parent.post(url, {"choice_1": demo.school_a.code}, follow=True)
    assert messages_of(closed) == ["The round is closed; preferences can no longer change."]
    bureau.post(reverse("admissions:round_draw", args=[round.pk]), {"seed": SEED})
    entry.refresh_from_db()
    assert (entry.outcome, entry.placed_school, entry.choice) == ("placed", demo.school_b, 1)

    results = bureau.get(reverse("admissions:round_results", args=[round.pk]))
    counts = {school: [r["status"] for r in rows] for school, rows in results.context["groups"].items()}
    # Families of the first zone who listed nothing stay unplaced; the second zone is placed directly.
    assert counts == {
        demo.school_b.name: ["placed"],
        "Extra junior": ["placed"] * expected[primary_2],
        "No seat": ["unplaced"] * (expected[primary_1] - 1),
    }
    export = bureau.get(reverse("admissions:round_results_xlsx", args=[round.pk]))
    assert export["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert list(AuditEvent.objects.filter(action="export").values_list("target", "detail")) == [
        (f"placement round {round.pk} results", {"rows": sum(expected.values())})
    ]
    # A school administrator sees their own school's rows only.
    school_b_results = login(demo, "school_admin_b").get(reverse("admissions:round_results", args=[round.pk]))
    assert {s: len(rows) for s, rows in school_b_results.context["groups"].items()} == {demo.school_b.name: 1}


def test_navigation_lists_admissions_by_role(demo, kindergarten):
    def labels(client: Client) -> list[str]:
        return [
            str(item["label"]) for item in client.get(reverse("admissions:round_list")).context["nav_items"]
        ]

    assert {"Admission rounds", "Registration windows"} <= set(labels(login(demo, "district_admin")))
    assert "Admissions" in labels(login(demo, "parent"))
    assert "Application reviews" in labels(login_user(admin_of(kindergarten, "kg-admin")))
    assert "Application reviews" not in labels(login(demo, "school_admin"))


def test_the_bureau_page_speaks_chinese(demo, open_window):
    round, _ = open_window
    page = demo.client("district_admin").get(
        reverse("admissions:round_detail", args=[round.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    text = page.content.decode()
    assert "1. 公布种子承诺值" in text and "python manage.py placement_seed" in text


def test_priority_categories_come_from_a_sheet_and_decide_the_draw(demo):
    round = services.create_round(name="小升初 类别", kind="middle", school_year=2027, mechanism="boston")
    primary = School.objects.filter(kind=School.Kind.PRIMARY).order_by("code").first()
    services.add_round_school(
        round=round, school=demo.school_a, zone=primary.zone, capacity=1, categories=["policy"]
    )
    services.add_round_school(
        round=round, school=demo.school_b, zone=primary.zone, capacity=50, categories=[]
    )
    graduates = list(
        Student.objects.filter(school=primary, status="enrolled", school_class__grade__level=6).order_by(
            "student_no"
        )
    )
    services.register_graduates(round=round, students=graduates)
    entries = {e.student.student_no: e for e in Entry.objects.filter(round=round).select_related("student")}
    for entry in entries.values():  # everyone wants school A first
        services.set_preferences(entry=entry, school_codes=[demo.school_a.code, demo.school_b.code])
    first, second = graduates[0].student_no, graduates[1].student_no
    bureau = login(demo, "district_admin")
    url = reverse("admissions:round_categories", args=[round.pk])

    def send(rows: list[str]) -> Any:
        content = ("\n".join(["全国学籍号,学校代码,优先类别", *rows]) + "\n").encode("gbk")
        return bureau.post(url, {"file": SimpleUploadedFile("类别.csv", content)}, follow=True)

    with translation.override("en"):
        bad = send([f"{second},{demo.school_a.code},policy", "G000,X,policy", f"{first},{demo.school_b.code},policy",
                    f"{second},{demo.school_a.code},policy"])  # fmt: skip
    assert messages_of(bad) == [
        "Row 3: G000 is not in this round.",
        f"Row 4: {demo.school_b.name} has no priority category policy; it has —.",
        "Row 5: This student already has a category at this school above.",
    ]
    assert not any(e.categories for e in Entry.objects.filter(round=round))
    assert demo.client("school_admin").post(url, {}).status_code == 403

    send([f"{second},{demo.school_a.code},policy"])
    assert Entry.objects.get(round=round, student__student_no=second).categories == {
        demo.school_a.code: "policy"
    }
    services.publish_commitment(round=round, commitment=COMMITMENT)
    services.freeze_round(round=round)
    services.draw_round(round=round, seed=SEED, public_randomness="", by=demo.user("district_admin"))
    # The one seat of school A goes to the policy child whatever the lottery numbers are.
    placed_a = list(
        Entry.objects.filter(round=round, placed_school=demo.school_a).values_list(
            "student__student_no", flat=True
        )
    )
    assert placed_a == [second]
