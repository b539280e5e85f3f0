"""The column-wise checks of the student import stage exactly the rows `clean_row` would
stage, with the same values, and leave every other row to it: the same file checked row by
row gives the same rows and the same problems."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import polars as pl
import pytest
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from jiaoyun.core.models import Student
from jiaoyun.exchange.importers import Context, Outcome, StudentImporter
from jiaoyun.exchange.reader import read_table
from jiaoyun.exchange.tests.helpers import STUDENT_HEADERS, new_id, rows_of, student, xlsx

pytestmark = pytest.mark.django_db

HEADERS = [*STUDENT_HEADERS, "学籍状态", "家庭住址", "监护人2姓名", "监护人2关系", "监护人2电话"]


class RowByRow(StudentImporter):
    def clean_columns(self, texts: pl.DataFrame) -> Sequence[int]:
        return range(texts.height)


class Recording(StudentImporter):
    def clean_columns(self, texts: pl.DataFrame) -> Sequence[int]:
        numbers = texts["row"].to_list()
        self.left_to_rows = [numbers[i] for i in super().clean_columns(texts)]
        return [numbers.index(n) for n in self.left_to_rows]


def _check(importer_class: type[StudentImporter], data: bytes) -> tuple[Outcome, StudentImporter]:
    importer = importer_class(Context(today=timezone.localdate(), allowed_school_ids=None))
    return importer.run(read_table(data)), importer


def test_column_checks_agree_with_row_checks(demo):
    a, b = demo.school_a, demo.school_b
    taken = Student.objects.filter(school=a).exclude(id_number=None).order_by("pk").first()
    assert taken is not None
    records = [
        student(a, seq=1),
        student(a, seq=2, 性别="", 出生日期=""),  # both from the ID number
        student(a, seq=3, 身份证号="", 出生日期="2012/9/1"),
        student(a, seq=4, 全国学籍号=f"g{new_id(4)}", 身份证号=new_id(4).lower()),
        student(
            a, seq=5, 学校代码="", 年级="初一", 班级="(2)班", 入学年份="2023级", 户籍="外地", 学籍状态="休学"
        ),
        student(a, seq=6, 学校名称="", 班级="一班", 监护人电话="+86 139 0000 0006", 与学生关系=""),
        student(
            a,
            seq=7,
            监护人电话="020-83001234",
            监护人2姓名="李四",
            监护人2关系="母",
            监护人2电话="13800000007",
        ),
        student(a, seq=8, 监护人2姓名="李四", 监护人2电话="13900000008"),  # the same phone twice
        student(a, seq=9, 监护人2姓名="李四"),  # a name without a phone
        student(a, seq=10, 监护人姓名="", 监护人电话="", 与学生关系="火星"),
        student(a, seq=11, 姓名="王" * 51),
        student(a, seq=12, 家庭住址="路" * 201),
        student(a, seq=13, 全国学籍号="G-1"),
        student(a, seq=14, 全国学籍号=f"G{new_id(1)}"),  # row 2's number
        student(a, seq=15, 身份证号=new_id(1)),  # row 2's ID number
        student(a, seq=16, 身份证号=taken.id_number, 出生日期="", 性别=""),
        student(a, seq=17, 出生日期="1990-01-01"),
        student(a, seq=18, 出生日期="2012-09-02"),
        student(a, seq=19, 性别="女"),
        student(a, seq=20, 身份证号=float(new_id(20)[:17] + "0")),  # a number cell that lost digits
        student(
            a, seq=21, 出生日期=dt.date(2012, 9, 1), 入学年份=2023.0, 班级=2.0
        ),  # cells as Excel stores them
        student(a, seq=22, 全国学籍号=f"Ｇ{new_id(22)}", 姓名=" 全角 "),  # full-width letter, spaces
        student(a, seq=23, 学校名称=b.name),  # code of A, name of B
        student(a, seq=24, 年级="2011级"),
        student(a, seq=25, 监护人电话="12345"),
        student(a, seq=26, 入学年份="1980"),
        student(a, seq=27, 全国学籍号=""),
        student(a, seq=28, 监护人电话="13900000001", 监护人姓名="王五"),  # row 2's guardian, another name
        student(b, seq=29, 年级="高一"),
        student(
            a, seq=30, 全国学籍号=f"G{new_id(13)}"
        ),  # the number row 14 refused as malformed is not taken
    ]
    data = xlsx(HEADERS, rows_of(records, HEADERS))
    fast, fast_importer = _check(Recording, data)
    slow, slow_importer = _check(RowByRow, data)
    assert [i.as_dict() for i in fast.issues] == [i.as_dict() for i in slow.issues]
    assert len(fast.issues) > 15
    assert fast_importer.staged_rows() == slow_importer.staged_rows()
    # Both ways were taken: the good rows from the columns, the others row by row.
    staged = {r.row for r in fast_importer.staged_rows()}
    assert isinstance(fast_importer, Recording) and staged - set(fast_importer.left_to_rows)
    assert set(fast_importer.left_to_rows) - staged
    good = [row for row in records if row["身份证号"] not in (new_id(1), taken.id_number)][:7]
    fast, fast_importer = _check(StudentImporter, xlsx(HEADERS, rows_of(good, HEADERS)))
    slow, slow_importer = _check(RowByRow, xlsx(HEADERS, rows_of(good, HEADERS)))
    assert (fast.issues, fast.counts) == (slow.issues, slow.counts)
    assert fast_importer.staged_rows() == slow_importer.staged_rows()


# A row's own national student number or ID number (made from its position in the file).
_OWN = "own"


def _pools(a: Any, b: Any, taken: str) -> dict[str, list[Any]]:
    """Values of each column that rows are drawn from, a good one first."""
    ids = [new_id(n) for n in range(1, 5)] + [new_id(5, male=False)]
    phones = ["13900000001", "13900000002", "", "12345", "+86 139 0000 0003", "020-83001234", "1390000000１"]
    return {
        "学校代码": [a.code, a.code, b.code, "", "9999999999"],
        "学校名称": [a.name, "", b.name, "某某中学"],
        "年级": ["七年级", "初一", "7", "七年级", "九年级半", "", "2011级", "高一", 7.0],
        "班级": ["1", "(2)班", "一班", 2.0, "9班", "甲班", "", "１"],
        "全国学籍号": [_OWN, *(f"G{i}" for i in ids), "", "G-1", f"ｇ{ids[0]}", f"g{ids[1]}", "Gı1", "G" * 21],
        "姓名": ["张小明", "", "王" * 51, " 全角 ", "李（三）"],
        "性别": ["男", "女", "", "未知", "1", "女性"],
        "出生日期": ["2012-09-01", "2012/9/1", "", "九月一日", "2012-02-30", "1990-01-01", "2012-09-02",
                  dt.date(2012, 9, 1), 41153.0],
        "身份证号": [_OWN, *ids, "", ids[0][:17] + ("0" if ids[0][-1] != "0" else "1"), float(ids[1][:15] + "000"),
                  ids[2].lower(), ids[3][:9] + " " + ids[3][9:], taken, "１" + ids[0][1:], "11010120121345001X"],
        "入学年份": ["", "2023", 2023.0, "去年", "1980", "2023级"],
        "户籍": ["本地", "外地", "", "火星"],
        "学籍状态": ["在读", "", "休学", "没了"],
        "家庭住址": ["", "路" * 201, "中山路1号"],
        "监护人姓名": ["张大明", "", "王五"],
        "与学生关系": ["父亲", "", "火星", "母"],
        "监护人电话": phones,
        "监护人2姓名": ["李四", "", "张大明"],
        "监护人2关系": ["母亲", "", "其他"],
        "监护人2电话": [phones[1], *phones],
    }  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_column_checks_agree_with_row_checks_on_random_rows(demo, data):
    taken = Student.objects.filter(school=demo.school_a).exclude(id_number=None).order_by("pk").first()
    assert taken is not None and taken.id_number is not None
    pools = _pools(demo.school_a, demo.school_b, taken.id_number)
    # Mostly the first (good) value, so that some rows pass and are staged.
    record = st.fixed_dictionaries(
        {header: st.sampled_from([values[0]] * 8 + values) for header, values in pools.items()}
    )
    records = data.draw(st.lists(record, min_size=1, max_size=12))
    for seq, drawn in enumerate(records, start=10):
        if drawn["身份证号"] == _OWN:
            drawn["身份证号"] = new_id(seq)
        if drawn["全国学籍号"] == _OWN:
            drawn["全国学籍号"] = f"G{new_id(seq)}"
    workbook = xlsx(HEADERS, rows_of(records, HEADERS))
    fast, fast_importer = _check(StudentImporter, workbook)
    slow, slow_importer = _check(RowByRow, workbook)
    assert [i.as_dict() for i in fast.issues] == [i.as_dict() for i in slow.issues]
    assert fast.counts == slow.counts
    if not fast.issues:
        assert fast_importer.staged_rows() == slow_importer.staged_rows()
        event("no problems")
