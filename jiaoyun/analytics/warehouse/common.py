"""Expression helpers shared by the views. Only operations both DuckDB and Spark compile the
same way: integer date parts instead of interval arithmetic, CASE instead of lookup joins."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import ibis
from ibis import Table
from ibis.expr.types import Column, IntegerColumn, StringColumn

from jiaoyun.analytics.warehouse.schema import ACTIVE_TEACHER_STATUSES, ENROLLED


def stage_of(level: IntegerColumn) -> StringColumn:
    """Grade levels -2..0 are kindergarten, 1..6 primary, 7..9 junior, 10..12 senior."""
    return ibis.cases(
        (level <= 0, "kindergarten"),
        (level <= 6, "primary"),
        (level <= 9, "junior"),
        else_="senior",
    )


def lookup(key: Column, mapping: Mapping[str, float | int], default: float | int | None = None) -> Column:
    """A policy dictionary as a CASE expression (no join needed, same SQL on every backend)."""
    cases = [(key == k, ibis.literal(v)) for k, v in mapping.items()]
    return ibis.cases(*cases, else_=default if default is None else ibis.literal(default))


def day_key(d: dt.date) -> int:
    return d.year * 10000 + d.month * 100 + d.day


def whole_years(start: Column, as_of: dt.date) -> IntegerColumn:
    """Completed years from a date column to `as_of` (an age, a tenure)."""
    md = start.month() * 100 + start.day()
    before_anniversary = md > (as_of.month * 100 + as_of.day)
    return (ibis.literal(as_of.year) - start.year() - before_anniversary.ifelse(1, 0)).cast("int64")


def band(value: IntegerColumn, edges: tuple[int, ...]) -> StringColumn:
    """'<30', '30-39', ..., '55+' for edges (30, 40, 50, 55)."""
    labels = band_labels(edges)
    cases = [(value < edge, label) for edge, label in zip(edges, labels, strict=False)]
    return ibis.cases(*cases, else_=labels[-1])


def band_labels(edges: tuple[int, ...]) -> list[str]:
    labels = [f"<{edges[0]}"]
    labels += [f"{lo}-{hi - 1}" for lo, hi in zip(edges, edges[1:], strict=False)]
    labels.append(f"{edges[-1]}+")
    return labels


def at(table: Table, as_of: dt.date) -> Table:
    return table.filter(table.snapshot_date == ibis.literal(as_of, type="date"))


def active_teachers(teachers: Table) -> Table:
    return teachers.filter(teachers.status.isin(ACTIVE_TEACHER_STATUSES) & teachers.school_id.notnull())


def enrolled_students(students: Table) -> Table:
    return students.filter(students.status == ENROLLED)


def school_year_of(d: dt.date) -> int:
    """The school year starts in September; August belongs to the year before."""
    return d.year if d.month >= 8 else d.year - 1


def count_by(table: Table, keys: list[str], name: str) -> Table:
    return table.group_by(keys).aggregate(**{name: table.count().cast("int64")})


def left_join(left: Table, right: Table, keys: str | list[str]) -> Table:
    """Left join that keeps the left's key columns only. The right side is a `view()` because
    the views often join two tables derived from the same lake table (a self-join to Ibis)."""
    keys = [keys] if isinstance(keys, str) else keys
    right = right.view()
    left = left.view()
    j = left.left_join(right, keys)
    extra = [c for c in right.columns if c not in keys]
    return j.select(*[j[c] for c in left.columns], *[j[c] for c in extra])


def inner_join(left: Table, right: Table, keys: str | list[str]) -> Table:
    return left.view().join(right.view(), keys)
