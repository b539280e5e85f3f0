"""Any register list as an xlsx workbook, with the same columns as its page. Personal
columns stay masked unless the viewer may unmask and asks to; either way the export is
written to the audit log."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import xlsxwriter
from django.http import HttpRequest, HttpResponse

from jiaoyun.accounts import audit
from jiaoyun.accounts.models import AuditEvent
from jiaoyun.core.listing import ListSpec

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def sheet_name(title: str, used: set[str] | None = None) -> str:
    """`title` as Excel takes a sheet's name (a user's title, a round's or a subject's, may
    be anything): none of []:*?/\\, no apostrophe at either end, at most 31 UTF-16 units (a
    character beyond the Basic Multilingual Plane, such as 𠀀, counts two); and, given the
    names `used` so far, distinct from them ignoring case (with "-2", "-3"...), added to
    them."""
    base = _utf16_prefix(re.sub(r"[\[\]:*?/\\]", "", title).strip("'"), 28).rstrip("'") or "Sheet"
    taken = {name.lower() for name in used or ()}
    name, n = base, 2
    while name.lower() in taken:
        name, n = f"{_utf16_prefix(base, 26).rstrip("'")}-{n}", n + 1
    if used is not None:
        used.add(name)
    return name


def _utf16_prefix(text: str, units: int) -> str:
    while len(text.encode("utf-16-le")) > 2 * units:
        text = text[:-1]
    return text


def xlsx_bytes(headers: list[str], rows: Iterable[list[Any]], sheet: str = "Sheet1") -> bytes:
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"constant_memory": True, "in_memory": False})
    ws = book.add_worksheet(sheet_name(sheet))
    bold = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
    for col, header in enumerate(headers):
        ws.write_string(0, col, header, bold)
        ws.set_column(col, col, max(10, len(header) * 2 + 2))
    for r, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, int | float) and not isinstance(value, bool):
                ws.write_number(r, col, value)
            else:
                # Strings stay strings: ID and student numbers must not become numbers.
                ws.write_string(r, col, str(value))
    ws.freeze_panes(1, 0)
    book.close()
    return buf.getvalue()


def xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


def export_list(
    request: HttpRequest, *, spec: ListSpec, queryset: Any, name: str, title: str, unmask: bool
) -> HttpResponse:
    """The rows of `queryset` (already scoped to the viewer) as a workbook named after the
    list; `unmask` must have been checked by the caller."""
    count = queryset.count()
    rows = (spec.row(obj, unmask=unmask) for obj in queryset.iterator(chunk_size=2000))
    content = xlsx_bytes([str(c.label) for c in spec.columns], rows, sheet=title)
    audit.record(
        action=AuditEvent.Action.EXPORT,
        target=name,
        request=request,
        detail={"rows": count, "unmasked": unmask, "query": request.GET.dict()},
    )
    return xlsx_response(content, f"{name}.xlsx")
