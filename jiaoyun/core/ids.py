"""Primary keys that arrive from outside (a JSON body, a URL) and reach plain SQL.

The ORM answers an out-of-range key with no rows, but the hot paths that bind keys into
hand-written statements would pass the database a number it cannot hold (SQLite and
PostgreSQL then raise, and the user would see a server error). `row_id` turns anything
that cannot be a key into None, for a clear refusal instead.
"""

from __future__ import annotations

# Django's BigAutoField: a signed 64-bit integer.
MAX_ROW_ID = 2**63 - 1


def row_id(value: object) -> int | None:
    """`value` as a primary key (an int, or a string of digits), or None when it cannot be
    one: a bool, a float, anything else, zero or less, beyond a bigint."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ROW_ID:
        return None
    return value


class RowIdConverter:
    """`<id:pk>` in a URL: a primary key. Django's `<int:...>` takes any run of digits, and
    a key beyond a bigint then reaches code that is not the ORM (a dashboard's Arrow
    filter, a raw statement) as a number it cannot compare: such a URL matches nothing
    (404) instead. Registered by `CoreConfig.ready`, before any URLconf is imported."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        key = row_id(value)
        if key is None:
            raise ValueError(value)  # no match
        return key

    def to_url(self, value: int) -> str:
        return str(value)
