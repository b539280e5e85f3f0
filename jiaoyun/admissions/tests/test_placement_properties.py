"""Properties of the placement algorithms on random instances, checked by independent code.

Every check here recomputes what it needs (lottery numbers from the documented hash, priority
keys, blocking pairs, the reference matching of the `matching` package) instead of trusting
the implementation under test.
"""

from __future__ import annotations

import hashlib
import json
import random
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from jiaoyun.analytics.placement import (
    ALGORITHM_VERSION,
    Applicant,
    Instance,
    InvalidInput,
    School,
    make_instance,
    run_placement,
    seed_commitment,
)
from jiaoyun.analytics.placement.files import (
    applicants_csv,
    parse_applicants,
    parse_canonical,
    parse_schools,
    schools_csv,
)
from jiaoyun.analytics.placement.mechanisms import deferred_acceptance, immediate_acceptance
from jiaoyun.analytics.placement.run import verify_placement

CATEGORY_NAMES = ("policy", "household", "permit", "sibling")
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- instance generators -------------------------------------------------------------------


@st.composite
def choice_instances(draw, max_schools: int = 5, max_applicants: int = 24) -> Instance:
    """One multi-school zone: families list any ordered subset of the schools."""
    m = draw(st.integers(2, max_schools))
    schools = []
    for i in range(m):
        categories = draw(st.permutations(CATEGORY_NAMES))[: draw(st.integers(0, 3))]
        schools.append(School(id=f"S{i}", capacity=draw(st.integers(0, 4)), categories=tuple(categories)))
    n = draw(st.integers(0, max_applicants))
    applicants = []
    for i in range(n):
        order = draw(st.permutations([s.id for s in schools]))[: draw(st.integers(0, m))]
        categories = {}
        for school in schools:
            if school.categories and draw(st.booleans()):
                categories[school.id] = draw(st.sampled_from(school.categories))
        applicants.append(Applicant(id=f"A{i:03d}", preferences=tuple(order), categories=categories))
    return make_instance(schools, applicants)


@st.composite
def kindergarten_instances(draw) -> Instance:
    m = draw(st.integers(1, 3))
    schools = [
        School(
            id=f"K{i}",
            capacity=draw(st.integers(0, 6)),
            categories=tuple(draw(st.permutations(CATEGORY_NAMES))[: draw(st.integers(1, 4))]),
            waitlist=draw(st.none() | st.integers(0, 5)),
        )
        for i in range(m)
    ]
    applicants = []
    for i in range(draw(st.integers(0, 30))):
        school = draw(st.sampled_from(schools))
        tier = draw(st.none() | st.sampled_from(school.categories))
        applicants.append(
            Applicant(
                id=f"C{i:03d}",
                preferences=(school.id,),
                categories={} if tier is None else {school.id: tier},
            )
        )
    return make_instance(schools, applicants)


seeds = st.text(alphabet="0123456789abcdef", min_size=1, max_size=16)


# -- independent reference computations ----------------------------------------------------


def reference_lottery_numbers(instance: Instance, seed: str, public_randomness: str = "") -> dict[str, int]:
    """docs/admissions.md, step by step: hash the canonical input, then each applicant's line."""
    document = {
        "format": "jiaoyun-placement-input/1",
        "schools": [
            {
                "id": s.id,
                "zone": s.zone,
                "capacity": s.capacity,
                "categories": list(s.categories),
                "waitlist": s.waitlist,
            }
            for s in sorted(instance.schools, key=lambda s: s.id)
        ],
        "applicants": [
            {"id": a.id, "zone": a.zone, "preferences": list(a.preferences), "categories": dict(a.categories)}
            for a in sorted(instance.applicants, key=lambda a: a.id)
        ],
    }
    input_hash = hashlib.sha256(
        json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    digests = {
        a.id: hashlib.sha256(
            f"jiaoyun-lottery/1\n{seed}\n{public_randomness}\n{input_hash}\n{a.id}".encode()
        ).digest()
        for a in instance.applicants
    }
    return {applicant_id: n for n, applicant_id in enumerate(sorted(digests, key=digests.get), start=1)}


def priority(instance: Instance, numbers: dict[str, int]):
    """(applicant id, school id) -> (category rank, lottery number); smaller wins."""
    schools = {s.id: s for s in instance.schools}

    def key(applicant: Applicant, school_id: str) -> tuple[int, int]:
        categories = schools[school_id].categories
        category = applicant.categories.get(school_id)
        rank = categories.index(category) if category in categories else len(categories)
        return rank, numbers[applicant.id]

    return key


def placed_at(result) -> dict[str, list[str]]:
    members: dict[str, list[str]] = {}
    for row in result.applicants:
        if row["status"] == "placed":
            members.setdefault(row["school"], []).append(row["id"])
    return members


def reference_student_optimal(instance: Instance, numbers: dict[str, int]) -> dict[str, str | None]:
    """The `matching` package's resident-optimal hospital-resident matching on the same instance."""
    from matching.games import HospitalResident

    key = priority(instance, numbers)
    capacity = {s.id: s.capacity for s in instance.schools}
    # The package insists every player ranks someone and every hospital has a seat: a school
    # with no seat or no applicant changes nothing, so it is left out.
    resident_prefs = {a.id: [s for s in a.preferences if capacity[s] > 0] for a in instance.applicants}
    resident_prefs = {r: p for r, p in resident_prefs.items() if p}
    by_id = {a.id: a for a in instance.applicants}
    hospital_prefs = {}
    for school_id, cap in capacity.items():
        ranked = [r for r, p in resident_prefs.items() if school_id in p]
        if cap > 0 and ranked:
            hospital_prefs[school_id] = sorted(ranked, key=lambda r, s=school_id: key(by_id[r], s))
    outcome: dict[str, str | None] = {a.id: None for a in instance.applicants}
    if not resident_prefs:
        return outcome
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        game = HospitalResident.create_from_dictionaries(
            resident_prefs, hospital_prefs, {h: capacity[h] for h in hospital_prefs}
        )
        matching = game.solve(optimal="resident")
        assert game.check_validity()
        assert game.check_stability()
    for hospital, residents in matching.items():
        for resident in residents:
            outcome[resident.name] = hospital.name
    return outcome


# -- the properties ------------------------------------------------------------------------


@SETTINGS
@given(instance=choice_instances(), seed=seeds, mechanism=st.sampled_from(["boston", "deferred-acceptance"]))
def test_never_over_capacity_and_records_provenance(instance, seed, mechanism):
    result = run_placement(instance, mechanism=mechanism, seed=seed)
    capacity = {s.id: s.capacity for s in instance.schools}
    members = placed_at(result)
    for school_id, ids in members.items():
        assert len(ids) <= capacity[school_id]
    for row in result.schools:
        assert row["placed"] == len(members.get(row["id"], []))
        assert row["seats_left"] == capacity[row["id"]] - row["placed"]
    document = result.document
    assert document["seed"] == seed
    assert (
        document["seed_commitment"]
        == hashlib.sha256(f"jiaoyun-seed-commitment/1\n{seed}".encode()).hexdigest()
    )
    assert document["input_hash"] == instance.input_hash()
    assert document["mechanism"] == mechanism
    assert document["algorithm_version"] == ALGORITHM_VERSION
    numbers = reference_lottery_numbers(instance, seed)
    assert {row["id"]: row["lottery_number"] for row in result.applicants} == numbers


@SETTINGS
@given(instance=choice_instances(), seed=seeds)
def test_deferred_acceptance_is_stable_and_equals_the_reference_student_optimal_matching(instance, seed):
    result = run_placement(instance, mechanism="deferred-acceptance", seed=seed)
    numbers = reference_lottery_numbers(instance, seed)
    key = priority(instance, numbers)
    outcome = result.assignment()
    members = placed_at(result)
    capacity = {s.id: s.capacity for s in instance.schools}
    for applicant in instance.applicants:
        own = outcome[applicant.id]
        assert own is None or own in applicant.preferences
        better = (
            applicant.preferences
            if own is None
            else applicant.preferences[: applicant.preferences.index(own)]
        )
        for school_id in better:
            holders = members.get(school_id, [])
            by_id = {a.id: a for a in instance.applicants}
            # No blocking pair: the school is full, and of applicants it ranks above this one.
            assert len(holders) == capacity[school_id]
            assert all(key(by_id[h], school_id) < key(applicant, school_id) for h in holders)
    assert outcome == reference_student_optimal(instance, numbers)


@SETTINGS
@given(instance=choice_instances(), seed=seeds)
def test_immediate_acceptance_round_property(instance, seed):
    """A seat at school s goes first by the round in which s was listed, then category, then number.

    So whoever listed s at position j and did not get s (nor anything they listed earlier)
    found s full of applicants who listed s earlier, or at the same position with a better
    (category, lottery number).
    """
    result = run_placement(instance, mechanism="boston", seed=seed)
    numbers = reference_lottery_numbers(instance, seed)
    key = priority(instance, numbers)
    by_id = {a.id: a for a in instance.applicants}
    outcome = result.assignment()
    members = placed_at(result)
    capacity = {s.id: s.capacity for s in instance.schools}
    choice = {row["id"]: row["choice"] for row in result.applicants}
    for applicant in instance.applicants:
        own = outcome[applicant.id]
        if own is not None:
            assert choice[applicant.id] == applicant.preferences.index(own) + 1
        reached = len(applicant.preferences) if own is None else applicant.preferences.index(own)
        for position, school_id in enumerate(applicant.preferences[:reached]):
            holders = members.get(school_id, [])
            assert len(holders) == capacity[school_id]
            for holder_id in holders:
                holder = by_id[holder_id]
                holder_round = holder.preferences.index(school_id)
                assert (holder_round, *key(holder, school_id)) < (position, *key(applicant, school_id))


@SETTINGS
@given(instance=choice_instances(), seed=seeds, mechanism=st.sampled_from(["boston", "deferred-acceptance"]))
def test_higher_category_never_refused_for_a_lower_one_listed_at_the_same_rank(instance, seed, mechanism):
    """Categories are respected: at a school, nobody of a lower category who listed it at rank j
    holds a seat while someone of a higher category who listed it at rank j (and wanted it more
    than what they got) is refused. Under deferred acceptance this holds across all ranks."""
    result = run_placement(instance, mechanism=mechanism, seed=seed)
    numbers = reference_lottery_numbers(instance, seed)
    key = priority(instance, numbers)
    by_id = {a.id: a for a in instance.applicants}
    outcome = result.assignment()
    for school_id, holders in placed_at(result).items():
        for applicant in instance.applicants:
            own = outcome[applicant.id]
            if school_id not in applicant.preferences or own == school_id:
                continue
            if own is not None and applicant.preferences.index(own) < applicant.preferences.index(school_id):
                continue
            for holder_id in holders:
                holder = by_id[holder_id]
                same_rank = holder.preferences.index(school_id) == applicant.preferences.index(school_id)
                if mechanism == "deferred-acceptance" or same_rank:
                    assert key(holder, school_id)[0] <= key(applicant, school_id)[0]


@SETTINGS
@given(instance=kindergarten_instances(), seed=seeds)
def test_kindergarten_tiers_fill_in_order_with_a_lottery_only_in_the_overflowing_tier(instance, seed):
    result = run_placement(instance, mechanism="kindergarten", seed=seed)
    numbers = reference_lottery_numbers(instance, seed)
    rows = {row["id"]: row for row in result.applicants}
    schools_out = {row["id"]: row for row in result.schools}
    for school in instance.schools:
        tiers = [*school.categories, None]
        own = [a for a in instance.applicants if a.preferences == (school.id,)]

        def tier_of(a, tiers=tiers, school=school):
            return tiers.index(a.categories.get(school.id))

        admitted = [a for a in own if rows[a.id]["status"] == "placed"]
        refused = [a for a in own if rows[a.id]["status"] != "placed"]
        assert len(admitted) == min(school.capacity, len(own))
        if refused:
            overflowing = min(tier_of(a) for a in refused)
            # Every higher tier fully admitted, no lower tier admitted at all.
            assert all(tier_of(a) <= overflowing for a in admitted)
            partial = [a for a in admitted if tier_of(a) == overflowing]
            losers = [a for a in refused if tier_of(a) == overflowing]
            # Only inside the overflowing tier does the lottery decide.
            assert max((numbers[a.id] for a in partial), default=0) < min(numbers[a.id] for a in losers)
        drawn = sorted(refused, key=lambda a: (tier_of(a), numbers[a.id]))
        if school.waitlist is not None:
            drawn = drawn[: school.waitlist]
        assert schools_out[school.id]["waitlist"] == [a.id for a in drawn]
        for position, a in enumerate(drawn, start=1):
            assert rows[a.id]["status"] == "waitlisted"
            assert rows[a.id]["waitlist_position"] == position
        for a in [a for a in refused if a not in drawn]:
            assert rows[a.id]["status"] == "unplaced"


@SETTINGS
@given(
    instance=choice_instances(),
    seed=seeds,
    mechanism=st.sampled_from(["boston", "deferred-acceptance"]),
    shuffle_seed=st.integers(0, 2**32),
)
def test_row_order_never_matters_and_runs_repeat_exactly(instance, seed, mechanism, shuffle_seed):
    shuffler = random.Random(shuffle_seed)
    schools = list(instance.schools)
    applicants = [
        Applicant(
            id=a.id,
            zone=a.zone,
            preferences=a.preferences,
            categories=dict(shuffler.sample(list(a.categories.items()), len(a.categories))),
        )
        for a in instance.applicants
    ]
    shuffler.shuffle(schools)
    shuffler.shuffle(applicants)
    shuffled = make_instance(schools, applicants)
    first = run_placement(instance, mechanism=mechanism, seed=seed).to_bytes()
    assert run_placement(instance, mechanism=mechanism, seed=seed).to_bytes() == first
    assert run_placement(shuffled, mechanism=mechanism, seed=seed).to_bytes() == first
    # The published files, in any row order, name the same input.
    reread = make_instance(
        parse_schools(schools_csv(schools).encode(), "schools.csv"),
        parse_applicants(applicants_csv(applicants).encode(), "applicants.csv"),
    )
    assert reread.canonical_bytes() == instance.canonical_bytes()


@SETTINGS
@given(instance=choice_instances(max_applicants=8), data=st.data())
def test_any_changed_byte_of_the_canonical_input_changes_the_hash_or_is_rejected(instance, data):
    canonical = instance.canonical_bytes()
    position = data.draw(st.integers(0, len(canonical) - 1))
    replacement = data.draw(st.integers(0, 255).filter(lambda b: b != canonical[position]))
    mutated = canonical[:position] + bytes([replacement]) + canonical[position + 1 :]
    try:
        other = parse_canonical(mutated)
    except InvalidInput:
        return  # not an input any more: the tools refuse it
    assert other.input_hash() != instance.input_hash()


@SETTINGS
@given(instance=choice_instances(max_applicants=10), data=st.data())
def test_any_changed_field_changes_the_hash(instance, data):
    schools = list(instance.schools)
    index = data.draw(st.integers(0, len(schools) - 1))
    old = schools[index]
    schools[index] = School(
        id=old.id, zone=old.zone, capacity=old.capacity + 1, categories=old.categories, waitlist=old.waitlist
    )
    assert make_instance(schools, instance.applicants).input_hash() != instance.input_hash()
    if instance.applicants:
        applicants = list(instance.applicants)
        a = applicants[data.draw(st.integers(0, len(applicants) - 1))]
        applicants.remove(a)
        assert make_instance(instance.schools, applicants).input_hash() != instance.input_hash()
        renamed = Applicant(id=a.id + "x", zone=a.zone, preferences=a.preferences, categories=a.categories)
        assert make_instance(instance.schools, [*applicants, renamed]).input_hash() != instance.input_hash()


def test_lottery_positions_are_uniform_over_many_seeds():
    """Chi-square over 6000 seeds: each applicant's lottery number is uniform on 1..n,
    independently of who the applicant is."""
    n = 6
    instance = make_instance(
        [School(id="S0", capacity=1)], [Applicant(id=f"A{i}", preferences=("S0",)) for i in range(n)]
    )
    counts = [[0] * n for _ in range(n)]
    for seed in range(6000):
        result = run_placement(instance, mechanism="boston", seed=str(seed))
        for i, row in enumerate(result.applicants):
            counts[i][row["lottery_number"] - 1] += 1
    expected = 6000 / n
    statistic = sum((c - expected) ** 2 / expected for row in counts for c in row)
    # Rows and columns of a table of permutations both sum to 6000: (n-1)^2 degrees of freedom.
    assert stats.chi2.sf(statistic, (n - 1) ** 2) > 0.001
    for row in counts:
        assert stats.chisquare(row).pvalue > 0.001


# -- exact examples ------------------------------------------------------------------------


def test_immediate_acceptance_and_deferred_acceptance_differ_on_the_textbook_example():
    # Schools 0 and 1 with one seat each; keys are lottery numbers (smaller wins).
    # Applicant 0 wants 0 then 1; applicant 1 wants 1 then 0; applicant 2 wants 0 then 1.
    prefs = [[0, 1], [1, 0], [0, 1]]
    keys = [[2, 2], [1, 1], [3, 3]]
    # Boston: round 1 gives school 0 to applicant 0 (key 2 < 3) and school 1 to applicant 1.
    assert immediate_acceptance(prefs, keys, [1, 1]) == [0, 1, -1]
    prefs = [[0, 1], [0, 1], [1]]
    keys = [[2, 2], [1, 1], [3]]
    # Boston: round 1: school 0 -> applicant 1; school 1 -> applicant 2 (its only applicant).
    assert immediate_acceptance(prefs, keys, [1, 1]) == [-1, 0, 1]
    # DA: applicant 0, refused at 0, displaces applicant 2 at school 1 by the better key.
    assert deferred_acceptance(prefs, keys, [1, 1]) == [1, 0, -1]


def test_single_school_zone_is_placed_directly_by_category_then_lottery():
    instance = make_instance(
        [
            School(id="M1", zone="north", capacity=2, categories=("sibling",)),
            School(id="M2", zone="south", capacity=1),
            School(id="M3", zone="south", capacity=1),
        ],
        [
            Applicant(id="N1", zone="north"),
            Applicant(id="N2", zone="north", categories={"M1": "sibling"}),
            Applicant(id="N3", zone="north", preferences=("M1",)),
            Applicant(id="P1", zone="south", preferences=("M2", "M3")),
        ],
    )
    numbers = reference_lottery_numbers(instance, "42")
    for mechanism in ("boston", "deferred-acceptance"):
        result = run_placement(instance, mechanism=mechanism, seed="42")
        outcome = result.assignment()
        lucky = min(("N1", "N3"), key=numbers.get)
        assert outcome["N2"] == "M1"
        assert outcome[lucky] == "M1"
        assert outcome[({"N1", "N3"} - {lucky}).pop()] is None
        assert outcome["P1"] == "M2"
        assert [s["single_school_zone"] for s in result.schools] == [True, False, False]


def test_lottery_numbers_match_a_known_vector():
    instance = make_instance([School(id="S", capacity=1)], [Applicant(id="A"), Applicant(id="B")])
    result = run_placement(instance, mechanism="boston", seed="notary-demo")
    assert (
        instance.input_hash()
        == hashlib.sha256(
            b'{"applicants":[{"categories":{},"id":"A","preferences":["S"],"zone":""},'
            b'{"categories":{},"id":"B","preferences":["S"],"zone":""}],'
            b'"format":"jiaoyun-placement-input/1",'
            b'"schools":[{"capacity":1,"categories":[],"id":"S","waitlist":null,"zone":""}]}'
        ).hexdigest()
    )
    numbers = reference_lottery_numbers(instance, "notary-demo")
    assert {row["id"]: row["lottery_number"] for row in result.applicants} == numbers
    assert result.document["seed_commitment"] == seed_commitment("notary-demo")


def test_verification_accepts_the_published_result_and_names_the_first_difference():
    instance = make_instance(
        [School(id="S1", capacity=1), School(id="S2", capacity=1)],
        [Applicant(id=f"A{i}", preferences=("S1", "S2")) for i in range(3)],
    )
    published = run_placement(instance, mechanism="deferred-acceptance", seed="s3cret").to_bytes()
    verification = verify_placement(
        instance, seed="s3cret", published_result=published, commitment=seed_commitment("s3cret")
    )
    assert verification.ok and verification.first_difference is None
    tampered = published.replace(b'"lottery_number":1,', b'"lottery_number":9,')
    verification = verify_placement(instance, seed="s3cret", published_result=tampered)
    assert not verification.ok
    assert verification.first_difference is not None and "lottery_number" in verification.first_difference
    wrong_seed = verify_placement(
        instance, seed="guess", published_result=published, commitment=seed_commitment("s3cret")
    )
    assert [passed for _, passed in wrong_seed.checks][:2] == [False, False]


@pytest.mark.parametrize(
    ("schools", "applicants", "fragment"),
    [
        ([School(id="S", capacity=1)] * 2, [], "appears more than once"),
        ([School(id="S", capacity=-1)], [], "capacity"),
        ([School(id="S;T", capacity=1)], [], "reserved character"),
        ([School(id="S", capacity=1)], [Applicant(id="A", preferences=("X",))], "not a known school"),
        (
            [School(id="S", capacity=1), School(id="T", capacity=1)],
            [Applicant(id="A", preferences=("S", "S"))],
            "more than once",
        ),
        (
            [School(id="S", capacity=1)],
            [Applicant(id="A", categories={"S": "vip"})],
            "not a priority category",
        ),
        (
            [School(id="S", zone="z1", capacity=1), School(id="T", zone="z2", capacity=1)],
            [Applicant(id="A", zone="z1", preferences=("T",))],
            "not in the applicant's zone",
        ),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(schools, applicants, fragment):
    with pytest.raises(InvalidInput) as caught:
        make_instance(schools, applicants)
    assert any(fragment in error for error in caught.value.errors)


def test_kindergarten_round_requires_exactly_one_kindergarten_per_child():
    instance = make_instance(
        [School(id="K1", capacity=1), School(id="K2", capacity=1)],
        [Applicant(id="C1", preferences=("K1", "K2"))],
    )
    with pytest.raises(InvalidInput, match="exactly one kindergarten"):
        run_placement(instance, mechanism="kindergarten", seed="1")
