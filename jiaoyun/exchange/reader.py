"""Turning an uploaded file into rows of cells: Excel workbooks (xlsx, xls, ods) through
python-calamine, CSV in UTF-8 (with or without a BOM), UTF-16 or GB18030 (which reads GBK
and GB2312), with a comma, semicolon or tab between the cells.

Rows come out as lists with their spreadsheet row number (1 for the first row), so that
every problem can point at the row the user sees in Excel.

The importers read a file column-wise instead (`read_cells`): every cell as the text
`values.text` makes of it, in a polars frame. An xlsx file goes to it through fastexcel,
which hands calamine's cells to polars as Arrow strings without a Python object per cell;
any file whose cells fastexcel would put into words differently from `values.text` (dates,
booleans, numbers that are not short decimals) is read cell by cell as above instead.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import fastexcel
import polars as pl
import python_calamine

from jiaoyun.exchange.values import number_lost_digits, text

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
        try:
            data.decode("utf-16")
        except UnicodeDecodeError:  # an odd number of bytes: cut short
            raise UnreadableFile("damaged UTF-16 text") from None
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


# -- column-wise -------------------------------------------------------------------------------

# Rows searched for the header: schools put a title line or two above it.
HEAD_ROWS = 10


@dataclass
class Cells:
    """A sheet column-wise. `frame` has the spreadsheet row number (`row`) and one text
    column per cell position (`c0`, `c1`...), each cell as `values.text` makes it ("" when
    empty), for the rows that have at least one cell that is not empty; `head` holds the
    first HEAD_ROWS rows as read (empty ones too), where the header is looked for;
    `lost_digits` the positions holding numbers too long for Excel (see
    `values.number_lost_digits`), as a boolean per row of `frame`."""

    frame: pl.DataFrame
    head: list[tuple[int, list[Any]]]
    height: int
    encoding: str | None
    lost_digits: dict[int, pl.Series] = field(default_factory=dict)
    # Read through fastexcel: the file, to read it cell by cell if the header row has a
    # cell that may be a number, a boolean or a date (which fastexcel writes as text).
    data: bytes | None = None

    def exact(self, header_row: int) -> Cells:
        """These cells, or the file read cell by cell when the header row needs it."""
        if self.data is None:
            return self
        for number, cells in self.head:
            if number == header_row and any(
                cell is not None and _NOT_PLAIN_HEADER_RE.match(cell.strip()) for cell in cells
            ):
                return cells_of_table(read_table(self.data))
        return self


def column_name(position: int) -> str:
    return f"c{position}"


def read_cells(data: bytes) -> Cells:
    if data.startswith(_ZIP_MAGIC):
        cells = _read_xlsx_cells(data)
        if cells is not None:
            return cells
    return cells_of_table(read_table(data))


def cells_of_table(table: Table) -> Cells:
    """The rows of a table column-wise: each distinct cell value of a column is put into
    text once (a column holds few distinct values, or each value once)."""
    head: list[tuple[int, list[Any]]] = []
    numbers: list[int] = []
    rows: list[list[Any]] = []
    for number, cells in table.rows:
        if number <= HEAD_ROWS:
            head.append((number, cells))
        if any(c not in (None, "") for c in cells):
            numbers.append(number)
            rows.append(cells)
    width = max(map(len, rows), default=0)
    columns: dict[str, pl.Series] = {"row": pl.Series("row", numbers, dtype=pl.Int64)}
    lost: dict[int, pl.Series] = {}
    for position in range(width):
        raw = [c[position] if position < len(c) else None for c in rows]
        as_text = {value: text(value) for value in set(raw)}
        columns[column_name(position)] = pl.Series(list(map(as_text.__getitem__, raw)), dtype=pl.String)
        if any(number_lost_digits(value, length=18) for value in as_text):
            lost[position] = pl.Series(
                [number_lost_digits(value, length=18) for value in raw], dtype=pl.Boolean
            )
    return Cells(frame=pl.DataFrame(columns), head=head, height=table.height, encoding=table.encoding,
                 lost_digits=lost)  # fmt: skip


# A cell value in the sheet's XML that fastexcel writes as text differently from
# `values.text`: numbers of 16 digits or more (an ID number that Excel turned into a
# number, see `values.number_lost_digits`), in exponent notation, with 9 decimals or more
# (fastexcel rounds to 9), with 7 integer digits and decimals (fastexcel's rounding may
# show), below 0.0001 (Python writes 1e-05) or a negative zero; and date (t="d"), boolean
# (t="b") and error (t="e") cells.
_UNLIKE_TEXT_XML = re.compile(rb"<v>(?:-0*\.?0*<|-?(?:\d{16}|\d{7,}\.|\d*\.\d{9}|[\d.]*[Ee]|0*\.0000))")
_UNLIKE_TEXT_TYPES = re.compile(rb' t="[bde]"')
# Cells fastexcel wrote from a date (its date-time form): `values.text` writes dates alone.
_DATE_TIME_TEXT = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}"
# What a number, a boolean or a date can look like as fastexcel writes it: a header cell
# like this is read as written by calamine, which `formats.match_header` expects.
_NOT_PLAIN_HEADER_RE = re.compile(r"^-?[\d.]+$|^(true|false)$|^\d{4}-\d{2}-\d{2} ")
# Text that `values.text` leaves as it is apart from spaces at either end: printable ASCII
# and the CJK unified ideographs, which NFKC does not change.
_PLAIN_TEXT = r"^[ -~\x{4e00}-\x{9fff}]*$"


def _sheet_xml_unlike_text(data: bytes) -> bool:
    """Whether a sheet of the workbook has a cell that fastexcel writes as text otherwise
    than `values.text` (every sheet is looked at: finding which one is first and visible
    takes the workbook's relations)."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        for info in book.infolist():
            if not (info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")):
                continue
            xml = book.read(info)
            # Two patterns, each with a literal start: an alternation of the two makes the
            # regular expression try every position of a 100 MB sheet (and one pass for the
            # three cell types costs a third of three plain searches).
            if _UNLIKE_TEXT_XML.search(xml) or _UNLIKE_TEXT_TYPES.search(xml):
                return True
    return False


def _load_first_visible(data: bytes) -> pl.DataFrame:
    """The first visible sheet (the first sheet when none is), every cell as a string."""
    reader = fastexcel.read_excel(data)
    for index in range(len(reader.sheet_names)):
        sheet = reader.load_sheet(index, header_row=None, dtypes="string", skip_rows=0)
        if sheet.visible == "visible":
            return sheet.to_polars()
    return reader.load_sheet(0, header_row=None, dtypes="string", skip_rows=0).to_polars()


def _read_xlsx_cells(data: bytes) -> Cells | None:
    """The first visible sheet of an xlsx workbook through fastexcel; None when the cells
    must be read one by one (not an xlsx workbook, or cells fastexcel writes otherwise)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            if "xl/workbook.xml" not in book.namelist():
                return None
        # The scan of the XML runs while fastexcel reads the sheet, which it does without
        # holding the GIL; zlib lets go of it too while it inflates.
        with ThreadPoolExecutor(1) as pool:
            unlike_text = pool.submit(_sheet_xml_unlike_text, data)
            raw = _load_first_visible(data)
            if unlike_text.result():
                return None
    except Exception:  # a damaged file: read_table says so in its own words
        return None
    if raw.width == 0:
        return None
    raw = raw.rename(dict(zip(raw.columns, map(column_name, range(raw.width)), strict=True)))
    names = raw.columns
    if any(raw.select(pl.any_horizontal(pl.col(names).str.contains(_DATE_TIME_TEXT).any())).row(0)):
        return None
    head = [(index + 1, list(cells)) for index, cells in enumerate(raw.head(HEAD_ROWS).iter_rows())]
    frame = (
        raw.with_columns(row=pl.int_range(1, pl.len() + 1, dtype=pl.Int64))
        .filter(pl.any_horizontal(pl.col(names).is_not_null() & (pl.col(names) != "")))
        .select("row", *(_text_expr(raw, name) for name in names))
    )
    return Cells(frame=frame, head=head, height=raw.height, encoding=None, data=data)


def _text_expr(raw: pl.DataFrame, name: str) -> pl.Expr:
    """`values.text` of a column of strings: plain values lose the spaces at either end in
    polars, the others (full-width characters, other scripts) go through `values.text`
    once per distinct value."""
    column = pl.col(name).fill_null("")
    plain = column.str.contains(_PLAIN_TEXT)
    cells = raw.get_column(name).drop_nulls()
    others = cells.filter(~cells.str.contains(_PLAIN_TEXT))
    if others.is_empty():
        return column.str.strip_chars(" ").alias(name)
    as_text = {value: text(value) for value in others.unique().to_list()}
    return (
        pl.when(plain)
        .then(column.str.strip_chars(" "))
        .otherwise(column.replace_strict(as_text, default="", return_dtype=pl.String))
        .alias(name)
    )
