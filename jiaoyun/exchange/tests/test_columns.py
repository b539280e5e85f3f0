"""The column-wise checks of the student import stage exactly the rows `clean_row` would
stage, with the same values, and leave every other row to it: the same file checked row by
row gives the same rows and the same problems."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pytest
from django.utils import timezone

from jiaoyun.core.models import Student
from jiaoyun.exchange.importers import Context, Outcome, StudentImporter
from jiaoyun.exchange.reader import read_table
from jiaoyun.exchange.tests.helpers import STUDENT_HEADERS, new_id, rows_of, student, xlsx

pytestmark = pytest.mark.django_db

HEADERS = [*STUDENT_HEADERS, "学籍状态", "家庭住址", "监护人2姓名", "监护人2关系", "监护人2电话"]


class RowByRow(StudentImporter):
    def clean_columns(
        self, numbers: list[int], texts: dict[str, list[str]], raws: dict[str, list[Any]]
    ) -> Sequence[int]:
        return range(len(numbers))


class Recording(StudentImporter):
    def clean_columns(
        self, numbers: list[int], texts: dict[str, list[str]], raws: dict[str, list[Any]]
    ) -> Sequence[int]:
        self.left_to_rows = [numbers[i] for i in super().clean_columns(numbers, texts, raws)]
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
    assert fast_importer.rows == slow_importer.rows
    # Both ways were taken: the good rows from the columns, the others row by row.
    staged = {r.row for r in fast_importer.rows}
    assert isinstance(fast_importer, Recording) and staged - set(fast_importer.left_to_rows)
    assert set(fast_importer.left_to_rows) - staged
    good = [row for row in records if row["身份证号"] not in (new_id(1), taken.id_number)][:7]
    fast, fast_importer = _check(StudentImporter, xlsx(HEADERS, rows_of(good, HEADERS)))
    slow, slow_importer = _check(RowByRow, xlsx(HEADERS, rows_of(good, HEADERS)))
    assert (fast.issues, fast.counts) == (slow.issues, slow.counts)
    assert fast_importer.rows == slow_importer.rows
