"""The exam data contract: long-format score rows and an item table, and their wide form.

Scores arrive long (one row per student and item) because that is how a lake stores millions of
them and how Ibis/DuckDB groups them; the psychometric kernels want a dense students x items
matrix, which `score_matrix` builds once per exam.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

SCORE_COLUMNS = ("student_id", "school_id", "class_id", "item_id", "score")
OPTIONAL_SCORE_COLUMNS = ("option",)
ITEM_COLUMNS = ("item_id", "max_score")
OPTIONAL_ITEM_COLUMNS = ("subject", "kind", "key", "knowledge_point", "ability", "question_type")
OBJECTIVE = "objective"
SUBJECTIVE = "subjective"


class ExamDataError(ValueError):
    """Input that does not follow the contract in docs/exam-analysis.md."""


def as_arrow(data: Any) -> pa.Table:
    """Accept an Arrow table, an Ibis table, a polars/pandas frame or a Parquet path."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, ibis.Table):
        return data.to_pyarrow()
    if isinstance(data, str):
        return pq.read_table(data)
    if hasattr(data, "to_arrow"):
        return data.to_arrow()
    return pa.Table.from_pandas(data, preserve_index=False)


def as_ibis(data: Any) -> ibis.Table:
    if isinstance(data, ibis.Table):
        return data
    return ibis.memtable(as_arrow(data))


def check_columns(table: pa.Table, required: tuple[str, ...], what: str) -> None:
    missing = [c for c in required if c not in table.column_names]
    if missing:
        raise ExamDataError(f"{what} lacks column(s): {', '.join(missing)}")


def _codes(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list]:
    # Encode one contiguous array: chunks encoded apart would each get their own dictionary.
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    encoded = pc.dictionary_encode(column)
    indices = pc.fill_null(encoded.indices, -1)
    return indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary.to_pylist()


@dataclass(frozen=True)
class ScoreMatrix:
    """Students x items. NaN marks an item a student has no row for (not administered)."""

    scores: np.ndarray
    student_ids: list
    school_ids: np.ndarray
    class_ids: np.ndarray
    item_ids: list
    max_scores: np.ndarray
    subjects: np.ndarray
    kinds: np.ndarray
    keys: np.ndarray
    option_codes: np.ndarray | None  # int16 students x items, -1 = no option recorded
    option_labels: list

    @property
    def n_students(self) -> int:
        return self.scores.shape[0]

    def filled(self) -> np.ndarray:
        """Scores with items without a row counted as 0, as a marked paper counts a blank."""
        return np.nan_to_num(self.scores, nan=0.0)

    def subject_columns(self, subject: str) -> np.ndarray:
        return np.flatnonzero(self.subjects == subject)


def item_column(items: pa.Table, name: str, default: Any) -> np.ndarray:
    if name in items.column_names:
        values = items[name].to_pylist()
        return np.array([default if v is None else v for v in values], dtype=object)
    return np.array([default] * items.num_rows, dtype=object)


def score_matrix(scores: Any, items: Any) -> ScoreMatrix:
    """Pivot long score rows into a dense matrix in the item table's order."""
    st = as_arrow(scores)
    it = as_arrow(items)
    check_columns(st, SCORE_COLUMNS, "scores")
    check_columns(it, ITEM_COLUMNS, "items")
    item_ids = it["item_id"].to_pylist()
    if len(set(item_ids)) != len(item_ids):
        raise ExamDataError("items: item_id is not unique")
    item_index = pc.index_in(st["item_id"], value_set=pa.array(item_ids, type=st["item_id"].type))
    if item_index.null_count:
        unknown = pc.filter(st["item_id"], pc.is_null(item_index)).unique().to_pylist()[:5]
        raise ExamDataError(f"scores: item_id not in items: {unknown}")
    col = item_index.to_numpy(zero_copy_only=False).astype(np.int64)
    row, student_ids = _codes(st["student_id"])
    n, j = len(student_ids), len(item_ids)
    score = st["score"].to_numpy(zero_copy_only=False).astype(np.float64)
    max_scores = np.asarray(it["max_score"].to_numpy(zero_copy_only=False), dtype=np.float64)
    if np.isnan(score).any():
        raise ExamDataError("scores: score is empty in some rows")
    if (score < 0).any() or (score > max_scores[col] + 1e-9).any():
        raise ExamDataError("scores: a score lies outside 0..max_score of its item")
    # One flat index instead of a (row, col) pair: numpy's 1-d scatter is several times faster.
    cell = row * j + col
    flat = np.full(n * j, np.nan)
    flat[cell] = score
    matrix = flat.reshape(n, j)
    # One school and one class per student: the last row wins, and the contract says they agree.
    # Only one row per student is converted to Python strings, not every score row.
    last_row = np.empty(n, dtype=np.int64)
    last_row[row] = np.arange(row.shape[0])
    take = pa.array(last_row)
    school_ids = np.array(pc.take(st["school_id"], take).to_pylist(), dtype=object)
    class_ids = np.array(pc.take(st["class_id"], take).to_pylist(), dtype=object)
    option_codes: np.ndarray | None = None
    option_labels: list = []
    if "option" in st.column_names:
        codes, option_labels = _codes(st["option"])
        valid = codes >= 0
        flat_codes = np.full(n * j, -1, dtype=np.int16)
        flat_codes[cell[valid]] = codes[valid]
        option_codes = flat_codes.reshape(n, j)
    return ScoreMatrix(
        scores=matrix,
        student_ids=student_ids,
        school_ids=school_ids,
        class_ids=class_ids,
        item_ids=item_ids,
        max_scores=max_scores,
        subjects=item_column(it, "subject", ""),
        kinds=item_column(it, "kind", SUBJECTIVE),
        keys=item_column(it, "key", None),
        option_codes=option_codes,
        option_labels=option_labels,
    )
