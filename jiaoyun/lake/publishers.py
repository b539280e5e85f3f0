"""What goes into a snapshot: each publisher turns the live data of one app into one Arrow
table for a snapshot day. The register's tables are published by the dashboard app; any other
app adds its own (exam results, electives, equipment) with `register` in its AppConfig.ready(),
and the snapshot task writes them into the lake beside the register's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pyarrow as pa

Publisher = Callable[[dt.date], pa.Table]

PUBLISHERS: dict[str, Publisher] = {}


def register(name: str, publisher: Publisher) -> None:
    PUBLISHERS[name] = publisher
