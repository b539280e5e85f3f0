"""Reading score sheets as scanning systems export them: one row per student (student
number, name, school, class, optionally a status), one column per item. Objective items
come as scores or as the letters chosen (scored against the key; the letters are kept for
distractor analysis). A student marked absent, or with every item blank, is absent; a blank
item of a present student scores 0 and counts as "no answer".

Validation is vectorised with polars so a 100,000-row sheet is checked in about a second;
problems use the exchange's `Issue` (row and column as the user sees them).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import fastexcel
import polars as pl
import pyarrow as pa
from django.utils.translation import gettext_lazy as _

from jiaoyun.exchange.messages import MESSAGES as EXCHANGE_MESSAGES
from jiaoyun.exchange.messages import Issue
from jiaoyun.exchange.reader import UnreadableFile, detect_encoding, read_table

MESSAGES = {
    **EXCHANGE_MESSAGES,
    "missing_item_column": _("The column for item %(item)s is missing."),
    "unknown_student": _("No student with this number in the register."),
    "outside_exam": _("This student is not in a school or grade that sits this exam."),
    "name_mismatch": _("The register gives this student's name as %(expected)s."),
    "duplicate_student": _("This student already appears in row %(first)s."),
    "not_a_score": _("Not a score: write a number from 0 to %(max)s."),
    "score_out_of_range": _("The score must lie between 0 and %(max)s."),
    "score_step": _("Scores go in steps of 0.5."),
    "bad_option": _("Not an answer to this item: write letters among %(options)s."),
}

ID_HEADERS = ("全国学籍号", "学籍号", "学号", "student_no", "student number")
NAME_HEADERS = ("姓名", "学生姓名", "name")
STATUS_HEADERS = ("状态", "考试状态", "缺考", "status")
ABSENT_VALUES = {"缺考", "缺席", "缺", "absent", "1", "是"}
LETTERS = "ABCDEFGH"
# Zip (xlsx, ods) and OLE2 (xls) signatures: anything else is read as CSV text.
WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


@dataclass(frozen=True)
class ItemSpec:
    item_id: int
    number: str
    max_score: float
    objective: bool
    key: str = ""
    option_count: int = 4


@dataclass
class ScoreSheet:
    scores: pa.Table | None  # long format: student_id, school_id, class_id, item_id, score, option
    sittings: pa.Table | None  # student_id, school_id, class_id, absent
    issues: list[Issue] = field(default_factory=list)
    present: int = 0
    absent: int = 0


def normalize_item_header(text: str) -> str:
    """'第13题', '13题', 'Q13', 'T13', ' 13 ' all name item 13; '13(2)' and '13（2）' agree."""
    t = str(text).strip().upper().replace("（", "(").replace("）", ")").replace(" ", "")
    t = re.sub(r"^(第|Q|T|题)", "", t)
    t = re.sub(r"(题|分)$", "", t)
    return t


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


@dataclass(frozen=True)
class CellOutcome:
    score: float | None
    option: str | None  # the letters chosen ("" for no answer); None when not known
    problem: str | None = None


def allowed_letters(spec: ItemSpec) -> str:
    return LETTERS[: max(spec.option_count, len(spec.key), 1)]


def score_cell(value: str, spec: ItemSpec, partial: float) -> CellOutcome:
    """One cell of a present student: blank is 0 and "no answer"; a number is a score (in
    0..max, half marks); letters in an objective item are scored against the key."""
    if value == "":
        return CellOutcome(0.0, "" if spec.objective else None)
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is not None and number == number:  # NaN is not a score
        if not 0 <= number <= spec.max_score:
            return CellOutcome(None, None, "score_out_of_range")
        if (number * 2) % 1:
            return CellOutcome(None, None, "score_step")
        return CellOutcome(number, None)
    if not spec.objective:
        return CellOutcome(None, None, "not_a_score")
    letters = re.sub(r"[\s,，、]", "", value.upper())
    allowed = allowed_letters(spec)
    if not letters or any(ch not in allowed for ch in letters):
        return CellOutcome(None, None, "bad_option")
    chosen = "".join(sorted(set(letters)))
    return CellOutcome(float(score_letters(chosen, spec.key, spec.max_score, partial)), chosen)


def score_letters(chosen: str, key: str, max_score: float, partial: float) -> float:
    """Exact match: full marks; a non-empty subset of a multi-letter key: `partial` of the
    marks (the new gaokao's rule for multiple choice); anything else: 0."""
    picked, right = set(chosen), set(key)
    if picked == right:
        return max_score
    if len(right) > 1 and picked and picked < right:
        return max_score * partial
    return 0.0


def _cells(data: bytes) -> pl.DataFrame:
    """Every cell as trimmed text ("" when empty), columns c0..cN, plus `row`: the row number
    the user sees in the spreadsheet. Workbooks are read by fastexcel straight into Arrow,
    CSV by polars: a 100,000 x 44 sheet never becomes Python objects cell by cell."""
    if data.startswith(WORKBOOK_MAGIC):
        try:
            sheet = fastexcel.read_excel(data).load_sheet(0, header_row=None, dtypes="string")
            frame = pl.from_arrow(sheet.to_arrow())
        except Exception as exc:  # fastexcel raises its own errors for damaged files
            raise UnreadableFile(str(exc)) from exc
    else:
        text = data.decode(detect_encoding(data))
        if "\n\n" in text.replace("\r\n", "\n").strip("\n"):
            # polars skips blank lines, which would shift the row numbers users are told.
            rows = [[_cell_text(c) for c in row] for _, row in read_table(data).rows]
            width = max((len(r) for r in rows), default=0)
            frame = pl.DataFrame(
                [r + [""] * (width - len(r)) for r in rows],
                schema=[f"c{i}" for i in range(width)],
                orient="row",
            )
        else:
            first_line = text.split("\n", 1)[0]
            separator = max((",", "\t", ";"), key=first_line.count)
            try:
                frame = pl.read_csv(
                    io.BytesIO(text.encode()), has_header=False, infer_schema=False,
                    separator=separator, truncate_ragged_lines=True,
                )  # fmt: skip
            except pl.exceptions.PolarsError as exc:
                raise UnreadableFile(str(exc)) from exc
    assert isinstance(frame, pl.DataFrame)
    frame = frame.rename({c: f"c{i}" for i, c in enumerate(frame.columns)})
    return frame.with_columns(pl.all().cast(pl.String).fill_null("").str.strip_chars()).with_row_index(
        "row", offset=1
    )


def read_score_sheet(
    data: bytes,
    *,
    items: Sequence[ItemSpec],
    roster: pl.DataFrame,
    partial_credit: float = 0.5,
) -> ScoreSheet:
    """`roster`: the students who may sit the paper, with columns student_no, student_id,
    name, school_id, class_id (class_id may be null)."""
    try:
        cells = _cells(data)
    except UnreadableFile:
        return ScoreSheet(None, None, [Issue(None, "", "", "unreadable")])
    data_columns = [c for c in cells.columns if c != "row"]
    cells = (
        cells.filter(pl.any_horizontal([pl.col(c) != "" for c in data_columns])) if data_columns else cells
    )
    if cells.height < 2:
        return ScoreSheet(None, None, [Issue(None, "", "", "empty")])
    header_row = int(cells["row"][0])
    header = [cells[c][0] for c in data_columns]
    body = cells.slice(1)

    def find(names: Sequence[str]) -> int | None:
        lowered = {n.lower() for n in names}
        return next((i for i, h in enumerate(header) if h.lower() in lowered), None)

    issues: list[Issue] = []
    id_col, name_col, status_col = find(ID_HEADERS), find(NAME_HEADERS), find(STATUS_HEADERS)
    if id_col is None:
        issues.append(Issue(header_row, "", "", "missing_column", {"column": ID_HEADERS[0]}))
    item_cols: dict[int, int] = {}
    by_number = {normalize_item_header(h): i for i, h in enumerate(header) if h}
    for spec in items:
        position = by_number.get(normalize_item_header(spec.number))
        if position is None:
            issues.append(Issue(header_row, "", "", "missing_item_column", {"item": spec.number}))
        else:
            item_cols[spec.item_id] = position
    if issues:
        return ScoreSheet(None, None, issues)
    assert id_col is not None

    def cell(position: int | None) -> pl.Expr:
        return pl.col(f"c{position}") if position is not None else pl.lit("")

    frame = body.select(
        pl.col("row").cast(pl.Int64),
        cell(id_col).alias("student_no"),
        cell(name_col).alias("name"),
        cell(status_col).alias("status"),
        *[cell(item_cols[spec.item_id]).alias(f"i{spec.item_id}") for spec in items],
    )
    id_header = header[id_col]

    def report(found: pl.DataFrame, column: str, code: str, params: dict[str, Any] | None = None) -> None:
        for row, value in found.iter_rows():
            issues.append(Issue(row, column, str(value or ""), code, dict(params or {})))

    report(frame.filter(pl.col("student_no") == "").select("row", "student_no"), id_header, "required")
    firsts = (
        frame.filter(pl.col("student_no") != "")
        .group_by("student_no")
        .agg(pl.col("row").min().alias("first"))
    )
    dup = frame.join(firsts, on="student_no").filter(pl.col("row") != pl.col("first"))
    for row, no, first in dup.select("row", "student_no", "first").iter_rows():
        issues.append(Issue(row, id_header, no, "duplicate_student", {"first": first}))

    joined = frame.join(
        roster.select(
            "student_no", "student_id", pl.col("name").alias("register_name"), "school_id", "class_id"
        ),
        on="student_no",
        how="left",
    )
    unknown = joined.filter((pl.col("student_no") != "") & pl.col("student_id").is_null())
    report(unknown.select("row", "student_no"), id_header, "unknown_student")
    if name_col is not None:
        wrong_name = joined.filter(
            pl.col("student_id").is_not_null()
            & (pl.col("name") != "")
            & (pl.col("name") != pl.col("register_name"))
        )
        for row, name, expected in wrong_name.select("row", "name", "register_name").iter_rows():
            issues.append(Issue(row, header[name_col], name, "name_mismatch", {"expected": expected}))

    item_names = [f"i{spec.item_id}" for spec in items]
    joined = joined.with_columns(
        absent=pl.col("status").str.to_lowercase().is_in(list(ABSENT_VALUES))
        | pl.all_horizontal([pl.col(c) == "" for c in item_names])
    )
    present = joined.filter(~pl.col("absent"))

    # A column holds few distinct answers (A, B, AC, 0..10 in half marks...): each distinct
    # value is scored and checked once in Python, then mapped onto 100,000 rows natively.
    mapped: list[pl.Expr] = []
    for spec in items:
        col = f"i{spec.item_id}"
        head = header[item_cols[spec.item_id]]
        outcomes = {
            value: score_cell(value, spec, partial_credit) for value in present[col].unique().to_list()
        }
        for code in sorted({o.problem for o in outcomes.values() if o.problem}):
            wrong = [v for v, o in outcomes.items() if o.problem == code]
            params = {"options": allowed_letters(spec)} if code == "bad_option" else {}
            if code in ("not_a_score", "score_out_of_range"):
                params = {"max": _fmt(spec.max_score)}
            report(present.filter(pl.col(col).is_in(wrong)).select("row", col), head, code, params)
        mapped += [
            pl.col(col).replace_strict({v: o.score for v, o in outcomes.items()}, return_dtype=pl.Float64)
            .alias(f"{col}_score"),
            pl.col(col).replace_strict({v: o.option for v, o in outcomes.items()}, return_dtype=pl.String)
            .alias(f"{col}_option"),
        ]  # fmt: skip

    if issues:
        issues.sort(key=lambda i: (i.row or 0, i.column))
        return ScoreSheet(None, None, issues)

    present = present.with_columns(mapped)
    base = ["student_id", "school_id", "class_id"]
    long = pl.concat(
        [
            present.select(
                *base,
                pl.lit(spec.item_id, dtype=pl.Int64).alias("item_id"),
                pl.col(f"i{spec.item_id}_score").alias("score"),
                pl.col(f"i{spec.item_id}_option").alias("option"),
            )
            for spec in items
        ]
    )
    sittings = joined.select(*base, "absent").sort("student_id")
    n_absent = int(sittings["absent"].sum())
    return ScoreSheet(
        scores=long.to_arrow(),
        sittings=sittings.to_arrow(),
        present=sittings.height - n_absent,
        absent=n_absent,
    )


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)
