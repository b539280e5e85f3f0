"""Opening the analytic backend named by configuration on the lake's tables.

DuckDB runs in process and is the default; Spark (PySpark) serves a city or a province and
reads the same Parquet files through the same Ibis expressions. Either way the views in
`jiaoyun.analytics.warehouse` see a dict of Ibis tables.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import ibis
from ibis import BaseBackend, Table

from jiaoyun.analytics.warehouse.schema import REFERENCE_TABLES, SNAPSHOT_TABLES
from jiaoyun.lake.store import Lake

BACKENDS = ("duckdb", "pyspark")


def default_backend() -> str:
    from django.conf import settings

    return str(settings.ANALYTICS_BACKEND)


def spark_session(master: str | None = None, **conf: Any) -> Any:
    """A SparkSession: local mode unless JIAOYUN_SPARK_MASTER names a cluster."""
    from pyspark.sql import SparkSession

    # Executors must run the same Python as the driver (the project's venv).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master or os.environ.get("JIAOYUN_SPARK_MASTER", "local[2]"))
        .appName("jiaoyun-warehouse")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", os.environ.get("JIAOYUN_SPARK_SHUFFLE_PARTITIONS", "8"))
        .config("spark.sql.session.timeZone", "UTC")
    )
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def connect(kind: str | None = None, **options: Any) -> BaseBackend:
    kind = kind or default_backend()
    if kind == "duckdb":
        return ibis.duckdb.connect(**options)
    if kind == "pyspark":
        return ibis.pyspark.connect(spark_session(**options))
    raise ValueError(f"unknown analytics backend {kind!r}: choose one of {', '.join(BACKENDS)}")


def open_tables(con: BaseBackend, lake: Lake) -> dict[str, Table]:
    """Every snapshot table of the lake (all days), plus the reference tables present.
    A table with no snapshot yet is an empty table of its schema."""
    tables: dict[str, Table] = {}
    for name, schema in SNAPSHOT_TABLES.items():
        files = lake.snapshot_files(name)
        if not files:
            tables[name] = ibis.memtable(schema.empty_table())
        elif con.name == "duckdb":
            tables[name] = con.read_parquet(files, table_name=f"lake_{name}")
        else:
            tables[name] = con.read_parquet(lake.url("warehouse", name), table_name=f"lake_{name}")
    for name in REFERENCE_TABLES:
        if lake.has_reference(name):
            tables[name] = con.read_parquet(lake.reference_url(name), table_name=f"lake_{name}")
    return tables
