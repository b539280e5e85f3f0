"""Importing the register from spreadsheets: parse → validate → stage → apply.

An importer reads every row, checks each value on its own (`clean_row`), then the rows
against each other and against the register (`stage`), and only when nothing at all is
wrong writes the staged changes in one transaction (`apply`). Lookups are loaded once per
table into dicts and writes are batched, so the cost per row is Python, not queries.

Rows are matched by their natural key (national student number, staff number; a class by
school, grade and number): a row that matches is updated only where it differs, so
importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar, cast

import polars as pl
from django.db import IntegrityError, connections, router
from django.db.models import DateField, DateTimeField, Field, Model

from jiaoyun.core.identity import birth_date_of, gender_of, id_number_problem
from jiaoyun.core.models import (
    GRADE_ALIASES,
    Campus,
    ClassEnrolment,
    Grade,
    Guardian,
    School,
    SchoolClass,
    Student,
    StudentGuardian,
    Subject,
    Teacher,
    TeacherPosting,
)
from jiaoyun.exchange import formats
from jiaoyun.exchange.formats import Column, HeaderMatch
from jiaoyun.exchange.messages import Issue
from jiaoyun.exchange.reader import HEAD_ROWS, Cells, Table, cells_of_table, column_name
from jiaoyun.exchange.values import (
    BadValue,
    key_text,
    parse_choice,
    parse_class_number,
    parse_date,
    parse_phone,
    parse_year,
    text,
)

# Keys per IN (...) query of an ORM filter: under SQLite's limit on bound parameters.
LOOKUP_CHUNK = 5000
WRITE_BATCH = 2000
INSERT_BATCH = 5000
# A file this long is a mistake (a whole province's register) rather than one school's or
# one district's list.
MAX_ROWS = 300_000
# Rows scanned for the header: schools put a title line or two above it.
HEADER_SEARCH_ROWS = HEAD_ROWS
PROGRESS_EVERY = 2000
# The reasons written into class and school histories (data, in the register's language).
REASON_IMPORTED = "导入"
REASON_CLASS_CHANGE = "调班"
REASON_TRANSFER = "转学"
REASON_POSTED = "调动"
REASON_IN_POST = "在岗"

STAGE_START = {"kindergarten": -2, "primary": 1, "junior": 7, "senior": 10}


def stage_start(level: int) -> int:
    if level <= 0:
        return STAGE_START["kindergarten"]
    if level <= 6:
        return STAGE_START["primary"]
    if level <= 9:
        return STAGE_START["junior"]
    return STAGE_START["senior"]


def school_year_of(day: dt.date) -> int:
    """The year a school year starts in: it turns over in August."""
    return day.year if day.month >= 8 else day.year - 1


def chunked(items: Sequence[Any], size: int = LOOKUP_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class Context:
    """Who imports and where: the schools the rows may name (None: any school of the
    register), the school chosen for the import (rows without a school belong to it)."""

    today: dt.date
    allowed_school_ids: frozenset[int] | None
    job_school_id: int | None = None
    progress: Callable[[int, int], None] = lambda done, total: None


@dataclass
class Outcome:
    issues: list[Issue] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    header_row: int | None = None
    ignored_columns: list[str] = field(default_factory=list)
    rows: int = 0


class Register:
    """The register's reference tables, loaded once: schools, grades, classes, subjects."""

    def __init__(self) -> None:
        self.schools: dict[int, School] = {s.pk: s for s in School.objects.all()}
        self.school_by_code = {s.code: s.pk for s in self.schools.values()}
        self.school_by_name = {key_text(s.name): s.pk for s in self.schools.values()}
        self.grade_by_level: dict[tuple[int, int], int] = {}
        self.grade_by_entry: dict[tuple[int, int], int] = {}
        self.grade_entry_year: dict[int, int] = {}
        self.grade_level: dict[int, int] = {}
        for pk, school_id, level, entry_year in Grade.objects.values_list(
            "pk", "school_id", "level", "entry_year"
        ):
            self.grade_by_level[(school_id, level)] = pk
            self.grade_by_entry[(school_id, entry_year)] = pk
            self.grade_entry_year[pk] = entry_year
            self.grade_level[pk] = level
        self.class_by_number: dict[tuple[int, int], int] = dict(
            ((grade_id, number), pk)
            for pk, grade_id, number in SchoolClass.objects.values_list("pk", "grade_id", "number")
        )
        self._subjects: dict[str, int] | None = None
        self.subject_names = ""

    @property
    def subjects(self) -> dict[str, int]:
        if self._subjects is None:
            by_key: dict[str, int] = {}
            rows = list(Subject.objects.values_list("pk", "code", "name", "name_en"))
            for pk, code, name, name_en in rows:
                for label in (code, name, name_en):
                    if label:
                        by_key[key_text(label)] = pk
            for pk, code, _name, _en in rows:
                for alias in formats.SUBJECT_ALIASES.get(code, ()):
                    by_key.setdefault(key_text(alias), pk)
            self._subjects = by_key
            self.subject_names = "、".join(name for _pk, _code, name, _en in rows)
        return self._subjects

    def school_name(self, school_id: int) -> str:
        return self.schools[school_id].name


class Importer:
    kind: ClassVar[str]
    columns: ClassVar[tuple[Column, ...]]
    # Columns that name the school: at least one must be present unless the import has a school.
    school_columns: ClassVar[tuple[str, ...]] = ("school_code", "school_name")

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.register = Register()
        self.issues: list[Issue] = []
        self.header: HeaderMatch | None = None
        self.rows: list[Any] = []  # the rows that passed clean_row, staged
        self._first_rows: dict[tuple[str, str], int] = {}
        self._lost_rows: dict[str, set[int]] = {}
        self._choice_memo: dict[tuple[str, str], str | None] = {}
        self._school_memo: dict[tuple[str, str], int | tuple[str, str, dict[str, Any]]] = {}

    # -- the pipeline ------------------------------------------------------------------------

    def run(self, table: Table | Cells) -> Outcome:
        """Read, check and stage every row; the caller applies (`apply`) in a transaction
        when the outcome has no issues."""
        outcome = Outcome()
        cells = table if isinstance(table, Cells) else cells_of_table(table)
        self._find_header(cells.head)
        if self.header is None:
            outcome.issues = self.issues
            return outcome
        exact = cells.exact(self.header.row_number)
        if exact is not cells:  # the header row read cell by cell: look at it again
            cells, self.header, self.issues = exact, None, []
            self._find_header(cells.head)
            assert self.header is not None
        outcome.header_row = self.header.row_number
        outcome.ignored_columns = self.header.ignored
        if self.issues:  # the header is wrong: the rows cannot be read
            outcome.issues = self.issues
            return outcome
        total = max(cells.height - self.header.row_number, 0)
        body = cells.frame.with_row_index("at").filter(pl.col("row") > self.header.row_number)
        count = body.height
        if count > MAX_ROWS:
            self.issues.append(Issue(None, "", "", "too_many_rows", {"limit": MAX_ROWS}))
            body = body.head(MAX_ROWS)
            count = MAX_ROWS + 1
        self.ctx.progress(0, max(total, body.height))
        texts = self._text_columns(body, cells)
        # Rows the column-wise checks vouch for are staged from the columns; every other row
        # goes through `clean_row`, which finds and words its problems one by one.
        slow = self.clean_columns(texts)
        if len(slow):
            keys = [c.key for c in self.columns]
            slow_rows = texts.select("row", *keys)[list(slow)]
            for done, (number, *values) in enumerate(slow_rows.iter_rows(), start=1):
                self.clean_row(number, dict(zip(keys, values, strict=True)))
                if done % PROGRESS_EVERY == 0:
                    self.ctx.progress(texts.height - len(slow) + done, total)
        outcome.rows = count
        self.ctx.progress(count, count)
        if count == 0:
            self.issues.append(Issue(None, "", "", "empty"))
        elif self.has_rows():
            # Rows that passed on their own are checked against each other and the register
            # even when others failed, so that one upload reports every problem.
            self.stage()
        outcome.issues = self._sorted_issues()
        if outcome.issues:
            return outcome
        outcome.counts = self.counts()
        return outcome

    def has_rows(self) -> bool:
        return bool(self.rows)

    def _sorted_issues(self) -> list[Issue]:
        positions: dict[str, int] = {}
        if self.header is not None:
            positions = {written: self.header.positions[key] for key, written in self.header.headers.items()}
        return sorted(self.issues, key=lambda issue: (issue.row or 0, positions.get(issue.column, -1)))

    def _find_header(self, head: list[tuple[int, list[Any]]]) -> None:
        for number, cells in head:
            match = formats.match_header(number, cells, self.columns)
            if len(match.positions) >= 2:
                self.header = match
                self._check_header(match)
                return
            if number >= HEADER_SEARCH_ROWS:
                break
        example = "、".join(c.header for c in self.columns if c.required)
        self.issues.append(Issue(1, "", "", "no_header", {"example": example}))

    def _check_header(self, match: HeaderMatch) -> None:
        for column in self.columns:
            if column.required and column.key not in match.positions:
                self.issues.append(Issue(match.row_number, column.header, "", "missing_column",
                                         {"column": column.header}))  # fmt: skip
        if (
            self.school_columns
            and self.ctx.job_school_id is None
            and not any(key in match.positions for key in self.school_columns)
        ):
            header = next(c.header for c in self.columns if c.key == self.school_columns[-1])
            self.issues.append(Issue(match.row_number, header, "", "missing_column", {"column": header}))
        for written, earlier, column in match.duplicates:
            self.issues.append(Issue(match.row_number, written, "", "duplicate_column",
                                     {"other": earlier, "column": column.header}))  # fmt: skip

    def _text_columns(self, body: pl.DataFrame, cells: Cells) -> pl.DataFrame:
        """The row number and every column of the format as text, "" for a column the file
        does not have; which rows hold numbers that lost digits (`id_lost_digits`)."""
        assert self.header is not None
        self._lost_rows = {}
        present = set(cells.frame.columns)
        columns: list[pl.Expr] = [pl.col("row")]
        for column in self.columns:
            position = self.header.positions.get(column.key)
            name = column_name(position) if position is not None else None
            if name is None or name not in present:
                columns.append(pl.lit("", dtype=pl.String).alias(column.key))
                continue
            columns.append(pl.col(name).alias(column.key))
            if position in cells.lost_digits:
                lost = cells.lost_digits[position].gather(body["at"])
                self._lost_rows[column.key] = set(body["row"].filter(lost).to_list())
        return body.select(columns)

    def clean_columns(self, texts: pl.DataFrame) -> Sequence[int]:
        """Check whole columns at once and stage the rows found good; return the indexes of
        the other rows (of `texts`: the row number and one text column per column key), for
        `clean_row`. It may pass on any row it is unsure of, never stage a row `clean_row`
        would refuse, nor stage a row differently."""
        return range(texts.height)

    # -- helpers for clean_row -------------------------------------------------------------

    def column_header(self, key: str) -> str:
        assert self.header is not None
        return self.header.headers.get(key) or next(c.header for c in self.columns if c.key == key)

    def problem(self, row: int, key: str, raw: Any, code: str, **params: Any) -> None:
        self.issues.append(Issue(row, self.column_header(key), text(raw), code, params))

    def lost_digits(self, row: int, key: str) -> bool:
        """Whether the row's cell was a number too long for Excel (`number_lost_digits`)."""
        return row in self._lost_rows.get(key, ())

    def present(self, key: str) -> bool:
        assert self.header is not None
        return key in self.header.positions

    def required_text(
        self, row: int, values: dict[str, str], key: str, max_length: int | None = None
    ) -> str | None:
        value = values[key]
        if not value:
            self.problem(row, key, "", "required")
            return None
        if max_length and len(value) > max_length:
            self.problem(row, key, value, "too_long", max=max_length)
            return None
        return value

    def optional_text(self, row: int, values: dict[str, str], key: str, max_length: int) -> str | None:
        """None when the cell is empty (or the column absent): keep what the register has."""
        value = values[key]
        if not value:
            return None
        if len(value) > max_length:
            self.problem(row, key, value, "too_long", max=max_length)
            return None
        return value

    def choice(self, row: int, values: dict[str, str], column: Column) -> str | None:
        value = values[column.key]
        if not value:
            return None
        # A column of choices holds a handful of distinct labels: look each up once.
        memo_key = (column.key, value)
        try:
            found = self._choice_memo[memo_key]
        except KeyError:
            try:
                found = parse_choice(value, column.choices)
            except BadValue:
                found = None
            self._choice_memo[memo_key] = found
        if found is None:
            self.problem(row, column.key, value, "bad_choice", accepted=formats.accepted_labels(column))
        return found

    def date(self, row: int, values: dict[str, str], key: str, low: dt.date, high: dt.date) -> dt.date | None:
        raw = values[key]
        if not raw:
            return None
        try:
            value = parse_date(raw)
        except BadValue as exc:
            self.problem(row, key, raw, exc.code, **exc.params)
            return None
        if not low <= value <= high:
            self.problem(row, key, raw, "date_out_of_range", low=low.isoformat(), high=high.isoformat())
            return None
        return value

    def year(self, row: int, values: dict[str, str], key: str, low: int, high: int) -> int | None:
        raw = values[key]
        if not raw:
            return None
        try:
            return parse_year(raw, low=low, high=high)
        except BadValue as exc:
            self.problem(row, key, raw, exc.code, **exc.params)
            return None

    def school(self, row: int, values: dict[str, str]) -> int | None:
        """The row's school: by code or name, else the import's school; in the importer's reach."""
        code, name = values.get("school_code", ""), values.get("school_name", "")
        memo_key = (code, name)
        found = self._school_memo.get(memo_key)
        if found is None:
            found = self._resolve_school(code, name)
            self._school_memo[memo_key] = found
        if isinstance(found, int):
            return found
        key, code_name, params = found
        self.problem(row, key, values.get(key), code_name, **params)
        return None

    def _resolve_school(self, code: str, name: str) -> int | tuple[str, str, dict[str, Any]]:
        reg = self.register
        by_code = reg.school_by_code.get(code) if code else None
        by_name = reg.school_by_name.get(key_text(name)) if name else None
        key = "school_code" if code else "school_name"
        if not code and not name:
            if self.ctx.job_school_id is not None:
                return self.ctx.job_school_id
            return ("school_name" if self.present("school_name") else "school_code", "required", {})
        if code and by_code is None:
            return ("school_code", "unknown_school", {})
        if name and by_name is None:
            return ("school_name", "unknown_school", {})
        if by_code is not None and by_name is not None and by_code != by_name:
            return ("school_name", "school_mismatch", {})
        school_id = by_code if by_code is not None else by_name
        assert school_id is not None
        allowed = self.ctx.allowed_school_ids
        if allowed is not None and school_id not in allowed:
            return (key, "school_out_of_scope", {})
        if self.ctx.job_school_id is not None and school_id != self.ctx.job_school_id:
            return (key, "school_not_of_job", {"school": reg.school_name(self.ctx.job_school_id)})
        return school_id

    def grade_level(self, row: int, values: dict[str, str], school_id: int | None) -> int | None:
        """The grade as a level (-2..12): 七年级, 初一, 7, Grade 7; or 2023级 (by entry year)."""
        raw = values["grade"]
        found = self._resolve_level(raw, school_id)
        if isinstance(found, int):
            return found
        if found is not None:
            code, params = found
            self.problem(row, "grade", raw, code, **params)
        return None

    def _resolve_level(self, raw: str, school_id: int | None) -> int | tuple[str, dict[str, Any]] | None:
        """The level, or the problem's code and parameters (None: a problem without a
        message of its own, the school's being reported)."""
        value = key_text(raw)
        if not value:
            return ("required", {})
        level = GRADE_ALIASES.get(value)
        if level is None and value.endswith("年级") and value[:-2].isdigit():
            value = value[:-2]
        if level is None and value.removeprefix("grade").isdigit():
            level = int(value.removeprefix("grade"))
        if level is None and len(value) == 5 and value[:4].isdigit() and value[4] in "级届":
            grade_id = self.register.grade_by_entry.get((school_id, int(value[:4]))) if school_id else None
            if grade_id is None:
                if school_id is not None:
                    return ("grade_not_in_school", {"school": self.register.school_name(school_id),
                                                    "grade": text(raw)})  # fmt: skip
                return None
            return self.register.grade_level[grade_id]
        if level is None and value[:-2] in GRADE_ALIASES and value.endswith("年级"):
            level = GRADE_ALIASES[value[:-2]]
        if level is None or not -2 <= level <= 12:
            return ("unknown_grade", {})
        return level

    def id_number(
        self, row: int, values: dict[str, str], *, birth: dt.date | None, gender: str | None
    ) -> tuple[str | None, bool]:
        """The ID number (None when empty) and whether it is good; checks the stated birth
        date and gender against it."""
        raw = values["id_number"]
        if self.lost_digits(row, "id_number"):
            self.problem(row, "id_number", raw, "id_lost_digits")
            return None, False
        value = raw.replace(" ", "").upper()
        if not value:
            return None, True
        problem = id_number_problem(value)
        if problem is not None:
            self.problem(row, "id_number", raw, {"format": "id_format", "birth_date": "id_birth_date",
                                                 "check_digit": "id_check_digit"}[problem])  # fmt: skip
            return None, False
        ok = True
        if birth is not None and birth != birth_date_of(value):
            self.problem(row, "birth_date", values["birth_date"], "id_birth_mismatch",
                         expected=birth_date_of(value).isoformat())  # fmt: skip
            ok = False
        if gender is not None and gender != gender_of(value):
            self.problem(
                row, "gender", values["gender"], "id_gender_mismatch", expected_gender=gender_of(value)
            )
            ok = False
        return value, ok

    def person_basics(
        self, row: int, values: dict[str, str], low_birth: dt.date
    ) -> tuple[str | None, dt.date | None, str | None, bool]:
        """Gender, birth date and ID number, the first two taken from the ID number when empty."""
        gender_column = next(c for c in self.columns if c.key == "gender")
        gender = self.choice(row, values, gender_column)
        gender_ok = gender is not None or not values["gender"]
        birth_raw = values["birth_date"]
        birth = self.date(row, values, "birth_date", low_birth, self.ctx.today)
        birth_ok = birth is not None or birth_raw in (None, "")
        id_number, id_ok = self.id_number(row, values, birth=birth, gender=gender)
        if id_number is not None and id_ok:
            gender = gender or gender_of(id_number)
            birth = birth or birth_date_of(id_number)
        ok = gender_ok and birth_ok and id_ok
        if ok and gender is None:
            self.problem(row, "gender", "", "required")
            ok = False
        if ok and birth is None:
            self.problem(row, "birth_date", "", "required")
            ok = False
        return gender, birth, id_number, ok

    def unique_in_file(self, row: int, key: str, value: str | None) -> None:
        """Report a key value an earlier row of the file already has (whether or not that
        row had problems of its own)."""
        if not value:
            return
        first = self._first_rows.setdefault((key, value), row)
        if first != row:
            self.problem(row, key, value, "duplicate_in_file", other_row=first)

    # -- what each kind defines -------------------------------------------------------------

    def clean_row(self, row: int, values: dict[str, str]) -> None:
        raise NotImplementedError

    def stage(self) -> None:
        raise NotImplementedError

    def counts(self) -> dict[str, int]:
        raise NotImplementedError

    def apply(self) -> None:
        """Write what `stage` planned. Call inside a transaction."""
        raise NotImplementedError


def select_in(model: type[Model], key: str, keys: Iterable[Any], fields: Sequence[str]) -> Iterator[tuple]:
    """Rows of (key, *fields) whose key is one of `keys`, in one query.

    Plain SQL through the cursor: the ORM prepares every one of the tens of thousands of
    IN parameters and builds a result row object per row, which cost more than the
    queries. The fields read this way (text, numbers, dates, foreign keys) come back from
    both databases as the ORM would give them.
    """
    unique = list(dict.fromkeys(keys))
    if not unique:
        return
    connection = connections[router.db_for_read(model)]
    sql, params = _select_in_sql(connection, model, key, unique, fields)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        yield from cursor.fetchall()


def _select_in_sql(
    connection: Any, model: type[Model], key: str, keys: list[Any], fields: Sequence[str]
) -> tuple[str, list[Any]]:
    """The query of `select_in`, the keys as one parameter: on PostgreSQL one string split
    by the server (psycopg's client-side binding quotes an array parameter element by
    element in Python, a second for 150,000 keys), on SQLite a JSON array read by
    json_each (an IN list of one parameter per key must be cut under SQLite's limit)."""
    meta = model._meta
    quote = connection.ops.quote_name

    def field_of(name: str) -> Field:
        return cast(Field, meta.pk if name == "pk" else meta.get_field(name))

    select = "SELECT {} FROM {} WHERE {} ".format(
        ", ".join(quote(cast(str, field_of(name).column)) for name in (key, *fields)),
        quote(meta.db_table),
        quote(cast(str, field_of(key).column)),
    )
    if connection.vendor != "postgresql":
        return select + "IN (SELECT value FROM json_each(%s))", [json.dumps(keys)]
    if all(type(k) is int for k in keys):
        return select + "= ANY(string_to_array(%s, ',')::bigint[])", [",".join(map(str, keys))]
    if all(type(k) is str and _KEY_SEPARATOR not in k for k in keys):
        return select + "= ANY(string_to_array(%s, chr(31)))", [_KEY_SEPARATOR.join(keys)]
    return select + "= ANY(%s)", [keys]


# Between the keys of a `select_in` query on PostgreSQL: the ASCII unit separator, which no
# key of the register holds (a key that does is sent as an array).
_KEY_SEPARATOR = "\x1f"


def frame_in(
    model: type[Model],
    key: str,
    keys: pl.Series,
    fields: Sequence[str],
    schema: dict[str, pl.DataType | type[pl.DataType]],
) -> pl.DataFrame:
    """`select_in` as a frame; `schema` names the key and the fields. On PostgreSQL the rows
    come as CSV from COPY, which polars reads without a Python object per value."""
    unique = keys.drop_nulls().unique().to_list()
    if not unique:
        return pl.DataFrame(schema=schema)
    connection = connections[router.db_for_read(model)]
    sql, params = _select_in_sql(connection, model, key, unique, fields)
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(sql, params)
            return _frame_of(cursor.fetchall(), schema)
        data = bytearray()
        with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
            for block in copy:
                data += block
    if not data:
        return pl.DataFrame(schema=schema)
    return pl.read_csv(bytes(data), has_header=False, schema=schema)


def _values_by_key(
    model: type[Model], key: str, keys: Sequence[Any], fields: Sequence[str]
) -> dict[Any, tuple]:
    return {values[0]: values[1:] for values in select_in(model, key, keys, fields)}


def insert_rows(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """INSERT rows of plain values: COPY on PostgreSQL, executemany on SQLite.

    bulk_create builds a model instance per row and prepares every field of every row in
    Python, about 30 µs a row; a district's first import writes some 450,000 rows (students,
    class history, guardians and their links), so that was most of the import's time. On
    PostgreSQL even executemany sends a statement per row (psycopg pipelines them, but
    Django's client-side binding formats each one in Python); COPY streams the rows.
    `columns` are attribute names (`school_id`); the model's other fields get their
    defaults, and dates are adapted for the database here. Rows written this way have no
    primary keys in Python: read them back by a unique key.
    """
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    given = [cast(Field, meta.get_field(name)) for name in columns]
    rest = [f for f in meta.concrete_fields if not f.primary_key and f not in given]
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in rest)
    fields = given + rest
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    names = ", ".join(quote(f.column or f.name) for f in fields)
    written = 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for values in rows:
                copy.write_row((*values, *defaults))
                written += 1
        return written
    sql = "INSERT INTO {} ({}) VALUES ({})".format(table, names, ", ".join(["%s"] * len(fields)))
    dates = [i for i, f in enumerate(given) if isinstance(f, DateField) and not isinstance(f, DateTimeField)]
    adapt = connection.ops.adapt_datefield_value
    batch: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for values in rows:
            if dates:
                values = list(values)
                for i in dates:
                    values[i] = adapt(values[i])
            batch.append((*values, *defaults))
            if len(batch) == INSERT_BATCH:
                cursor.executemany(sql, batch)
                written += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            written += len(batch)
    return written


def update_rows(model: type[Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """UPDATE rows by primary key: each row is (pk, *values of `columns`). On PostgreSQL the
    rows are copied into a temporary table and applied by one UPDATE ... FROM; on SQLite an
    executemany of UPDATEs by primary key, which SQLite runs without a round trip each."""
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    quote = connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(cast(str, meta.pk.column))  # type: ignore[union-attr]
    given = [cast(Field, meta.get_field(name)) for name in columns]
    targets = [quote(cast(str, f.column)) for f in given]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            scratch = quote(f"import_{meta.db_table}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {scratch} ON COMMIT DROP AS "
                f"SELECT {pk}, {', '.join(targets)} FROM {table} WITH NO DATA"
            )
            with cursor.cursor.copy(f"COPY {scratch} ({pk}, {', '.join(targets)}) FROM STDIN") as copy:
                for values in rows:
                    copy.write_row(values)
            assignments = ", ".join(f"{c} = {scratch}.{c}" for c in targets)
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM {scratch} WHERE {table}.{pk} = {scratch}.{pk}"
            )
            cursor.execute(f"DROP TABLE {scratch}")
            return
        dates = [
            i for i, f in enumerate(given) if isinstance(f, DateField) and not isinstance(f, DateTimeField)
        ]
        adapt = connection.ops.adapt_datefield_value
        sql = "UPDATE {} SET {} WHERE {} = %s".format(table, ", ".join(f"{c} = %s" for c in targets), pk)
        batch = []
        for pk_value, *values in rows:
            for i in dates:
                values[i] = adapt(values[i])
            batch.append((*values, pk_value))
        for part in chunked(batch, INSERT_BATCH):
            cursor.executemany(sql, part)


def _bulk_update_grouped(model: type[Model], changes: list[tuple[Model, frozenset[str]]]) -> None:
    """bulk_update once per set of changed fields, so that a changed name does not rewrite
    every other column of every updated row."""
    groups: dict[frozenset[str], list[Model]] = defaultdict(list)
    for obj, fields in changes:
        groups[fields].append(obj)
    for fields, objs in groups.items():
        model._default_manager.bulk_update(objs, sorted(fields), batch_size=500)


def _student_no(value: str) -> str | None:
    number = value.upper()
    if not number:
        return None
    if len(number) > 20 or not number.isascii() or not number.isalnum():
        raise BadValue("bad_student_no")
    return number


def _choice(choices: dict[str, str], value: str) -> str | None:
    return parse_choice(value, choices) if value else None


def _id_number(value: str) -> str | None:
    value = value.replace(" ", "").upper()
    if value and id_number_problem(value) is not None:
        raise BadValue("id")
    return value or None


# Cells the column-wise checks parse in polars; every other value goes through the same
# function as `clean_row`'s, once per distinct value. A national student number of ASCII
# letters and digits is itself upper-cased; a mobile number as `parse_phone` returns it is
# its own value; an ID number of 17 digits and a digit or X is checked in polars.
_PLAIN_STUDENT_NO = r"^[0-9A-Za-z]{1,20}$"
_PLAIN_MOBILE = r"^1[3-9][0-9]{9}$"
_PLAIN_ID_NUMBER = r"^[0-9]{17}[0-9X]$"
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def _parsed(
    cells: pl.Series,
    parse: Callable[[str], Any],
    dtype: pl.DataType | type[pl.DataType],
    plain: str | None = None,
    plain_value: Callable[[pl.Expr], pl.Expr] | None = None,
) -> tuple[pl.Series, pl.Series]:
    """A column parsed: the values (None for an empty cell and for a value `parse`
    refuses) and which values were refused. Cells that `plain` matches in full are parsed
    in polars by `plain_value` (None: a refused value) or are their own value; `parse` sees
    each other distinct value once."""
    value = pl.col("value")
    is_plain = value.str.contains(plain) if plain is not None else pl.lit(False)
    frame = cells.rename("value").to_frame()
    others = frame.filter(~is_plain & (value != "")).get_column("value").unique().to_list()
    parsed: dict[str, Any] = {}
    refused: list[str] = []
    for cell in others:
        try:
            parsed[cell] = parse(cell)
        except BadValue:
            refused.append(cell)
    plain_parsed = pl.lit(None, dtype)
    if plain is not None:
        plain_parsed = (plain_value(value) if plain_value is not None else value).cast(dtype)
    mapped = value.replace_strict(parsed, default=None, return_dtype=dtype) if parsed else pl.lit(None, dtype)
    result = frame.select(
        value=pl.when(value == "")
        .then(pl.lit(None, dtype))
        .when(is_plain)
        .then(plain_parsed)
        .otherwise(mapped),
        bad=(is_plain & plain_parsed.is_null()) | value.is_in(refused),
    )
    return result.get_column("value"), result.get_column("bad")


def _id_number_checked(value: pl.Expr) -> pl.Expr:
    """An ID number of 17 digits and a check character (see `_PLAIN_ID_NUMBER`) when its
    birth date is a date and its check character right (`identity.id_number_problem`),
    else None."""
    total = pl.sum_horizontal(
        value.str.slice(at, 1).cast(pl.Int64, strict=False) * weight for at, weight in enumerate(_ID_WEIGHTS)
    )
    check = (total % 11).replace_strict(dict(enumerate(_ID_CHECK)), return_dtype=pl.String)
    birth = value.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    good = (check == value.str.slice(17, 1)) & birth.is_not_null() & (birth.dt.year() >= 1)
    return pl.when(good).then(value)


def _frame_of(
    rows: Iterable[Sequence[Any]], schema: Mapping[str, pl.DataType | type[pl.DataType]]
) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=schema, orient="row")


def insert_frame(
    model: type[Model],
    frame: pl.DataFrame,
    key: str | None = None,
    inserted: Mapping[type[Model], pl.Series] | None = None,
) -> pl.DataFrame:
    """`insert_rows` of a frame whose columns are attribute names, the other fields at
    their defaults. On PostgreSQL polars writes the rows as CSV for COPY in one call; on
    SQLite executemany takes the frame's rows as they come, dates as ISO text as
    `adapt_datefield_value` writes them. With a unique `key`, the new rows' primary keys
    come back (columns `key` and `pk`): on PostgreSQL taken from the sequence before the
    COPY and written with the rows, on SQLite following from `last_insert_rowid()`.

    On PostgreSQL the rows' foreign keys are checked set-wise where the connection may
    (`_references_checked`); `inserted` names rows of a referenced model that this
    transaction wrote itself (by primary key), which need no lock."""
    created = pl.DataFrame(schema={key or "key": frame.schema.get(key or "", pl.String), "pk": pl.Int64})
    if frame.is_empty():
        return created
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    given = [cast(Field, meta.get_field(name)) for name in frame.columns]
    rest = [f for f in meta.concrete_fields if not f.primary_key and f not in given]
    defaults = [f.get_db_prep_save(f.get_default(), connection) for f in rest]
    full = frame.with_columns(
        pl.col(name).cast(pl.String) for name, dtype in frame.schema.items() if dtype == pl.Date
    ).with_columns(
        pl.lit(value, dtype=pl.String if isinstance(value, str) else None).alias(f"_default_{at}")
        for at, value in enumerate(defaults)
    )
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    columns = [cast(str, f.column) for f in given + rest]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            if key is not None:
                # The new rows' keys taken from the table's sequence beforehand and written
                # with them: nothing to read back by natural key afterwards.
                created = frame.select(key).with_columns(pk=_next_ids(cursor, model, frame.height))
                full = full.with_columns(created["pk"].alias("_pk"))
                columns.append(cast(str, meta.pk.column))
            names = ", ".join(quote(name) for name in columns)
            # CSV: an unquoted empty value is NULL, a quoted one ("") an empty string, as
            # polars writes them.
            with (
                _references_checked(cursor, given + rest, full, inserted or {}),
                cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv)") as copy,
            ):
                copy.write(full.write_csv(include_header=False).encode())
            return created
        else:
            # One statement over a JSON array that polars writes and SQLite reads, instead
            # of a Python tuple bound per row.
            names = ", ".join(quote(name) for name in columns)
            values = ", ".join(f"value ->> '$.{name}'" for name in full.columns)
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT {values} FROM json_each(%s)", [full.write_json()]
            )
            if key is not None:
                cursor.execute("SELECT last_insert_rowid()")
                (last,) = cursor.fetchone()
                pks = pl.int_range(last - frame.height + 1, last + 1, dtype=pl.Int64, eager=True)
                created = frame.select(key).with_columns(pk=pks)
    if key is None:
        return created
    # SQLite: the writing transaction holds SQLite's only write lock, so the rows got the
    # next rowids in turn; the first and the last row tell that they did.
    ends = created[[0, -1]].unique()
    found = frame_in(model, key, ends[key], ("pk",), {key: frame.schema[key], "pk": pl.Int64})
    if ends.sort(key).equals(found.sort(key)):
        return created
    return frame_in(model, key, frame[key], ("pk",), {key: frame.schema[key], "pk": pl.Int64})


@contextmanager
def _references_checked(
    cursor: Any, fields: Sequence[Field], frame: pl.DataFrame, inserted: Mapping[type[Model], pl.Series]
) -> Iterator[None]:
    """The foreign keys of `frame`, the rows written within (a column per field of
    `fields`, in order): checked and locked set-wise, one statement per key, instead of
    once per row by PostgreSQL's constraint triggers.

    Django declares foreign keys DEFERRABLE INITIALLY DEFERRED, so each inserted row
    queues one trigger per key that runs a `SELECT ... FOR KEY SHARE` of the referenced row
    at commit: for a district's first import (77,000 students with their class history,
    146,000 guardians and their links) some 460,000 queries, 40% of the import's time.
    Here the referenced rows are locked `FOR KEY SHARE` and counted once per key before
    the rows are written, and the write runs with `session_replication_role = replica`,
    which skips the constraint triggers for those statements only. That is the same
    guarantee: every referenced row exists, and none can be deleted (nor its key changed)
    until this transaction ends. Rows this transaction inserted itself (`inserted`)
    cannot be seen, let alone deleted, by anyone else, so they need no lock. Every other
    statement, of this transaction and of everyone else, still runs the triggers: the
    constraints stay declared and enforced.

    Setting the parameter takes a superuser or `GRANT SET ON PARAMETER
    session_replication_role` (PostgreSQL 15); without it, or with triggers of the
    project's own on the table (which the setting would skip too), the constraint triggers
    do the checking as usual. A missing referenced row raises IntegrityError, as the
    constraint would."""
    model = cast(type[Model], fields[0].model)
    cursor.execute(
        "SELECT current_setting('session_replication_role'), "
        "has_parameter_privilege('session_replication_role', 'SET') AND NOT EXISTS "
        "(SELECT 1 FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal)",
        [model._meta.db_table],
    )
    before, may = cursor.fetchone()
    if not may or before != "origin":
        yield
        return
    for fk, name in zip(fields, frame.columns, strict=False):
        if not fk.is_relation or not fk.concrete:
            continue
        target = cast(Field, fk.target_field)  # type: ignore[attr-defined]
        ids = frame.get_column(name).drop_nulls().unique()
        own = inserted.get(cast(type[Model], fk.related_model))
        if own is not None:
            ids = ids.filter(~ids.is_in(own.implode()))
        if ids.is_empty():
            continue
        sql, params = _select_in_sql(cursor.db, target.model, target.name, ids.to_list(), ())
        cursor.execute(f"SELECT count(*) FROM ({sql} FOR KEY SHARE) AS locked", params)
        (found,) = cursor.fetchone()
        if found != ids.len():
            raise IntegrityError(
                f"{model._meta.db_table}.{fk.column}: {ids.len() - found} referenced rows of "
                f"{target.model._meta.db_table} do not exist"
            )
    cursor.execute("SELECT set_config('session_replication_role', 'replica', true)")
    yield
    cursor.execute("SELECT set_config('session_replication_role', 'origin', true)")


def _next_ids(cursor: Any, model: type[Model], count: int) -> pl.Series:
    """`count` values of the sequence behind `model`'s primary key (PostgreSQL): ours alone
    whatever else inserts meanwhile, as a COPY without the key would have taken them. They
    come back as runs of consecutive values (one run unless others took values meanwhile)
    rather than one row each."""
    meta = model._meta
    cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [meta.db_table, meta.pk.column])
    (sequence,) = cursor.fetchone()
    cursor.execute(
        "SELECT min(id), max(id) FROM (SELECT id, id - row_number() OVER (ORDER BY id) AS run "
        "FROM (SELECT nextval(%s::regclass) AS id FROM generate_series(1, %s)) AS taken) AS numbered "
        "GROUP BY run",
        [sequence, count],
    )
    runs = sorted(cursor.fetchall())
    return pl.concat([pl.int_range(first, last + 1, dtype=pl.Int64, eager=True) for first, last in runs])


# -- students ---------------------------------------------------------------------------------


@dataclass(slots=True)
class GuardianEntry:
    name: str
    relation: str
    phone: str
    columns: tuple[str, str, str]  # keys of the name, relation and phone columns


@dataclass(slots=True)
class StudentRow:
    row: int
    student_no: str
    name: str
    gender: str
    birth_date: dt.date
    id_number: str | None
    enrolment_year: int
    school_id: int
    class_id: int
    household: str | None
    status: str | None
    address: str | None
    guardians: list[GuardianEntry]
    # Filled by stage():
    pk: int | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    moved_from_school: int | None = None
    class_changed: bool = False


# The staged students, one row each: the row number, the values as `StudentRow` has them
# and each guardian's (gN_name, gN_relation, gN_phone; null without one).
_STAGED = pl.Schema({
    "row": pl.Int64, "student_no": pl.String, "name": pl.String, "gender": pl.String, "birth_date": pl.Date,
    "id_number": pl.String, "enrolment_year": pl.Int64, "school_id": pl.Int64, "class_id": pl.Int64,
    "household": pl.String, "status": pl.String, "address": pl.String,
    "g1_name": pl.String, "g1_relation": pl.String, "g1_phone": pl.String,
    "g2_name": pl.String, "g2_relation": pl.String, "g2_phone": pl.String,
})  # fmt: skip
_STUDENT_FIELDS = ("pk", "name", "gender", "birth_date", "id_number", "enrolment_year", "school_id",
                   "school_class_id", "household", "status", "address")  # fmt: skip
_CURRENT: dict[str, pl.DataType | type[pl.DataType]] = {
    "student_no": pl.String, "pk": pl.Int64, "cur_name": pl.String, "cur_gender": pl.String,
    "cur_birth_date": pl.Date, "cur_id_number": pl.String, "cur_enrolment_year": pl.Int64,
    "cur_school_id": pl.Int64, "cur_school_class_id": pl.Int64, "cur_household": pl.String,
    "cur_status": pl.String, "cur_address": pl.String,
}  # fmt: skip
# Field of the register -> the staged column it takes, and whether an empty value (null)
# keeps what the register has.
_WANTED = {
    "name": ("name", False), "gender": ("gender", False), "birth_date": ("birth_date", False),
    "enrolment_year": ("enrolment_year", False), "school_id": ("school_id", False),
    "school_class_id": ("class_id", False), "id_number": ("id_number", True), "household": ("household", True),
    "status": ("status", True), "address": ("address", True),
}  # fmt: skip


class StudentImporter(Importer):
    kind = "students"
    columns = formats.STUDENT_COLUMNS
    GUARDIAN_COLUMNS = (
        ("guardian1_name", "guardian1_relation", "guardian1_phone"),
        ("guardian2_name", "guardian2_relation", "guardian2_phone"),
    )

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.rows: list[StudentRow] = []  # the rows `clean_row` staged
        self._fast = pl.DataFrame(schema=_STAGED)  # the rows `clean_columns` staged
        self._class_memo: dict[tuple[int, str], int | str] = {}
        self.low_birth = dt.date(ctx.today.year - 30, 1, 1)
        self._columns = {c.key: c for c in self.columns}
        self.created = self.updated = self.unchanged = self.class_changes = 0
        # Filled by stage():
        self.staged = pl.DataFrame()
        self.new_guardians = pl.DataFrame()  # name, phone
        self.guardian_renames = pl.DataFrame()  # pk, name
        self.new_links = pl.DataFrame()  # row, phone, relation
        self.relinks = pl.DataFrame()  # pk, relation
        self._guardian_ids = pl.DataFrame()  # phone, guardian_id of the guardians found

    def has_rows(self) -> bool:
        return bool(self.rows) or not self._fast.is_empty()

    def clean_columns(self, texts: pl.DataFrame) -> Sequence[int]:
        """The checks of `clean_row`, a column at a time: values are parsed in polars or
        once per distinct value by the same functions, and polars combines the columns of
        each row."""
        if texts.is_empty():
            return []
        col = pl.col
        today = self.ctx.today
        reg = self.register
        columns = self._columns
        # The school, grade and class: each distinct combination looked up once.
        schools = _frame_of(
            (
                (code, name, found if isinstance(found, int) else None)
                for code, name in texts.select("school_code", "school_name").unique().iter_rows()
                for found in (self._school_memo.setdefault((code, name), self._resolve_school(code, name)),)
            ),
            {"school_code": pl.String, "school_name": pl.String, "school_id": pl.Int64},
        )
        frame = texts.join(schools, on=["school_code", "school_name"], how="left", maintain_order="left")
        grades = []
        for school_id, grade in frame.select("school_id", "grade").unique().iter_rows():
            level = self._resolve_level(grade, school_id)
            usable = school_id is not None and isinstance(level, int)
            grades.append((school_id, grade, reg.grade_by_level.get((school_id, level)) if usable else None))  # type: ignore[arg-type]
        frame = frame.join(
            _frame_of(grades, {"school_id": pl.Int64, "grade": pl.String, "grade_id": pl.Int64}),
            on=["school_id", "grade"], how="left", nulls_equal=True, maintain_order="left",
        )  # fmt: skip
        classes = []
        for grade_id, number in frame.select("grade_id", "class").unique().iter_rows():
            found = self._resolve_class(number, grade_id) if grade_id is not None else None
            classes.append((grade_id, number, found if isinstance(found, int) else None))
        frame = frame.join(
            _frame_of(classes, {"grade_id": pl.Int64, "class": pl.String, "class_id": pl.Int64}),
            on=["grade_id", "class"], how="left", nulls_equal=True, maintain_order="left",
        )  # fmt: skip
        year_high = today.year + 1

        def enrolment_year(value: str) -> Any:
            return parse_year(value, low=1990, high=year_high)

        def choice(key: str) -> Callable[[str], str | None]:
            return partial(_choice, columns[key].choices)

        parsed = {
            "student_no": _parsed(texts["student_no"], _student_no, pl.String, _PLAIN_STUDENT_NO,
                                  lambda v: v.str.to_uppercase()),
            "gender": _parsed(texts["gender"], choice("gender"), pl.String),
            "birth_date": _parsed(texts["birth_date"], parse_date, pl.Date),
            "id_number": _parsed(texts["id_number"], _id_number, pl.String, _PLAIN_ID_NUMBER, _id_number_checked),
            "enrolment_year": _parsed(texts["enrolment_year"], enrolment_year, pl.Int64),
            "household": _parsed(texts["household"], choice("household"), pl.String),
            "status": _parsed(texts["status"], choice("status"), pl.String),
        }  # fmt: skip
        for _name_key, relation_key, phone_key in self.GUARDIAN_COLUMNS:
            parsed[relation_key] = _parsed(texts[relation_key], choice(relation_key), pl.String)
            parsed[phone_key] = _parsed(texts[phone_key], parse_phone, pl.String, _PLAIN_MOBILE)
        frame = frame.with_columns(
            *(values.alias(key) for key, (values, _bad) in parsed.items()),
            *(bad.alias(f"bad_{key}") for key, (_values, bad) in parsed.items()),
        )
        if "id_number" in self._lost_rows:
            # A number cell that lost digits is refused whatever its text reads.
            lost = col("row").is_in(sorted(self._lost_rows["id_number"]))
            frame = frame.with_columns(
                id_number=pl.when(lost).then(None).otherwise(col("id_number")),
                bad_id_number=col("bad_id_number") | lost,
            )
        odd = col("id_number").str.slice(16, 1).cast(pl.Int64, strict=False) % 2 == 1
        frame = frame.with_columns(
            id_birth=col("id_number").str.slice(6, 8).str.to_date("%Y%m%d", strict=False),
            id_gender=pl.when(col("id_number").is_null()).then(None).when(odd).then(pl.lit("male"))
            .otherwise(pl.lit("female")),
        )  # fmt: skip
        guardians_ok = pl.lit(True)
        for name_key, relation_key, phone_key in self.GUARDIAN_COLUMNS:
            name_len = col(name_key).str.len_chars()
            guardians_ok = guardians_ok & (name_len <= 50) & ~col(f"bad_{relation_key}") & (
                (name_len == 0) & col(phone_key).is_null() & ~col(f"bad_{phone_key}")
                | (name_len > 0) & col(phone_key).is_not_null()
            )  # fmt: skip
        g1, g2 = (keys[2] for keys in self.GUARDIAN_COLUMNS)
        guardians_ok = guardians_ok & (col(g1).is_null() | col(g2).is_null() | (col(g1) != col(g2)))
        student_no_first = col("student_no").is_first_distinct() | col("student_no").is_null()
        id_first = col("id_number").is_first_distinct() | col("id_number").is_null()
        good = (
            col("class_id").is_not_null()
            & col("student_no").is_not_null()
            & student_no_first
            & col("name").str.len_chars().is_between(1, 50)
            & ~col("bad_gender")
            & ~col("bad_birth_date")
            & (col("birth_date").is_null() | col("birth_date").is_between(self.low_birth, today))
            & ~col("bad_id_number")
            & id_first
            & (
                col("birth_date").is_null()
                | col("id_birth").is_null()
                | (col("birth_date") == col("id_birth"))
            )
            & (col("gender").is_null() | col("id_gender").is_null() | (col("gender") == col("id_gender")))
            & (col("gender").is_not_null() | col("id_gender").is_not_null())
            & (col("birth_date").is_not_null() | col("id_birth").is_not_null())
            & ~col("bad_enrolment_year")
            & ~col("bad_household")
            & ~col("bad_status")
            & (col("address").str.len_chars() <= 200)
            & guardians_ok
        )
        frame = frame.with_columns(good=good.fill_null(False), index=pl.int_range(pl.len()))
        # The first row of each key that repeats: `clean_row` names it in the later rows.
        for key in ("student_no", "id_number"):
            repeated = frame.filter(col(key).is_not_null() & col(key).is_duplicated())
            for value, first in repeated.group_by(key).agg(col("row").min()).iter_rows():
                self._first_rows[(key, value)] = first
        entry_year = reg.grade_entry_year
        guardian_columns = []
        for slot, (name_key, relation_key, phone_key) in enumerate(self.GUARDIAN_COLUMNS, start=1):
            present = col(phone_key).is_not_null()
            guardian_columns += [
                pl.when(present).then(col(name_key)).alias(f"g{slot}_name"),
                pl.when(present).then(col(relation_key).fill_null("other")).alias(f"g{slot}_relation"),
                col(phone_key).alias(f"g{slot}_phone"),
            ]
        self._fast = frame.filter(col("good")).select(
            "row", "student_no", "name",
            pl.coalesce("gender", "id_gender").alias("gender"),
            pl.coalesce("birth_date", "id_birth").alias("birth_date"),
            "id_number",
            pl.coalesce(
                "enrolment_year", col("grade_id").replace_strict(entry_year, default=None, return_dtype=pl.Int64)
            ).alias("enrolment_year"),
            "school_id", "class_id", "household", "status",
            pl.when(col("address") != "").then(col("address")).alias("address"),
            *guardian_columns,
        ).cast(_STAGED)  # fmt: skip
        return frame.filter(~col("good"))["index"].to_list()

    def clean_row(self, row: int, values: dict[str, str]) -> None:
        before = len(self.issues)
        student_no = values["student_no"].upper()
        if not student_no:
            self.problem(row, "student_no", "", "required")
        elif len(student_no) > 20 or not student_no.isascii() or not student_no.isalnum():
            self.problem(row, "student_no", values["student_no"], "bad_student_no")
        else:
            self.unique_in_file(row, "student_no", student_no)
        name = self.required_text(row, values, "name", 50)
        gender, birth, id_number, _ok = self.person_basics(row, values, self.low_birth)
        self.unique_in_file(row, "id_number", id_number)
        school_id = self.school(row, values)
        level = self.grade_level(row, values, school_id)
        class_id = grade_id = None
        if school_id is not None and level is not None:
            grade_id = self.register.grade_by_level.get((school_id, level))
            if grade_id is None:
                self.problem(row, "grade", values["grade"], "grade_not_in_school",
                             school=self.register.school_name(school_id), grade=values["grade"])  # fmt: skip
            else:
                class_id = self._class(row, values, school_id, grade_id)
        enrolment_year = self.year(row, values, "enrolment_year", 1990, self.ctx.today.year + 1)
        household = self.choice(row, values, self._columns["household"])
        status = self.choice(row, values, self._columns["status"])
        address = self.optional_text(row, values, "address", 200)
        guardians = self._guardians(row, values)
        if len(self.issues) > before:
            return
        assert name and gender and birth and school_id and class_id and grade_id
        self.rows.append(StudentRow(
            row=row, student_no=student_no, name=name, gender=gender, birth_date=birth, id_number=id_number,
            enrolment_year=enrolment_year or self.register.grade_entry_year[grade_id], school_id=school_id,
            class_id=class_id, household=household, status=status, address=address, guardians=guardians,
        ))  # fmt: skip

    def _class(self, row: int, values: dict[str, str], school_id: int, grade_id: int) -> int | None:
        raw = values["class"]
        memo_key = (grade_id, text(raw))
        found = self._class_memo.get(memo_key)
        if found is None:
            found = self._resolve_class(memo_key[1], grade_id)
            self._class_memo[memo_key] = found
        if isinstance(found, int):
            return found
        params = {}
        if found == "unknown_class":
            params = {
                "school": self.register.school_name(school_id),
                "grade": values["grade"],
                "class": text(raw),
            }
        self.problem(row, "class", raw, found, **params)
        return None

    def _resolve_class(self, value: str, grade_id: int) -> int | str:
        if not value:
            return "required"
        try:
            number = parse_class_number(value)
        except BadValue as exc:
            return exc.code
        return self.register.class_by_number.get((grade_id, number), "unknown_class")

    def _guardians(self, row: int, values: dict[str, str]) -> list[GuardianEntry]:
        found: list[GuardianEntry] = []
        for keys in self.GUARDIAN_COLUMNS:
            name_key, relation_key, phone_key = keys
            name = self.optional_text(row, values, name_key, 50)
            phone_raw = values[phone_key]
            relation = self.choice(row, values, self._columns[relation_key])
            if not phone_raw and not name:
                continue
            if not phone_raw or not text(values[name_key]):
                missing = phone_key if not phone_raw else name_key
                self.problem(row, missing, "", "guardian_incomplete")
                continue
            try:
                phone = parse_phone(phone_raw)
            except BadValue as exc:
                self.problem(row, phone_key, phone_raw, exc.code)
                continue
            if any(g.phone == phone for g in found):
                self.problem(row, phone_key, phone_raw, "duplicate_in_file", other_row=row)
                continue
            if name is not None:
                found.append(GuardianEntry(name, relation or "other", phone, keys))
        return found

    def _staged_frame(self) -> pl.DataFrame:
        """The rows of both ways as one frame, in the order of the file."""
        slow = []
        for r in self.rows:
            guardians: list[Any] = [None] * 6
            for g in r.guardians:
                at = 0 if g.columns == self.GUARDIAN_COLUMNS[0] else 3
                guardians[at : at + 3] = [g.name, g.relation, g.phone]
            slow.append((r.row, r.student_no, r.name, r.gender, r.birth_date, r.id_number, r.enrolment_year,
                         r.school_id, r.class_id, r.household, r.status, r.address, *guardians))  # fmt: skip
        return pl.concat([self._fast, _frame_of(slow, _STAGED)]).sort("row")

    def stage(self) -> None:
        """Which rows are new and which change, and the guardians, as joins against the
        register: the lookups are a few bulk queries, and no Python runs per row unless a
        row has a problem to report."""
        col = pl.col
        staged = self._staged_frame()
        guardians = pl.concat([
            staged.filter(col(f"g{slot}_phone").is_not_null()).select(
                "row", slot=pl.lit(slot, pl.Int64), name=col(f"g{slot}_name"),
                relation=col(f"g{slot}_relation"), phone=col(f"g{slot}_phone"),
            )
            for slot in (1, 2)
        ]).sort("row", "slot")  # fmt: skip
        # The same phone number under two names within the file.
        first = guardians.group_by("phone", maintain_order=True).agg(
            first_name=col("name").first(), first_row=col("row").first()
        )
        for row, slot, name, other, other_row in (
            guardians.join(first, on="phone", maintain_order="left")
            .filter(col("name") != col("first_name"))
            .select("row", "slot", "name", "first_name", "first_row")
            .iter_rows()
        ):
            self.problem(row, f"guardian{slot}_name", name, "guardian_name_conflict", other=other,
                         other_row=other_row)  # fmt: skip
        current = frame_in(Student, "student_no", staged["student_no"], _STUDENT_FIELDS, _CURRENT)
        owners = frame_in(
            Student, "id_number", staged["id_number"], ("student_no",),
            {"id_number": pl.String, "owner": pl.String},
        )  # fmt: skip
        staged = staged.join(current, on="student_no", how="left", maintain_order="left").join(
            owners, on="id_number", how="left", maintain_order="left"
        )
        for row, id_number, owner in (
            staged.filter(col("owner").is_not_null() & (col("owner") != col("student_no")))
            .select("row", "id_number", "owner")
            .iter_rows()
        ):
            self.problem(row, "id_number", id_number, "id_taken_student", other=owner)
        allowed = self.ctx.allowed_school_ids
        elsewhere = pl.lit(False)
        if allowed is not None:
            elsewhere = (
                col("pk").is_not_null()
                & (col("cur_school_id") != col("school_id"))
                & ~col("cur_school_id").is_in(sorted(allowed))
            )
        for row, student_no, school_id in (
            staged.filter(elsewhere).select("row", "student_no", "cur_school_id").iter_rows()
        ):
            self.problem(row, "student_no", student_no, "student_other_school",
                         school=self.register.school_name(school_id))  # fmt: skip
        # A student of a school out of reach stays unmatched, as `clean_row`'s way did.
        staged = staged.with_columns(pk=pl.when(~elsewhere).then(col("pk")))
        known = col("pk").is_not_null()
        staged = staged.with_columns(
            *(
                (known & (col(wanted).is_not_null() if keep else pl.lit(True))
                 & col(f"cur_{name}").ne_missing(col(wanted))).alias(f"changed_{name}")
                for name, (wanted, keep) in _WANTED.items()
            ),
            class_changed=known & col("cur_school_class_id").ne_missing(col("class_id")),
            moved_from_school=pl.when(known & (col("cur_school_id") != col("school_id"))).then(col("cur_school_id")),
        )  # fmt: skip
        self.staged = staged
        self._stage_guardians(guardians)

    def _stage_guardians(self, guardians: pl.DataFrame) -> None:
        col = pl.col
        staged = self.staged
        existing = frame_in(
            Guardian, "phone", guardians["phone"], ("pk", "name"),
            {"phone": pl.String, "guardian_id": pl.Int64, "guardian_name": pl.String},
        )  # fmt: skip
        links = frame_in(
            StudentGuardian, "guardian_id", existing["guardian_id"], ("pk", "student_id", "relation"),
            {"guardian_id": pl.Int64, "link_id": pl.Int64, "student_id": pl.Int64, "link_relation": pl.String},
        )  # fmt: skip
        self._guardian_ids = existing.select("phone", "guardian_id")
        entries = guardians.join(
            staged.select("row", "pk"), on="row", how="left", maintain_order="left"
        ).join(existing, on="phone", how="left", maintain_order="left")
        # A guardian's name is corrected only when every student linked to the guardian is
        # in the file with that phone number: otherwise the number is another family's.
        in_file = entries.filter(col("pk").is_not_null() & col("guardian_id").is_not_null()).select(
            "guardian_id", student_id="pk"
        )
        taken = links.join(in_file, on=["guardian_id", "student_id"], how="anti")["guardian_id"].unique()
        found = col("guardian_id").is_not_null()
        renamed = found & (col("guardian_name") != col("name"))
        entries = entries.with_columns(refused=renamed & col("guardian_id").is_in(taken.implode()))
        for row, slot, phone, other in (
            entries.filter(col("refused")).select("row", "slot", "phone", "guardian_name").iter_rows()
        ):
            self.problem(row, f"guardian{slot}_phone", phone, "guardian_phone_taken", other=_mask_name(other))
        entries = entries.filter(~col("refused")).join(
            links.select("guardian_id", "student_id", "link_id", "link_relation"),
            left_on=["guardian_id", "pk"], right_on=["guardian_id", "student_id"], how="left",
            maintain_order="left",
        )  # fmt: skip
        new_link = ~found | col("link_id").is_null()
        relink = found & col("link_id").is_not_null() & (col("link_relation") != col("relation"))
        entries = entries.with_columns(
            new_link=new_link, relink=relink, changed=~found | renamed | new_link | relink
        )
        self.new_guardians = (
            entries.filter(~found).unique("phone", keep="first", maintain_order=True).select("name", "phone")
        )
        self.guardian_renames = (
            entries.filter(renamed)
            .unique("phone", keep="first", maintain_order=True)
            .select(pk="guardian_id", name="name")
        )
        self.new_links = entries.filter(col("new_link")).select("row", "phone", "relation")
        self.relinks = entries.filter(col("relink")).select(pk="link_id", relation="relation")
        guardian_changed = entries.group_by("row").agg(guardian_changed=col("changed").any())
        staged = staged.join(guardian_changed, on="row", how="left", maintain_order="left")
        changed = pl.any_horizontal(col(f"changed_{name}") for name in _WANTED) | col(
            "guardian_changed"
        ).fill_null(False)
        known = col("pk").is_not_null()
        self.created, self.updated, self.unchanged, self.class_changes = staged.select(
            (~known).sum().alias("created"), (known & changed).sum().alias("updated"),
            (known & ~changed).sum().alias("unchanged"), (known & col("class_changed")).sum().alias("class_changes"),
        ).row(0)  # fmt: skip
        self.staged = staged

    def staged_rows(self) -> list[StudentRow]:
        """The staged rows as `StudentRow`s (for tests: the two ways of checking agree)."""
        rows = []
        for r in self.staged.iter_rows(named=True):
            guardians = [
                GuardianEntry(r[f"g{slot}_name"], r[f"g{slot}_relation"], r[f"g{slot}_phone"], keys)
                for slot, keys in enumerate(self.GUARDIAN_COLUMNS, start=1)
                if r[f"g{slot}_phone"] is not None
            ]
            changes = {name: r[wanted] for name, (wanted, _keep) in _WANTED.items() if r[f"changed_{name}"]}
            rows.append(StudentRow(
                row=r["row"], student_no=r["student_no"], name=r["name"], gender=r["gender"],
                birth_date=r["birth_date"], id_number=r["id_number"], enrolment_year=r["enrolment_year"],
                school_id=r["school_id"], class_id=r["class_id"], household=r["household"], status=r["status"],
                address=r["address"], guardians=guardians, pk=r["pk"], changes=changes,
                moved_from_school=r["moved_from_school"], class_changed=r["class_changed"],
            ))  # fmt: skip
        return rows

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "class_changes": self.class_changes,
            "guardians_created": self.new_guardians.height,
            "guardians_updated": self.guardian_renames.height,
        }

    def apply(self) -> None:
        with _sqlite_cache(connections[router.db_for_write(Student)]):
            self._apply()

    def _apply(self) -> None:
        col = pl.col
        today = self.ctx.today
        staged = self.staged
        new_rows = staged.filter(col("pk").is_null())
        created = insert_frame(Student, new_rows.select(
            "student_no", "name", "gender", "birth_date", "id_number", "enrolment_year", "school_id",
            school_class_id="class_id", household=col("household").fill_null(Student.Household.LOCAL.value),
            status=col("status").fill_null(Student.Status.ENROLLED.value), address=col("address").fill_null(""),
        ), key="student_no").rename({"pk": "new_pk"})  # fmt: skip
        staged = staged.join(created, on="student_no", how="left", maintain_order="left").with_columns(
            pk=pl.coalesce("pk", "new_pk")
        )
        # One UPDATE per set of changed fields, so that a changed name does not rewrite
        # every other column of every updated row.
        flags = [f"changed_{name}" for name in _WANTED]
        updates = staged.filter(pl.any_horizontal(flags))
        for (*changed,), group in updates.group_by(flags, maintain_order=True):
            fields = sorted(name for name, on in zip(_WANTED, changed, strict=True) if on)
            values = [col(_WANTED[name][0]) for name in fields]
            update_rows(Student, fields, group.select("pk", *values).rows())
        moved = staged.filter(col("class_changed"))
        for part in chunked(moved["pk"].to_list()):
            ClassEnrolment.objects.filter(student_id__in=part, end__isnull=True).update(end=today)
        enrolments = pl.concat([
            staged.filter(col("new_pk").is_not_null()).select("pk", "class_id", reason=pl.lit(REASON_IMPORTED)),
            moved.select("pk", "class_id", reason=pl.when(col("moved_from_school").is_not_null())
                         .then(pl.lit(REASON_TRANSFER)).otherwise(pl.lit(REASON_CLASS_CHANGE))),
        ])  # fmt: skip
        insert_frame(ClassEnrolment, enrolments.select(
            student_id="pk", school_class_id="class_id", start=pl.lit(today, pl.Date), reason="reason"
        ), inserted={Student: created["new_pk"]})  # fmt: skip
        made = insert_frame(Guardian, self.new_guardians.select("name", "phone"), key="phone").rename(
            {"pk": "guardian_id"}
        )
        update_rows(Guardian, ("name",), self.guardian_renames.rows())
        guardian_ids = pl.concat([made, self._guardian_ids])
        insert_frame(StudentGuardian, self.new_links.join(staged.select("row", "pk"), on="row", maintain_order="left")
                     .join(guardian_ids, on="phone", maintain_order="left")
                     .select(student_id="pk", guardian_id="guardian_id", relation="relation"),
                     inserted={Student: created["new_pk"], Guardian: made["guardian_id"]})  # fmt: skip
        update_rows(StudentGuardian, ("relation",), self.relinks.rows())


# Pages of SQLite's cache while an import writes: the default 2 MB spills dirty pages of
# the indexes to the write-ahead log again and again during a transaction of 450,000 rows.
IMPORT_CACHE_KIB = 256 * 1024


@contextmanager
def _sqlite_cache(connection: Any) -> Iterator[None]:
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (before,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


def _mask_name(name: str) -> str:
    return name[:1] + "*" * (len(name) - 1)


# -- teachers ---------------------------------------------------------------------------------


@dataclass(slots=True)
class TeacherRow:
    row: int
    staff_no: str
    name: str
    gender: str
    birth_date: dt.date
    id_number: str | None
    phone: str | None
    subject_id: int | None
    title: str
    qualification: str
    status: str | None
    school_id: int
    joined_school_on: dt.date | None
    started_teaching_year: int | None
    pk: int | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    moved: bool = False


_TEACHER_FIELDS = ("pk", "name", "gender", "birth_date", "id_number", "phone", "subject_id", "title",
                   "qualification", "status", "school_id", "joined_school_on", "started_teaching_year")  # fmt: skip


class TeacherImporter(Importer):
    kind = "teachers"
    columns = formats.TEACHER_COLUMNS

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.rows: list[TeacherRow] = []
        self._columns = {c.key: c for c in self.columns}
        self.low_birth = dt.date(ctx.today.year - 80, 1, 1)
        self.created = self.updated = self.unchanged = 0

    def clean_row(self, row: int, values: dict[str, str]) -> None:
        before = len(self.issues)
        staff_no = values["staff_no"].upper()
        if not staff_no:
            self.problem(row, "staff_no", "", "required")
        elif len(staff_no) > 20 or not staff_no.isascii() or not staff_no.replace("-", "").isalnum():
            self.problem(row, "staff_no", values["staff_no"], "bad_staff_no")
        else:
            self.unique_in_file(row, "staff_no", staff_no)
        name = self.required_text(row, values, "name", 50)
        gender, birth, id_number, _ok = self.person_basics(row, values, self.low_birth)
        self.unique_in_file(row, "id_number", id_number)
        phone = None
        if values["phone"]:
            try:
                phone = parse_phone(values["phone"])
            except BadValue as exc:
                self.problem(row, "phone", values["phone"], exc.code)
        subject_id = None
        if values["subject"]:
            subject_id = self.register.subjects.get(key_text(values["subject"]))
            if subject_id is None:
                accepted = self.register.subject_names
                self.problem(row, "subject", values["subject"], "unknown_subject", accepted=accepted)
        title = self.choice(row, values, self._columns["title"])
        if title is None and not values["title"]:
            self.problem(row, "title", "", "required")
        qualification = self.choice(row, values, self._columns["qualification"])
        if qualification is None and not values["qualification"]:
            self.problem(row, "qualification", "", "required")
        status = self.choice(row, values, self._columns["status"])
        school_id = self.school(row, values)
        joined = self.date(
            row, values, "joined_school_on", dt.date(1950, 1, 1), self.ctx.today + dt.timedelta(days=366)
        )
        started = self.year(row, values, "started_teaching_year", 1950, self.ctx.today.year + 1)
        if len(self.issues) > before:
            return
        assert staff_no and name and gender and birth and title and qualification and school_id
        self.rows.append(TeacherRow(
            row=row, staff_no=staff_no, name=name, gender=gender, birth_date=birth, id_number=id_number,
            phone=phone, subject_id=subject_id, title=title, qualification=qualification, status=status,
            school_id=school_id, joined_school_on=joined, started_teaching_year=started,
        ))  # fmt: skip

    def stage(self) -> None:
        rows = self.rows
        existing = _values_by_key(Teacher, "staff_no", [r.staff_no for r in rows], _TEACHER_FIELDS)
        id_owners = _values_by_key(
            Teacher, "id_number", [r.id_number for r in rows if r.id_number], ("staff_no",)
        )
        allowed = self.ctx.allowed_school_ids
        for r in rows:
            if r.id_number is not None:
                owner = id_owners.get(r.id_number)
                if owner is not None and owner[0] != r.staff_no:
                    self.problem(r.row, "id_number", r.id_number, "id_taken_teacher", other=owner[0])
            found = existing.get(r.staff_no)
            if found is None:
                self.created += 1
                continue
            current = dict(zip(_TEACHER_FIELDS, found, strict=True))
            school_id = current["school_id"]
            if (
                school_id is not None
                and school_id != r.school_id
                and allowed is not None
                and school_id not in allowed
            ):
                self.problem(r.row, "staff_no", r.staff_no, "teacher_other_school",
                             school=self.register.school_name(school_id))  # fmt: skip
                continue
            r.pk = current["pk"]
            wanted: dict[str, Any] = {"name": r.name, "gender": r.gender, "birth_date": r.birth_date,
                                      "title": r.title, "qualification": r.qualification, "school_id": r.school_id}  # fmt: skip
            for key in (
                "id_number",
                "phone",
                "subject_id",
                "status",
                "joined_school_on",
                "started_teaching_year",
            ):
                value = getattr(r, key)
                if value is not None:
                    wanted[key] = value
            r.changes = {k: v for k, v in wanted.items() if current[k] != v}
            r.moved = school_id != r.school_id
            if r.changes:
                self.updated += 1
            else:
                self.unchanged += 1

    def counts(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "school_changes": sum(1 for r in self.rows if r.moved)}  # fmt: skip

    def apply(self) -> None:
        today = self.ctx.today
        new_rows = [r for r in self.rows if r.pk is None]
        insert_rows(
            Teacher,
            ("staff_no", "name", "gender", "birth_date", "id_number", "phone", "subject_id", "title",
             "qualification", "status", "school_id", "joined_school_on", "started_teaching_year"),
            ((r.staff_no, r.name, r.gender, r.birth_date, r.id_number, r.phone or "", r.subject_id, r.title,
              r.qualification, r.status or Teacher.Status.ESTABLISHED, r.school_id, r.joined_school_on,
              r.started_teaching_year) for r in new_rows),
        )  # fmt: skip
        created = _values_by_key(Teacher, "staff_no", [r.staff_no for r in new_rows], ("pk",))
        for r in new_rows:
            r.pk = created[r.staff_no][0]
        _bulk_update_grouped(
            Teacher, [(Teacher(pk=r.pk, **r.changes), frozenset(r.changes)) for r in self.rows if r.changes]
        )
        moved = [r for r in self.rows if r.moved]
        for part in chunked([r.pk for r in moved]):
            TeacherPosting.objects.filter(teacher_id__in=part, end__isnull=True).update(end=today)
        postings = [(r.pk, r.school_id, r.joined_school_on or today, REASON_IN_POST) for r in new_rows]
        postings += [(r.pk, r.school_id, today, REASON_POSTED) for r in moved]
        insert_rows(TeacherPosting, ("teacher_id", "school_id", "start", "reason"), postings)


# -- classes ----------------------------------------------------------------------------------


@dataclass(slots=True)
class ClassRow:
    row: int
    school_id: int
    level: int
    number: int
    entry_year: int | None
    campus_id: int | None
    head_teacher_id: int | None
    grade_id: int | None = None
    pk: int | None = None
    changes: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.school_id, self.level, self.number)


class ClassImporter(Importer):
    kind = "classes"
    columns = formats.CLASS_COLUMNS

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.rows: list[ClassRow] = []
        self.extras: list[dict[str, str]] = []  # campus and head teacher, resolved in stage()
        self.new_grades: dict[tuple[int, int], Grade] = {}
        self.created = self.updated = self.unchanged = 0

    def clean_row(self, row: int, values: dict[str, str]) -> None:
        before = len(self.issues)
        school_id = self.school(row, values)
        level = self.grade_level(row, values, school_id)
        if (
            school_id is not None
            and level is not None
            and level not in self.register.schools[school_id].levels
        ):
            self.problem(row, "grade", values["grade"], "level_not_in_school",
                         school=self.register.school_name(school_id), grade=values["grade"])  # fmt: skip
        number = None
        if not values["class"]:
            self.problem(row, "class", "", "required")
        else:
            try:
                number = parse_class_number(values["class"])
            except BadValue as exc:
                self.problem(row, "class", values["class"], exc.code)
        entry_year = self.year(row, values, "entry_year", 1990, self.ctx.today.year + 1)
        if len(self.issues) > before:
            return
        assert school_id is not None and level is not None and number is not None
        self.rows.append(ClassRow(row, school_id, level, number, entry_year, None, None))
        self.extras.append({"campus": values["campus"], "head_teacher": values["head_teacher"].upper()})

    def stage(self) -> None:
        first: dict[tuple[int, int, int], int] = {}
        for r in self.rows:
            if r.key in first:
                self.problem(r.row, "class", r.number, "duplicate_in_file", other_row=first[r.key])
            first.setdefault(r.key, r.row)
        school_ids = sorted({r.school_id for r in self.rows})
        campuses = {(school_id, key_text(name)): pk for pk, school_id, name in
                    Campus.objects.filter(school_id__in=school_ids).values_list("pk", "school_id", "name")}  # fmt: skip
        staff = _values_by_key(
            Teacher,
            "staff_no",
            sorted({raw["head_teacher"] for raw in self.extras if raw["head_teacher"]}),
            ("pk", "school_id"),
        )
        current = {
            pk: (campus_id, head_id)
            for pk, campus_id, head_id in SchoolClass.objects.filter(school_id__in=school_ids).values_list(
                "pk", "campus_id", "head_teacher_id"
            )
        }
        school_year = school_year_of(self.ctx.today)
        for r, raw in zip(self.rows, self.extras, strict=True):
            school_name = self.register.school_name(r.school_id)
            if raw["campus"]:
                r.campus_id = campuses.get((r.school_id, key_text(raw["campus"])))
                if r.campus_id is None:
                    self.problem(r.row, "campus", raw["campus"], "unknown_campus", school=school_name)
            if raw["head_teacher"]:
                found = staff.get(raw["head_teacher"])
                if found is None or found[1] != r.school_id:
                    self.problem(r.row, "head_teacher", raw["head_teacher"], "unknown_teacher")
                else:
                    r.head_teacher_id = found[0]
            r.grade_id = self.register.grade_by_level.get((r.school_id, r.level))
            if r.grade_id is None and (r.school_id, r.level) not in self.new_grades:
                entry = r.entry_year or school_year - (r.level - stage_start(r.level))
                self.new_grades[(r.school_id, r.level)] = Grade(
                    school_id=r.school_id, level=r.level, entry_year=entry
                )
            r.pk = self.register.class_by_number.get((r.grade_id, r.number)) if r.grade_id else None
            if r.pk is None:
                self.created += 1
                continue
            campus_id, head_id = current[r.pk]
            if r.campus_id is not None and r.campus_id != campus_id:
                r.changes["campus_id"] = r.campus_id
            if r.head_teacher_id is not None and r.head_teacher_id != head_id:
                r.changes["head_teacher_id"] = r.head_teacher_id
            if r.changes:
                self.updated += 1
            else:
                self.unchanged += 1

    def counts(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "grades_created": len(self.new_grades)}  # fmt: skip

    def apply(self) -> None:
        Grade.objects.bulk_create(list(self.new_grades.values()))
        new_rows = [r for r in self.rows if r.pk is None]
        classes = []
        for r in new_rows:
            grade_id = r.grade_id or self.new_grades[(r.school_id, r.level)].pk
            classes.append(SchoolClass(school_id=r.school_id, grade_id=grade_id, number=r.number,
                                       campus_id=r.campus_id, head_teacher_id=r.head_teacher_id))  # fmt: skip
        SchoolClass.objects.bulk_create(classes, batch_size=WRITE_BATCH)
        _bulk_update_grouped(
            SchoolClass,
            [(SchoolClass(pk=r.pk, **r.changes), frozenset(r.changes)) for r in self.rows if r.changes],
        )


IMPORTERS: dict[str, type[Importer]] = {
    "students": StudentImporter,
    "teachers": TeacherImporter,
    "classes": ClassImporter,
}
