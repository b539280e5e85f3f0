"""Reading score sheets as scanning systems export them: one row per student (student
number, name, school, class, optionally a status), one column per item. Objective items
come as scores or as the letters chosen (scored against the key; the letters are kept for
distractor analysis). A student marked absent, or with every item blank, is absent; a blank
item of a present student scores 0 and counts as "no answer".

Validation is vectorised with polars so a 100,000-row sheet is checked in about a second;
problems use the exchange's `Issue` (row and column as the user sees them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa
from django.utils.translation import gettext_lazy as _

from jiaoyun.exchange.messages import MESSAGES as EXCHANGE_MESSAGES
from jiaoyun.exchange.messages import Issue
from jiaoyun.exchange.reader import UnreadableFile, read_table

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


def score_letters(chosen: str, key: str, max_score: float, partial: float) -> float:
    """Exact match: full marks; a non-empty subset of a multi-letter key: `partial` of the
    marks (the new gaokao's rule for multiple choice); anything else: 0."""
    picked, right = set(chosen), set(key)
    if picked == right:
        return max_score
    if len(right) > 1 and picked and picked < right:
        return max_score * partial
    return 0.0


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
        table = read_table(data)
        raw = [(n, [_cell_text(c) for c in row]) for n, row in table.rows]
    except UnreadableFile:
        return ScoreSheet(None, None, [Issue(None, "", "", "unreadable")])
    raw = [(n, row) for n, row in raw if any(row)]
    if not raw:
        return ScoreSheet(None, None, [Issue(None, "", "", "empty")])
    header_row, header = raw[0]
    body = raw[1:]
    if not body:
        return ScoreSheet(None, None, [Issue(None, "", "", "empty")])

    def find(names: Sequence[str]) -> int | None:
        lowered = {n.lower() for n in names}
        for i, h in enumerate(header):
            if h.strip().lower() in lowered:
                return i
        return None

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

    width = len(header)
    rows = [row + [""] * (width - len(row)) for _, row in body]
    frame = pl.DataFrame(
        {
            "row": [n for n, _ in body],
            "student_no": [r[id_col] for r in rows],
            "name": [r[name_col] for r in rows] if name_col is not None else [""] * len(rows),
            "status": [r[status_col] for r in rows] if status_col is not None else [""] * len(rows),
            **{f"i{spec.item_id}": [r[item_cols[spec.item_id]] for r in rows] for spec in items},
        },
        schema_overrides={"row": pl.Int64},
    )

    def collect(mask_frame: pl.DataFrame, column: str, value_col: str, code: str, params: Any = None) -> None:
        for rec in mask_frame.select("row", value_col).iter_rows():
            p = params(rec) if callable(params) else (params or {})
            issues.append(Issue(rec[0], column, str(rec[1] or ""), code, p))

    id_header = header[id_col]
    collect(frame.filter(pl.col("student_no") == ""), id_header, "student_no", "required")
    firsts = (
        frame.filter(pl.col("student_no") != "")
        .group_by("student_no")
        .agg(pl.col("row").min().alias("first"))
    )
    dup = frame.join(firsts, on="student_no").filter(pl.col("row") != pl.col("first"))
    for rec in dup.select("row", "student_no", "first").iter_rows():
        issues.append(Issue(rec[0], id_header, rec[1], "duplicate_student", {"first": rec[2]}))

    joined = frame.join(
        roster.select(
            "student_no", "student_id", pl.col("name").alias("register_name"), "school_id", "class_id"
        ),
        on="student_no",
        how="left",
    )
    unknown = joined.filter((pl.col("student_no") != "") & pl.col("student_id").is_null())
    collect(unknown, id_header, "student_no", "unknown_student")
    if name_col is not None:
        wrong_name = joined.filter(
            pl.col("student_id").is_not_null()
            & (pl.col("name") != "")
            & (pl.col("name") != pl.col("register_name"))
        )
        for rec in wrong_name.select("row", "name", "register_name").iter_rows():
            issues.append(Issue(rec[0], header[name_col], rec[1], "name_mismatch", {"expected": rec[2]}))

    item_names = [f"i{spec.item_id}" for spec in items]
    joined = joined.with_columns(
        absent=pl.col("status").str.to_lowercase().is_in(list(ABSENT_VALUES))
        | pl.all_horizontal([pl.col(c) == "" for c in item_names])
    )
    present = joined.filter(~pl.col("absent"))

    score_columns = []
    for spec in items:
        col = f"i{spec.item_id}"
        head = header[item_cols[spec.item_id]]
        text = pl.col(col).str.to_uppercase().str.replace_all(r"[\s,，、]", "")
        number = pl.col(col).cast(pl.Float64, strict=False)
        present = present.with_columns(text.alias(f"{col}_t"), number.alias(f"{col}_n"))
        is_blank = pl.col(col) == ""
        is_number = pl.col(f"{col}_n").is_not_null()
        if spec.objective:
            allowed = LETTERS[: max(spec.option_count, len(spec.key), 1)]
            is_letters = pl.col(f"{col}_t").str.contains(f"^[{allowed}]+$")
            bad = present.filter(~is_blank & ~is_number & ~is_letters)
            collect(bad, head, col, "bad_option", {"options": allowed})
            # Vectorised score_letters: the chosen letters, deduplicated and sorted, against the key.
            chosen = pl.col(f"{col}_t").str.split("").list.unique().list.sort().list.join("")
            key = "".join(sorted(set(spec.key)))
            within_key = chosen.str.replace_all(f"[{key}]", "") == "" if key else pl.lit(False)
            letter_score = (
                pl.when(chosen == key).then(pl.lit(float(spec.max_score)))
                .when(pl.lit(len(key) > 1) & within_key & (chosen != "")).then(pl.lit(spec.max_score * partial_credit))
                .otherwise(pl.lit(0.0))
            )  # fmt: skip
            score = (
                pl.when(is_blank).then(0.0).when(is_number).then(pl.col(f"{col}_n"))
                .when(is_letters).then(letter_score).otherwise(None)
            )  # fmt: skip
            option = (
                pl.when(is_blank).then(pl.lit("")).when(is_letters)
                .then(chosen)
                .otherwise(None)
            )  # fmt: skip
        else:
            bad = present.filter(~is_blank & ~is_number)
            collect(bad, head, col, "not_a_score", {"max": _fmt(spec.max_score)})
            score = pl.when(is_blank).then(0.0).otherwise(pl.col(f"{col}_n"))
            option = pl.lit(None, dtype=pl.String)
        n = pl.col(f"{col}_n")
        out_of_range = present.filter(is_number & ((n < 0) | (n > spec.max_score)))
        collect(out_of_range, head, col, "score_out_of_range", {"max": _fmt(spec.max_score)})
        off_step = present.filter(is_number & (n >= 0) & (n <= spec.max_score) & ((n * 2).round(9) % 1 != 0))
        collect(off_step, head, col, "score_step")
        present = present.with_columns(score.alias(f"{col}_score"), option.alias(f"{col}_option"))
        score_columns.append(spec)

    if issues:
        issues.sort(key=lambda i: (i.row or 0, i.column))
        return ScoreSheet(None, None, issues)

    base = ["student_id", "school_id", "class_id"]
    long = pl.concat(
        [
            present.select(
                *base,
                pl.lit(spec.item_id, dtype=pl.Int64).alias("item_id"),
                pl.col(f"i{spec.item_id}_score").alias("score"),
                pl.col(f"i{spec.item_id}_option").alias("option"),
            )
            for spec in score_columns
        ]
    ).sort(["student_id", "item_id"])
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
