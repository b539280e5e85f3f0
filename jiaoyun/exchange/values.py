"""Reading the values people type into school spreadsheets: dates in every common form
(including Excel serial numbers), genders, years, class numbers, phone numbers, and
numbers that Excel has turned into floats.

Every parser returns the clean value or raises `BadValue` with a message code (see
`jiaoyun.exchange.messages`); none of them touches the database.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Mapping
from typing import Any


class BadValue(ValueError):
    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


# Excel's day zero: serial 1 is 1900-01-01, and Lotus's phantom 1900-02-29 (serial 60)
# shifts every later serial by one, hence 1899-12-30.
_EXCEL_EPOCH = dt.date(1899, 12, 30)
# Serials between these are the dates 1900-03-01 .. 2199-12-31; smaller or larger numbers
# are more likely typing mistakes than dates.
_SERIAL_MIN, _SERIAL_MAX = 61, 109_573
_DATE_SEP_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_DATE_TIME_TAIL_RE = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
_COMPACT_DATE_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SERIAL_RE = re.compile(r"^\d{2,6}(\.0+)?$")


def text(raw: Any) -> str:
    """A cell as trimmed text. Whole-number floats lose their `.0` (calamine reads every
    number cell as a float), and full-width digits and brackets become ASCII."""
    if type(raw) is str:  # most cells: the fast path
        if raw.isascii():
            return raw.strip()
        return unicodedata.normalize("NFKC", raw).strip()
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "1" if raw else "0"
    if isinstance(raw, float):
        return str(int(raw)) if raw.is_integer() else repr(raw)
    if isinstance(raw, dt.datetime):
        return raw.date().isoformat() if raw.time() == dt.time() else raw.isoformat(sep=" ")
    if isinstance(raw, dt.date):
        return raw.isoformat()
    value = str(raw)
    if not value.isascii():
        # Full-width digits, letters and brackets (typed with a Chinese input method) and
        # no-break spaces become their plain forms.
        value = unicodedata.normalize("NFKC", value)
    return value.strip()


def key_text(raw: Any) -> str:
    """Text for comparing labels: no spaces at all, lower case."""
    return "".join(text(raw).split()).lower()


def parse_date(raw: Any) -> dt.date:
    """2012-09-01, 2012/9/1, 2012.9.1, 2012年9月1日, 20120901, an Excel serial number
    (41153) or a date cell."""
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return _from_serial(float(raw))
    return _parse_date_text(text(raw))


# A file holds a few thousand distinct dates in tens of thousands of rows.
@functools.lru_cache(maxsize=65536)
def _parse_date_text(value: str) -> dt.date:
    value = _DATE_TIME_TAIL_RE.sub("", value)
    match = _DATE_SEP_RE.match(value) or _COMPACT_DATE_RE.match(value)
    if match:
        year, month, day = (int(g) for g in match.groups())
        try:
            return dt.date(year, month, day)
        except ValueError:
            raise BadValue("impossible_date") from None
    if _SERIAL_RE.match(value):
        return _from_serial(float(value))
    raise BadValue("bad_date")


def _from_serial(serial: float) -> dt.date:
    # A date-time serial carries the time as a fraction: keep the day.
    day = int(serial)
    if not _SERIAL_MIN <= day <= _SERIAL_MAX:
        raise BadValue("bad_date")
    return _EXCEL_EPOCH + dt.timedelta(days=day)


def parse_year(raw: Any, *, low: int = 1950, high: int = 2100) -> int:
    """2012, 2012年, 2012级, or a date (its year)."""
    if isinstance(raw, dt.date):
        return raw.year
    value = text(raw)
    match = re.match(r"^(\d{4})\s*(年|级|届)?$", value)
    if match:
        year = int(match.group(1))
    else:
        try:
            year = parse_date(raw).year
        except BadValue:
            raise BadValue("bad_year") from None
    if not low <= year <= high:
        raise BadValue("year_out_of_range", low=low, high=high)
    return year


def parse_choice(raw: Any, synonyms: Mapping[str, str]) -> str:
    """Map a label to a stored value through a synonym table keyed by `key_text`."""
    key = key_text(raw)
    try:
        return synonyms[key]
    except KeyError:
        raise BadValue("bad_choice") from None


GENDERS: dict[str, str] = {
    "男": "male", "男性": "male", "男生": "male", "m": "male", "male": "male", "1": "male",
    "女": "female", "女性": "female", "女生": "female", "f": "female", "female": "female", "2": "female",
}  # fmt: skip

_CN_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}


def chinese_number(value: str) -> int | None:
    """一..九十九 (enough for class numbers); None when `value` is not one."""
    if not value or any(ch not in _CN_DIGITS and ch != "十" for ch in value):
        return None
    if "十" not in value:
        return _CN_DIGITS[value] if len(value) == 1 else None
    tens, _, ones = value.partition("十")
    if len(tens) > 1 or len(ones) > 1:
        return None
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)


# Cells arrive through key_text: no spaces, lower case, full-width brackets made plain.
_CLASS_RE = re.compile(r"(?<![\d.])(\d{1,3}|[零一二两三四五六七八九十]{1,3})\)?班?$")


def parse_class_number(raw: Any) -> int:
    """3, 03, 3班, (3)班, 七年级(3)班, 初一3班, 三班, Class 3: the number at the end."""
    value = key_text(raw).replace("class", "")
    match = _CLASS_RE.search(value)
    if not match:
        raise BadValue("bad_class")
    token = match.group(1)
    number = int(token) if token.isdigit() else chinese_number(token)
    if not number or number > 99:
        raise BadValue("bad_class")
    return number


_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def parse_phone(raw: Any) -> str:
    """A mainland mobile number (11 digits) or a landline with its area code."""
    value = re.sub(r"[\s()]", "", text(raw))
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    digits = value.replace("-", "")
    if _MOBILE_RE.match(digits):
        return digits
    if _LANDLINE_RE.match(value):
        return value
    raise BadValue("bad_phone")


def number_lost_digits(raw: Any, *, length: int) -> bool:
    """Excel keeps 15 significant digits: an 18-digit number typed into a number cell comes
    back with its last digits turned to zeros, and only the sender's file can repair it."""
    return isinstance(raw, float) and raw.is_integer() and abs(raw) >= 10**15 and length > 15
