"""Lists of the register: one declaration per list gives the page its filters, sort keys
and columns, and the xlsx export the same columns. Personal columns are masked unless the
viewer may unmask them (and exports that unmask are audited by the caller)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.utils.functional import Promise

from jiaoyun.core.identity import mask_id_number, mask_phone

Cell = str | int | float | None


@dataclass(frozen=True)
class Column:
    key: str
    label: str | Promise
    value: Callable[[Any], Cell]
    sort: str | None = None  # ORM ordering expression, if the column sorts
    personal: str | None = None  # "id" or "phone": masked unless unmasked


@dataclass(frozen=True)
class Filter:
    param: str
    label: str | Promise
    lookup: str
    choices: Callable[[Any], list[tuple[str, str]]] | None = None  # (value, label), given scope


@dataclass(frozen=True)
class ListSpec:
    columns: tuple[Column, ...]
    search: tuple[str, ...] = ()  # fields matched by the ?q= box (icontains / exact)
    filters: tuple[Filter, ...] = ()
    default_sort: str = ""
    select_related: tuple[str, ...] = field(default_factory=tuple)

    def apply(self, qs: QuerySet[Any], params: Mapping[str, str]) -> QuerySet[Any]:
        q = (params.get("q") or "").strip()
        if q and self.search:
            cond = Q()
            for f in self.search:
                cond |= Q(**{f: q}) if f.endswith("__iexact") or f.endswith("__exact") else Q(**{f"{f}__icontains": q})
            qs = qs.filter(cond)
        for flt in self.filters:
            value = (params.get(flt.param) or "").strip()
            if value:
                if flt.lookup.endswith("_id") and not value.isdigit():
                    return qs.none()
                qs = qs.filter(**{flt.lookup: value})
        sort = self.sort_key(params)
        if sort:
            field_name = sort.lstrip("-")
            column = next(c for c in self.columns if c.key == field_name)
            assert column.sort
            qs = qs.order_by(("-" if sort.startswith("-") else "") + column.sort, "pk")
        elif self.default_sort:
            qs = qs.order_by(self.default_sort, "pk")
        if self.select_related:
            qs = qs.select_related(*self.select_related)
        return qs

    def sort_key(self, params: Mapping[str, str]) -> str:
        raw = (params.get("sort") or "").strip()
        key = raw.lstrip("-")
        if any(c.key == key and c.sort for c in self.columns):
            return raw
        return ""

    def row(self, obj: Model, *, unmask: bool) -> list[Cell]:
        return [cell(c, obj, unmask=unmask) for c in self.columns]


def cell(column: Column, obj: Model, *, unmask: bool) -> Cell:
    value = column.value(obj)
    if column.personal and not unmask and isinstance(value, str):
        return mask_id_number(value) if column.personal == "id" else mask_phone(value)
    return value
