"""Every write of the warehouse: the snapshot of the register into the lake, the
materialised view results the pages read, and the import of the births table."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

import ibis
import pyarrow as pa
from django.utils import timezone
from django.utils.translation import gettext as _

from jiaoyun.accounts.scopes import Scope
from jiaoyun.analytics.warehouse.catalogue import VIEWS, Inputs
from jiaoyun.analytics.warehouse.policy import Policy
from jiaoyun.analytics.warehouse.schema import BIRTHS, SNAPSHOT_TABLES
from jiaoyun.core.models import ClassEnrolment, School, SchoolClass, Student, Teacher, TeachingAssignment
from jiaoyun.dashboard.policy import current_policy
from jiaoyun.lake import publishers
from jiaoyun.lake.backend import connect, open_tables
from jiaoyun.lake.store import MARTS, Lake, default_root

# The snapshot reads the whole register, as the district does.
SYSTEM = Scope(district=True, roles=frozenset({"system"}))


def _arrow(name: str, day: dt.date, columns: list[str], rows: list[tuple[Any, ...]]) -> pa.Table:
    schema = SNAPSHOT_TABLES[name]
    data: dict[str, list[Any]] = {"snapshot_date": [day] * len(rows)}
    for i, column in enumerate(columns):
        data[column] = [r[i] for r in rows]
    return pa.Table.from_pydict(data, schema=schema)


def _values(queryset: Any, fields: dict[str, str]) -> tuple[list[str], list[tuple[Any, ...]]]:
    return list(fields), list(queryset.values_list(*fields.values()).iterator(chunk_size=5000))


def publish_schools(day: dt.date) -> pa.Table:
    fields = {"school_id": "id", "code": "code", "name": "name", "kind": "kind", "zone": "zone",
              "is_public": "is_public", "is_quality": "is_quality"}  # fmt: skip
    return _arrow("schools", day, *_values(School.objects.visible_to(SYSTEM).order_by("id"), fields))


def publish_classes(day: dt.date) -> pa.Table:
    fields = {"class_id": "id", "school_id": "school_id", "grade_level": "grade__level", "number": "number",
              "entry_year": "grade__entry_year", "head_teacher_id": "head_teacher_id"}  # fmt: skip
    return _arrow("classes", day, *_values(SchoolClass.objects.visible_to(SYSTEM).order_by("id"), fields))


def publish_teachers(day: dt.date) -> pa.Table:
    fields = {"teacher_id": "id", "staff_no": "staff_no", "name": "name", "school_id": "school_id",
              "subject": "subject__code", "gender": "gender", "birth_date": "birth_date", "title": "title",
              "qualification": "qualification", "status": "status", "joined_school_on": "joined_school_on",
              "started_teaching_year": "started_teaching_year"}  # fmt: skip
    return _arrow("teachers", day, *_values(Teacher.objects.visible_to(SYSTEM).order_by("id"), fields))


def publish_students(day: dt.date) -> pa.Table:
    # No names, ID numbers or addresses: the warehouse counts students, it does not list them.
    fields = {"student_id": "id", "school_id": "school_id", "class_id": "school_class_id", "gender": "gender",
              "birth_date": "birth_date", "enrolment_year": "enrolment_year", "household": "household",
              "status": "status"}  # fmt: skip
    return _arrow("students", day, *_values(Student.objects.visible_to(SYSTEM).order_by("id"), fields))


def publish_enrolments(day: dt.date) -> pa.Table:
    fields = {"student_id": "student_id", "class_id": "school_class_id", "start": "start", "end": "end"}
    queryset = ClassEnrolment.objects.filter(student__in=Student.objects.visible_to(SYSTEM)).order_by("id")
    return _arrow("enrolments", day, *_values(queryset, fields))


def publish_assignments(day: dt.date) -> pa.Table:
    fields = {"teacher_id": "teacher_id", "class_id": "school_class_id", "subject": "subject__code",
              "weekly_hours": "weekly_hours"}  # fmt: skip
    queryset = TeachingAssignment.objects.filter(
        school_class__in=SchoolClass.objects.visible_to(SYSTEM)
    ).order_by("id")
    return _arrow("assignments", day, *_values(queryset, fields))


for _name, _publisher in (("schools", publish_schools), ("classes", publish_classes),
                          ("teachers", publish_teachers), ("students", publish_students),
                          ("enrolments", publish_enrolments), ("assignments", publish_assignments)):  # fmt: skip
    publishers.register(_name, _publisher)


@dataclass
class SnapshotResult:
    day: dt.date
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    views: int = 0


def lake() -> Lake:
    return Lake(default_root())


def take_snapshot(*, day: dt.date | None = None, materialise_views: bool = True) -> SnapshotResult:
    """Copy the register (and whatever other apps publish) into the lake as it stands today.
    Taking a day's snapshot again replaces it, so the task can be re-run safely."""
    started = time.perf_counter()
    day = day or timezone.localdate()
    target = lake()
    result = SnapshotResult(day=day)
    for name, publish in publishers.PUBLISHERS.items():
        table = publish(day)
        target.write_snapshot(name, table, day)
        result.rows[name] = table.num_rows
    # Results computed before this snapshot (of any day: the trends include every day) are stale.
    target.delete_dir(MARTS)
    if materialise_views:
        result.views = len(materialise(day=day))
    result.seconds = time.perf_counter() - started
    return result


def mart_key(day: dt.date, policy: Policy) -> str:
    return f"{day.isoformat()}-{policy.fingerprint()}"


def materialise(*, day: dt.date, policy: Policy | None = None, backend: str | None = None) -> dict[str, int]:
    """Compute every view for a snapshot day and keep the results in the lake, so that pages
    read a few small Parquet files instead of querying the register's facts."""
    policy = policy or current_policy()
    target = lake()
    con = connect(backend)
    results: dict[str, pa.Table] = {}

    def keep(name: str, expr: ibis.Table) -> ibis.Table:
        results[name] = con.to_pyarrow(expr)
        return ibis.memtable(results[name])

    inputs = Inputs(tables=open_tables(con, target), as_of=day, policy=policy, keep=keep)
    key = mart_key(day, policy)
    for name in VIEWS:
        inputs.view(name)
        target.write(results[name], MARTS, key, f"{name}.parquet")
    target.write(pa.table({"views": list(results)}), MARTS, key, "_complete.parquet")
    return {name: table.num_rows for name, table in results.items()}


class BirthsImportError(ValueError):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


BIRTH_HEADERS = {"zone": ("zone", "学区", "school zone"), "birth_year": ("birth_year", "出生年份", "birth year"),
                 "children": ("children", "人数", "出生人数", "count")}  # fmt: skip


def import_births(*, content: bytes) -> int:
    """Replace the births table (children per school zone and birth year) from an xlsx or
    csv file. Every bad row is reported and nothing is written unless all rows are good."""
    rows = _read_sheet(content)
    if not rows:
        raise BirthsImportError([_("The file is empty.")])
    header = [str(h).strip().lower() for h in rows[0]]
    index: dict[str, int] = {}
    for column, names in BIRTH_HEADERS.items():
        found = [i for i, h in enumerate(header) if h in names]
        if not found:
            raise BirthsImportError([_("Column “%(name)s” is missing.") % {"name": column}])
        index[column] = found[0]
    errors: list[str] = []
    seen: set[tuple[str, int]] = set()
    out: dict[str, list[Any]] = {"zone": [], "birth_year": [], "children": []}
    for line, row in enumerate(rows[1:], start=2):
        if not any(str(v).strip() for v in row if v is not None):
            continue
        cells = {c: (row[i] if i < len(row) else None) for c, i in index.items()}
        zone = str(cells["zone"] or "").strip()
        try:
            year = int(float(str(cells["birth_year"]).strip()))
            children = int(float(str(cells["children"]).strip()))
        except ValueError:
            errors.append(_("Row %(row)d: birth year and children must be whole numbers.") % {"row": line})
            continue
        if not zone:
            errors.append(_("Row %(row)d: the school zone is empty.") % {"row": line})
        elif not 1950 <= year <= 2100 or children < 0:
            errors.append(
                _("Row %(row)d: the birth year or the number of children is out of range.") % {"row": line}
            )
        elif (zone, year) in seen:
            errors.append(
                _("Row %(row)d: %(zone)s %(year)d appears twice.") % {"row": line, "zone": zone, "year": year}
            )
        else:
            seen.add((zone, year))
            out["zone"].append(zone)
            out["birth_year"].append(year)
            out["children"].append(children)
    if errors:
        raise BirthsImportError(errors)
    target = lake()
    target.write_reference("births", pa.Table.from_pydict(out, schema=BIRTHS))
    target.delete_dir(MARTS)
    return len(out["zone"])


def _read_sheet(content: bytes) -> list[list[Any]]:
    """The rows of an xlsx file, or of a CSV file in UTF-8 or GBK (Excel's "CSV" on Chinese
    Windows), through the register imports' reader."""
    from jiaoyun.exchange.reader import UnreadableFile, read_table

    try:
        return [cells for _number, cells in read_table(content).rows]
    except UnreadableFile as exc:
        raise BirthsImportError([_("The file is not a readable xlsx or csv file.")]) from exc
