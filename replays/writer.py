"""`ReplayWriter`: buffers finished games and appends them to a run as new part files."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from replays.files import new_part_name, replays_dir, write_atomic
from replays.schema import build_table, file_metadata


class ReplayWriter:
    """Appends games to `run_dir/replays/`, one new Parquet part file per game per flush.

    Rows are validated when added and buffered; they reach disk when the buffer holds
    `flush_rows` games, when the oldest buffered game is older than `flush_seconds`
    (checked on `write`), on `flush()` and on `close()` (also at the end of a `with`
    block). Writing in batches keeps Parquet's per-file cost negligible. Existing files
    are never touched. Use it as a context manager, or call `close()`.
    """

    def __init__(
        self,
        run_dir: str | os.PathLike,
        *,
        flush_rows: int = 100_000,
        flush_seconds: float | None = 60.0,
    ):
        if flush_rows < 1:
            raise ValueError(f"flush_rows must be at least 1, got {flush_rows}")
        self.directory = replays_dir(run_dir)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self.written: list[Path] = []
        self._buffer: dict[str, list[pa.Table]] = {}
        self._buffered_rows = 0
        self._oldest: float | None = None
        self._closed = False

    @property
    def buffered_rows(self) -> int:
        return self._buffered_rows

    def write(self, games: Mapping[str, Any] | pa.Table) -> None:
        """Add finished games: columns as for `replays.build_table`, or a replay table."""
        if self._closed:
            raise ValueError("write to a closed ReplayWriter")
        if isinstance(games, pa.Table):
            table = build_table({name: games[name] for name in games.column_names})
        else:
            table = build_table(games)
        if not len(table):
            return
        names = pc.unique(table["game"]).to_pylist()
        for name in names:
            part = table if len(names) == 1 else table.filter(pc.equal(table["game"], name))
            self._buffer.setdefault(name, []).append(part)
        self._buffered_rows += len(table)
        self._oldest = self._oldest if self._oldest is not None else time.monotonic()
        if self._buffered_rows >= self.flush_rows or self._too_old():
            self.flush()

    def flush(self) -> list[Path]:
        """Write every buffered game now; returns the new part files."""
        new = []
        for name in sorted(self._buffer):
            table = pa.concat_tables(self._buffer[name])
            path = self.directory / new_part_name()
            write_atomic(table.replace_schema_metadata(file_metadata(name)), path)
            # Dropped only once on disk, so a failed flush can be retried without loss.
            del self._buffer[name]
            self._buffered_rows -= len(table)
            new.append(path)
        self._oldest = None
        self.written.extend(new)
        return new

    def close(self) -> None:
        """Flush and refuse further writes. Closing twice is harmless."""
        if not self._closed:
            self.flush()
            self._closed = True

    def __enter__(self) -> ReplayWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        # Buffered games are finished, valid games: keep them even when the block failed.
        self.close()

    def _too_old(self) -> bool:
        return (
            self.flush_seconds is not None
            and self._oldest is not None
            and time.monotonic() - self._oldest >= self.flush_seconds
        )
