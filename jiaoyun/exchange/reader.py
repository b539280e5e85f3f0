"""Turning an uploaded file into rows of cells: Excel workbooks (xlsx, xls, ods) through
python-calamine, CSV in UTF-8 (with or without a BOM), UTF-16 or GB18030 (which reads GBK
and GB2312), with a comma, semicolon or tab between the cells.

Rows come out as lists with their spreadsheet row number (1 for the first row), so that
every problem can point at the row the user sees in Excel.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import python_calamine

# Magic numbers of the formats calamine reads: zip (xlsx, ods) and OLE2 (xls).
_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class UnreadableFile(ValueError):
    pass


@dataclass
class Table:
    rows: Iterator[tuple[int, list[Any]]]
    # Rows in the sheet, header included (for progress only; may overestimate).
    height: int
    encoding: str | None  # for CSV: the detected encoding


def read_table(data: bytes) -> Table:
    if data.startswith(_ZIP_MAGIC) or data.startswith(_OLE2_MAGIC):
        return _read_workbook(data)
    return _read_csv(data)


def _read_workbook(data: bytes) -> Table:
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        # The first visible sheet: templates carry their instructions on a later sheet.
        visible = [
            m.name for m in book.sheets_metadata if m.visible == python_calamine.SheetVisibleEnum.Visible
        ]
        sheet = book.get_sheet_by_name(visible[0]) if visible else book.get_sheet_by_index(0)
        height = sheet.total_height
        rows = sheet.iter_rows()
    except Exception as exc:  # calamine raises its own and zip errors for damaged files
        raise UnreadableFile(str(exc)) from exc
    return Table(rows=((n, list(row)) for n, row in enumerate(rows, start=1)), height=height, encoding=None)


def detect_encoding(data: bytes) -> str:
    """The encoding a CSV file from a Chinese school is most likely in. Excel on Chinese
    Windows saves 'CSV' in GBK; 'CSV UTF-8' and WPS add a BOM; exports from web systems
    are UTF-8 without one. UTF-8 is strict enough that GBK text almost never decodes as
    it, so try UTF-8 first and fall back to GB18030 (a superset of GBK)."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    try:
        data.decode("gb18030")
    except UnicodeDecodeError:
        raise UnreadableFile("unknown text encoding") from None
    return "gb18030"


def _delimiter(first_line: str) -> str:
    counts = {sep: first_line.count(sep) for sep in (",", "\t", ";")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _read_csv(data: bytes) -> Table:
    if b"\x00" in data[:4096] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableFile("binary file")
    encoding = detect_encoding(data)
    content = data.decode(encoding)
    first_line = content.split("\n", 1)[0]
    height = content.count("\n") + (0 if content.endswith("\n") else 1)
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=_delimiter(first_line))

    def rows() -> Iterator[tuple[int, list[Any]]]:
        # csv.reader's line_num counts physical lines, which differ from rows when a
        # quoted cell holds a line break; Excel numbers rows, so count rows.
        try:
            yield from enumerate(reader, start=1)
        except csv.Error as exc:
            raise UnreadableFile(str(exc)) from exc

    return Table(rows=rows(), height=height, encoding=encoding.replace("-sig", ""))
