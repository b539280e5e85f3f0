"""Concurrent kindergarten applications, on real connections (PostgreSQL: SQLite serialises
every write, so there is nothing to race)."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from jiaoyun.admissions import services
from jiaoyun.admissions.models import Application
from jiaoyun.core.identity import make_id_number
from jiaoyun.core.models import School

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_child_sent_to_two_kindergartens_at_once_gets_one_application(demo: Any) -> None:
    """The one-application-per-round check and the round-wide number read the round's
    applications: two windows of a round submitting at the same moment once both passed the
    check (each window locked only itself)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises every write")
    first = School.objects.get(kind=School.Kind.KINDERGARTEN)
    second = School.objects.create(
        district=first.district, code="KX98", name="第二幼儿园", kind=School.Kind.KINDERGARTEN
    )
    round = services.create_round(name="幼儿园 2027", kind="kindergarten", school_year=2027, mechanism="")
    today = timezone.localdate()
    windows = [
        services.open_window(
            round=round, kindergarten=school, zone="", seats=5, tiers=["household"], tier_documents={},
            opens_on=today - dt.timedelta(days=1), closes_on=today + dt.timedelta(days=30),
        )
        for school in (first, second)
    ]  # fmt: skip
    guardian = demo.user("parent").guardian
    for n in range(5):
        child = make_id_number("440104", dt.date(2023, 3, 1), 20 + n, male=True)
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def submit(
            window: Any,
            child: str = child,
            barrier: threading.Barrier = barrier,
            outcomes: list[str] = outcomes,
        ) -> None:
            try:
                barrier.wait()
                services.submit_application(
                    window=window, guardian=guardian, child_name="小明", child_birth_date=dt.date(2023, 3, 1),
                    child_id_number=child, claimed_tier="household", household="local",
                )  # fmt: skip
                outcomes.append("ok")
            except ValidationError:
                outcomes.append("refused")
            except Exception as error:  # anything else is a failure of the test
                outcomes.append(repr(error))
            finally:
                connection.close()

        threads = [threading.Thread(target=submit, args=(window,)) for window in windows]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["ok", "refused"], outcomes
        assert Application.objects.filter(child_id_number=child).count() == 1
    numbers = list(Application.objects.values_list("number", flat=True))
    assert len(set(numbers)) == len(numbers) == 5
