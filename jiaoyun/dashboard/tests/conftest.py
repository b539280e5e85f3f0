from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

SNAPSHOT_DAY = dt.date(2026, 9, 15)


def _use_lake(settings: Any, path: Path) -> None:
    from jiaoyun.dashboard import selectors

    settings.LAKE_URL = str(path)
    selectors.clear_cache()


@pytest.fixture
def lake_dir(settings: Any, tmp_path: Path) -> Path:
    """An empty lake of the test's own, for tests that write to it."""
    _use_lake(settings, tmp_path / "lake")
    return tmp_path / "lake"


@pytest.fixture(scope="session")
def shared_lake(tmp_path_factory: Any, django_db_setup: Any, django_db_blocker: Any) -> tuple[Path, Any]:
    """One snapshot of the tiny demo district, taken once: the read-only tests share it."""
    from django.test import override_settings

    from jiaoyun.dashboard import services

    path = tmp_path_factory.mktemp("shared") / "lake"
    with django_db_blocker.unblock(), override_settings(LAKE_URL=str(path)):
        result = services.take_snapshot(day=SNAPSHOT_DAY)
    return path, result


@pytest.fixture
def snapshot(demo: Any, settings: Any, shared_lake: tuple[Path, Any]) -> Any:
    path, result = shared_lake
    _use_lake(settings, path)
    return result
