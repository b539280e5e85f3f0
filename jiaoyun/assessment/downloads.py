"""A report as an xlsx workbook (a sheet per section) and as a printable A4 PDF (WeasyPrint,
tables only). Both render the same `Report` the page shows."""

from __future__ import annotations

import io

import xlsxwriter
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from jiaoyun.assessment.reports import Report
from jiaoyun.core.exports import sheet_name

NUMBER_FORMATS = {"int": "0", "num": "0.0", "num2": "0.00", "num3": "0.000", "pct": "0.0%", "spct": "+0.0%;-0.0%;0.0%",
                  "signed": "+0.00;-0.00;0.00"}  # fmt: skip


def report_xlsx(report: Report) -> bytes:
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    bold = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
    formats = {k: book.add_format({"num_format": v}) for k, v in NUMBER_FORMATS.items()}
    used: set[str] = set()
    info = book.add_worksheet(sheet_name(_("Overview"), used))
    info.write_string(0, 0, report.title, book.add_format({"bold": True, "font_size": 14}))
    info.write_string(1, 0, f"{report.exam.name} · {report.exam.held_on:%Y-%m-%d}")
    for r, (label, value) in enumerate(report.facts, start=3):
        info.write_string(r, 0, str(label))
        info.write_string(r, 1, str(value))
    info.set_column(0, 1, 28)
    for section in report.sections:
        ws = book.add_worksheet(sheet_name(section.title, used))
        for c, col in enumerate(section.columns):
            ws.write_string(0, c, str(col.label), bold)
            ws.set_column(c, c, max(10, min(40, len(str(col.label)) * 2 + 2)))
        for r, row in enumerate(section.rows, start=1):
            for c, (value, col) in enumerate(zip(row, section.columns, strict=True)):
                if value is None:
                    continue
                if col.fmt != "text" and isinstance(value, int | float) and not isinstance(value, bool):
                    if value == value and value not in (float("inf"), float("-inf")):
                        ws.write_number(r, c, value, formats.get(col.fmt))
                else:
                    # Strings stay strings: student numbers must not become numbers.
                    ws.write_string(r, c, str(value))
        if section.note:
            ws.write_string(len(section.rows) + 2, 0, section.note)
        ws.freeze_panes(1, 0)
    book.close()
    return buf.getvalue()


def report_pdf(report: Report) -> bytes:
    from weasyprint import HTML

    html = render_to_string("assessment/report_print.html", {"report": report})
    return HTML(string=html).write_pdf()  # type: ignore[no-any-return]
