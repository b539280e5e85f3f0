"""Every read the dashboard pages, exports and the big screen make: view results of the
latest snapshot, filtered to what the viewer may see.

District staff see the district; a school administrator sees their own school's rows of the
per-school views and nothing of the district-wide ones; nobody else sees the warehouse.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from django.core.exceptions import PermissionDenied
from django.http import Http404

from jiaoyun.accounts.scopes import Scope
from jiaoyun.analytics.warehouse.catalogue import VIEWS, View
from jiaoyun.dashboard import services
from jiaoyun.dashboard.policy import current_policy
from jiaoyun.lake.store import MARTS

_cache: dict[tuple[str, str, str], pa.Table] = {}
_lock = threading.Lock()


def may_see_district(viewer: Scope) -> bool:
    return viewer.district


def may_see_school(viewer: Scope, school_id: int) -> bool:
    return viewer.district or school_id in viewer.admin_school_ids


def may_use_dashboard(viewer: Scope) -> bool:
    return viewer.district or bool(viewer.admin_school_ids)


@dataclass(frozen=True)
class Snapshot:
    day: dt.date
    days: list[dt.date]


def latest_snapshot() -> Snapshot | None:
    days = services.lake().snapshot_days()
    if not days:
        return None
    return Snapshot(day=days[-1], days=days)


def _mart(day: dt.date) -> str:
    lake = services.lake()
    key = services.mart_key(day, current_policy())
    if not lake.exists(MARTS, key, "_complete.parquet"):
        # Norms changed, births imported, or the task ran without materialising: compute now,
        # once; the lock keeps concurrent requests from computing the same mart twice.
        with _lock:
            if not lake.exists(MARTS, key, "_complete.parquet"):
                services.materialise(day=day)
    return key


def _read(key: str, name: str) -> pa.Table:
    lake = services.lake()
    cache_key = (lake.root, key, name)
    table = _cache.get(cache_key)
    if table is None:
        table = lake.read(MARTS, key, f"{name}.parquet")
        if len(_cache) > 512:
            _cache.clear()
        _cache[cache_key] = table
    return table


def view_spec(name: str) -> View:
    try:
        return VIEWS[name]
    except KeyError:
        raise Http404(name) from None


def view_result(
    *, viewer: Scope, name: str, school_id: int | None = None, day: dt.date | None = None
) -> pa.Table:
    """One view's rows on the latest snapshot (or `day`), as the viewer may see them; with
    `school_id`, only that school's rows (the drill-down)."""
    spec = view_spec(name)
    if not may_use_dashboard(viewer):
        raise PermissionDenied
    if spec.school_column is None and not viewer.district:
        raise PermissionDenied
    if school_id is not None and not may_see_school(viewer, school_id):
        raise PermissionDenied
    if day is None:
        snapshot = latest_snapshot()
        if snapshot is None:
            raise Http404("no snapshot yet")
        day = snapshot.day
    table = _read(_mart(day), name)
    if spec.school_column is None:
        return table
    column = table.column(spec.school_column)
    if school_id is not None:
        return table.filter(pc.fill_null(pc.equal(column, school_id), False))
    if viewer.district:
        return table
    allowed = pa.array(sorted(viewer.admin_school_ids), type=pa.int64())
    return table.filter(pc.fill_null(pc.is_in(column, value_set=allowed), False))


def school_row(*, viewer: Scope, school_id: int) -> dict | None:
    rows = view_result(viewer=viewer, name="school_kpis", school_id=school_id).to_pylist()
    return rows[0] if rows else None


def clear_cache() -> None:
    _cache.clear()
