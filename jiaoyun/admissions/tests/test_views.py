"""Pages and the export go through the scoped selectors: a school sees its own rows only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from jiaoyun.accounts.models import AuditEvent, Role, RoleGrant
from jiaoyun.admissions import services
from jiaoyun.admissions.models import PlacementRound, RoundSchool
from jiaoyun.analytics.placement import seed_commitment
from jiaoyun.core.models import District, School, Student

pytestmark = pytest.mark.django_db
SEED = "view-seed-0123456789abcdef"


@pytest.fixture
def drawn_round():
    district = District.objects.get_or_create(code="ADM-TEST", defaults={"name": "Admissions test district"})[
        0
    ]
    primary = School.objects.create(
        district=district, code="VP01", name="View primary", kind="primary", zone="v"
    )
    m1 = School.objects.create(district=district, code="VM01", name="View middle 1", kind="junior", zone="v")
    m2 = School.objects.create(district=district, code="VM02", name="View middle 2", kind="junior", zone="v")
    round = PlacementRound.objects.create(
        name="View round", kind="middle", school_year=2026, mechanism="boston"
    )
    RoundSchool.objects.create(round=round, school=m1, zone="v", capacity=1)
    RoundSchool.objects.create(round=round, school=m2, zone="v", capacity=1)
    students = [
        Student.objects.create(
            student_no=f"VIEW-{i}",
            name=f"Pupil {i}",
            gender="male",
            birth_date=dt.date(2014, 2, 1),
            enrolment_year=2020,
            school=primary,
        )
        for i in range(2)
    ]
    a, b = services.register_graduates(round=round, students=students)
    services.set_preferences(entry=a, school_codes=["VM01", "VM02"])
    services.set_preferences(entry=b, school_codes=["VM02", "VM01"])
    services.publish_commitment(round=round, commitment=seed_commitment(SEED))
    return services.draw_round(round=round, seed=SEED, by=None), m1, m2


def admin_of(school: School):
    user = get_user_model().objects.create_user(username=f"admin-{school.code}")
    RoleGrant.objects.create(user=user, role=Role.SCHOOL_ADMIN, school=school)
    return user


def test_a_school_admin_sees_and_exports_only_their_school(client, drawn_round):
    round, m1, m2 = drawn_round
    client.force_login(admin_of(m2))
    page = client.get(reverse("admissions:round_detail", args=[round.pk]))
    assert page.status_code == 200
    assert [row["id"] for row in page.context["school_rows"]] == ["VM02"]
    assert [e.student.name for e in page.context["entries"]] == ["Pupil 1"]
    export = client.get(reverse("admissions:round_export", args=[round.pk]))
    lines = export.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and lines[1].startswith(f"M{round.pk}-000002,Pupil 1,")
    assert AuditEvent.objects.filter(action="export", target=f"placement round {round.pk}").count() == 1


def test_a_school_outside_the_round_gets_404(client, drawn_round):
    round, _, _ = drawn_round
    outsider = School.objects.create(
        district=District.objects.get(code="ADM-TEST"), code="VX01", name="Outside", kind="junior"
    )
    client.force_login(admin_of(outsider))
    assert client.get(reverse("admissions:round_detail", args=[round.pk])).status_code == 404
    assert client.get(reverse("admissions:round_export", args=[round.pk])).status_code == 404
    assert list(client.get(reverse("admissions:round_list")).context["rounds"]) == []


def test_parent_page_lists_nothing_for_a_user_without_applications(client):
    client.force_login(get_user_model().objects.create_user(username="no-children"))
    page = client.get(reverse("admissions:my_applications"))
    assert page.status_code == 200
    assert list(page.context["applications"]) == []


def test_pages_speak_chinese_by_default(client):
    client.force_login(get_user_model().objects.create_user(username="zh-reader"))
    page = client.get(reverse("admissions:round_list"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "招生派位" in page.content.decode()
    assert "没有与您相关的招生派位。" in page.content.decode()
