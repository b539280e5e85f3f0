"""The preference-round lottery of the course supermarket, as a pure function.

The procedure (documented for students and parents in docs/electives.md):

1. Every applicant draws a lottery number: applicants are ordered by
   SHA-256("jiaoyun-elective-lottery/1\\n{seed}\\n{input_hash}\\n{applicant id}") and numbered
   1..n. The number depends on the seed, the submitted preferences (through their hash) and
   the applicant's own id, never on the order in which rows were read or submitted.
2. Choices are served rank by rank: every applicant's first choice is considered, in lottery
   number order, before anybody's second choice, and so on (immediate acceptance, as Chinese
   districts run their draws). A choice is granted when the elective has a seat left, the
   applicant has room under the per-student limit and holds nothing else in that time slot.
3. A choice refused only because the elective was full puts the applicant on its waitlist,
   ordered by preference rank and then lottery number, unless the applicant already got an
   elective they ranked higher in the same time slot.

A higher preference therefore always beats a lower one: nobody loses a seat to an applicant
who ranked that elective lower.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

ALGORITHM = "jiaoyun-elective-lottery/1 (rank-by-rank immediate acceptance, SHA-256 numbers)"
LOTTERY_TAG = "jiaoyun-elective-lottery/1"
COMMITMENT_TAG = "jiaoyun-elective-seed/1"


@dataclass(frozen=True)
class Course:
    id: int
    seats: int  # seats still free when the lottery runs
    slot: int


@dataclass(frozen=True)
class Applicant:
    id: int
    choices: tuple[int, ...]  # course ids, first choice first
    room: int  # how many more electives the applicant may hold
    held_slots: frozenset[int] = frozenset()


@dataclass
class Allocation:
    input_hash: str
    numbers: dict[int, int]  # applicant id -> lottery number (1-based)
    # (applicant id, course id, rank) in the order seats were granted
    granted: list[tuple[int, int, int]] = field(default_factory=list)
    # (applicant id, course id, rank) in waitlist order within each course
    waitlisted: list[tuple[int, int, int]] = field(default_factory=list)


def seed_commitment(seed: str) -> str:
    """What the school publishes before the preference round closes."""
    return hashlib.sha256(f"{COMMITMENT_TAG}\n{seed}".encode()).hexdigest()


def input_hash(courses: Iterable[Course], applicants: Iterable[Applicant]) -> str:
    """SHA-256 of the canonical JSON of the instance: anyone holding the published inputs can
    recompute it, and it changes if a single preference or seat count changes."""
    payload = {
        "courses": sorted([c.id, c.seats, c.slot] for c in courses),
        "applicants": sorted([a.id, list(a.choices), a.room, sorted(a.held_slots)] for a in applicants),
    }
    canonical = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def lottery_numbers(applicant_ids: Sequence[int], *, seed: str, instance_hash: str) -> dict[int, int]:
    prefix = hashlib.sha256(f"{LOTTERY_TAG}\n{seed}\n{instance_hash}\n".encode())
    keyed = []
    for applicant_id in applicant_ids:
        hasher = prefix.copy()
        hasher.update(str(applicant_id).encode())
        keyed.append((hasher.digest(), applicant_id))
    keyed.sort()
    return {applicant_id: number for number, (_, applicant_id) in enumerate(keyed, start=1)}


def allocate(courses: Sequence[Course], applicants: Sequence[Applicant], *, seed: str) -> Allocation:
    if not seed or seed != seed.strip() or "\n" in seed:
        raise ValueError("the seed must be one non-empty line without surrounding spaces")
    ids = [a.id for a in applicants]
    if len(set(ids)) != len(ids):
        raise ValueError("an applicant appears twice")
    by_id = {c.id: c for c in courses}
    for applicant in applicants:
        if len(set(applicant.choices)) != len(applicant.choices):
            raise ValueError(f"applicant {applicant.id} ranks an elective twice")
        unknown = [c for c in applicant.choices if c not in by_id]
        if unknown:
            raise ValueError(f"applicant {applicant.id} ranks unknown electives {unknown}")

    instance = input_hash(courses, applicants)
    numbers = lottery_numbers(ids, seed=seed, instance_hash=instance)
    order = sorted(applicants, key=lambda a: numbers[a.id])
    seats = {c.id: c.seats for c in courses}
    room = {a.id: a.room for a in applicants}
    slots_held = {a.id: set(a.held_slots) for a in applicants}
    # slot -> rank of the choice granted in it, to decide whether a waitlist place is wanted
    granted_rank: dict[tuple[int, int], int] = {}
    result = Allocation(input_hash=instance, numbers=numbers)
    refused_full: list[tuple[int, int, int]] = []
    deepest = max((len(a.choices) for a in applicants), default=0)
    for rank in range(1, deepest + 1):
        for applicant in order:
            if len(applicant.choices) < rank or room[applicant.id] <= 0:
                continue
            course = by_id[applicant.choices[rank - 1]]
            if course.slot in slots_held[applicant.id]:
                continue
            if seats[course.id] <= 0:
                refused_full.append((applicant.id, course.id, rank))
                continue
            seats[course.id] -= 1
            room[applicant.id] -= 1
            slots_held[applicant.id].add(course.slot)
            granted_rank[(applicant.id, course.slot)] = rank
            result.granted.append((applicant.id, course.id, rank))
    # Waitlists are ordered by rank, then lottery number: the order refusals happened in.
    for applicant_id, course_id, rank in refused_full:
        better = granted_rank.get((applicant_id, by_id[course_id].slot))
        if better is not None and better < rank:
            continue
        result.waitlisted.append((applicant_id, course_id, rank))
    return result
