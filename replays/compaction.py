"""Compaction: merge small part files into bigger ones, safe against a kill at any instant.

Each step is on disk before the next starts:

1. the merged file is written under a temporary name, its schema metadata listing the
   part files it replaces (`arena.replaces`), and fsynced;
2. it is renamed into place and the directory fsynced: from then on readers ignore the
   sources, so every game is seen exactly once;
3. the sources are deleted and the directory fsynced.

A kill before 2 leaves a temporary file (invisible to readers); a kill between 2 and 3
leaves covered sources (ignored by readers). The next compaction deletes both before
doing anything else. It holds the run's lock (`replays.lock`), like every writer, so no
other compaction, tournament or league writes meanwhile. It refuses to merge a run that
stores a game twice (a copied part file, say): merging would make the copies permanent.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from replays import duplicates
from replays.errors import ReplayError, ReplayFormatError
from replays.files import (
    Part,
    fsync_dir,
    is_temp,
    new_part_name,
    replays_dir,
    scan,
    time_prefix,
    write_atomic,
)
from replays.lock import run_lock
from replays.schema import file_metadata, upgrade

TAG = "compact-"  # marks compaction's temporary files


@dataclass
class CompactionReport:
    """Files a compaction created and removed (sources, leftovers of an earlier run)."""

    created: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)


def compact(
    run_dir: str | os.PathLike,
    target_rows: int = 1_000_000,
    *,
    stale_seconds: float = 3600.0,
) -> CompactionReport:
    """Merge the part files of a run with fewer than `target_rows` games into files of up
    to `target_rows` games (one game per file, as always), oldest files first.

    It first finishes an interrupted compaction, and deletes writers' temporary files
    older than `stale_seconds` (left by a killed writer; a live write takes seconds).
    Raises `replays.lock.RunLockedError` while another process writes into the run, and
    ReplayError, changing nothing, when a game is stored more than once.
    """
    if target_rows < 2:
        raise ValueError(f"target_rows must be at least 2, got {target_rows}")
    if not Path(run_dir).is_dir():
        raise FileNotFoundError(f"no run directory at {run_dir}")
    directory = replays_dir(run_dir)
    report = CompactionReport()
    if not directory.is_dir():
        return report
    with run_lock(run_dir, "compaction"):
        live, _ = scan(directory)
        problem = duplicates.resolve(live).problem()
        if problem:
            raise ReplayError(f"{problem}; nothing was compacted (remove the copies first)")
        report.removed += _clean(directory, stale_seconds)
        for group in plan(live, target_rows):
            report.created.append(merge(directory, group))
            report.removed += _delete([p.path for p in group])
    return report


def plan(parts: list[Part], target_rows: int) -> list[list[Part]]:
    """Groups of two or more small parts of one game, in name order, of <= target_rows."""
    groups: list[list[Part]] = []
    by_game: dict[str, list[Part]] = {}
    for part in parts:
        if part.num_rows < target_rows:
            by_game.setdefault(part.game, []).append(part)
    for candidates in by_game.values():
        group: list[Part] = []
        rows = 0
        for part in candidates:
            if group and rows + part.num_rows > target_rows:
                groups.append(group)
                group, rows = [], 0
            group.append(part)
            rows += part.num_rows
        groups.append(group)
    return [g for g in groups if len(g) > 1]


def merge(directory: Path, group: list[Part]) -> Path:
    """Steps 1 and 2: the merged file, in place, naming its sources. Sources stay."""
    tables = []
    for part in group:
        try:
            # Files of an older schema version merge in with the newer columns null.
            tables.append(upgrade(pq.read_table(part.path)).replace_schema_metadata(None))
        except (pa.ArrowException, OSError) as e:
            raise ReplayFormatError(f"{part.path}: unreadable replay file ({e})") from None
    meta = file_metadata(group[0].game, replaces=[p.path.name for p in group])
    merged = pa.concat_tables(tables).replace_schema_metadata(meta)
    # The first source's time keeps the merged games where they were in name order.
    final = directory / new_part_name(prefix=time_prefix(group[0].path.name))
    write_atomic(merged, final, tag=TAG)
    return final


def _clean(directory: Path, stale_seconds: float) -> list[Path]:
    """Remove what an interrupted compaction or a killed writer left behind."""
    now = time.time()
    leftovers = []
    for path in directory.iterdir():
        if not is_temp(path):
            continue
        try:
            stale = now - path.stat().st_mtime > stale_seconds
        except FileNotFoundError:  # a writer has just renamed it into place
            continue
        if stale or path.name.startswith("." + TAG):
            leftovers.append(path)
    _, covered = scan(directory)
    return _delete(leftovers + [p.path for p in covered])


def _delete(paths: list[Path]) -> list[Path]:
    for path in paths:
        path.unlink(missing_ok=True)
    if paths:
        fsync_dir(paths[0].parent)
    return paths
