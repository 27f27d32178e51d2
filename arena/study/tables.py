"""A study's Parquet tables: `DIR/tables/<name>.parquet`, each replaced whole and atomically.

A table is derived data (from the replays, the snapshots and the fits), small, and written
again whole when it changes, so a reader sees the old file or the new one, never half.
"""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from arena.rundir import atomic_write

TABLES_DIR = "tables"
# The tables rating writes (arena.study.rate), which the report and the dashboard read.
RATINGS = "ratings"
PAIRINGS = "pairings"
PLAYERS = "players"  # each rated agent id and how it plays, written before its first game
SNAPSHOTS = "snapshots"  # one row per snapshot (arena.study.train)


def table_path(study_dir: Path, name: str) -> Path:
    return Path(study_dir) / TABLES_DIR / f"{name}.parquet"


def write_table(study_dir: Path, name: str, table: pa.Table) -> Path:
    """Replace the study's table `name` with `table` (temp file, fsync, rename)."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    path = table_path(study_dir, name)
    atomic_write(path, buffer.getvalue())
    return path


def read_table(study_dir: Path, name: str) -> pa.Table | None:
    """The study's table `name`, or None when it has not been written yet."""
    path = table_path(study_dir, name)
    return pq.read_table(path) if path.is_file() else None
