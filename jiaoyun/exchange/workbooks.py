"""Workbooks the exchange app hands out: the empty template of each import, the register
written back in the import format (edit and upload again), and a job's problems."""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import xlsxwriter
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from jiaoyun.core.exports import xlsx_bytes
from jiaoyun.core.identity import mask_id_number, mask_phone
from jiaoyun.core.models import GRADE_ALIASES, Student, StudentGuardian, Teacher
from jiaoyun.exchange import formats
from jiaoyun.exchange.formats import Column
from jiaoyun.exchange.messages import describe

SHEET_NAMES = {"students": "学生", "teachers": "教师", "classes": "班级"}
# The grade names written out: the first spreadsheet name of each level (七年级, not 初一).
GRADE_LABELS: dict[int, str] = {}
for _label, _level in GRADE_ALIASES.items():
    GRADE_LABELS.setdefault(_level, _label)
GENDER_LABELS = {"male": "男", "female": "女"}


def first_labels(choices: dict[str, str]) -> dict[str, str]:
    """Stored value -> the first (preferred) label of the synonym table."""
    labels: dict[str, str] = {}
    for label, value in choices.items():
        labels.setdefault(value, label)
    return labels


_HOUSEHOLD = first_labels(formats.HOUSEHOLDS)
_STUDENT_STATUS = first_labels(formats.STUDENT_STATUSES)
_RELATION = first_labels(formats.RELATIONS)
_TITLE = first_labels(formats.TITLES)
_QUALIFICATION = first_labels(formats.QUALIFICATIONS)
_TEACHER_STATUS = first_labels(formats.TEACHER_STATUSES)


def template_workbook(kind: str) -> bytes:
    """The empty sheet to fill in, and a second sheet explaining each column."""
    columns = formats.COLUMNS[kind]
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet(SHEET_NAMES[kind])
    required = book.add_format({"bold": True, "bg_color": "#FDE8E8", "border": 1})
    optional = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
    as_text = book.add_format({"num_format": "@"})
    for col, column in enumerate(columns):
        sheet.write_string(0, col, column.header, required if column.required else optional)
        # Text cells, so that Excel keeps the 18 digits of an ID number and leading zeros.
        sheet.set_column(col, col, max(12, len(column.header) * 2 + 4), as_text)
        if column.help:
            sheet.write_comment(0, col, str(column.help), {"x_scale": 2, "y_scale": 1.5})
        if column.choices:
            labels = list(first_labels(column.choices).values())
            sheet.data_validation(1, col, 20000, col, {"validate": "list", "source": labels,
                                                       "error_type": "warning"})  # fmt: skip
    sheet.freeze_panes(1, 0)
    notes = book.add_worksheet(_("Instructions"))
    bold = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    for col, (title, width) in enumerate(
        ((_("Column"), 16), (_("Required"), 8), (_("What to write"), 70), (_("Example"), 22),
         (_("Also accepted as the header"), 40))
    ):  # fmt: skip
        notes.write_string(0, col, title, bold)
        notes.set_column(col, col, width, wrap)
    for row, column in enumerate(columns, start=1):
        notes.write_string(row, 0, column.header)
        notes.write_string(row, 1, _("yes") if column.required else "")
        notes.write_string(row, 2, str(column.help))
        notes.write_string(row, 3, column.example)
        notes.write_string(row, 4, "、".join(column.synonyms))
    book.close()
    return buf.getvalue()


def rows_workbook(kind: str, rows: Iterable[list[Any]]) -> bytes:
    """Rows in the import format of `kind`, under the template's headers."""
    return xlsx_bytes([c.header for c in formats.COLUMNS[kind]], rows, sheet=SHEET_NAMES[kind])


def student_rows(students: QuerySet[Student]) -> Iterator[list[Any]]:
    """The register's students in the import format, up to two guardians each."""
    guardians: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    links = StudentGuardian.objects.filter(student__in=students.values("pk")).order_by("student_id", "pk")
    for student_id, name, relation, phone in links.values_list(
        "student_id", "guardian__name", "relation", "guardian__phone"
    ).iterator(chunk_size=5000):
        guardians[student_id].append((name, _RELATION.get(relation, ""), phone))
    fields = ("pk", "school__code", "school__name", "school_class__grade__level", "school_class__number",
              "student_no", "name", "gender", "birth_date", "id_number", "enrolment_year", "household",
              "status", "address")  # fmt: skip
    for (pk, code, school, level, number, student_no, name, gender, birth, id_number, year, household, status,
         address) in students.order_by("school__code", "school_class__grade__level", "school_class__number",
                                       "student_no").values_list(*fields).iterator(chunk_size=5000):  # fmt: skip
        row = [code, school, GRADE_LABELS.get(level, "") if level is not None else "", number or "", student_no,
               name, GENDER_LABELS[gender], birth.isoformat(), id_number or "", year, _HOUSEHOLD.get(household, ""),
               _STUDENT_STATUS.get(status, ""), address]  # fmt: skip
        for guardian in guardians.get(pk, [])[:2]:
            row.extend(guardian)
        yield row


def teacher_rows(teachers: QuerySet[Teacher]) -> Iterator[list[Any]]:
    fields = ("staff_no", "name", "gender", "birth_date", "id_number", "phone", "subject__name", "title",
              "qualification", "status", "school__code", "school__name", "joined_school_on", "started_teaching_year")  # fmt: skip
    for (staff_no, name, gender, birth, id_number, phone, subject, title, qualification, status, code, school,
         joined, started) in teachers.order_by("staff_no").values_list(*fields).iterator(chunk_size=5000):  # fmt: skip
        yield [staff_no, name, GENDER_LABELS[gender], birth.isoformat(), id_number or "", phone, subject or "",
               _TITLE.get(title, ""), _QUALIFICATION.get(qualification, ""), _TEACHER_STATUS.get(status, ""),
               code or "", school or "", joined.isoformat() if joined else "", started or ""]  # fmt: skip


def _personal_column(kind: str, header: str) -> Column | None:
    column = formats.header_index(formats.COLUMNS[kind]).get(formats.header_key(header))
    return column if column is not None and column.personal else None


def mask_value(column: Column, value: str) -> str:
    if "phone" in column.key:
        return mask_phone(value)
    if column.key == "id_number":
        return mask_id_number(value)
    return value[:6] + "…" if len(value) > 6 else value


def issue_table(kind: str, issues: Iterable[dict[str, Any]], *, unmask: bool) -> Iterator[dict[str, Any]]:
    """A job's problems as rows to show: personal values masked unless `unmask`."""
    personal: dict[str, Column | None] = {}
    for issue in issues:
        value = str(issue.get("value") or "")
        column = issue.get("column") or ""
        if value and not unmask:
            if column not in personal:
                personal[column] = _personal_column(kind, column)
            found = personal[column]
            if found is not None:
                value = mask_value(found, value)
        yield {"row": issue.get("row"), "column": column, "value": value,
               "message": describe(issue.get("code", ""), issue.get("params"))}  # fmt: skip


def issues_workbook(kind: str, issues: Iterable[dict[str, Any]], *, unmask: bool) -> bytes:
    headers = [_("Row"), _("Column"), _("Value"), _("What is wrong")]
    rows = (
        [i["row"] or "", i["column"], i["value"], i["message"]]
        for i in issue_table(kind, issues, unmask=unmask)
    )
    return xlsx_bytes(headers, rows, sheet=_("Problems"))
