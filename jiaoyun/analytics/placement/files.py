"""Reading the published input files (CSV or JSON) and writing results as CSV.

The formats are documented in docs/admissions.md. Reading is strict: unknown columns,
malformed numbers and stray spaces are reported (every one of them, with its row), because a
file that means two things cannot be audited.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jiaoyun.analytics.placement.instance import (
    INPUT_FORMAT,
    Applicant,
    Instance,
    InvalidInput,
    School,
    make_instance,
)
from jiaoyun.analytics.placement.run import PlacementResult

SCHOOL_FIELDS = ("id", "zone", "capacity", "categories", "waitlist")
APPLICANT_FIELDS = ("id", "zone", "preferences", "categories")
RESULT_CSV_FIELDS = (
    "id",
    "zone",
    "lottery_number",
    "status",
    "school",
    "choice",
    "category",
    "waitlist_position",
)


def _split_list(cell: str) -> tuple[str, ...]:
    return tuple(cell.split(";")) if cell != "" else ()


def _whole_number(value: Any, what: str, errors: list[str], *, optional: bool = False) -> int | None:
    if value is None or value == "":
        if optional:
            return None
        errors.append(f"{what} is missing")
        return None
    if isinstance(value, bool):
        errors.append(f"{what} must be a whole number, got {value!r}")
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    errors.append(f"{what} must be a whole number, got {value!r}")
    return None


def _csv_rows(
    data: bytes, name: str, fields: tuple[str, ...], required: tuple[str, ...]
) -> list[dict[str, str]]:
    try:
        # utf-8-sig: spreadsheets often prefix a byte-order mark.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput([f"{name}: not UTF-8 text ({exc})"]) from exc
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    header = reader.fieldnames or []
    errors = [f"{name}: column {c!r} is not part of the format" for c in header if c not in fields]
    errors += [f"{name}: required column {c!r} is missing" for c in required if c not in header]
    if len(set(header)) != len(header):
        errors.append(f"{name}: a column appears twice in the header")
    if errors:
        raise InvalidInput(errors)
    rows = []
    try:
        for row in reader:
            if None in row or any(v is None for v in row.values()):
                errors.append(f"{name} line {reader.line_num}: wrong number of cells")
                continue
            rows.append({k: v for k, v in row.items() if k is not None})
    except csv.Error as exc:
        errors.append(f"{name} line {reader.line_num}: {exc}")
    if errors:
        raise InvalidInput(errors)
    return rows


def _json_items(data: bytes, name: str, key: str, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput([f"{name}: not valid JSON ({exc})"]) from exc
    if isinstance(document, dict) and set(document) == {key}:
        document = document[key]
    if not isinstance(document, list):
        raise InvalidInput([f'{name}: expected a list, or an object {{"{key}": [...]}}'])
    errors = []
    for number, item in enumerate(document, start=1):
        if not isinstance(item, dict):
            errors.append(f"{name} item {number}: expected an object")
            continue
        errors += [
            f"{name} item {number}: field {f!r} is not part of the format" for f in item if f not in fields
        ]
    if errors:
        raise InvalidInput(errors)
    return document


def _is_json(name: str, data: bytes) -> bool:
    if name.lower().endswith(".json"):
        return True
    if name.lower().endswith(".csv"):
        return False
    return data.lstrip()[:1] in (b"[", b"{")


def parse_schools(data: bytes, name: str = "schools") -> list[School]:
    errors: list[str] = []
    schools = []
    if _is_json(name, data):
        for number, item in enumerate(_json_items(data, name, "schools", SCHOOL_FIELDS), start=1):
            where = f"{name} item {number}"
            categories = item.get("categories", [])
            if not isinstance(categories, list):
                errors.append(f"{where}: categories must be a list")
                categories = []
            capacity = _whole_number(item.get("capacity"), f"{where}: capacity", errors)
            waitlist = _whole_number(item.get("waitlist"), f"{where}: waitlist", errors, optional=True)
            schools.append(
                School(
                    id=item.get("id", ""),
                    zone=item.get("zone", ""),
                    capacity=capacity if capacity is not None else 0,
                    categories=tuple(categories),
                    waitlist=waitlist,
                )
            )
    else:
        for row in _csv_rows(data, name, SCHOOL_FIELDS, ("id", "capacity")):
            capacity = _whole_number(row["capacity"], f"{name} school {row['id']!r}: capacity", errors)
            waitlist = _whole_number(
                row.get("waitlist", ""), f"{name} school {row['id']!r}: waitlist", errors, optional=True
            )
            schools.append(
                School(
                    id=row["id"],
                    zone=row.get("zone", ""),
                    capacity=capacity if capacity is not None else 0,
                    categories=_split_list(row.get("categories", "")),
                    waitlist=waitlist,
                )
            )
    if errors:
        raise InvalidInput(errors)
    return schools


def parse_applicants(data: bytes, name: str = "applicants") -> list[Applicant]:
    errors: list[str] = []
    applicants = []
    if _is_json(name, data):
        for number, item in enumerate(_json_items(data, name, "applicants", APPLICANT_FIELDS), start=1):
            where = f"{name} item {number}"
            preferences = item.get("preferences", [])
            held = item.get("categories", {})
            if not isinstance(preferences, list):
                errors.append(f"{where}: preferences must be a list")
                preferences = []
            if not isinstance(held, dict):
                errors.append(f"{where}: categories must be an object (school id -> category)")
                held = {}
            applicants.append(
                Applicant(
                    id=item.get("id", ""),
                    zone=item.get("zone", ""),
                    preferences=tuple(preferences),
                    categories=dict(held),
                )
            )
    else:
        for row in _csv_rows(data, name, APPLICANT_FIELDS, ("id",)):
            categories: dict[str, str] = {}
            for pair in _split_list(row.get("categories", "")):
                school_id, colon, category = pair.partition(":")
                if not colon:
                    errors.append(
                        f"{name} applicant {row['id']!r}: categories entry {pair!r} is not school:category"
                    )
                elif school_id in categories:
                    errors.append(f"{name} applicant {row['id']!r}: two categories for school {school_id!r}")
                else:
                    categories[school_id] = category
            applicants.append(
                Applicant(
                    id=row["id"],
                    zone=row.get("zone", ""),
                    preferences=_split_list(row.get("preferences", "")),
                    categories=categories,
                )
            )
    if errors:
        raise InvalidInput(errors)
    return applicants


def load_instance(applicants_path: str | Path, schools_path: str | Path) -> Instance:
    applicants_path, schools_path = Path(applicants_path), Path(schools_path)
    errors: list[str] = []
    schools: list[School] = []
    applicants: list[Applicant] = []
    try:
        schools = parse_schools(schools_path.read_bytes(), schools_path.name)
    except InvalidInput as exc:
        errors += exc.errors
    try:
        applicants = parse_applicants(applicants_path.read_bytes(), applicants_path.name)
    except InvalidInput as exc:
        errors += exc.errors
    if errors:
        raise InvalidInput(errors)
    return make_instance(schools, applicants)


def parse_canonical(data: bytes, name: str = "input") -> Instance:
    """Read a whole input document (the canonical form `Instance.canonical_bytes` writes)."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput([f"{name}: not valid JSON ({exc})"]) from exc
    if not isinstance(document, dict) or set(document) != {"format", "schools", "applicants"}:
        raise InvalidInput([f"{name}: expected an object with exactly format, schools and applicants"])
    if document["format"] != INPUT_FORMAT:
        raise InvalidInput([f"{name}: format {document['format']!r} is not {INPUT_FORMAT!r}"])
    return make_instance(
        parse_schools(json.dumps(document["schools"]).encode(), f"{name} schools.json"),
        parse_applicants(json.dumps(document["applicants"]).encode(), f"{name} applicants.json"),
    )


def schools_csv(schools: Iterable[School]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SCHOOL_FIELDS)
    for s in schools:
        writer.writerow(
            [s.id, s.zone, s.capacity, ";".join(s.categories), "" if s.waitlist is None else s.waitlist]
        )
    return out.getvalue()


def applicants_csv(applicants: Iterable[Applicant]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(APPLICANT_FIELDS)
    for a in applicants:
        writer.writerow(
            [
                a.id,
                a.zone,
                ";".join(a.preferences),
                ";".join(f"{school}:{category}" for school, category in a.categories.items()),
            ]
        )
    return out.getvalue()


def result_csv(result: PlacementResult) -> str:
    """One row per applicant, for spreadsheets; the JSON result stays the authoritative record."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RESULT_CSV_FIELDS)
    for row in result.applicants:
        writer.writerow(["" if row[f] is None else row[f] for f in RESULT_CSV_FIELDS])
    return out.getvalue()
