"""Sheet names: whatever title a user gave (a round, a catalogue, a subject), the workbook
is written (xlsxwriter refuses what Excel would)."""

from __future__ import annotations

import io

import openpyxl
import xlsxwriter
from hypothesis import given
from hypothesis import strategies as st

from jiaoyun.core.exports import sheet_name, xlsx_bytes


@given(st.lists(st.text(max_size=40), min_size=1, max_size=6))
def test_any_titles_make_distinct_sheet_names_excel_takes(titles: list[str]) -> None:
    used: set[str] = set()
    names = [sheet_name(title, used) for title in titles]
    book = xlsxwriter.Workbook(io.BytesIO(), {"in_memory": True})
    for name in names:
        book.add_worksheet(name)  # raises for a name Excel would refuse or a duplicate
    book.close()
    assert len({name.lower() for name in names}) == len(names)


def test_the_titles_that_once_failed() -> None:
    # A round named with apostrophes at either end; 20 characters beyond the BMP (40 units).
    for title, expected in (("'派位'", "派位"), ("𠀀" * 20, "𠀀" * 14), ("a/b:c", "abc"), ("", "Sheet")):
        content = xlsx_bytes(["x"], [["1"]], sheet=title)
        assert openpyxl.load_workbook(io.BytesIO(content)).sheetnames == [expected]
