"""Services one call at a time: rounds, lottery, waitlists, the end of term."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from jiaoyun.analytics.electives.lottery import lottery_numbers, seed_commitment
from jiaoyun.core.models import Term
from jiaoyun.electives import selectors, services
from jiaoyun.electives.models import (
    Elective,
    Enrolment,
    SelectionEvent,
    SelectionRound,
    StudentLoad,
    WaitlistEntry,
)
from jiaoyun.electives.services import SelectionError
from jiaoyun.electives.tests import factories

pytestmark = pytest.mark.django_db
HOUR = dt.timedelta(hours=1)


def png(size: tuple[int, int] = (4, 3)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, "PNG")
    return SimpleUploadedFile("drawing.PNG", buffer.getvalue(), content_type="image/png")


def refused(code: str, call: Any, **kwargs: Any) -> None:
    with pytest.raises(SelectionError) as caught:
        call(**kwargs)
    assert caught.value.code == code


def test_preference_round_then_lottery_then_first_come(demo: Any) -> None:
    setup = factories.catalogue(
        demo.school_a, capacities=[1, 2, 5], slot_of=[0, 0, 1], max_per_student=2,
        round_kind=SelectionRound.Kind.PREFERENCE,
    )  # fmt: skip
    a, b, c = setup.electives
    pref_round = setup.round
    assert pref_round is not None
    s1, s2, s3 = factories.students(demo.school_a, 3)
    services.submit_preferences(round=pref_round, student=s1, elective_ids=[a.pk, b.pk, c.pk])
    services.submit_preferences(round=pref_round, student=s2, elective_ids=[a.pk, b.pk, c.pk])
    services.submit_preferences(round=pref_round, student=s3, elective_ids=[b.pk])
    refused(
        "duplicate_choice",
        services.submit_preferences,
        round=pref_round,
        student=s3,
        elective_ids=[b.pk, b.pk],
    )
    refused(
        "closed", services.select, student=s1, elective_id=a.pk
    )  # a preference round is no first-come round
    refused("round_open", services.run_lottery, round=pref_round)

    later = timezone.now() + 2 * HOUR
    refused("lottery_pending", services.select, student=s1, elective_id=c.pk, now=later)
    result = services.run_lottery(round=pref_round, now=later)

    numbers = lottery_numbers(
        [s1.pk, s2.pk, s3.pk], seed=result.round.seed, instance_hash=result.round.input_hash
    )
    winner, loser = (s1, s2) if numbers[s1.pk] < numbers[s2.pk] else (s2, s1)
    held = {
        (e.student_id, e.elective_id, e.rank) for e in Enrolment.objects.filter(catalogue=setup.catalogue)
    }
    # One seat of a for two first choices: the smaller number wins it, the other falls back
    # to b (same slot) at rank 2, behind s3's first choice of b; both get c.
    assert held == {
        (winner.pk, a.pk, 1), (s3.pk, b.pk, 1), (loser.pk, b.pk, 2), (s1.pk, c.pk, 3), (s2.pk, c.pk, 3),
    }  # fmt: skip
    assert (result.applicants, result.granted, result.waitlisted, result.by_rank) == (
        3,
        5,
        1,
        {1: 2, 2: 1, 3: 2},
    )
    assert list(WaitlistEntry.objects.filter(elective=a).values_list("student_id", "rank")) == [(loser.pk, 1)]
    assert [factories.reload(e).taken for e in (a, b, c)] == [1, 2, 2]
    assert StudentLoad.objects.get(student=s1, catalogue=setup.catalogue).held == 2
    refused("already_allocated", services.run_lottery, round=pref_round, now=later)
    assert seed_commitment(result.round.seed) == result.round.seed_commitment

    # The loser waits for a while holding b: when the winner withdraws, the loser swaps b for a.
    services.create_round(
        catalogue=setup.catalogue, kind=SelectionRound.Kind.FIRST_COME, opens_at=later, closes_at=later + HOUR
    )
    services.withdraw(student=winner, elective_id=a.pk, now=later + dt.timedelta(minutes=1))
    assert set(Enrolment.objects.filter(student=loser).values_list("elective_id", flat=True)) == {a.pk, c.pk}
    assert [factories.reload(e).taken for e in (a, b, c)] == [1, 1, 2]


def test_waitlist_promotes_and_swaps_when_a_seat_frees(demo: Any) -> None:
    setup = factories.catalogue(demo.school_a, capacities=[1, 3], slot_of=[0, 0])
    hot, other = setup.electives
    holder, waiter = factories.students(demo.school_a, 2)
    refused("not_full", services.join_waitlist, student=waiter, elective_id=hot.pk)
    services.select(student=holder, elective_id=hot.pk)
    services.select(student=waiter, elective_id=other.pk)
    services.join_waitlist(student=waiter, elective_id=hot.pk)
    refused("already_waitlisted", services.join_waitlist, student=waiter, elective_id=hot.pk)

    services.withdraw(student=holder, elective_id=hot.pk)

    assert list(Enrolment.objects.filter(student=waiter).values_list("elective_id", "source")) == [
        (hot.pk, "waitlist")
    ]
    assert factories.reload(hot).taken == 1
    assert factories.reload(other).taken == 0
    assert StudentLoad.objects.get(student=waiter).held == 1
    assert list(SelectionEvent.objects.filter(student=waiter).order_by("pk").values_list("action", flat=True)) == [
        "enrol", "waitlist", "swap_out", "promote",
    ]  # fmt: skip
    refused("not_enrolled", services.withdraw, student=holder, elective_id=hot.pk)


def test_rules_a_student_meets(demo: Any) -> None:
    setup = factories.catalogue(demo.school_a, capacities=[3, 3], levels=[9], max_per_student=1)
    nine, _ = setup.electives
    student = factories.students(demo.school_a, 1)[0]  # in the lowest grade (7)
    refused("not_eligible", services.select, student=student, elective_id=nine.pk)
    refused("unknown", services.select, student=student, elective_id=10**9)
    refused("closed", services.select, student=student, elective_id=nine.pk, now=timezone.now() + 3 * HOUR)
    other_school = factories.students(demo.school_b, 1, prefix="Y")[0]
    refused("unknown", services.select, student=other_school, elective_id=nine.pk)


def test_capacity_rise_promotes_the_waitlist(demo: Any) -> None:
    setup = factories.catalogue(demo.school_a, capacities=[1])
    elective = setup.electives[0]
    first, second, third = factories.students(demo.school_a, 3)
    services.select(student=first, elective_id=elective.pk)
    services.join_waitlist(student=second, elective_id=elective.pk)
    fields = dict(catalogue=setup.catalogue, title=elective.title, category=elective.category,
                  teacher=elective.teacher, room=elective.room, slot=elective.slot, grade_levels=[])  # fmt: skip
    refused("capacity_below_taken", services.save_elective, elective=elective, capacity=0, **fields)
    services.save_elective(elective=elective, capacity=2, **fields)
    assert set(Enrolment.objects.filter(elective=elective).values_list("student_id", flat=True)) == {
        first.pk, second.pk,
    }  # fmt: skip


def test_end_of_term_rating_work_and_likes(demo: Any) -> None:
    setup = factories.catalogue(demo.school_a, capacities=[5])
    elective = setup.electives[0]
    maker, fan, outsider = factories.students(demo.school_a, 3)
    services.select(student=maker, elective_id=elective.pk)
    services.select(student=fan, elective_id=elective.pk)
    end = setup.catalogue.term.end
    refused(
        "ratings_closed",
        services.rate,
        elective=elective,
        student=maker,
        stars=5,
        today=end - dt.timedelta(days=30),
    )
    refused("not_enrolled", services.rate, elective=elective, student=outsider, stars=5, today=end)
    services.rate(elective=elective, student=maker, stars=5, today=end)
    services.rate(elective=elective, student=fan, stars=4, today=end)
    services.rate(elective=elective, student=fan, stars=2, today=end)  # changing one's mind

    work = services.share_work(
        elective=elective, student=maker, title="Kite", description="", upload=png(), today=end
    )
    assert work.image.name.endswith(".png")
    assert services.toggle_like(work=work, student=fan) is True
    refused("own_work", services.toggle_like, work=work, student=maker)
    refused("not_enrolled", services.toggle_like, work=work, student=outsider)
    page = selectors.elective_page(viewer=demo_scope(demo, "school_admin"), item=elective, student=fan)
    assert (page.stars, page.n_ratings, page.liked) == (3.5, 2, {work.pk})
    assert [w.n_likes for w in page.works] == [1]
    assert services.toggle_like(work=work, student=fan) is False


def demo_scope(demo: Any, name: str) -> Any:
    from jiaoyun.accounts.scopes import scope_for_user

    return scope_for_user(demo.user(name))


def test_photo_validation_trusts_the_decoder_not_the_name() -> None:
    assert services.validate_photo(png()) == "png"
    fake = SimpleUploadedFile("cat.jpg", b"<html>not a photo</html>", content_type="image/jpeg")
    with pytest.raises(services.ValidationError):
        services.validate_photo(fake)
    gif = io.BytesIO()
    Image.new("RGB", (2, 2)).save(gif, "GIF")
    with pytest.raises(services.ValidationError):
        services.validate_photo(SimpleUploadedFile("a.png", gif.getvalue()))
    big = SimpleUploadedFile("big.png", b"0" * (services.MAX_PHOTO_BYTES + 1))
    with pytest.raises(services.ValidationError):
        services.validate_photo(big)


def test_attendance_and_report(demo: Any) -> None:
    setup = factories.catalogue(demo.school_a, capacities=[2, 4])
    hot, calm = setup.electives
    s1, s2, s3 = factories.students(demo.school_a, 3)
    for student in (s1, s2):
        services.select(student=student, elective_id=hot.pk)
    services.join_waitlist(student=s3, elective_id=hot.pk)
    services.select(student=s3, elective_id=calm.pk)
    day = setup.catalogue.term.start
    services.record_attendance(
        elective=hot, date=day, statuses={s1.pk: "present", s2.pk: "absent"}, by_id=None
    )
    services.record_attendance(elective=hot, date=day, statuses={s2.pk: "late"}, by_id=None)
    refused(
        "not_enrolled",
        services.record_attendance,
        elective=hot,
        date=day,
        statuses={s3.pk: "present"},
        by_id=None,
    )

    rows, dates, waitlist = selectors.roster(viewer=demo_scope(demo, "school_admin"), item=hot)
    assert [r.student.pk for r in rows] == [s1.pk, s2.pk]
    assert dates == [day.isoformat()]
    assert [w.student_id for w in waitlist] == [s3.pk]

    [(catalogue, stats)] = selectors.report(viewer=demo_scope(demo, "school_admin"), school=demo.school_a)
    by_title = {s.elective.title: s for s in stats}
    assert catalogue == setup.catalogue
    assert (by_title["Elective 1"].fill_rate, by_title["Elective 1"].waitlist) == (1.0, 1)
    assert (
        by_title["Elective 1"].demand_ratio == 0.5
    )  # no first choices (no preference round) + 1 waiting, 2 seats
    assert by_title["Elective 1"].attendance_rate == 1.0
    assert by_title["Elective 2"].fill_rate == 0.25
    with pytest.raises(selectors.Http404):
        selectors.report(viewer=demo_scope(demo, "school_admin_b"), school=demo.school_a)


def test_a_refused_seat_leaves_nothing_written_inside_a_larger_transaction(demo: Any) -> None:
    """On PostgreSQL `_take_seat` is one function call that refuses a full elective and a
    student at their limit without breaking the caller's transaction and leaves no load,
    seat, event or counter behind (the waitlist promotion carries on after such a refusal).
    The four statements of SQLite need the savepoint the callers give them."""
    import contextlib

    from django.db import connection, transaction

    from jiaoyun.electives.services import _take_seat

    setup = factories.catalogue(demo.school_a, capacities=[1, 5, 5], slot_of=[0, 1, 2], max_per_student=1)
    full, open_one, other = setup.electives
    first, second, third = factories.students(demo.school_a, 3)
    services.select(student=first, elective_id=full.pk)
    services.select(student=second, elective_id=open_one.pk)

    def state() -> tuple[Any, ...]:
        return (
            # A load given back to 0 counts as none.
            list(StudentLoad.objects.filter(held__gt=0).order_by("pk").values_list("student_id", "held")),
            Enrolment.objects.count(),
            SelectionEvent.objects.count(),
            list(Elective.objects.order_by("pk").values_list("taken", flat=True)),
        )

    before = state()
    with transaction.atomic():
        for student, elective, code in ((third, full, "full"), (second, other, "limit_reached")):
            savepoint = (
                transaction.atomic() if connection.vendor != "postgresql" else contextlib.nullcontext()
            )
            with pytest.raises(SelectionError) as refusal, savepoint:
                _take_seat(
                    student_id=student.pk, elective=services._elective_for(student, elective.pk, timezone.now()),
                    limit=1, source=Enrolment.Source.FIRST_COME, action=SelectionEvent.Action.ENROL,
                )  # fmt: skip
            assert refusal.value.code == code
        assert state() == before  # and the transaction still works


def test_the_elective_read_with_the_user_is_the_elective_read_alone(demo: Any) -> None:
    """The JSON API reads the elective in the statement that reads the user (`seat_holder`)
    and the service then skips its own read (`_elective_for`): both reads must agree on every
    elective a student may name: their school's with a first-come round open, with a preference
    round open, awaiting its lottery, with no round, in a draft catalogue; another school's; one
    that does not exist."""
    now = timezone.now()
    years = iter(range(2031, 2040))

    def new_term() -> None:  # a school has one catalogue a term: each below gets a term of its own
        year = next(years)
        Term.objects.create(
            school_year=year, semester=1, start=dt.date(year, 9, 1), end=dt.date(year + 1, 1, 20)
        )

    new_term()
    first_come = factories.catalogue(demo.school_a, capacities=[2, 3], levels=[7, 8])
    new_term()
    preference = factories.catalogue(demo.school_a, capacities=[4], round_kind=SelectionRound.Kind.PREFERENCE)
    new_term()
    awaiting = factories.catalogue(demo.school_a, capacities=[5], round_kind=None)
    services.create_round(
        catalogue=awaiting.catalogue, kind=SelectionRound.Kind.PREFERENCE,
        opens_at=now - 3 * HOUR, closes_at=now - HOUR,
    )  # fmt: skip
    new_term()
    no_round = factories.catalogue(demo.school_a, capacities=[6], round_kind=None)
    elsewhere = factories.catalogue(demo.school_b, capacities=[7])
    new_term()
    draft = services.create_catalogue(school=demo.school_a, term=factories.term(), title="Draft")
    slot = services.add_slot(catalogue=draft, weekday=5, start=dt.time(15, 30), end=dt.time(17, 0))
    unpublished = services.save_elective(
        catalogue=draft, title="Draft elective", category=Elective.Category.ART,
        teacher=first_come.electives[0].teacher, room="R9", slot=slot, capacity=8, grade_levels=[],
    )  # fmt: skip
    named = [
        *first_come.electives, *preference.electives, *awaiting.electives, *no_round.electives,
        *elsewhere.electives, unpublished,
    ]  # fmt: skip
    ids = [elective.pk for elective in named] + [max(e.pk for e in named) + 1000]

    def outcome(student: Any, elective_id: int, target: services.Target | None) -> Any:
        try:
            elective = services._elective_for(student, elective_id, now, target)
        except SelectionError as refusal:
            return refusal.code
        return (
            elective.pk, elective.catalogue_id, elective.slot_id, elective.capacity, elective.taken,
            elective.grade_levels, elective.catalogue.status, elective.catalogue.max_per_student,
            elective.open_round_kind, elective.lottery_pending,  # type: ignore[attr-defined]
        )  # fmt: skip

    seen = set()
    for elective_id in ids:
        holder = services.seat_holder(demo.user("student").pk, elective_id=elective_id, now=now)
        assert holder is not None and holder.student is not None and holder.target is not None
        alone = outcome(holder.student, elective_id, None)
        assert outcome(holder.student, elective_id, holder.target) == alone
        seen.add(alone if isinstance(alone, str) else (alone[8], alone[9]))
    # Every branch above was met: refusals and each round state.
    assert {"unknown", "not_published"} <= seen
    assert {("first_come", False), ("preference", False), (None, True), (None, False)} <= seen
    teacher = services.seat_holder(demo.user("teacher").pk, elective_id=ids[0], now=now)
    assert teacher is not None and teacher.student is None and teacher.target is None
