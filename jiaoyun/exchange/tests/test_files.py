"""Files as schools send them: CSV in GBK or UTF-8 (with or without a BOM), tab-separated
UTF-16, workbooks written by openpyxl; each imported end to end."""

from __future__ import annotations

import codecs

import pytest

from jiaoyun.core.models import Student
from jiaoyun.exchange.models import ImportJob
from jiaoyun.exchange.reader import detect_encoding, read_table
from jiaoyun.exchange.tests.helpers import (
    STUDENT_HEADERS,
    csv_bytes,
    new_id,
    rows_of,
    run_import,
    student,
    xlsx,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("encoding", "bom", "detected"),
    [("gbk", b"", "gb18030"), ("gb18030", b"", "gb18030"), ("utf-8", b"", "utf-8"),
     ("utf-8", codecs.BOM_UTF8, "utf-8")],
)  # fmt: skip
def test_csv_in_each_encoding_imports_the_same(demo, encoding, bom, detected):
    a = demo.school_a
    records = [student(a, seq=1, 姓名="欧阳娜娜", 家庭住址="越秀区中山路"), student(a, seq=2, 姓名="司马懿")]
    data = bom + csv_bytes(STUDENT_HEADERS, rows_of(records), encoding=encoding)
    job = run_import(demo.user("school_admin"), data, school=a, name="名单.csv")
    assert (job.status, job.encoding, job.counts["created"]) == (ImportJob.Status.DONE, detected, 2)
    assert sorted(Student.objects.filter(student_no__in=[f"G{new_id(1)}", f"G{new_id(2)}"]).values_list(
        "name", flat=True)) == ["司马懿", "欧阳娜娜"]  # fmt: skip


def test_csv_problems_point_at_the_rows_of_the_file(demo):
    a = demo.school_a
    records = [student(a, seq=1), student(a, seq=2, 性别="男的")]
    job = run_import(demo.user("school_admin"), csv_bytes(STUDENT_HEADERS, rows_of(records), encoding="gbk"),
                     school=a, name="名单.csv")  # fmt: skip
    assert [(i["row"], i["column"], i["code"], i["value"]) for i in job.issues] == [
        (3, "性别", "bad_choice", "男的")
    ]


def test_tab_separated_utf16_and_semicolons():
    text = "全国学籍号\t姓名\r\nG1\t王一\r\n"
    table = read_table(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    assert (table.encoding, list(table.rows)) == (
        "utf-16",
        [(1, ["全国学籍号", "姓名"]), (2, ["G1", "王一"])],
    )
    table = read_table("全国学籍号;姓名\nG1;王一\n".encode())
    assert list(table.rows) == [(1, ["全国学籍号", "姓名"]), (2, ["G1", "王一"])]


def test_encoding_detection():
    assert detect_encoding("姓名".encode("gbk")) == "gb18030"
    assert detect_encoding("姓名".encode()) == "utf-8"
    assert detect_encoding(codecs.BOM_UTF8 + "姓名".encode()) == "utf-8-sig"


def test_workbook_rows_keep_their_spreadsheet_numbers():
    data = xlsx(["全国学籍号", "姓名"], [["G1", "王一"], [None, None], ["G2", "王二"]], title_rows=["名单"])
    assert list(read_table(data).rows) == [
        (1, ["名单", ""]), (2, ["全国学籍号", "姓名"]), (3, ["G1", "王一"]), (4, ["", ""]), (5, ["G2", "王二"]),
    ]  # fmt: skip
