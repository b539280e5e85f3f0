"""Where an exam's facts live in the lake: one folder per paper holding the long-format
scores and the sittings (who sat, who was absent), written atomically."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
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


def exam_dir(exam_id: int) -> Path:
    return Path(settings.LAKE_URL) / "assessment" / f"exam={exam_id}"


def analysis_dir(exam_id: int, version: int) -> Path:
    return exam_dir(exam_id) / "analysis" / f"v={version}"


def write_analysis(exam_id: int, tables: dict[str, pa.Table], summary: dict) -> Path:
    """Write every result table and the summary into a fresh hidden folder and return it;
    `publish_analysis` then renames it into place, so readers never see a partial set."""
    root = exam_dir(exam_id) / "analysis"
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=".staging-"))
    try:
        for name, table in tables.items():
            pq.write_table(table, staging / f"{name}.parquet", compression="zstd")
        (staging / "summary.json").write_text(
            json.dumps(summary, ensure_ascii=False, allow_nan=False), encoding="utf-8"
        )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def publish_analysis(staging: Path, exam_id: int, version: int) -> Path:
    target = analysis_dir(exam_id, version)
    if target.exists():  # a crashed run left it behind without ever being pointed at
        shutil.rmtree(target)
    os.replace(staging, target)
    return target


def discard(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def prune_analyses(exam_id: int, keep: int) -> None:
    """Remove the versions older than `keep - 1`: a reader that looked up the previous
    pointer a moment ago can still finish."""
    root = exam_dir(exam_id) / "analysis"
    if not root.exists():
        return
    for child in root.iterdir():
        if child.name.startswith("v="):
            try:
                version = int(child.name[2:])
            except ValueError:
                continue
            if version < keep - 1:
                shutil.rmtree(child, ignore_errors=True)
