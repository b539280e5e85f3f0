"""The frozen input of a placement round, its validation and its canonical form.

Everything the lottery and the mechanisms see is derived from the canonical form: schools and
applicants sorted by id with every field spelled out. That is why the order of rows in the
published files can never change a result, and why one hash (`input_hash`) names the input.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

INPUT_FORMAT = "jiaoyun-placement-input/1"

# Characters the CSV format uses as separators inside a cell, and the newline that separates
# the fields of the lottery hash: forbidding them in names keeps every encoding unambiguous.
FORBIDDEN_IN_NAMES = (";", ":", "\n", "\r")


class InvalidInput(ValueError):
    """The input cannot be placed; `errors` lists every problem found, not only the first."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("; ".join(errors))


@dataclass(frozen=True, slots=True)
class School:
    id: str
    capacity: int
    zone: str = ""
    # Priority categories, highest first. An applicant without one of them at this school is
    # in the general category, ranked after all of them.
    categories: tuple[str, ...] = ()
    # Kindergarten rounds only: how many refused applicants are drawn onto the waitlist
    # (None: all of them).
    waitlist: int | None = None


@dataclass(frozen=True, slots=True)
class Applicant:
    id: str
    zone: str = ""
    # Schools in the family's order of preference, most wanted first.
    preferences: tuple[str, ...] = ()
    # school id -> the priority category the applicant holds at that school.
    categories: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Instance:
    """A validated input: schools and applicants sorted by id."""

    schools: tuple[School, ...]
    applicants: tuple[Applicant, ...]

    def canonical_document(self) -> dict[str, Any]:
        return {
            "format": INPUT_FORMAT,
            "schools": [
                {
                    "id": s.id,
                    "zone": s.zone,
                    "capacity": s.capacity,
                    "categories": list(s.categories),
                    "waitlist": s.waitlist,
                }
                for s in self.schools
            ],
            "applicants": [
                {
                    "id": a.id,
                    "zone": a.zone,
                    "preferences": list(a.preferences),
                    "categories": dict(sorted(a.categories.items())),
                }
                for a in self.applicants
            ],
        }

    def canonical_bytes(self) -> bytes:
        return canonical_json(self.canonical_document())

    def input_hash(self) -> str:
        return hashlib.sha256(self.canonical_bytes()).hexdigest()

    def single_school_zones(self) -> dict[str, str]:
        """zone -> its only school, for the zones served by exactly one school (单校划片)."""
        by_zone: dict[str, list[str]] = {}
        for school in self.schools:
            by_zone.setdefault(school.zone, []).append(school.id)
        return {zone: ids[0] for zone, ids in by_zone.items() if len(ids) == 1}


def canonical_json(document: Any) -> bytes:
    """The one serialisation that is hashed: sorted keys, no whitespace, UTF-8, no escapes."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _name_problem(what: str, value: object) -> str | None:
    if not isinstance(value, str):
        return f"{what} must be text, got {value!r}"
    if value != value.strip():
        return f"{what} {value!r} has leading or trailing spaces"
    for ch in FORBIDDEN_IN_NAMES:
        if ch in value:
            return f"{what} {value!r} contains the reserved character {ch!r}"
    return None


def make_instance(schools: Iterable[School], applicants: Iterable[Applicant]) -> Instance:
    """Validate and canonicalise. Raises `InvalidInput` listing every problem."""
    errors: list[str] = []
    school_list = list(schools)
    applicant_list = list(applicants)

    school_by_id: dict[str, School] = {}
    for school in school_list:
        problem = _name_problem("school id", school.id)
        if problem or not school.id:
            errors.append(problem or "a school has an empty id")
            continue
        if school.id in school_by_id:
            errors.append(f"school {school.id!r} appears more than once")
            continue
        school_by_id[school.id] = school
        if (zone_problem := _name_problem(f"school {school.id!r}: zone", school.zone)) is not None:
            errors.append(zone_problem)
        if isinstance(school.capacity, bool) or not isinstance(school.capacity, int) or school.capacity < 0:
            errors.append(
                f"school {school.id!r}: capacity must be a whole number >= 0, got {school.capacity!r}"
            )
        if school.waitlist is not None and (
            isinstance(school.waitlist, bool) or not isinstance(school.waitlist, int) or school.waitlist < 0
        ):
            errors.append(f"school {school.id!r}: waitlist must be empty or a whole number >= 0")
        seen: set[str] = set()
        for category in school.categories:
            if (cat_problem := _name_problem(f"school {school.id!r}: category", category)) is not None:
                errors.append(cat_problem)
            elif not category:
                errors.append(f"school {school.id!r}: a priority category is empty")
            elif category in seen:
                errors.append(f"school {school.id!r}: category {category!r} is listed twice")
            seen.add(category)

    by_zone: dict[str, list[str]] = {}
    for school in school_by_id.values():
        by_zone.setdefault(school.zone, []).append(school.id)
    single_zones = {zone: ids[0] for zone, ids in by_zone.items() if len(ids) == 1}

    applicant_ids: set[str] = set()
    for applicant in applicant_list:
        problem = _name_problem("applicant id", applicant.id)
        if problem or not applicant.id:
            errors.append(problem or "an applicant has an empty id")
            continue
        if applicant.id in applicant_ids:
            errors.append(f"applicant {applicant.id!r} appears more than once")
            continue
        applicant_ids.add(applicant.id)
        who = f"applicant {applicant.id!r}"
        if (zone_problem := _name_problem(f"{who}: zone", applicant.zone)) is not None:
            errors.append(zone_problem)
            continue
        if applicant.zone not in by_zone:
            errors.append(f"{who}: zone {applicant.zone!r} has no school")
            continue
        if not all(isinstance(s, str) for s in applicant.preferences):
            errors.append(f"{who}: preferences must be school ids (text)")
            continue
        if len(set(applicant.preferences)) != len(applicant.preferences):
            errors.append(f"{who}: a school is listed more than once in the preferences")
        for school_id in applicant.preferences:
            listed = school_by_id.get(school_id)
            if listed is None:
                errors.append(f"{who}: preference {school_id!r} is not a known school")
            elif listed.zone != applicant.zone:
                errors.append(
                    f"{who}: preference {school_id!r} is in zone {listed.zone!r}, "
                    f"not in the applicant's zone {applicant.zone!r}"
                )
        only_school = single_zones.get(applicant.zone)
        if only_school is not None and tuple(applicant.preferences) not in ((), (only_school,)):
            errors.append(
                f"{who}: zone {applicant.zone!r} is served by the single school {only_school!r}; "
                "list it alone or leave the preferences empty"
            )
        for school_id, category in applicant.categories.items():
            granting = school_by_id.get(school_id)
            if granting is None:
                errors.append(f"{who}: category given for unknown school {school_id!r}")
            elif category not in granting.categories:
                errors.append(f"{who}: {category!r} is not a priority category of school {school_id!r}")

    if errors:
        raise InvalidInput(errors)

    canonical_applicants = []
    for applicant in sorted(applicant_list, key=lambda a: a.id):
        preferences = tuple(applicant.preferences)
        only_school = single_zones.get(applicant.zone)
        if only_school is not None:
            # Direct placement (直升/单校划片): the zone's school is the only possible one.
            preferences = (only_school,)
        canonical_applicants.append(
            Applicant(
                id=applicant.id,
                zone=applicant.zone,
                preferences=preferences,
                categories=dict(sorted(applicant.categories.items())),
            )
        )
    canonical_schools = [
        School(
            id=s.id,
            capacity=s.capacity,
            zone=s.zone,
            categories=tuple(s.categories),
            waitlist=s.waitlist,
        )
        for s in sorted(school_list, key=lambda s: s.id)
    ]
    return Instance(schools=tuple(canonical_schools), applicants=tuple(canonical_applicants))
