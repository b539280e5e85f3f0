"""Lists of the register: one declaration per list gives the page its filters, sort keys
and columns, and the xlsx export the same columns. Personal columns are masked unless the
viewer may unmask them (and exports that unmask are audited by the caller).

Query parameters come from users' address bars: a value that cannot match (a letter where
an id belongs, an unknown sort key) gives an empty list or the default order, never an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.utils.functional import Promise

from jiaoyun.core.identity import mask_id_number, mask_phone, mask_student_no

MASKS = {"id": mask_id_number, "phone": mask_phone, "student_no": mask_student_no}

Cell = str | int | float | None
# Longer search terms match nothing anyway; capping them keeps LIKE patterns cheap.
MAX_SEARCH_LENGTH = 50
# Parameters that steer the page itself rather than select rows.
CONTROL_PARAMS = frozenset({"page", "format", "unmask"})


@dataclass(frozen=True)
class Column:
    key: str
    label: str | Promise
    value: Callable[[Any], Cell]
    sort: tuple[str, ...] = ()  # ORM ordering expressions, if the column sorts
    personal: str | None = None  # "id", "phone" or "student_no": masked unless unmasked
    numeric: bool = False  # right-aligned on the page

    @property
    def sortable(self) -> bool:
        return bool(self.sort)


@dataclass(frozen=True)
class Filter:
    param: str
    label: str | Promise
    lookup: str
    # (value, label) pairs offered to the viewer, given their scope and the current query;
    # None means a free text box. A filter whose choices come back empty is not shown.
    choices: Callable[[Any, Mapping[str, str]], list[tuple[str, str]] | None] | None = None
    integer: bool = False  # values must be whole numbers (ids, levels)


@dataclass(frozen=True)
class ListSpec:
    columns: tuple[Column, ...]
    search: tuple[str, ...] = ()  # fields matched by the ?q= box (icontains / iexact)
    filters: tuple[Filter, ...] = ()
    default_sort: tuple[str, ...] = ()
    select_related: tuple[str, ...] = field(default_factory=tuple)
    link: str = ""  # the column whose cells link to the row's detail page (default: the first)

    @property
    def link_key(self) -> str:
        return self.link or self.columns[0].key

    @property
    def has_personal(self) -> bool:
        return any(c.personal for c in self.columns)

    def apply(self, qs: QuerySet[Any], params: Mapping[str, str]) -> QuerySet[Any]:
        q = (params.get("q") or "").strip()[:MAX_SEARCH_LENGTH]
        if q and self.search:
            cond = Q()
            for f in self.search:
                cond |= Q(**{f: q}) if f.endswith(("__iexact", "__exact")) else Q(**{f"{f}__icontains": q})
            qs = qs.filter(cond)
        for flt in self.filters:
            value = (params.get(flt.param) or "").strip()
            if not value:
                continue
            if flt.integer and not is_integer(value):
                return qs.none()
            qs = qs.filter(**{flt.lookup: value})
        qs = qs.order_by(*self.ordering(params), "pk")
        if self.select_related:
            qs = qs.select_related(*self.select_related)
        return qs

    def ordering(self, params: Mapping[str, str]) -> tuple[str, ...]:
        sort = self.sort_key(params)
        if not sort:
            return self.default_sort
        column = self.column(sort.lstrip("-"))
        prefix = "-" if sort.startswith("-") else ""
        return tuple(prefix + expr for expr in column.sort)

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    def sort_key(self, params: Mapping[str, str]) -> str:
        """The requested sort (`key` or `-key`) when it names a sortable column, else ''."""
        raw = (params.get("sort") or "").strip()
        key = raw.removeprefix("-")
        if any(c.key == key and c.sortable for c in self.columns):
            return raw
        return ""

    def row(self, obj: Model, *, unmask: bool) -> list[Cell]:
        return [cell(c, obj, unmask=unmask) for c in self.columns]


def is_integer(value: str) -> bool:
    digits = value.removeprefix("-")
    # isascii: str.isdigit() also accepts superscripts that int() rejects.
    return digits.isascii() and digits.isdigit() and len(digits) <= 12


def cell(column: Column, obj: Model, *, unmask: bool) -> Cell:
    value = column.value(obj)
    if column.personal and not unmask and isinstance(value, str):
        return MASKS[column.personal](value)
    return value
