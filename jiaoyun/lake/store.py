"""Reading and writing Parquet in the lake."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

WAREHOUSE, REFERENCE, MARTS = "warehouse", "reference", "marts"
_SNAPSHOT_FILE = re.compile(r"^(?P<table>[a-z_]+)-(?P<day>\d{4}-\d{2}-\d{2})\.parquet$")


def default_root() -> str:
    from django.conf import settings

    return str(settings.LAKE_URL)


@dataclass(frozen=True)
class Lake:
    """A lake root: a local folder or a filesystem URL."""

    root: str

    @property
    def _fs(self) -> tuple[pafs.FileSystem, str]:
        if "://" in self.root:
            fs, base = pafs.FileSystem.from_uri(self.root)
            return fs, base.rstrip("/")
        return pafs.LocalFileSystem(), os.path.abspath(self.root)

    def url(self, *parts: str) -> str:
        """A path the analytic engines open (they take local paths and URLs alike)."""
        return "/".join([self.root.rstrip("/"), *parts])

    def _path(self, *parts: str) -> str:
        return "/".join([self._fs[1], *parts])

    def write(self, table: pa.Table, *parts: str) -> str:
        fs, _ = self._fs
        path = self._path(*parts)
        fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        # Write beside and rename, so a reader never sees half a file.
        tmp = path + ".tmp"
        pq.write_table(table, tmp, filesystem=fs, compression="zstd")
        fs.move(tmp, path)
        return path

    def read(self, *parts: str) -> pa.Table:
        fs, _ = self._fs
        return pq.read_table(self._path(*parts), filesystem=fs)

    def exists(self, *parts: str) -> bool:
        fs, _ = self._fs
        return fs.get_file_info(self._path(*parts)).type != pafs.FileType.NotFound

    def listdir(self, *parts: str) -> list[str]:
        fs, _ = self._fs
        selector = pafs.FileSelector(self._path(*parts), allow_not_found=True)
        return sorted(info.base_name for info in fs.get_file_info(selector))

    def delete_dir(self, *parts: str) -> None:
        fs, _ = self._fs
        if self.exists(*parts):
            fs.delete_dir(self._path(*parts))

    # The warehouse: one file per table and snapshot day.

    def write_snapshot(self, name: str, table: pa.Table, day: dt.date) -> str:
        return self.write(table, WAREHOUSE, name, f"{name}-{day.isoformat()}.parquet")

    def snapshot_days(self, name: str = "schools") -> list[dt.date]:
        days = []
        for base in self.listdir(WAREHOUSE, name):
            m = _SNAPSHOT_FILE.match(base)
            if m and m["table"] == name:
                days.append(dt.date.fromisoformat(m["day"]))
        return sorted(days)

    def snapshot_files(self, name: str) -> list[str]:
        return [
            self.url(WAREHOUSE, name, f"{name}-{d.isoformat()}.parquet") for d in self.snapshot_days(name)
        ]

    def has_reference(self, name: str) -> bool:
        return self.exists(REFERENCE, f"{name}.parquet")

    def reference_url(self, name: str) -> str:
        return self.url(REFERENCE, f"{name}.parquet")

    def write_reference(self, name: str, table: pa.Table) -> str:
        return self.write(table, REFERENCE, f"{name}.parquet")
