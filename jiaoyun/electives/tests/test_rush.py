"""The registration rush: real threads with their own connections against the real database
(PostgreSQL when JIAOYUN_DATABASE_URL is set, SQLite otherwise), never mocks."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
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


def test_rush_on_one_catalogue(demo: Any) -> None:
    """Several rushes in a row (one transactional test, because each costs a flush)."""
    setup = factories.catalogue(demo.school_a, capacities=[5, 30] + [10] * 8, slot_of=[0, 1] + [2] * 8)
    hot, roomy, same_slot = setup.electives[0], setup.electives[1], setup.electives[2:]
    pupils = factories.students(demo.school_a, 26)

    # 24 students, 5 seats: exactly 5 are sold.
    outcomes = rush([partial(services.select, student=s, elective_id=hot.pk) for s in pupils[:24]])
    assert outcomes == {"ok": 5, "full": 19}
    assert factories.reload(hot).taken == 5
    assert Enrolment.objects.filter(elective=hot).count() == 5

    # One student clicking twelve times at once holds one seat.
    clicker = pupils[24]
    outcomes = rush([partial(services.select, student=clicker, elective_id=roomy.pk) for _ in range(12)])
    assert outcomes == {"ok": 1, "already_enrolled": 11}
    assert factories.reload(roomy).taken == 1

    # One student choosing eight electives of one slot at once gets one of them.
    chooser = pupils[25]
    outcomes = rush([partial(services.select, student=chooser, elective_id=e.pk) for e in same_slot])
    assert outcomes == {"ok": 1, "slot_taken": 7}
    assert Enrolment.objects.filter(student=chooser).count() == 1
    assert sum(factories.reload(e).taken for e in same_slot) == 1
    check_invariants(setup.catalogue)

    # The per-student limit (2 here) holds across six slots.
    limited = factories.catalogue(demo.school_b, capacities=[10] * 6, n_slots=6, max_per_student=2)
    student = factories.students(demo.school_b, 1)[0]
    outcomes = rush([partial(services.select, student=student, elective_id=e.pk) for e in limited.electives])
    assert outcomes == {"ok": 2, "limit_reached": 4}
    check_invariants(limited.catalogue)


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
