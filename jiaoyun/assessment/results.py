"""Reading an exam's materialised analysis (the folder its `analysis_version` points at).

Tables are read once per process and version: a new analysis is a new version, so a cached
table is never stale, and the cache stays small (an exam's tables are a few MB at district
scale).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from jiaoyun.assessment import storage
from jiaoyun.assessment.models import Exam


@lru_cache(maxsize=64)
def _table(folder: str, name: str) -> pa.Table | None:
    path = Path(folder) / f"{name}.parquet"
    return pq.read_table(path) if path.exists() else None


@lru_cache(maxsize=16)
def _summary(folder: str) -> dict:
    return json.loads((Path(folder) / "summary.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


class Results:
    def __init__(self, exam: Exam) -> None:
        self.exam = exam
        self.folder = str(storage.analysis_dir(exam.pk, exam.analysis_version))
        self._subjects: list[str] | None = None
        self._items: dict[int, dict] | None = None

    @classmethod
    def of(cls, exam: Exam) -> Results | None:
        if not exam.analysis_version:
            return None
        results = cls(exam)
        return results if Path(results.folder, "summary.json").exists() else None

    @property
    def summary(self) -> dict:
        return _summary(self.folder)

    def table(self, name: str) -> pa.Table | None:
        return _table(self.folder, name)

    def rows(self, name: str, **equal: Any) -> list[dict]:
        """Rows of a table where every given column equals its value (a list: is in)."""
        table = self.table(name)
        if table is None:
            return []
        for column, value in equal.items():
            if column not in table.column_names:
                return []
            if isinstance(value, list | tuple | set):
                values = pa.array(list(value), type=table[column].type)
                table = table.filter(pc.is_in(table[column], value_set=values))
            else:
                table = table.filter(pc.equal(table[column], pa.scalar(value, type=table[column].type)))
        return table.to_pylist()  # type: ignore[no-any-return]

    def subjects(self) -> list[str]:
        """Subject names in paper order."""
        if self._subjects is None:
            self._subjects = list(dict.fromkeys(r["subject"] for r in self.rows("item_meta")))
        return self._subjects

    def items(self) -> dict[int, dict]:
        if self._items is None:
            self._items = {r["item_id"]: r for r in self.rows("item_meta")}
        return self._items

    def student_scores(self, student_id: int) -> list[dict]:
        """The raw item scores of one student in every paper (wrong-item lists)."""
        out = []
        for paper in self.exam.papers.exclude(scores_version=""):
            table = storage.read(storage.scores_path(self.exam.pk, paper.pk))
            if table is not None:
                out += table.filter(pc.equal(table["student_id"], student_id)).to_pylist()
        return out
