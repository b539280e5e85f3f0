"""Kindergarten registration, middle-school rounds and the recorded draw, through the services;
and who sees what through the selectors."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import translation

from jiaoyun.accounts.scopes import Scope
from jiaoyun.admissions import selectors, services
from jiaoyun.admissions.models import Application, PlacementRound, RoundSchool
from jiaoyun.analytics.placement import seed_commitment, verify_placement
from jiaoyun.analytics.placement.files import parse_applicants, parse_schools
from jiaoyun.analytics.placement.instance import make_instance
from jiaoyun.core.identity import make_id_number
from jiaoyun.core.models import District, Guardian, School, Student

pytestmark = pytest.mark.django_db

SEED = "5eed" * 16
TODAY = dt.date(2026, 5, 10)


def lottery_order(input_hash: str, ids: list[str]) -> list[str]:
    digests = {
        i: hashlib.sha256(f"jiaoyun-lottery/1\n{SEED}\n\n{input_hash}\n{i}".encode()).digest() for i in ids
    }
    return sorted(ids, key=digests.get)


@pytest.fixture
def district():
    return District.objects.get_or_create(code="ADM-TEST", defaults={"name": "Admissions test district"})[0]


def school(district, code: str, kind: str, zone: str = "") -> School:
    return School.objects.create(district=district, code=code, name=f"School {code}", kind=kind, zone=zone)


def guardian(n: int) -> Guardian:
    return Guardian.objects.create(name=f"Parent {n}", phone=f"1389999{n:04d}")


@pytest.fixture
def kindergarten_round(district):
    k1 = school(district, "AK01", School.Kind.KINDERGARTEN)
    k2 = school(district, "AK02", School.Kind.KINDERGARTEN)
    round = PlacementRound.objects.create(
        name="Kindergarten 2026",
        kind=PlacementRound.Kind.KINDERGARTEN,
        school_year=2026,
        mechanism="kindergarten",
    )
    window = services.open_window(
        round=round,
        kindergarten=k1,
        zone="",
        seats=1,
        tiers=["policy", "household"],
        waitlist_size=1,
        opens_on=dt.date(2026, 5, 1),
        closes_on=dt.date(2026, 5, 31),
    )
    other = services.open_window(
        round=round,
        kindergarten=k2,
        zone="",
        seats=5,
        tiers=["household"],
        opens_on=dt.date(2026, 5, 1),
        closes_on=dt.date(2026, 5, 31),
    )
    applications = [
        services.submit_application(
            window=window if i < 4 else other,
            guardian=guardian(i),
            child_name=f"Child {i}",
            child_birth_date=dt.date(2023, 3, i + 1),
            child_id_number=make_id_number("440104", dt.date(2023, 3, i + 1), i, male=i % 2 == 0),
            claimed_tier="household",
            documents="household register",
            today=TODAY,
        )
        for i in range(5)
    ]
    return round, window, other, applications


def test_kindergarten_registration_review_and_draw(kindergarten_round):
    round, window, _, (policy, local_a, local_b, refused, elsewhere) = kindergarten_round
    reviewer = get_user_model().objects.create_user(username="k01-admin")
    assert [a.number for a in (policy, local_a, local_b, refused, elsewhere)] == [
        f"K{round.pk}-{i:06d}" for i in range(1, 6)
    ]
    services.review_application(
        application=policy,
        decision="accepted",
        tier="policy",
        reason="Policy certificate seen",
        reviewer=reviewer,
    )
    for application in (local_a, local_b):
        services.review_application(
            application=application,
            decision="accepted",
            tier="household",
            reason="Household seen",
            reviewer=reviewer,
        )
    services.review_application(
        application=refused, decision="rejected", reason="Child is too young", reviewer=reviewer
    )
    services.review_application(
        application=elsewhere, decision="accepted", tier="", reason="General tier", reviewer=reviewer
    )
    services.publish_commitment(round=round, commitment=seed_commitment(SEED))
    round = services.draw_round(round=round, seed=SEED, by=reviewer)

    outcome = {a.number: (a.outcome, a.waitlist_position) for a in Application.objects.all()}
    first, second = lottery_order(round.input_hash, [local_a.number, local_b.number])
    # One seat: the policy child takes it; the household tier overflows and is drawn for the
    # waitlist of one; the rejected child is not in the draw at all.
    assert outcome == {
        policy.number: ("placed", None),
        first: ("waitlisted", 1),
        second: ("unplaced", None),
        refused.number: ("", None),
        elsewhere.number: ("placed", None),
    }
    assert Application.objects.get(pk=refused.pk).review_reason == "Child is too young"
    assert round.status == PlacementRound.Status.DRAWN
    assert (round.seed, round.algorithm_version, round.drawn_by) == (SEED, "jiaoyun-placement/1", reviewer)

    # The stored files and result are what a verifier downloads: they must verify.
    instance = make_instance(
        parse_schools(round.input_schools_csv.encode(), "schools.csv"),
        parse_applicants(round.input_applicants_csv.encode(), "applicants.csv"),
    )
    verification = verify_placement(
        instance, seed=SEED, published_result=round.result_json.encode(), commitment=round.seed_commitment
    )
    assert verification.ok
    assert instance.input_hash() == round.input_hash
    assert round.input_applicants_csv.splitlines()[1:] == [
        f"{policy.number},,AK01,AK01:policy",
        f"{local_a.number},,AK01,AK01:household",
        f"{local_b.number},,AK01,AK01:household",
        f"{elsewhere.number},,AK02,",
    ]

    with pytest.raises(ValidationError):
        services.draw_round(round=round, seed=SEED, by=reviewer)
    with pytest.raises(ValidationError):
        services.review_application(
            application=local_b, decision="accepted", reason="late", reviewer=reviewer
        )


def test_reviews_need_a_reason_and_draws_need_the_committed_seed(kindergarten_round):
    round, window, _, applications = kindergarten_round
    with pytest.raises(ValidationError):
        services.review_application(
            application=applications[0], decision="rejected", reason="  ", reviewer=None
        )
    with pytest.raises(ValidationError):
        services.draw_round(round=round, seed=SEED, by=None)  # nothing committed yet
    services.publish_commitment(round=round, commitment=seed_commitment(SEED))
    with translation.override("en"), pytest.raises(ValidationError, match="does not match"):
        services.draw_round(round=round, seed="another seed", by=None)
    with pytest.raises(ValidationError):
        services.submit_application(
            window=window,
            guardian=guardian(99),
            child_name="Late",
            child_birth_date=dt.date(2023, 1, 1),
            child_id_number=make_id_number("440104", dt.date(2023, 1, 1), 99, male=True),
            today=dt.date(2026, 6, 1),
        )


def test_middle_school_round_from_the_register(district):
    primary = school(district, "AP01", School.Kind.PRIMARY, zone="east")
    m1 = school(district, "AM01", School.Kind.JUNIOR, zone="east")
    m2 = school(district, "AM02", School.Kind.JUNIOR, zone="east")
    round = PlacementRound.objects.create(
        name="小升初 2026", kind=PlacementRound.Kind.MIDDLE, school_year=2026, mechanism="boston"
    )
    RoundSchool.objects.create(round=round, school=m1, zone="east", capacity=1, categories=["sibling"])
    RoundSchool.objects.create(round=round, school=m2, zone="east", capacity=1)
    students = [
        Student.objects.create(
            student_no=f"ADM-G{i}",
            name=f"Student {i}",
            gender="female",
            birth_date=dt.date(2014, 1, i + 1),
            enrolment_year=2020,
            school=primary,
        )
        for i in range(3)
    ]
    a, b, c = services.register_graduates(round=round, students=students)
    assert services.register_graduates(round=round, students=students) == []
    assert (a.zone, a.number) == ("east", f"M{round.pk}-000001")
    services.set_preferences(entry=a, school_codes=["AM01", "AM02"], categories={"AM01": "sibling"})
    services.set_preferences(entry=b, school_codes=["AM02", "AM01"])
    services.set_preferences(entry=c, school_codes=["AM01", "AM02"])
    with pytest.raises(ValidationError):
        services.set_preferences(entry=c, school_codes=["AM01", "AM01"])
    services.publish_commitment(round=round, commitment=seed_commitment(SEED))
    round = services.draw_round(round=round, seed=SEED, by=None)
    placed = {e.number: (e.placed_school and e.placed_school.code, e.choice) for e in round.entries.all()}
    # Boston: a holds the sibling category at M01; b is alone in listing M02 first.
    assert placed == {a.number: ("AM01", 1), b.number: ("AM02", 1), c.number: (None, None)}

    district_rows = selectors.round_school_rows(viewer=Scope(district=True), round=round)
    assert [(r["id"], r["placed"], r["seats_left"], r["unplaced_applicants"]) for r in district_rows] == [
        ("AM01", 1, 0, 1),
        ("AM02", 1, 0, 1),
    ]
    m2_admin = Scope(admin_school_ids=frozenset({m2.pk}), school_ids=frozenset({m2.pk}))
    assert [r["id"] for r in selectors.round_school_rows(viewer=m2_admin, round=round)] == ["AM02"]
    assert [e.number for e in selectors.round_entries(viewer=m2_admin, round=round)] == [b.number]
    parent = Scope(student_ids=frozenset({c.student_id}))
    assert [e.number for e in selectors.round_entries(viewer=parent, round=round)] == [c.number]
    assert list(selectors.round_list(viewer=parent)) == [round]
    assert list(selectors.round_list(viewer=Scope(student_ids=frozenset({10**6})))) == []


def test_a_kindergarten_sees_only_its_own_applications_and_a_parent_only_theirs(kindergarten_round):
    round, window, other, applications = kindergarten_round
    k1_admin = Scope(
        admin_school_ids=frozenset({window.kindergarten_id}), school_ids=frozenset({window.kindergarten_id})
    )
    assert [a.number for a in selectors.applications_to_review(viewer=k1_admin)] == [
        a.number for a in applications[:4]
    ]
    k2_admin = Scope(admin_school_ids=frozenset({other.kindergarten_id}))
    assert [a.number for a in selectors.applications_to_review(viewer=k2_admin)] == [applications[4].number]
    user = get_user_model().objects.create_user(username="parent-2")
    applications[2].guardian.user = user
    applications[2].guardian.save()
    assert list(selectors.own_applications(user=user)) == [applications[2]]
    stranger = get_user_model().objects.create_user(username="stranger")
    assert list(selectors.own_applications(user=stranger)) == []
