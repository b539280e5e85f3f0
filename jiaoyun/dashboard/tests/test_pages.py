"""The snapshot task, the dashboard pages, their scoping and their exports, on the tiny demo
district."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pyarrow.parquet as pq
import pytest
from django.urls import reverse

from jiaoyun.accounts.models import AuditEvent
from jiaoyun.core.models import ClassEnrolment, School, SchoolClass, Student, Teacher, TeachingAssignment
from jiaoyun.dashboard import services

from .conftest import SNAPSHOT_DAY

pytestmark = pytest.mark.django_db


def test_snapshot_copies_the_register(snapshot: Any, shared_lake: Any) -> None:
    lake_dir = shared_lake[0]
    assert snapshot.rows == {
        "schools": School.objects.count(),
        "classes": SchoolClass.objects.count(),
        "teachers": Teacher.objects.count(),
        "students": Student.objects.count(),
        "enrolments": ClassEnrolment.objects.count(),
        "assignments": TeachingAssignment.objects.count(),
    }
    students = pq.read_table(lake_dir / "warehouse" / "students" / f"students-{SNAPSHOT_DAY}.parquet")
    # Minors' names and ID numbers stay in the register.
    assert "name" not in students.column_names and "id_number" not in students.column_names
    assert set(students.column("snapshot_date").to_pylist()) == {SNAPSHOT_DAY}


def test_taking_the_same_day_again_replaces_it(demo: Any, lake_dir: Any) -> None:
    services.take_snapshot(day=SNAPSHOT_DAY, materialise_views=False)
    services.take_snapshot(day=SNAPSHOT_DAY, materialise_views=False)
    assert sorted(p.name for p in (lake_dir / "warehouse" / "schools").iterdir()) == [
        f"schools-{SNAPSHOT_DAY}.parquet"
    ]
    assert services.lake().snapshot_days() == [SNAPSHOT_DAY]


def test_school_figures_match_the_register(demo: Any, snapshot: Any) -> None:
    from jiaoyun.accounts.scopes import scope_for_user
    from jiaoyun.dashboard import selectors
    from jiaoyun.dashboard.selectors import view_result

    viewer = scope_for_user(demo.user("district_admin"))
    row = selectors.school_row(viewer=viewer, school_id=demo.school_a.pk)
    assert row is not None
    assert (
        row["students"]
        == Student.objects.filter(school=demo.school_a, status="enrolled", school_class__isnull=False).count()
    )
    assert (
        row["teachers"]
        == Teacher.objects.filter(school=demo.school_a, status__in=["established", "contract"]).count()
    )
    assert row["classes"] == SchoolClass.objects.filter(school=demo.school_a).count()
    sizes = view_result(viewer=viewer, name="class_sizes", school_id=demo.school_a.pk).to_pylist()
    assert {r["class_id"]: r["students"] for r in sizes} == {
        c.pk: c.students.filter(status="enrolled").count()
        for c in SchoolClass.objects.filter(school=demo.school_a)
    }


def test_district_overview_and_drill_down(demo: Any, snapshot: Any) -> None:
    client = demo.client("district_admin")
    page = client.get(reverse("dashboard:overview"))
    assert page.status_code == 200
    html = page.content.decode()
    for school in School.objects.all():
        assert reverse("dashboard:school", args=[school.pk]) in html
    assert 'id="dashboard-charts"' in html and "nonce" not in html.split('id="dashboard-charts"')[0][-50:]
    drill = client.get(reverse("dashboard:school", args=[demo.school_b.pk]))
    assert drill.status_code == 200 and demo.school_b.name in drill.content.decode()


def test_school_admin_sees_only_their_school(demo: Any, snapshot: Any) -> None:
    client = demo.client("school_admin")
    assert client.get(reverse("dashboard:overview")).url == reverse(
        "dashboard:school", args=[demo.school_a.pk]
    )
    assert client.get(reverse("dashboard:school", args=[demo.school_a.pk])).status_code == 200
    assert client.get(reverse("dashboard:school", args=[demo.school_b.pk])).status_code == 403
    assert client.get(reverse("dashboard:screen")).status_code == 403
    # District-wide views are not theirs; per-school views are cut to their school.
    assert client.get(reverse("dashboard:view_data", args=["seat_gap", "json"])).status_code == 403
    data = client.get(reverse("dashboard:view_data", args=["teacher_titles", "json"])).json()
    assert data["rows"] and {r["school_id"] for r in data["rows"]} == {demo.school_a.pk}
    other = client.get(
        reverse("dashboard:view_data", args=["teacher_titles", "json"]) + f"?school={demo.school_b.pk}"
    )
    assert other.status_code == 403


@pytest.mark.parametrize("school", [str(2**63), "1" * 40, "²", "-1", "abc"])
def test_a_school_parameter_that_is_no_key_is_ignored(demo: Any, snapshot: Any, school: str) -> None:
    """Digits beyond a bigint reached the Arrow filter (a 500), a superscript `int()`
    (another); now they are ignored like any other text, within the viewer's scope."""
    url = reverse("dashboard:view_data", args=["teacher_titles", "json"]) + f"?school={school}"
    everyone = demo.client("district_admin").get(url)
    assert everyone.status_code == 200
    assert {demo.school_a.pk, demo.school_b.pk} <= {r["school_id"] for r in everyone.json()["rows"]}
    theirs = demo.client("school_admin").get(url)
    assert {r["school_id"] for r in theirs.json()["rows"]} == {demo.school_a.pk}


@pytest.mark.parametrize("user", ["teacher", "student", "parent"])
def test_others_do_not_see_the_warehouse(demo: Any, snapshot: Any, user: str) -> None:
    client = demo.client(user)
    assert client.get(reverse("dashboard:overview")).status_code == 403
    assert client.get(reverse("dashboard:view_data", args=["teacher_titles", "csv"])).status_code == 403


def test_hiring_plan_exports_to_xlsx_and_is_audited(demo: Any, snapshot: Any) -> None:
    from jiaoyun.accounts.scopes import scope_for_user
    from jiaoyun.dashboard.selectors import view_result

    plan = view_result(viewer=scope_for_user(demo.user("district_admin")), name="hiring_plan").to_pylist()
    client = demo.client("district_admin")
    response = client.get(reverse("dashboard:hiring") + "?format=xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    body = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [(r[4], r[6]) for r in body] == [(p["retiring"], p["hires"]) for p in plan]
    assert AuditEvent.objects.filter(action="export", target="dashboard:hiring_plan").count() == 1


def test_every_view_exports_as_csv(demo: Any, snapshot: Any) -> None:
    from jiaoyun.analytics.warehouse.catalogue import VIEWS

    client = demo.client("district_staff")
    for name in VIEWS:
        response = client.get(reverse("dashboard:view_data", args=[name, "csv"]))
        assert response.status_code == 200, name
        assert response.content.decode("utf-8-sig").splitlines()[0].split(",")[0]


def test_big_screen_data(demo: Any, snapshot: Any) -> None:
    client = demo.client("district_staff")
    assert client.get(reverse("dashboard:screen")).status_code == 200
    payload = client.get(reverse("dashboard:screen_data")).json()
    assert payload["snapshot"] == SNAPSHOT_DAY.isoformat()
    assert payload["kpis"][0]["value"] == School.objects.count()
    assert (
        payload["kpis"][1]["value"]
        == Student.objects.filter(status="enrolled", school_class__isnull=False).count()
    )
    assert {c["id"] for c in payload["charts"]} >= {"age", "titles", "shortage", "hiring", "quality"}


def test_warnings_rotation_catalogue_pages(demo: Any, snapshot: Any) -> None:
    client = demo.client("district_admin")
    for name in ("warnings", "rotation", "catalogue", "hiring"):
        assert client.get(reverse(f"dashboard:{name}")).status_code == 200, name
    assert client.get(reverse("dashboard:warnings") + "?format=xlsx").status_code == 200
    assert client.get(reverse("dashboard:rotation") + "?format=xlsx").status_code == 200


def test_pages_before_any_snapshot(demo: Any, lake_dir: Any) -> None:
    response = demo.client("district_admin").get(reverse("dashboard:overview"))
    assert response.status_code == 200 and reverse("dashboard:take_snapshot") in response.content.decode()


def test_snapshot_button_runs_the_task(demo: Any, lake_dir: Any) -> None:
    client = demo.client("district_admin")
    assert demo.client("district_staff").post(reverse("dashboard:take_snapshot")).status_code == 403
    client.post(reverse("dashboard:take_snapshot"))
    assert len(services.lake().snapshot_days()) == 1


def test_births_import(demo: Any, lake_dir: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = demo.client("district_admin")
    good = "zone,birth_year,children\n第1学区,2021,120\n第2学区,2021,95\n"
    client.post(reverse("dashboard:import_births"), {"file": SimpleUploadedFile("births.csv", good.encode())})
    assert services.lake().read("reference", "births.parquet").to_pylist() == [
        {"zone": "第1学区", "birth_year": 2021, "children": 120},
        {"zone": "第2学区", "birth_year": 2021, "children": 95},
    ]
    bad = "zone,birth_year,children\n第1学区,twenty,1\n,2022,5\n第3学区,2022,7\n"
    with pytest.raises(services.BirthsImportError) as caught:
        services.import_births(content=bad.encode())
    assert len(caught.value.errors) == 2
    # Nothing of the bad file was written.
    assert services.lake().read("reference", "births.parquet").num_rows == 2
    # Excel's "CSV" on Chinese Windows is GBK, with Chinese headers.
    gbk = "学区,出生年份,人数\n第1学区,2023,100\n".encode("gbk")
    assert services.import_births(content=gbk) == 1
    assert services.lake().read("reference", "births.parquet").to_pylist() == [
        {"zone": "第1学区", "birth_year": 2023, "children": 100}
    ]
    # A UTF-16 file cut short (an odd number of bytes) is unreadable, not a server error.
    cut = "学区,出生年份,人数\n第1学区,2023,100\n".encode("utf-16")[:-1]
    response = client.post(
        reverse("dashboard:import_births"), {"file": SimpleUploadedFile("births.csv", cut)}, follow=True
    )
    assert "文件不是可读取的 xlsx 或 csv 文件。" in response.content.decode()
    assert services.lake().read("reference", "births.parquet").num_rows == 1
