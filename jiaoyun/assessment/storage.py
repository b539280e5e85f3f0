"""Where an exam's facts live in the lake: one folder per paper holding the long-format
scores and the sittings (who sat, who was absent), written atomically."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings


def paper_dir(exam_id: int, paper_id: int) -> Path:
    return Path(settings.LAKE_URL) / "assessment" / f"exam={exam_id}" / f"paper={paper_id}"


def scores_path(exam_id: int, paper_id: int) -> Path:
    return paper_dir(exam_id, paper_id) / "scores.parquet"


def sittings_path(exam_id: int, paper_id: int) -> Path:
    return paper_dir(exam_id, paper_id) / "sittings.parquet"


def write_atomically(table: pa.Table, path: Path) -> str:
    """Write a Parquet file so that readers see the old file or the new one, never half;
    return the SHA-256 of what was written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        digest = hashlib.sha256(Path(tmp).read_bytes()).hexdigest()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return digest


def read(path: Path) -> pa.Table | None:
    return pq.read_table(path) if path.exists() else None
