from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

SNAPSHOT_DAY = dt.date(2026, 9, 15)


@pytest.fixture
def lake_dir(settings: Any, tmp_path: Path) -> Path:
    """A lake of the test's own: the pages read what this test's snapshot wrote."""
    from jiaoyun.dashboard import selectors

    settings.LAKE_URL = str(tmp_path / "lake")
    selectors.clear_cache()
    return tmp_path / "lake"


@pytest.fixture
def snapshot(demo: Any, lake_dir: Path) -> Any:
    from jiaoyun.dashboard import services

    return services.take_snapshot(day=SNAPSHOT_DAY)
