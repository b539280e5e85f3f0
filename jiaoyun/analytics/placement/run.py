"""One placement run: input + mechanism + seed -> a result document that records how it was made.

The result is serialised deterministically (`PlacementResult.to_bytes`), so a re-run from the
published files and the revealed seed must reproduce it byte for byte; `verify_placement`
does that re-run and says where the first difference is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from jiaoyun.analytics.placement.instance import Instance, InvalidInput
from jiaoyun.analytics.placement.lottery import check_seed, lottery_numbers, seed_commitment
from jiaoyun.analytics.placement.mechanisms import (
    UNPLACED,
    deferred_acceptance,
    fill_by_priority,
    immediate_acceptance,
)

# Bump when any rule that can change a result changes (hash layout, tie-breaks, mechanisms,
# result layout). Old results then name the version that made them.
ALGORITHM_VERSION = "jiaoyun-placement/1"
RESULT_FORMAT = "jiaoyun-placement-result/1"

BOSTON = "boston"
DEFERRED_ACCEPTANCE = "deferred-acceptance"
KINDERGARTEN = "kindergarten"
MECHANISMS = (BOSTON, DEFERRED_ACCEPTANCE, KINDERGARTEN)

PLACED = "placed"
WAITLISTED = "waitlisted"
NOT_PLACED = "unplaced"


@dataclass(frozen=True)
class PlacementResult:
    document: dict[str, Any]

    def to_bytes(self) -> bytes:
        return result_bytes(self.document)

    @property
    def applicants(self) -> list[dict[str, Any]]:
        return self.document["applicants"]

    @property
    def schools(self) -> list[dict[str, Any]]:
        return self.document["schools"]

    def assignment(self) -> dict[str, str | None]:
        return {row["id"]: row["school"] for row in self.applicants}


def result_bytes(document: dict[str, Any]) -> bytes:
    """Deterministic JSON: top-level keys sorted, one per line; each school and applicant on a
    line of its own (keys sorted, no spaces), so published results diff line by line."""

    def compact(value: Any) -> str:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    parts = []
    for key in sorted(document):
        value = document[key]
        if isinstance(value, list) and value:
            rows = ",\n".join(compact(item) for item in value)
            parts.append(f"{compact(key)}:[\n{rows}\n]")
        else:
            parts.append(f"{compact(key)}:{compact(value)}")
    return ("{\n" + ",\n".join(parts) + "\n}\n").encode("utf-8")


def priority_keys(instance: Instance, numbers: Sequence[int]) -> tuple[list[list[int]], list[list[int]]]:
    """(prefs, keys) as school indices and integer keys: category rank first, lottery number second."""
    school_index = {school.id: i for i, school in enumerate(instance.schools)}
    category_rank = [{c: r for r, c in enumerate(school.categories)} for school in instance.schools]
    general_rank = [len(school.categories) for school in instance.schools]
    # Lottery numbers run 1..n, so this base keeps category and lottery in separate digits.
    base = len(instance.applicants) + 1
    prefs: list[list[int]] = []
    keys: list[list[int]] = []
    for applicant, number in zip(instance.applicants, numbers, strict=True):
        applicant_prefs = [school_index[s] for s in applicant.preferences]
        prefs.append(applicant_prefs)
        keys.append(
            [
                category_rank[s].get(applicant.categories.get(instance.schools[s].id, ""), general_rank[s])
                * base
                + number
                for s in applicant_prefs
            ]
        )
    return prefs, keys


def run_placement(
    instance: Instance, *, mechanism: str, seed: str, public_randomness: str = ""
) -> PlacementResult:
    if mechanism not in MECHANISMS:
        raise ValueError(f"unknown mechanism {mechanism!r}; choose one of {', '.join(MECHANISMS)}")
    check_seed(seed)
    check_seed(public_randomness, "public randomness")
    input_hash = instance.input_hash()
    applicants = instance.applicants
    schools = instance.schools
    numbers = lottery_numbers(
        [a.id for a in applicants], seed=seed, public_randomness=public_randomness, input_hash=input_hash
    )
    prefs, keys = priority_keys(instance, numbers)
    capacities = [school.capacity for school in schools]
    single_zones = instance.single_school_zones()
    direct_schools = {i for i, school in enumerate(schools) if school.zone in single_zones}

    assignment = [UNPLACED] * len(applicants)
    waitlists: dict[int, list[int]] = {}
    if mechanism == KINDERGARTEN:
        problems = [
            f"applicant {a.id!r}: a kindergarten round takes exactly one kindergarten"
            for a in applicants
            if len(a.preferences) != 1
        ]
        if problems:
            raise InvalidInput(problems)
        by_school: dict[int, list[tuple[int, int]]] = {}
        for applicant_index, (applicant_prefs, applicant_keys) in enumerate(zip(prefs, keys, strict=True)):
            by_school.setdefault(applicant_prefs[0], []).append((applicant_keys[0], applicant_index))
        for school_index, candidates in by_school.items():
            admitted, refused = fill_by_priority(candidates, capacities[school_index])
            for applicant_index in admitted:
                assignment[applicant_index] = school_index
            size = schools[school_index].waitlist
            waitlists[school_index] = refused if size is None else refused[:size]
    else:
        # Single-school zones are placed directly (直升/单校划片); their schools are listed by no
        # one else, so this split never changes who competes with whom.
        direct: dict[int, list[tuple[int, int]]] = {}
        choice_prefs: list[Sequence[int]] = []
        for applicant_index, applicant in enumerate(applicants):
            if applicant.zone in single_zones:
                direct.setdefault(prefs[applicant_index][0], []).append(
                    (keys[applicant_index][0], applicant_index)
                )
                choice_prefs.append(())
            else:
                choice_prefs.append(prefs[applicant_index])
        solve = immediate_acceptance if mechanism == BOSTON else deferred_acceptance
        assignment = solve(choice_prefs, keys, capacities)
        for school_index, candidates in direct.items():
            admitted, _ = fill_by_priority(candidates, capacities[school_index])
            for applicant_index in admitted:
                assignment[applicant_index] = school_index

    waitlist_position: dict[int, tuple[int, int]] = {}
    for school_index, waiting in waitlists.items():
        for position, applicant_index in enumerate(waiting, start=1):
            waitlist_position[applicant_index] = (school_index, position)

    applicant_rows = []
    for applicant_index, applicant in enumerate(applicants):
        school_index = assignment[applicant_index]
        row: dict[str, Any] = {
            "id": applicant.id,
            "zone": applicant.zone,
            "lottery_number": numbers[applicant_index],
            "status": NOT_PLACED,
            "school": None,
            "choice": None,
            "category": None,
            "waitlist_position": None,
        }
        if school_index != UNPLACED:
            school_id = schools[school_index].id
            row.update(
                status=PLACED,
                school=school_id,
                choice=applicant.preferences.index(school_id) + 1,
                category=applicant.categories.get(school_id),
            )
        elif applicant_index in waitlist_position:
            school_index, position = waitlist_position[applicant_index]
            school_id = schools[school_index].id
            row.update(
                status=WAITLISTED,
                school=school_id,
                category=applicant.categories.get(school_id),
                waitlist_position=position,
            )
        applicant_rows.append(row)

    placed = [0] * len(schools)
    listed = [0] * len(schools)
    first_choice = [0] * len(schools)
    unplaced_listing = [0] * len(schools)
    for applicant_index, applicant_prefs in enumerate(prefs):
        if assignment[applicant_index] != UNPLACED:
            placed[assignment[applicant_index]] += 1
        for j, school_index in enumerate(applicant_prefs):
            listed[school_index] += 1
            first_choice[school_index] += j == 0
            unplaced_listing[school_index] += assignment[applicant_index] == UNPLACED
    school_rows = []
    for school_index, school in enumerate(schools):
        school_rows.append(
            {
                "id": school.id,
                "zone": school.zone,
                "single_school_zone": school_index in direct_schools,
                "capacity": school.capacity,
                "placed": placed[school_index],
                "seats_left": school.capacity - placed[school_index],
                "applicants": listed[school_index],
                "first_choice_applicants": first_choice[school_index],
                "unplaced_applicants": unplaced_listing[school_index],
                "waitlist": [applicants[i].id for i in waitlists.get(school_index, [])],
            }
        )

    document = {
        "format": RESULT_FORMAT,
        "algorithm_version": ALGORITHM_VERSION,
        "mechanism": mechanism,
        "seed": seed,
        "seed_commitment": seed_commitment(seed),
        "public_randomness": public_randomness,
        "input_hash": input_hash,
        "totals": {
            "applicants": len(applicants),
            "seats": sum(capacities),
            "placed": sum(placed),
            "waitlisted": len(waitlist_position),
            "unplaced": len(applicants) - sum(placed) - len(waitlist_position),
        },
        "schools": school_rows,
        "applicants": applicant_rows,
    }
    return PlacementResult(document)


@dataclass
class Verification:
    """The outcome of re-running a published placement: every check, and the first difference."""

    checks: list[tuple[str, bool]] = field(default_factory=list)
    first_difference: str | None = None

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(passed for _, passed in self.checks)


def first_difference(expected: bytes, found: bytes) -> str | None:
    if expected == found:
        return None
    limit = min(len(expected), len(found))
    offset = next((i for i in range(limit) if expected[i] != found[i]), limit)
    line = expected.count(b"\n", 0, offset) + 1
    expected_lines = expected.decode("utf-8", "replace").split("\n")
    found_lines = found.decode("utf-8", "replace").split("\n")
    want = expected_lines[line - 1] if line - 1 < len(expected_lines) else "<end of file>"
    got = found_lines[line - 1] if line - 1 < len(found_lines) else "<end of file>"
    return (
        f"byte {offset}, line {line}: the re-run has {want.strip()!r}, the published file has {got.strip()!r}"
    )


def verify_placement(
    instance: Instance,
    *,
    seed: str,
    published_result: bytes,
    commitment: str | None = None,
    mechanism: str | None = None,
    public_randomness: str | None = None,
) -> Verification:
    """Re-run from the published input and the revealed seed; compare with the published result."""
    verification = Verification()
    try:
        published = json.loads(published_result.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        verification.checks.append((f"the published result is readable JSON ({exc})", False))
        return verification
    if not isinstance(published, dict):
        verification.checks.append(("the published result is a placement result", False))
        return verification

    computed_commitment = seed_commitment(seed)
    if commitment is not None:
        verification.checks.append(
            (
                "the revealed seed matches the commitment published in advance",
                commitment.strip().lower() == computed_commitment,
            )
        )
    verification.checks.append(
        (
            "the result records the commitment of the revealed seed",
            published.get("seed_commitment") == computed_commitment,
        )
    )
    verification.checks.append(
        (
            f"the result was made by this algorithm version ({ALGORITHM_VERSION})",
            published.get("algorithm_version") == ALGORITHM_VERSION,
        )
    )
    input_hash = instance.input_hash()
    verification.checks.append(
        (
            f"the published input hashes to the recorded input hash ({input_hash})",
            published.get("input_hash") == input_hash,
        )
    )
    recorded_mechanism = published.get("mechanism")
    if mechanism is not None:
        verification.checks.append(
            (f"the result used the announced mechanism ({mechanism})", recorded_mechanism == mechanism)
        )
    recorded_randomness = published.get("public_randomness", "")
    if public_randomness is not None:
        verification.checks.append(
            ("the result used the announced public randomness", recorded_randomness == public_randomness)
        )
    if recorded_mechanism not in MECHANISMS or not isinstance(recorded_randomness, str):
        verification.checks.append(("the result names a known mechanism", False))
        return verification
    rerun = run_placement(
        instance, mechanism=recorded_mechanism, seed=seed, public_randomness=recorded_randomness
    ).to_bytes()
    verification.first_difference = first_difference(rerun, published_result)
    verification.checks.append(
        ("re-running gives a byte-identical result", verification.first_difference is None)
    )
    return verification
