"""Helpers for the exchange tests: files written the way schools write them (openpyxl
workbooks with Chinese headers, CSV in GBK or UTF-8), and a way to run an import job
through the same path as the task worker."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

import openpyxl
from django.core.files.base import ContentFile

from jiaoyun.core.identity import make_id_number
from jiaoyun.core.models import Grade, School, SchoolClass, Student
from jiaoyun.exchange import services
from jiaoyun.exchange.models import ImportJob

STUDENT_HEADERS = [
    "学校代码", "学校名称", "年级", "班级", "全国学籍号", "姓名", "性别", "出生日期", "身份证号", "入学年份", "户籍",
    "监护人姓名", "与学生关系", "监护人电话",
]  # fmt: skip
# A region prefix the demo district does not use, so new ID numbers never collide with it.
REGION = "110101"


def xlsx(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, title_rows: Sequence[str] = ()) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for title in title_rows:
        sheet.append([title])
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def csv_bytes(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, encoding: str) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


def new_id(sequence: int, *, birth: dt.date = dt.date(2012, 9, 1), male: bool = True) -> str:
    return make_id_number(REGION, birth, sequence, male)


def student(school: School, **changes: Any) -> dict[str, Any]:
    """A valid new student of grade 7 class 1 of `school`, as the cells of a row."""
    sequence = changes.pop("seq", 1)
    male = changes.get("性别", "男") == "男"
    birth = dt.date(2012, 9, 1)
    row = {
        "学校代码": school.code, "学校名称": school.name, "年级": "七年级", "班级": "1",
        "全国学籍号": f"G{new_id(sequence, male=male)}", "姓名": "张小明", "性别": "男" if male else "女",
        "出生日期": birth.isoformat(), "身份证号": new_id(sequence, male=male), "入学年份": "", "户籍": "本地",
        "监护人姓名": "张大明", "与学生关系": "父亲", "监护人电话": f"1390000{sequence:04d}",
    }  # fmt: skip
    row.update(changes)
    return row


def rows_of(records: Sequence[dict[str, Any]], headers: Sequence[str] = STUDENT_HEADERS) -> list[list[Any]]:
    return [[record.get(h, "") for h in headers] for record in records]


def run_import(
    user: Any,
    data: bytes,
    *,
    kind: str = "students",
    school: School | None = None,
    name: str = "名单.xlsx",
    validate_only: bool = False,
) -> ImportJob:
    """Queue a job as the upload page does and run it as the worker does."""
    job = ImportJob.objects.create(
        kind=kind, created_by=user, school=school, file=ContentFile(data, name=name), file_name=name,
        validate_only=validate_only,
    )  # fmt: skip
    services.run_job(job.pk)
    job.refresh_from_db()
    return job


def problems(job: ImportJob) -> list[tuple[int | None, str, str]]:
    return [(i["row"], i["column"], i["code"]) for i in job.issues]


def grade_class(school: School, level: int, number: int) -> SchoolClass:
    return SchoolClass.objects.get(grade=Grade.objects.get(school=school, level=level), number=number)


def register_snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row an import can touch, to prove that a rejected or repeated import wrote nothing."""
    from jiaoyun.core.models import ClassEnrolment, Guardian, StudentGuardian, Teacher, TeacherPosting

    return {
        "students": list(Student.objects.order_by("pk").values_list()),
        "enrolments": list(ClassEnrolment.objects.order_by("pk").values_list()),
        "guardians": list(Guardian.objects.order_by("pk").values_list()),
        "links": list(StudentGuardian.objects.order_by("pk").values_list()),
        "teachers": list(Teacher.objects.order_by("pk").values_list()),
        "postings": list(TeacherPosting.objects.order_by("pk").values_list()),
        "classes": list(SchoolClass.objects.order_by("pk").values_list()),
        "grades": list(Grade.objects.order_by("pk").values_list()),
    }
