"""Fixtures for the rush tests: real threads, each with its own database connection."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections

from jiaoyun.electives.services import SelectionError


@pytest.fixture(autouse=True)
def media_in_tmp(settings: Any, tmp_path: Path) -> None:
    """Uploaded photos go to a scratch folder, not the developer's media folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def concurrent_db(demo: Any, tmp_path: Path) -> Iterator[None]:
    """Make the database reachable from other threads.

    PostgreSQL and a file-based SQLite test database already are. Django's in-memory SQLite
    test database is a shared-cache database, where concurrent writers fail at once with
    "database table is locked" instead of queueing on the write lock like the production
    file does. So for the test's duration the in-memory database is copied (SQLite's backup
    API, as Django's parallel test runner does) into a WAL file opened with the production
    options, and every connection, this thread's included, goes there.
    """
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        yield
        return
    memory = connections["default"]
    original = connections.settings["default"]
    path = tmp_path / "rush.sqlite3"
    memory.ensure_connection()
    target = sqlite3.connect(path)
    memory.connection.backup(target)  # type: ignore[union-attr]
    target.close()
    connections.settings["default"] = {**original, "NAME": str(path)}
    connections["default"] = connections.create_connection("default")
    try:
        yield
    finally:
        connections["default"].close()
        connections.settings["default"] = original
        connections["default"] = memory


def rush(calls: Sequence[Callable[[], Any]]) -> Counter[str]:
    """Run the calls at the same moment, one thread each; count outcomes ("ok" or the
    refusal's code). Anything else a thread raises fails the test."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def run(call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            call()
            outcome = "ok"
        except SelectionError as refusal:
            outcome = refusal.code
        except BaseException as error:
            with lock:
                failures.append(error)
            return
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return Counter(outcomes)
