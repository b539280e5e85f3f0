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
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar, cast

import polars as pl
from django.db import connections, router
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
from jiaoyun.exchange.reader import Table
from jiaoyun.exchange.values import (
    BadValue,
    key_text,
    number_lost_digits,
    parse_choice,
    parse_class_number,
    parse_date,
    parse_phone,
    parse_year,
    text,
)

# Keys per IN (...) query: under SQLite's limit on bound parameters, and big enough that
# an 80,000-row file takes a few dozen queries.
LOOKUP_CHUNK = 5000
WRITE_BATCH = 2000
INSERT_BATCH = 5000
# A file this long is a mistake (a whole province's register) rather than one school's or
# one district's list.
MAX_ROWS = 300_000
# Rows scanned for the header: schools put a title line or two above it.
HEADER_SEARCH_ROWS = 10
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
        self._cells: list[Any] = []
        self._choice_memo: dict[tuple[str, str], str | None] = {}
        self._school_memo: dict[tuple[str, str], int | tuple[str, str, dict[str, Any]]] = {}

    # -- the pipeline ------------------------------------------------------------------------

    def run(self, table: Table) -> Outcome:
        """Read, check and stage every row; the caller applies (`apply`) in a transaction
        when the outcome has no issues."""
        outcome = Outcome()
        rows = self._find_header(table.rows)
        if self.header is None:
            outcome.issues = self.issues
            return outcome
        outcome.header_row = self.header.row_number
        outcome.ignored_columns = self.header.ignored
        if self.issues:  # the header is wrong: the rows cannot be read
            outcome.issues = self.issues
            return outcome
        total = max(table.height - self.header.row_number, 0)
        body: list[tuple[int, list[Any]]] = []
        count = 0
        for number, cells in rows:
            if not any(c not in (None, "") for c in cells):
                continue
            count += 1
            if count > MAX_ROWS:
                self.issues.append(Issue(None, "", "", "too_many_rows", {"limit": MAX_ROWS}))
                break
            body.append((number, cells))
        self.ctx.progress(0, max(total, len(body)))
        texts, raws = self._text_columns(body)
        # Rows the column-wise checks vouch for are staged from the columns; every other row
        # goes through `clean_row`, which finds and words its problems one by one.
        slow = self.clean_columns([number for number, _cells in body], texts, raws)
        keys = list(texts)
        for done, index in enumerate(slow, start=1):
            number, cells = body[index]
            self._cells = cells
            self.clean_row(number, {key: texts[key][index] for key in keys})
            if done % PROGRESS_EVERY == 0:
                self.ctx.progress(len(body) - len(slow) + done, total)
        if len(slow) < len(body):
            self.rows.sort(key=lambda r: r.row)
        outcome.rows = count
        self.ctx.progress(count, count)
        if count == 0:
            self.issues.append(Issue(None, "", "", "empty"))
        elif self.rows:
            # Rows that passed on their own are checked against each other and the register
            # even when others failed, so that one upload reports every problem.
            self.stage()
        outcome.issues = self._sorted_issues()
        if outcome.issues:
            return outcome
        outcome.counts = self.counts()
        return outcome

    def _sorted_issues(self) -> list[Issue]:
        positions: dict[str, int] = {}
        if self.header is not None:
            positions = {written: self.header.positions[key] for key, written in self.header.headers.items()}
        return sorted(self.issues, key=lambda issue: (issue.row or 0, positions.get(issue.column, -1)))

    def _find_header(self, rows: Iterator[tuple[int, list[Any]]]) -> Iterator[tuple[int, list[Any]]]:
        for number, cells in rows:
            match = formats.match_header(number, cells, self.columns)
            if len(match.positions) >= 2:
                self.header = match
                self._check_header(match)
                return rows
            if number >= HEADER_SEARCH_ROWS:
                break
        example = "、".join(c.header for c in self.columns if c.required)
        self.issues.append(Issue(1, "", "", "no_header", {"example": example}))
        return iter(())

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

    def _text_columns(
        self, body: list[tuple[int, list[Any]]]
    ) -> tuple[dict[str, list[str]], dict[str, list[Any]]]:
        """Every cell of every column as text (see `values.text`), column by column; and the
        cells as read, for the columns whose cells are not all text."""
        assert self.header is not None
        cells = [c for _n, c in body]
        narrowest = min(map(len, cells), default=0)
        texts: dict[str, list[str]] = {}
        raws: dict[str, list[Any]] = {}
        for column in self.columns:
            position = self.header.positions.get(column.key)
            if position is None:
                texts[column.key] = [""] * len(cells)
                continue
            if position < narrowest:
                raw = [c[position] for c in cells]
            else:
                raw = [c[position] if position < len(c) else None for c in cells]
            # A column holds few distinct values, or each value once: text each distinct
            # value once.
            as_text = {value: text(value) for value in set(raw)}
            texts[column.key] = list(map(as_text.__getitem__, raw))
            if any(type(value) is not str for value in as_text):
                raws[column.key] = raw
        return texts, raws

    def clean_columns(
        self, numbers: list[int], texts: dict[str, list[str]], raws: dict[str, list[Any]]
    ) -> Sequence[int]:
        """Check whole columns at once and stage the rows found good; return the indexes of
        the other rows, for `clean_row`. It may pass on any row it is unsure of, never
        stage a row `clean_row` would refuse, nor stage a row differently."""
        return range(len(numbers))

    # -- helpers for clean_row -------------------------------------------------------------

    def column_header(self, key: str) -> str:
        assert self.header is not None
        return self.header.headers.get(key) or next(c.header for c in self.columns if c.key == key)

    def problem(self, row: int, key: str, raw: Any, code: str, **params: Any) -> None:
        self.issues.append(Issue(row, self.column_header(key), text(raw), code, params))

    def raw(self, key: str) -> Any:
        """The current row's cell as read from the file (a float, a date...), not as text."""
        assert self.header is not None
        position = self.header.positions.get(key)
        return self._cells[position] if position is not None and position < len(self._cells) else None

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
        if number_lost_digits(self.raw("id_number"), length=18):
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
    """Rows of (key, *fields) whose key is one of `keys`, in chunks of LOOKUP_CHUNK keys.

    Plain SQL through the cursor: the ORM prepares every one of the tens of thousands of
    IN parameters and builds a result row object per row, which cost more than the
    queries. The fields read this way (text, numbers, dates, foreign keys) come back from
    both databases as the ORM would give them.
    """
    connection = connections[router.db_for_read(model)]
    meta = model._meta
    quote = connection.ops.quote_name

    def column(name: str) -> str:
        field = meta.pk if name == "pk" else meta.get_field(name)
        return quote(cast(str, cast(Field, field).column))

    select = "SELECT {} FROM {} WHERE {} ".format(
        ", ".join(column(name) for name in (key, *fields)), quote(meta.db_table), column(key)
    )
    unique = list(dict.fromkeys(keys))
    if not unique:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array parameter: psycopg's client-side binding parses a query of
            # thousands of placeholders at a cost of tens of milliseconds each.
            cursor.execute(select + "= ANY(%s)", [unique])
            yield from cursor.fetchall()
            return
        for part in chunked(unique):
            cursor.execute(select + "IN ({})".format(", ".join(["%s"] * len(part))), part)
            yield from cursor.fetchall()


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


# A mobile number as `parse_phone` returns it: such a cell is its own value.
_PLAIN_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def _parsed(
    cells: list[str],
    parse: Callable[[str], Any],
    dtype: type[pl.DataType],
    key: str,
    plain: re.Pattern[str] | None = None,
) -> dict[str, pl.Series]:
    """A column parsed one distinct value at a time: `key` holds the values (None for an
    empty cell and for a value `parse` refuses), `bad_<key>` tells the refused ones. A
    value that `plain` matches in full is known to parse as itself."""
    parsed: dict[str, Any] = {}
    refused: set[str] = set()
    for value in set(cells):
        if not value:
            parsed[value] = None
            continue
        if plain is not None and plain.fullmatch(value):
            parsed[value] = value
            continue
        try:
            parsed[value] = parse(value)
        except BadValue:
            parsed[value] = None
            refused.add(value)
    values = pl.Series(key, list(map(parsed.__getitem__, cells)), dtype=dtype)
    bad = pl.Series(f"bad_{key}", [value in refused for value in cells] if refused else [False] * len(cells),
                    dtype=pl.Boolean)  # fmt: skip
    return {key: values, f"bad_{key}": bad}


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


_STUDENT_FIELDS = ("pk", "name", "gender", "birth_date", "id_number", "enrolment_year", "school_id",
                   "school_class_id", "household", "status", "address")  # fmt: skip


class StudentImporter(Importer):
    kind = "students"
    columns = formats.STUDENT_COLUMNS
    GUARDIAN_COLUMNS = (
        ("guardian1_name", "guardian1_relation", "guardian1_phone"),
        ("guardian2_name", "guardian2_relation", "guardian2_phone"),
    )

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.rows: list[StudentRow] = []
        self._class_memo: dict[tuple[int, str], int | str] = {}
        self.low_birth = dt.date(ctx.today.year - 30, 1, 1)
        self._columns = {c.key: c for c in self.columns}
        self.new_guardians: list[tuple[str, str]] = []  # name, phone
        self.guardian_renames: list[tuple[int, str]] = []  # pk, name
        self.new_links: list[tuple[StudentRow, str, str]] = []  # row, phone, relation
        self.relinks: list[tuple[int, str]] = []  # link pk, relation
        self.guardian_ids: dict[str, int] = {}
        self.created = self.updated = self.unchanged = 0

    def clean_columns(
        self, numbers: list[int], texts: dict[str, list[str]], raws: dict[str, list[Any]]
    ) -> Sequence[int]:
        """The checks of `clean_row`, a column at a time: each distinct value is parsed once
        in Python by the same functions, and polars combines the columns of each row."""
        if not numbers:
            return []
        today = self.ctx.today
        reg = self.register
        school_of = {
            pair: self._school_memo.setdefault(pair, self._resolve_school(*pair))
            for pair in set(zip(texts["school_code"], texts["school_name"], strict=True))
        }
        school_ids = [
            found if isinstance(found, int) else None
            for found in map(
                school_of.__getitem__, zip(texts["school_code"], texts["school_name"], strict=True)
            )
        ]
        level_of = {
            pair: self._resolve_level(pair[1], pair[0])
            for pair in set(zip(school_ids, texts["grade"], strict=True))
        }
        grade_ids = []
        for school_id, grade in zip(school_ids, texts["grade"], strict=True):
            level = level_of[(school_id, grade)]
            usable = school_id is not None and isinstance(level, int)
            grade_ids.append(reg.grade_by_level.get((school_id, level)) if usable else None)  # type: ignore[arg-type]
        class_of: dict[tuple[int | None, str], int | str | None] = {
            pair: self._resolve_class(pair[1], pair[0]) if pair[0] is not None else None
            for pair in set(zip(grade_ids, texts["class"], strict=True))
        }
        class_ids = [
            found if isinstance(found, int) else None
            for found in map(class_of.__getitem__, zip(grade_ids, texts["class"], strict=True))
        ]
        year_high = today.year + 1

        def enrolment_year(value: str) -> Any:
            return parse_year(value, low=1990, high=year_high)

        def id_number(value: str) -> Any:
            value = value.replace(" ", "").upper()
            if value and id_number_problem(value) is not None:
                raise BadValue("id")
            return value or None

        columns = self._columns
        frame = pl.DataFrame(
            {
                "row": pl.Series(numbers, dtype=pl.Int64),
                "school_id": pl.Series(school_ids, dtype=pl.Int64),
                "grade_id": pl.Series(grade_ids, dtype=pl.Int64),
                "class_id": pl.Series(class_ids, dtype=pl.Int64),
                **_parsed(texts["student_no"], _student_no, pl.String, "student_no"),
                "name": pl.Series(texts["name"], dtype=pl.String),
                **_parsed(texts["gender"], partial(_choice, columns["gender"].choices), pl.String, "gender"),
                **_parsed(texts["birth_date"], parse_date, pl.Date, "birth_date"),
                **_parsed(texts["id_number"], id_number, pl.String, "id_number"),
                **_parsed(texts["enrolment_year"], enrolment_year, pl.Int64, "enrolment_year"),
                **_parsed(texts["household"], partial(_choice, columns["household"].choices), pl.String,
                          "household"),
                **_parsed(texts["status"], partial(_choice, columns["status"].choices), pl.String, "status"),
                "address": pl.Series(texts["address"], dtype=pl.String),
                **{
                    name: values
                    for keys in self.GUARDIAN_COLUMNS
                    for name, values in (
                        (keys[0], pl.Series(texts[keys[0]], dtype=pl.String)),
                        *_parsed(texts[keys[1]], partial(_choice, columns[keys[1]].choices), pl.String, keys[1]).items(),
                        *_parsed(texts[keys[2]], parse_phone, pl.String, keys[2], _PLAIN_MOBILE).items(),
                    )
                },
            }
        )  # fmt: skip
        col = pl.col
        if "id_number" in raws:
            # A number cell that lost digits is refused whatever its text reads.
            lost = pl.Series(
                [number_lost_digits(value, length=18) for value in raws["id_number"]], dtype=pl.Boolean
            )
            frame = frame.with_columns(
                id_number=pl.when(lost).then(None).otherwise(col("id_number")),
                bad_id_number=col("bad_id_number") | lost,
            )
        id_birth = col("id_number").str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
        odd = col("id_number").str.slice(16, 1).cast(pl.Int64) % 2 == 1
        id_gender = pl.when(odd).then(pl.lit("male")).otherwise(pl.lit("female"))
        frame = frame.with_columns(
            id_birth=pl.when(col("id_number").is_not_null()).then(id_birth),
            id_gender=pl.when(col("id_number").is_not_null()).then(id_gender),
        )
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
        for (row, student_no, name, gender, id_gender, birth, id_birth, id_value, year, school_id, grade_id,
             class_id, household, status, address, *guardian_cells) in frame.filter(col("good")).select(
            "row", "student_no", "name", "gender", "id_gender", "birth_date", "id_birth", "id_number",
            "enrolment_year", "school_id", "grade_id", "class_id", "household", "status", "address",
            *(key for keys in self.GUARDIAN_COLUMNS for key in keys),
        ).iter_rows():  # fmt: skip
            guardians = []
            for at, keys in zip((0, 3), self.GUARDIAN_COLUMNS, strict=True):
                if guardian_cells[at + 2] is not None:
                    relation = guardian_cells[at + 1] or "other"
                    guardians.append(
                        GuardianEntry(guardian_cells[at], relation, guardian_cells[at + 2], keys)
                    )
            self.rows.append(StudentRow(
                row=row, student_no=student_no, name=name, gender=gender or id_gender, birth_date=birth or id_birth,
                id_number=id_value, enrolment_year=year or entry_year[grade_id], school_id=school_id,
                class_id=class_id, household=household, status=status, address=address or None,
                guardians=guardians,
            ))  # fmt: skip
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

    def stage(self) -> None:
        rows = self.rows
        self._check_guardian_names()
        existing = _values_by_key(Student, "student_no", [r.student_no for r in rows], _STUDENT_FIELDS)
        id_owners = _values_by_key(
            Student, "id_number", [r.id_number for r in rows if r.id_number], ("student_no",)
        )
        allowed = self.ctx.allowed_school_ids
        for r in rows:
            if r.id_number is not None:
                owner = id_owners.get(r.id_number)
                if owner is not None and owner[0] != r.student_no:
                    self.problem(r.row, "id_number", r.id_number, "id_taken_student", other=owner[0])
            found = existing.get(r.student_no)
            if found is None:
                continue
            pk, name, gender, birth, id_number, year, school_id, class_id, household, status, address = found
            if school_id != r.school_id and allowed is not None and school_id not in allowed:
                self.problem(r.row, "student_no", r.student_no, "student_other_school",
                             school=self.register.school_name(school_id))  # fmt: skip
                continue
            r.pk = pk
            wanted = {"name": r.name, "gender": r.gender, "birth_date": r.birth_date, "enrolment_year": r.enrolment_year,
                      "school_id": r.school_id, "school_class_id": r.class_id}  # fmt: skip
            if r.id_number is not None:
                wanted["id_number"] = r.id_number
            for key, value in (("household", r.household), ("status", r.status), ("address", r.address)):
                if value is not None:
                    wanted[key] = value
            current = dict(zip(_STUDENT_FIELDS[1:], found[1:], strict=True))
            r.changes = {k: v for k, v in wanted.items() if current[k] != v}
            r.class_changed = class_id != r.class_id
            if school_id != r.school_id:
                r.moved_from_school = school_id
        self._stage_guardians()

    def _check_guardian_names(self) -> None:
        first: dict[str, tuple[str, int]] = {}
        for r in self.rows:
            for g in r.guardians:
                seen = first.setdefault(g.phone, (g.name, r.row))
                if seen[0] != g.name:
                    self.problem(
                        r.row,
                        g.columns[0],
                        g.name,
                        "guardian_name_conflict",
                        other=seen[0],
                        other_row=seen[1],
                    )

    def _stage_guardians(self) -> None:
        phones = sorted({g.phone for r in self.rows for g in r.guardians})
        existing = _values_by_key(Guardian, "phone", phones, ("pk", "name"))
        guardian_pks = [pk for pk, _name in existing.values()]
        # Who each existing guardian is linked to, to tell a renamed guardian from a phone
        # number that belongs to someone else's parent.
        linked: dict[int, set[int]] = defaultdict(set)
        links: dict[tuple[int, int], tuple[int, str]] = {}
        for guardian_id, link_pk, student_id, relation in select_in(
            StudentGuardian, "guardian_id", guardian_pks, ("pk", "student_id", "relation")
        ):
            linked[guardian_id].add(student_id)
            links[(student_id, guardian_id)] = (link_pk, relation)
        in_file: dict[str, set[int]] = defaultdict(set)
        for r in self.rows:
            for g in r.guardians:
                if r.pk is not None:
                    in_file[g.phone].add(r.pk)
        staged_phones: set[str] = set()  # new or renamed guardians already staged
        for r in self.rows:
            guardian_changed = False
            for g in r.guardians:
                found = existing.get(g.phone)
                if found is None:
                    if g.phone not in staged_phones:
                        self.new_guardians.append((g.name, g.phone))
                        staged_phones.add(g.phone)
                    self.new_links.append((r, g.phone, g.relation))
                    guardian_changed = True
                    continue
                guardian_pk, name = found
                self.guardian_ids[g.phone] = guardian_pk
                if name != g.name:
                    if not linked[guardian_pk] <= in_file[g.phone]:
                        self.problem(
                            r.row, g.columns[2], g.phone, "guardian_phone_taken", other=_mask_name(name)
                        )
                        continue
                    if g.phone not in staged_phones:
                        self.guardian_renames.append((guardian_pk, g.name))
                        staged_phones.add(g.phone)
                    guardian_changed = True
                link = links.get((r.pk, guardian_pk)) if r.pk is not None else None
                if link is None:
                    self.new_links.append((r, g.phone, g.relation))
                    guardian_changed = True
                elif link[1] != g.relation:
                    self.relinks.append((link[0], g.relation))
                    guardian_changed = True
            if r.pk is None:
                self.created += 1
            elif r.changes or guardian_changed:
                self.updated += 1
            else:
                self.unchanged += 1

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "class_changes": sum(1 for r in self.rows if r.pk is not None and r.class_changed),
            "guardians_created": len(self.new_guardians),
            "guardians_updated": len(self.guardian_renames),
        }

    def apply(self) -> None:
        today = self.ctx.today
        new_rows = [r for r in self.rows if r.pk is None]
        # Only rows that were in the register can have changed class.
        moved = [r for r in self.rows if r.class_changed]
        insert_rows(
            Student,
            ("student_no", "name", "gender", "birth_date", "id_number", "enrolment_year", "school_id",
             "school_class_id", "household", "status", "address"),
            ((r.student_no, r.name, r.gender, r.birth_date, r.id_number, r.enrolment_year, r.school_id, r.class_id,
              r.household or Student.Household.LOCAL, r.status or Student.Status.ENROLLED, r.address or "")
             for r in new_rows),
        )  # fmt: skip
        created = _values_by_key(Student, "student_no", [r.student_no for r in new_rows], ("pk",))
        for r in new_rows:
            r.pk = created[r.student_no][0]
        # One UPDATE per set of changed fields, so that a changed name does not rewrite
        # every other column of every updated row.
        by_fields: dict[tuple[str, ...], list[tuple[Any, ...]]] = defaultdict(list)
        for r in self.rows:
            if r.changes:
                fields = tuple(sorted(r.changes))
                by_fields[fields].append((r.pk, *(r.changes[f] for f in fields)))
        for fields, updates in by_fields.items():
            update_rows(Student, fields, updates)
        for part in chunked([r.pk for r in moved]):
            ClassEnrolment.objects.filter(student_id__in=part, end__isnull=True).update(end=today)
        enrolments = [(r.pk, r.class_id, today, REASON_IMPORTED) for r in new_rows]
        enrolments += [
            (
                r.pk,
                r.class_id,
                today,
                REASON_TRANSFER if r.moved_from_school is not None else REASON_CLASS_CHANGE,
            )
            for r in moved
        ]
        insert_rows(ClassEnrolment, ("student_id", "school_class_id", "start", "reason"), enrolments)
        insert_rows(Guardian, ("name", "phone"), self.new_guardians)
        made = _values_by_key(Guardian, "phone", [phone for _name, phone in self.new_guardians], ("pk",))
        for phone, (pk,) in made.items():
            self.guardian_ids[phone] = pk
        update_rows(Guardian, ("name",), self.guardian_renames)
        insert_rows(
            StudentGuardian,
            ("student_id", "guardian_id", "relation"),
            ((r.pk, self.guardian_ids[phone], relation) for r, phone, relation in self.new_links),
        )
        update_rows(StudentGuardian, ("relation",), self.relinks)


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
