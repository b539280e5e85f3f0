"""The same views on DuckDB and on Spark, reading the same Parquet lake: same results."""

from __future__ import annotations

import datetime as dt
import math
import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from jiaoyun.analytics.warehouse.catalogue import VIEWS, Inputs
from jiaoyun.lake.backend import connect, open_tables
from jiaoyun.lake.store import Lake

from . import handmade

pytest.importorskip("pyspark")

pytestmark = pytest.mark.spark


def _lake(root: Path) -> Lake:
    lake = Lake(str(root))
    data = handmade.tables()
    for name, table in data.items():
        if name == "births":
            lake.write_reference(name, table)
            continue
        for day in sorted(set(table.column("snapshot_date").to_pylist())):
            lake.write_snapshot(name, table.filter(_is_day(table, day)), day)
    return lake


def _is_day(table: Any, day: dt.date) -> Any:
    import pyarrow.compute as pc

    return pc.equal(table.column("snapshot_date"), day)


def _normalise(value: Any) -> Any:
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def _result(con: Any, inputs: Inputs, name: str) -> list[tuple]:
    table = con.to_pyarrow(inputs.view(name))
    rows = [tuple(_normalise(v) for v in row.values()) for row in table.to_pylist()]
    # Backends order NULLs differently; the comparison is of the rows as a multiset.
    return sorted(rows, key=repr)


def test_duckdb_and_spark_agree_on_every_view(tmp_path: Path) -> None:
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    lake = _lake(tmp_path / "lake")
    duck = connect("duckdb")
    spark = connect("pyspark", **{"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2"})
    try:
        on_duck = Inputs(tables=open_tables(duck, lake), as_of=handmade.AS_OF, policy=handmade.POLICY)
        on_spark = Inputs(tables=open_tables(spark, lake), as_of=handmade.AS_OF, policy=handmade.POLICY)
        for name in VIEWS:
            expected = _result(duck, on_duck, name)
            assert expected, f"{name} is empty on the hand-made lake"
            assert _result(spark, on_spark, name) == expected, name
        # The lake round trip itself is faithful: the same figures as the in-memory tests.
        assert _result(duck, on_duck, "hiring_plan") == [
            (1, "chinese", 1.6, 2, 1, 0.6, 1),
            (3, "preschool", 2.5, 3, 2, 1.5, 2),
        ]
    finally:
        spark._session.stop()
