"""Chinese resident ID numbers (GB 11643-1999) and the masking of personal identifiers.

An ID number is 17 digits and a check character: the ISO 7064 MOD 11-2 checksum of the
first 17 digits, written as 0-9 or X. Digits 7-14 are the birth date (YYYYMMDD) and the
17th digit is odd for men and even for women.
"""

from __future__ import annotations

import datetime as dt
import operator
import re

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")


def check_character(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    if len(first17) != 17:
        raise ValueError("the check character covers exactly 17 digits")
    # map() over the digits: imports check tens of thousands of these per file.
    total = sum(map(operator.mul, map(int, first17), _WEIGHTS))
    return _CHECK[total % 11]


def normalize_id_number(raw: str) -> str:
    return raw.strip().replace(" ", "").upper()


def id_number_problem(raw: str) -> str | None:
    """Why `raw` is not a valid ID number, as a short English key; None when valid."""
    value = normalize_id_number(raw)
    if not _ID_RE.match(value):
        return "format"
    try:
        dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "birth_date"
    if check_character(value[:17]) != value[17]:
        return "check_digit"
    return None


def birth_date_of(id_number: str) -> dt.date:
    v = normalize_id_number(id_number)
    return dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))


def gender_of(id_number: str) -> str:
    """'male' or 'female' from the 17th digit."""
    return "male" if int(normalize_id_number(id_number)[16]) % 2 else "female"


def make_id_number(region: str, birth: dt.date, sequence: int, male: bool) -> str:
    """Build a valid ID number: region (6 digits), birth date, 3-digit sequence of the
    right parity for the gender, check character."""
    seq = sequence % 500 * 2 + (1 if male else 0)
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)


def mask_id_number(value: str) -> str:
    """Keep the region prefix (6) and the last 4 characters: 110101********123X."""
    if not value:
        return ""
    if len(value) <= 10:
        return value[:2] + "*" * (len(value) - 2)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """Keep the first 3 and the last 4 digits: 138****5678."""
    if not value:
        return ""
    if len(value) <= 7:
        return value[:1] + "*" * (len(value) - 1)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


_STUDENT_NO_WITH_ID = re.compile(r"^([A-Z]?)(\d{17}[\dX])$")


def mask_student_no(value: str) -> str:
    """A national student number is usually "G" followed by the ID number: mask the ID
    number inside it as an ID number is masked; other forms are not personal."""
    match = _STUDENT_NO_WITH_ID.match(value or "")
    if not match:
        return value or ""
    return match.group(1) + mask_id_number(match.group(2))
