"""Pages and the JSON API, and who may see what through them."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image

from jiaoyun.core.models import Student, Term
from jiaoyun.electives import services
from jiaoyun.electives.models import Catalogue, ElectivePhoto, Enrolment, SelectionRound
from jiaoyun.electives.tests import factories

pytestmark = pytest.mark.django_db


def jpeg() -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), "blue").save(buffer, "JPEG")
    buffer.seek(0)
    buffer.name = "photo.jpg"
    return buffer


def api(client: Client, name: str, elective_id: Any) -> Any:
    return client.post(
        reverse(f"electives:{name}"), json.dumps({"elective": elective_id}), content_type="application/json"
    )


def test_student_chooses_on_the_board_and_through_the_api(demo: Any) -> None:
    setup = factories.catalogue(demo.school_a, capacities=[1, 5], slot_of=[0, 1])
    hot, calm = setup.electives
    other = factories.students(demo.school_a, 1)[0]
    services.select(student=other, elective_id=hot.pk)
    student = Student.objects.get(user=demo.user("student"))
    client = demo.client("student")

    page = client.get(reverse("electives:board", args=[setup.catalogue.pk]))
    assert page.status_code == 200
    assert "Elective 1" in page.content.decode() and "Elective 2" in page.content.decode()

    response = client.post(reverse("electives:act", args=[calm.pk, "select"]))
    assert response.status_code == 302
    assert Enrolment.objects.filter(student=student, elective=calm).count() == 1

    full = api(client, "api_select", hot.pk)
    assert (full.status_code, full.json()["error"]) == (409, "full")
    again = api(client, "api_select", calm.pk)
    assert (again.status_code, again.json()["error"]) == (409, "already_enrolled")
    assert api(client, "api_withdraw", calm.pk).json() == {"ok": True, "elective": calm.pk}
    assert api(client, "api_select", calm.pk).status_code == 200
    assert api(client, "api_select", "x").status_code == 400
    assert api(client, "api_select", 10**9).status_code == 404
    assert api(Client(), "api_select", calm.pk).status_code == 401
    assert api(demo.client("teacher"), "api_select", calm.pk).json()["error"] == "not_student"
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(demo.user("student"))
    assert api(strict, "api_select", calm.pk).status_code == 403

    seats = client.get(reverse("electives:api_seats", args=[setup.catalogue.pk])).json()
    assert seats == {
        "electives": [{"id": hot.pk, "capacity": 1, "taken": 1}, {"id": calm.pk, "capacity": 5, "taken": 1}],
        "mine": [calm.pk],
    }


@pytest.mark.parametrize(
    "body",
    ['{"elective": 1e400}', '{"elective": 100000000000000000000000}', '{"elective": true}', '{"elective": 2.5}',
     '{"elective": "12x"}', '{"elective": -3}', "[1]", "not json", "{}", "[" * 100_000],
)  # fmt: skip
def test_a_body_that_names_no_elective_is_a_clear_400(demo: Any, body: str) -> None:
    """Whatever the phone's script sends, the answer is 400 with the expected shape, never a
    server error (a number beyond a bigint would otherwise reach the seat query)."""
    factories.catalogue(demo.school_a, capacities=[1])
    response = demo.client("student").post(
        reverse("electives:api_select"), body, content_type="application/json"
    )
    assert (response.status_code, response.json()["error"]) == (400, "bad_request")


def test_a_selection_through_the_api_is_two_reads_and_one_write(demo: Any) -> None:
    """The rush path by design: the session row, then the user with their student and the
    elective with its rounds in one statement; then the seat: one function call on PostgreSQL, the load, the seat, its
    event and the counter on SQLite. A full elective is refused on the reads alone.
    (Savepoints are the test's own transaction, not the request's.)"""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    setup = factories.catalogue(demo.school_a, capacities=[1, 5], slot_of=[0, 1])
    hot, calm = setup.electives
    services.select(student=factories.students(demo.school_a, 1)[0], elective_id=hot.pk)
    client = demo.client("student")

    def statements(queries: Any) -> list[str]:
        found = [" ".join(q["sql"].split()) for q in queries]
        return [sql[:27] for sql in found if "SAVEPOINT" not in sql]

    reads = ['SELECT "session_data" FROM ', "SELECT u.password, u.is_act"]
    seat = (
        ["SELECT electives_take_seat("]
        if connection.vendor == "postgresql"
        else ['INSERT INTO "electives_stud', 'INSERT INTO "electives_enro',
              'INSERT INTO "electives_sele', 'UPDATE "electives_elective"']
    )  # fmt: skip
    with CaptureQueriesContext(connection) as taken:
        assert api(client, "api_select", calm.pk).status_code == 200
    assert statements(taken.captured_queries) == reads + seat
    with CaptureQueriesContext(connection) as refused:
        assert api(client, "api_select", hot.pk).json()["error"] == "full"
    assert statements(refused.captured_queries) == reads


def test_preference_form_saves_ranked_choices(demo: Any) -> None:
    setup = factories.catalogue(
        demo.school_a, capacities=[3, 3, 3], round_kind=SelectionRound.Kind.PREFERENCE
    )
    a, b, c = setup.electives
    client = demo.client("student")
    client.post(reverse("electives:preferences", args=[setup.catalogue.pk]), {"choice": [c.pk, "", a.pk]})
    student = Student.objects.get(user=demo.user("student"))
    assert list(student.elective_preferences.order_by("rank").values_list("elective_id", "rank")) == [
        (c.pk, 1),
        (a.pk, 2),
    ]
    page = client.get(reverse("electives:board", args=[setup.catalogue.pk])).content.decode()
    assert f'<option value="{c.pk}" selected>' in page


def test_the_office_builds_and_publishes_a_catalogue(demo: Any) -> None:
    client = demo.client("school_admin")
    term = Term.objects.order_by("-school_year", "-semester").first()
    assert term is not None
    response = client.post(
        reverse("electives:catalogue_new", args=[demo.school_a.pk]),
        {"term": term.pk, "title": "Spring electives", "max_per_student": 2},
    )
    catalogue = Catalogue.objects.get(school=demo.school_a)
    assert response.url == reverse("electives:manage", args=[catalogue.pk])
    manage = reverse("electives:manage", args=[catalogue.pk])
    client.post(manage, {"action": "slot", "weekday": 3, "start": "15:30", "end": "17:00"})
    slot = catalogue.slots.get()
    teacher = demo.school_a.teachers.order_by("pk").first()
    client.post(
        reverse("electives:elective_new", args=[catalogue.pk]),
        {"title": "Cantonese opera", "category": "local_culture", "teacher": teacher.pk, "room": "Hall",
         "slot": slot.pk, "capacity": 20, "grade_levels": [7, 8], "description": "Sing", "photo": jpeg()},
    )  # fmt: skip
    elective = catalogue.electives.get()
    assert (elective.capacity, elective.grade_levels, elective.photos.count()) == (20, [7, 8], 1)
    assert demo.client("student").get(reverse("electives:board", args=[catalogue.pk])).status_code == 404
    client.post(manage, {"action": "publish"})
    client.post(manage, {"action": "round", "kind": "preference", "opens_at": "2030-03-01T08:00",
                         "closes_at": "2030-03-03T20:00", "max_choices": 4})  # fmt: skip
    catalogue.refresh_from_db()
    assert catalogue.is_published
    assert catalogue.rounds.get().max_choices == 4
    assert demo.client("student").get(reverse("electives:board", args=[catalogue.pk])).status_code == 200

    photo = ElectivePhoto.objects.get()
    served = demo.client("student").get(reverse("electives:photo", args=["elective", photo.pk]))
    assert served.status_code == 200
    assert b"".join(served.streaming_content)[:2] == b"\xff\xd8"  # a JPEG


def test_school_b_sees_nothing_of_school_a(demo: Any) -> None:
    setup = factories.catalogue(demo.school_a, capacities=[3])
    elective = setup.electives[0]
    photo = services.add_photo(elective=elective, upload=_upload())
    pages = [
        reverse("electives:board", args=[setup.catalogue.pk]),
        reverse("electives:elective", args=[elective.pk]),
        reverse("electives:roster", args=[elective.pk]),
        reverse("electives:manage", args=[setup.catalogue.pk]),
        reverse("electives:report", args=[demo.school_a.pk]),
        reverse("electives:photo", args=["elective", photo.pk]),
        reverse("electives:api_seats", args=[setup.catalogue.pk]),
    ]
    for name in ("student_b", "teacher_b", "school_admin_b", "parent_b"):
        client = demo.client(name)
        assert [client.get(url).status_code for url in pages] == [404] * len(pages), name
    index = demo.client("student_b").get(reverse("electives:index")).content.decode()
    assert setup.catalogue.title not in index
    assert api(demo.client("student_b"), "api_select", elective.pk).status_code == 404
    # Within school A: students see the board, not the roster, the office or the report.
    student = demo.client("student")
    assert [student.get(url).status_code for url in pages] == [200, 200, 404, 404, 404, 200, 200]
    admin = demo.client("school_admin")
    assert [admin.get(url).status_code for url in pages] == [200] * len(pages)


def _upload() -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("p.jpg", jpeg().getvalue())


def test_navigation_and_index(demo: Any) -> None:
    page = demo.client("student").get(reverse("electives:index")).content.decode()
    assert f'href="{reverse("electives:index")}"' in page


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.mark.parametrize("raw", ["abc", "", "1.5", "0", "99999999999999999999"])
def test_a_lottery_for_a_round_that_is_no_key_is_404(demo: Any, raw: str) -> None:
    """The office's lottery button sends the round's key: anything else names no round (404),
    not a server error from the ORM's int()."""
    setup = factories.catalogue(demo.school_a, capacities=[3], round_kind=SelectionRound.Kind.PREFERENCE)
    response = demo.client("school_admin").post(
        reverse("electives:manage", args=[setup.catalogue.pk]), {"action": "lottery", "round": raw}
    )
    assert response.status_code == 404
    assert SelectionRound.objects.get().allocated_at is None
    assert not Enrolment.objects.exists()


@pytest.mark.parametrize("raw", ["99999999999999999999", "abc", "0", "-1", "1.5"])
def test_a_preference_that_is_no_key_is_refused_like_an_unknown_elective(demo: Any, raw: str) -> None:
    """A choice beyond a bigint would reach the query as a number the database cannot hold;
    like any choice that is not an elective of the catalogue it is refused, and the saved
    choices stay as they were."""
    setup = factories.catalogue(demo.school_a, capacities=[3, 3], round_kind=SelectionRound.Kind.PREFERENCE)
    a, b = setup.electives
    client = demo.client("student")
    url = reverse("electives:preferences", args=[setup.catalogue.pk])
    client.post(url, {"choice": [a.pk]}, follow=True)
    response = client.post(url, {"choice": [b.pk, raw]}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert messages_of(response) == ["This elective does not exist."]
    student = Student.objects.get(user=demo.user("student"))
    assert list(student.elective_preferences.values_list("elective_id", "rank")) == [(a.pk, 1)]


@pytest.mark.parametrize(
    ("opens_at", "closes_at", "field"),
    [("0001-01-01T00:00", "2026-12-01T10:00", "opens_at"), ("0001-01-01", "2026-12-01T10:00", "opens_at"),
     ("1999-12-31T23:59", "2026-12-01T10:00", "opens_at"), ("2030-03-01T08:00", "9999-12-31T23:59", "closes_at"),
     ("2030-03-01T08:00", "2101-01-01", "closes_at")],
)  # fmt: skip
def test_a_round_outside_the_years_2000_to_2100_is_a_form_error(
    demo: Any, opens_at: str, closes_at: str, field: str
) -> None:
    """Year 1 overflowed when the time was turned into UTC for the database (a 500); any time
    this far off is a typo, answered on the field in the user's language."""
    setup = factories.catalogue(demo.school_a, capacities=[3], round_kind=None)
    response = demo.client("school_admin").post(
        reverse("electives:manage", args=[setup.catalogue.pk]),
        {"action": "round", "kind": "first_come", "opens_at": opens_at, "closes_at": closes_at, "max_choices": 3},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )  # fmt: skip
    assert response.status_code == 200
    assert list(response.context["round_form"].errors) == [field]
    assert "请选择 2000 年至 2100 年之间的时间。" in response.content.decode()
    assert not SelectionRound.objects.exists()


def _elective_data(setup: Any, title: str) -> dict[str, Any]:
    elective = setup.electives[0]
    return {"title": title, "category": "art", "teacher": elective.teacher_id, "room": "R9",
            "slot": elective.slot_id, "capacity": 5}  # fmt: skip


def test_an_elective_title_already_in_the_catalogue_is_a_form_error(demo: Any) -> None:
    """The catalogue's titles are unique (a database constraint): a second "Elective 1", new or
    renamed, is an error on the title instead of an IntegrityError."""
    setup = factories.catalogue(demo.school_a, capacities=[3, 3])
    second = setup.electives[1]
    client = demo.client("school_admin")
    new = client.post(
        reverse("electives:elective_new", args=[setup.catalogue.pk]),
        _elective_data(setup, "Elective 1"),
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert new.status_code == 200
    assert list(new.context["form"].errors) == ["title"]
    assert "该选课目录中已有同名课程。" in new.content.decode()
    edit = reverse("electives:elective_edit", args=[setup.catalogue.pk, second.pk])
    renamed = client.post(edit, _elective_data(setup, "Elective 1"), HTTP_ACCEPT_LANGUAGE="en")
    assert renamed.status_code == 200
    assert renamed.context["form"].errors == {
        "title": ["An elective with this title is already in this catalogue."]
    }
    assert sorted(setup.catalogue.electives.values_list("title", flat=True)) == ["Elective 1", "Elective 2"]
    assert factories.reload(second).room == "R2"
    # Its own title is no clash.
    assert client.post(edit, _elective_data(setup, "Elective 2")).status_code == 302
    assert factories.reload(second).room == "R9"


def test_a_title_taken_between_the_check_and_the_save_is_the_same_form_error(
    demo: Any, monkeypatch: Any
) -> None:
    """Two office tabs saving the same title at once: the constraint refuses the second, and
    the page says why instead of answering 500."""
    from jiaoyun.electives import forms

    setup = factories.catalogue(demo.school_a, capacities=[3])
    monkeypatch.setattr(
        forms.ElectiveForm, "clean_title", lambda self: self.cleaned_data["title"], raising=False
    )
    response = demo.client("school_admin").post(
        reverse("electives:elective_new", args=[setup.catalogue.pk]),
        _elective_data(setup, "Elective 1"),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "title": ["An elective with this title is already in this catalogue."]
    }
    assert setup.catalogue.electives.count() == 1
