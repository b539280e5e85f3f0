"""The registration rush: real threads with their own connections against the real database
(PostgreSQL when JIAOYUN_DATABASE_URL is set, SQLite otherwise), never mocks."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count

from jiaoyun.electives import services
from jiaoyun.electives.models import Catalogue, Elective, Enrolment, StudentLoad, WaitlistEntry
from jiaoyun.electives.tests import factories
from jiaoyun.electives.tests.conftest import rush

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("concurrent_db")]


def check_invariants(catalogue: Catalogue) -> None:
    """What the bench checks in SQL: counters agree with rows, no seat sold twice."""
    for elective in Elective.objects.filter(catalogue=catalogue).annotate(n=Count("enrolments")):
        assert elective.n == elective.taken  # type: ignore[attr-defined]
        assert elective.taken <= elective.capacity
    enrolments = Enrolment.objects.filter(catalogue=catalogue)
    assert not enrolments.values("student", "elective").annotate(n=Count("pk")).filter(n__gt=1).exists()
    assert not enrolments.values("student", "slot").annotate(n=Count("pk")).filter(n__gt=1).exists()
    held = dict(enrolments.order_by().values_list("student").annotate(n=Count("pk")))
    for load in StudentLoad.objects.filter(catalogue=catalogue):
        assert load.held == held.get(load.student_id, 0)
        assert load.held <= load.limit


def test_last_seats_go_to_exactly_as_many_students_as_there_are_seats(demo: Any) -> None:
    setup = factories.catalogue(demo.school_a, capacities=[5])
    pupils = factories.students(demo.school_a, 24)
    elective = setup.electives[0]

    outcomes = rush([partial(services.select, student=s, elective_id=elective.pk) for s in pupils])

    assert outcomes == {"ok": 5, "full": 19}
    assert factories.reload(elective).taken == 5
    assert Enrolment.objects.filter(elective=elective).count() == 5
    check_invariants(setup.catalogue)


def test_one_student_clicking_many_times_gets_one_seat(demo: Any) -> None:
    setup = factories.catalogue(demo.school_a, capacities=[30])
    student = factories.students(demo.school_a, 1)[0]
    elective = setup.electives[0]

    outcomes = rush([partial(services.select, student=student, elective_id=elective.pk) for _ in range(12)])

    assert outcomes == {"ok": 1, "already_enrolled": 11}
    assert factories.reload(elective).taken == 1
    check_invariants(setup.catalogue)


def test_one_student_cannot_hold_two_electives_in_one_slot(demo: Any) -> None:
    setup = factories.catalogue(demo.school_a, capacities=[10] * 8, slot_of=[0] * 8)
    student = factories.students(demo.school_a, 1)[0]

    outcomes = rush([partial(services.select, student=student, elective_id=e.pk) for e in setup.electives])

    assert outcomes == {"ok": 1, "slot_taken": 7}
    assert Enrolment.objects.filter(student=student).count() == 1
    assert sum(factories.reload(e).taken for e in setup.electives) == 1
    check_invariants(setup.catalogue)


def test_per_student_limit_holds_across_slots(demo: Any) -> None:
    setup = factories.catalogue(demo.school_a, capacities=[10] * 6, n_slots=6, max_per_student=2)
    student = factories.students(demo.school_a, 1)[0]

    outcomes = rush([partial(services.select, student=student, elective_id=e.pk) for e in setup.electives])

    assert outcomes == {"ok": 2, "limit_reached": 4}
    check_invariants(setup.catalogue)


def test_withdrawals_and_selections_racing_with_a_waitlist(demo: Any) -> None:
    """Holders withdraw while others grab and the waitlist is promoted: every seat stays
    accounted for, and a freed seat goes to the waitlist's head before any newcomer."""
    setup = factories.catalogue(demo.school_a, capacities=[6, 40], slot_of=[0, 1])
    hot, other = setup.electives
    pupils = factories.students(demo.school_a, 22)
    holders, waiting, newcomers = pupils[:6], pupils[6:10], pupils[10:]
    for student in holders:
        services.select(student=student, elective_id=hot.pk)
    for student in waiting:
        services.join_waitlist(student=student, elective_id=hot.pk)

    calls = [partial(services.withdraw, student=s, elective_id=hot.pk) for s in holders[:4]]
    calls += [partial(services.select, student=s, elective_id=hot.pk) for s in newcomers]
    calls += [partial(services.select, student=s, elective_id=other.pk) for s in newcomers]
    outcomes = rush(calls)

    hot = factories.reload(hot)
    seated = set(Enrolment.objects.filter(elective=hot).values_list("student_id", flat=True))
    assert hot.taken == 6
    # A seat is freed and given to the waitlist's head in one transaction, so no newcomer
    # can slip in between, whatever the interleaving.
    assert seated == {s.pk for s in holders[4:]} | {s.pk for s in waiting}
    assert outcomes == {"ok": 4 + len(newcomers), "full": len(newcomers)}
    assert WaitlistEntry.objects.filter(elective=hot).count() == 0
    assert factories.reload(other).taken == len(newcomers)
    check_invariants(setup.catalogue)


def test_waitlist_swap_chain_under_concurrent_withdrawals(demo: Any) -> None:
    """Students waiting for A while holding B (same slot) swap when A frees, and B's freed
    seats go to B's own waitlist, all while A's holders withdraw at once."""
    setup = factories.catalogue(demo.school_a, capacities=[4, 4, 20], slot_of=[0, 0, 1])
    a, b, c = setup.electives
    pupils = factories.students(demo.school_a, 12)
    a_holders, b_holders, b_waiting = pupils[:4], pupils[4:8], pupils[8:12]
    for student in a_holders:
        services.select(student=student, elective_id=a.pk)
    for student in b_holders:
        services.select(student=student, elective_id=b.pk)
        services.join_waitlist(student=student, elective_id=a.pk)
    for student in b_waiting:
        services.join_waitlist(student=student, elective_id=b.pk)

    calls = [partial(services.withdraw, student=s, elective_id=a.pk) for s in a_holders]
    calls += [partial(services.select, student=s, elective_id=c.pk) for s in a_holders]
    outcomes = rush(calls)

    assert outcomes == {"ok": 8}
    assert set(Enrolment.objects.filter(elective=a).values_list("student_id", flat=True)) == {
        s.pk for s in b_holders
    }
    assert set(Enrolment.objects.filter(elective=b).values_list("student_id", flat=True)) == {
        s.pk for s in b_waiting
    }
    check_invariants(setup.catalogue)


def test_database_refuses_a_second_seat_even_without_the_service() -> None:
    """The unique constraints, not Python, are the last line: raw duplicates fail."""
    from django.db import IntegrityError, transaction

    from jiaoyun.core.models import School

    school = School.objects.filter(kind="junior").order_by("pk").first()
    setup = factories.catalogue(school, capacities=[3, 3], slot_of=[0, 0])
    student = factories.students(school, 1)[0]
    services.select(student=student, elective_id=setup.electives[0].pk)
    for elective in setup.electives:
        with pytest.raises(IntegrityError), transaction.atomic():
            Enrolment.objects.create(
                student=student, elective=elective, catalogue=setup.catalogue, slot=elective.slot, source="first_come"
            )
    with pytest.raises(IntegrityError), transaction.atomic():
        Elective.objects.filter(pk=setup.electives[0].pk).update(taken=4)
    assert connection.vendor in {"sqlite", "postgresql"}
