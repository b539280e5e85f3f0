"""A school administrator imports a spreadsheet in the browser: one bad row is reported by
row and column and nothing is written; the corrected file goes in."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import openpyxl
import pytest

from jiaoyun.core.identity import make_id_number
from jiaoyun.core.models import SchoolClass, Student
from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser

HEADERS = [
    "全国学籍号",
    "姓名",
    "性别",
    "出生日期",
    "身份证号",
    "年级",
    "班级",
    "监护人姓名",
    "与学生关系",
    "监护人电话",
]
# A region prefix the demo district does not use, so the new ID numbers are new.
REGION = "110101"


def workbook(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def new_students(*, break_second: bool) -> list[list[Any]]:
    rows = []
    for seq, (name, male) in enumerate([("林小雨", False), ("陈子轩", True)], start=1):
        birth = dt.date(2013, 3, seq)
        id_number = make_id_number(REGION, birth, seq, male)
        if break_second and seq == 2:
            # A mistyped last digit: the check character no longer matches.
            id_number = id_number[:17] + ("0" if id_number[17] != "0" else "1")
        rows.append([f"G{id_number}", name, "男" if male else "女", birth.isoformat(), id_number,
                     "七年级", "1", f"{name[0]}先生", "父亲", f"1391234{seq:04d}"])  # fmt: skip
    return rows


def upload(page: Any, content: bytes) -> None:
    page.select_option("select[name=kind]", "students")
    page.set_input_files(
        "input[type=file]",
        files=[
            {
                "name": "新生名单.xlsx",
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "buffer": content,
            }
        ],
    )
    page.click("form button[type=submit].primary")
    page.wait_for_url(re.compile(r"/exchange/imports/\d+/$"))


def test_import_reports_a_bad_row_then_takes_the_corrected_file(page, demo):
    school = demo.school_a
    grade7_class1 = SchoolClass.objects.get(school=school, grade__level=7, number=1)
    before = Student.objects.filter(school_class=grade7_class1).count()
    log_in(page, "school_admin")
    page.goto(page.base_url + f"/register/schools/{school.pk}/")
    page.click("a:has-text('导入表格')")
    page.click("a.button.primary[href*='/exchange/imports/new/']")
    assert page.locator("select[name=school]").input_value() == str(school.pk)

    upload(page, workbook(new_students(break_second=True)))
    issues = page.locator("table.issues tbody tr")
    issues.first.wait_for()
    assert issues.count() == 1
    row, column, _value, message = issues.first.locator("td").all_inner_texts()
    assert (row, column) == ("3", "身份证号")
    assert "校验" in message
    screenshot(page, "import-problem")
    assert Student.objects.filter(school_class=grade7_class1).count() == before

    page.click("a.button[href*='/exchange/imports/new/']")
    screenshot(page, "import-form")
    upload(page, workbook(new_students(break_second=False)))
    page.locator("#job-status .badge.good").wait_for()
    assert page.locator("table.issues").count() == 0
    screenshot(page, "import-done")
    assert Student.objects.filter(school_class=grade7_class1).count() == before + 2
    assert set(Student.objects.filter(name__in=["林小雨", "陈子轩"]).values_list("school_id", flat=True)) == {
        school.pk
    }
