"""The column-wise reading of a workbook (`read_cells`): fastexcel's text of every cell is
the text `values.text` makes of the cell python-calamine reads, or the file is read cell
by cell; either way the importers see the same texts, row numbers and header."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from jiaoyun.exchange.formats import STUDENT_COLUMNS, match_header
from jiaoyun.exchange.reader import Cells, UnreadableFile, cells_of_table, read_cells, read_table


def _workbook(rows: list[list[Any]], *, hidden_first: bool = False) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    if hidden_first:
        sheet.title = "说明"
        sheet.append(["hidden notes"])
        sheet.sheet_state = "hidden"
        sheet = book.create_sheet("学生")
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _same(fast: Cells, exact: Cells) -> None:
    assert fast.frame.equals(exact.frame), (fast.frame, exact.frame)
    assert set(fast.lost_digits) == set(exact.lost_digits)
    for position, lost in exact.lost_digits.items():
        assert fast.lost_digits[position].equals(lost)
    exact_head = dict(exact.head)
    for number, _cells in fast.head:
        # The header as the importers find it: the row read cell by cell when it needs to be.
        header_cells = dict(fast.exact(number).head)[number]
        assert match_header(number, header_cells, STUDENT_COLUMNS) == match_header(
            number, exact_head[number], STUDENT_COLUMNS
        )


def _check(data: bytes) -> Cells:
    fast = read_cells(data)
    _same(fast, cells_of_table(read_table(data)))
    return fast


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12).filter(
    lambda value: not ILLEGAL_CHARACTERS_RE.search(value)
)
_cell = st.one_of(
    st.none(),
    _text,
    st.sampled_from([" 王小明 ", "（３）班", "ｇ４４０１", "七年级", "2012-09-01", "2012-09-01 00:00:00", "true",
                     "1", "-0", "0.0000001", "110101201209010012", "\u00a0x\u3000", "\ta b\n", "\x85x\u2028", "Ⅷ", "ﬁ", "e\u0301"]),
    st.integers(min_value=-(10**17), max_value=10**17),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e20, max_value=1e20),
    st.sampled_from([1.0, 2023.0, 0.5, 1.0000000001, 1e-7, -0.0, 1.1010120120901e17, 3.14159265358979, 12345678.5]),
    st.booleans(),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 12, 31)),
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.lists(_cell, min_size=1, max_size=5), min_size=1, max_size=12),
    header_at=st.integers(min_value=0, max_value=3),
)
def test_fast_reading_agrees_with_reading_cell_by_cell(rows, header_at):
    headers = [["学校代码", "全国学籍号", "姓名", "身份证号", "班级"]]
    _check(_workbook(rows[:header_at] + headers + rows[header_at:]))


def test_plain_text_workbooks_are_read_through_fastexcel():
    rows = [["名单"], [], ["全国学籍号", "姓名", "班级"], ["G1", " 王一 ", 3.0], [None, None, None],
            ["G2", "（２）班", "2班"]]  # fmt: skip
    fast = _check(_workbook(rows))
    assert fast.data is not None
    assert fast.frame.rows() == [(1, "名单", "", ""), (3, "全国学籍号", "姓名", "班级"), (4, "G1", "王一", "3"),
                                 (6, "G2", "(2)班", "2班")]  # fmt: skip


def test_cells_fastexcel_writes_otherwise_are_read_one_by_one():
    header = ["全国学籍号", "身份证号", "出生日期"]
    for cell in (110101201209010000.0, dt.date(2012, 9, 1), True, 1e-7, 3.14159265358979, -0.0):
        fast = _check(_workbook([header, ["G1", cell, "2012-09-01"]]))
        assert fast.data is None, cell
    lost = read_cells(_workbook([header, ["G1", 110101201209010000.0, ""]]))
    assert lost.lost_digits[1].to_list() == [False, True]


def test_the_first_visible_sheet_is_read():
    fast = _check(_workbook([["全国学籍号", "姓名"], ["G1", "王一"]], hidden_first=True))
    assert fast.frame.rows() == [(1, "全国学籍号", "姓名"), (2, "G1", "王一")]


def test_a_header_row_with_numbers_is_read_cell_by_cell():
    fast = _check(_workbook([["全国学籍号", "姓名", 2024.0], ["G1", "王一", "x"]]))
    assert fast.data is not None
    exact = fast.exact(1)
    assert exact.data is None and match_header(1, dict(exact.head)[1], STUDENT_COLUMNS).ignored == ["2024.0"]


_typed = st.one_of(
    st.none(),
    st.text(alphabet="王李（）()　 ０１２３４５６７８９0123456789Xx-班年级ａＢ\u00a0", max_size=10),
    st.integers(min_value=-(10**14), max_value=10**14),
)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.lists(_typed, min_size=1, max_size=5), min_size=1, max_size=12))
def test_text_and_whole_numbers_read_through_fastexcel_agree(rows):
    fast = _check(_workbook([["全国学籍号", "姓名", "班级", "身份证号", "备注"], *rows]))
    assert fast.data is not None


def test_utf16_text_cut_short_is_unreadable() -> None:
    """A UTF-16 file with an odd number of bytes: its BOM alone once chose the encoding, and
    the decoding then failed as a server error wherever a CSV is read (score sheets, paper
    structures, births); now it is an unreadable file like any other."""
    whole = "全国学籍号,姓名\nG1,张三\n".encode("utf-16")
    assert [cells for _n, cells in read_table(whole).rows] == [["全国学籍号", "姓名"], ["G1", "张三"]]
    for read in (read_table, read_cells):
        with pytest.raises(UnreadableFile):
            read(whole[:-1])
