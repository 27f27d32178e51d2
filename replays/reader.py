"""Reading a run's replays: a dataset over its live part files, filters and single games."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

import games
from replays import duplicates
from replays.errors import DuplicateGamesWarning, GameNotFoundError, ReplayFormatError
from replays.files import Part, replays_dir, scan
from replays.record import Replay, replay_from_row
from replays.schema import SCHEMA

T = TypeVar("T")


class ReplayDataset:
    """The games of one run. Build it with `replays.open(run_dir)`.

    It is a snapshot of the part files present when it was opened: temporary files, part
    files already merged into a compacted file and copies of stored games (a copied part
    file, with a `DuplicateGamesWarning` naming it) are left out, so each game is read
    once; every file's footer has been checked (schema, version), so a bad file fails at
    open time with its name. `dataset` is the underlying `pyarrow.dataset.Dataset`, for scans with
    your own expressions.
    """

    def __init__(self, run_dir: Path, parts: list[Part]):
        self.run_dir = run_dir
        self.parts = parts
        self.dataset: ds.Dataset = ds.dataset(
            [str(p.path) for p in parts], schema=SCHEMA, format="parquet"
        )

    @property
    def files(self) -> list[Path]:
        return [p.path for p in self.parts]

    def __repr__(self) -> str:
        return f"<ReplayDataset {self.run_dir}: {len(self.parts)} files, {self.count()} games>"

    def count(self) -> int:
        """Number of games (from file footers, without reading rows)."""
        return sum(p.num_rows for p in self.parts)

    def to_table(
        self, columns: list[str] | None = None, filter: ds.Expression | None = None
    ) -> pa.Table:
        """All games (or the columns and rows asked for) as one table."""
        try:
            return self.dataset.to_table(columns=columns, filter=filter)
        except (pa.ArrowException, OSError) as e:
            raise self.blame(e) from e

    def filter(
        self,
        agent: str | None = None,
        winner: int | None = None,
        min_plies: int | None = None,
        max_plies: int | None = None,
        termination: str | Iterable[str] | None = None,
        game: str | None = None,
        columns: list[str] | None = None,
    ) -> pa.Table:
        """Games matching every given condition.

        `agent` matches games where that agent id holds any seat; `winner` is a seat
        index (-1 for draws); plies bounds are inclusive; `termination` is one value or
        several.
        """
        conditions = []
        if winner is not None:
            conditions.append(pc.field("winner") == _int("winner", winner))
        if min_plies is not None:
            conditions.append(pc.field("plies") >= _int("min_plies", min_plies))
        if max_plies is not None:
            conditions.append(pc.field("plies") <= _int("max_plies", max_plies))
        if termination is not None:
            wanted = [termination] if isinstance(termination, str) else list(termination)
            conditions.append(pc.field("termination").isin(_strs("termination", wanted)))
        if game is not None:
            conditions.append(pc.field("game") == _strs("game", [game])[0])
        expression = None
        for condition in conditions:
            expression = condition if expression is None else expression & condition
        wanted_columns = columns
        if agent is not None and columns is not None and "agents" not in columns:
            wanted_columns = [*columns, "agents"]
        table = self.to_table(columns=wanted_columns, filter=expression)
        if agent is not None:
            table = _with_agent(table, _strs("agent", [agent])[0])
        return table if columns is None else table.select(columns)

    def load_game(self, match_id: str, game_index: int) -> Replay:
        """One stored game with its re-simulated positions (see `replays.Replay`)."""
        expression = (pc.field("match_id") == str(match_id)) & (
            pc.field("game_index") == _int("game_index", game_index)
        )
        rows = self.to_table(filter=expression)
        if len(rows) == 0:
            raise GameNotFoundError(f"no game {game_index} of match {match_id!r} in {self.run_dir}")
        if len(rows) > 1:
            raise ReplayFormatError(
                f"{self.run_dir}: game {game_index} of match {match_id!r} is stored "
                f"{len(rows)} times"
            )
        return replay_from_row(rows)

    def blame(self, error: Exception) -> Exception:
        """An error naming the file that made a scan fail (pyarrow's or DuckDB's may not)."""
        for part in self.parts:
            if not part.path.exists():
                return FileNotFoundError(
                    f"replay file {part.path} disappeared while reading (compacted "
                    "meanwhile?); open the run again"
                )
            try:
                pq.read_table(part.path)
            except (pa.ArrowException, OSError) as e:
                # pyarrow's text may span lines and quote the file's garbage bytes
                reason = " ".join("".join(c if c.isprintable() else " " for c in str(e)).split())
                return ReplayFormatError(f"{part.path}: unreadable replay file ({reason})")
        return ReplayFormatError(f"reading the replays of {self.run_dir} failed: {error}")


def open_replays(run_dir: str | os.PathLike) -> ReplayDataset:
    """The replay dataset of a run directory (empty when no game was written yet)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"no run directory at {run_dir}")
    games.use_run_files(run_dir)  # its games may read files the run keeps (matrix tables)
    live, _ = scan(replays_dir(run_dir))
    found = duplicates.resolve(live)
    if found.conflict:
        raise ReplayFormatError(found.conflict)
    if found.copies():
        message = f"{found.copies()}; left out, so each game counts once (remove the copies)"
        warnings.warn(message, DuplicateGamesWarning, stacklevel=2)
    return ReplayDataset(run_dir, found.kept)


def read_retrying(run_dir: str | os.PathLike, read: Callable[[ReplayDataset], T]) -> T:
    """`read(dataset)` over the run's current part files.

    A compaction may merge and delete files between their listing and `read`; the run then
    holds the same games in the merged file, so the files are listed once more and read
    again (`read` reports a vanished file as FileNotFoundError, e.g. through `blame`).
    """
    try:
        return read(open_replays(run_dir))
    except FileNotFoundError:
        return read(open_replays(run_dir))


def as_dataset(source: str | os.PathLike | ReplayDataset) -> ReplayDataset:
    return source if isinstance(source, ReplayDataset) else open_replays(source)


def load_game(source: str | os.PathLike | ReplayDataset, match_id: str, game_index: int) -> Replay:
    """Game `game_index` of match `match_id` in a run, with its positions re-simulated."""
    return as_dataset(source).load_game(match_id, game_index)


def _with_agent(table: pa.Table, agent: str) -> pa.Table:
    """Rows where `agent` holds any seat (pyarrow has no list-contains kernel)."""
    agents = table["agents"].combine_chunks()
    hits = pc.list_parent_indices(agents).filter(pc.equal(pc.list_flatten(agents), agent))
    keep = np.zeros(len(table), dtype=bool)
    keep[hits.to_numpy()] = True
    return table.filter(keep)


def _int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {value!r}")
    return int(value)


def _strs(name: str, values: list) -> list[str]:
    for value in values:
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a string, got {value!r}")
    return values
