"""Cached, read-only access to the runs folder for the dashboard pages.

Caches are keyed on a version of the files they read: the names of a run's replay part
files (a part is never modified once renamed into place, and a compaction renames), or
of a metrics table's round files. A listing of the directory per rerun is cheap, so a
live league shows new games at the next rerun while a finished million-game run is
scanned once per question. What the live pages ask at every refresh (the run's part
files, its games' summary, its metrics tables) is read incrementally: only the files
that appeared since the last refresh are read (`Folded`, `GrowingDataset`).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import streamlit as st

import replays
from arena import metrics, payoffs, results
from arena.alpharank import DEFAULT_ALPHA, AlphaRankResult, alpharank
from arena.config import ConfigError
from arena.ids import learner_of
from arena.nash_averaging import NashAverage, nash_average
from arena.ratings import Ratings
from arena.rundir import list_runs, read_run
from arena.study import tables as study_tables
from arena.study.frontier import Frontier, fit_frontier
from dashboards import queries, responses
from dashboards.launch import RUNS_ENV
from dashboards.queries import EMPTY_SUMMARY, GameFilter, Summary
from replays.files import is_part_name, part_paths, read_part, replays_dir

DEFAULT_RUNS_DIR = "runs"
CHECKPOINT_FORMAT = "arena-checkpoint"  # agents.checkpoint.FORMAT (importing it loads torch)


@dataclass(frozen=True)
class Run:
    path: str
    kind: str
    game: str
    run_id: str
    created_at: str

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def label(self) -> str:
        return f"{self.name} ({self.kind}, {self.game})"


def runs_dir() -> Path:
    """The runs folder: $ARENA_RUNS (set by `arena dashboard`), else ./runs."""
    return Path(os.environ.get(RUNS_ENV) or DEFAULT_RUNS_DIR).expanduser()


@st.cache_data(ttl=2, show_spinner=False)
def find_runs(folder: str) -> list[Run]:
    """Runs in `folder`, newest first; `folder` itself when it is a run directory."""
    found = list_runs(folder)
    try:
        record = read_run(Path(folder)) if Path(folder).is_dir() else None
    except ConfigError:
        record = None  # an unreadable run.json: list_runs skips those too
    if record is not None:
        found.insert(0, (Path(folder), record))
    return [
        Run(
            path=str(path.resolve()),
            kind=str(record.get("kind", "?")),
            game=str(record.get("game", "?")),
            run_id=str(record.get("run_id", "")),
            created_at=str(record.get("created_at", "")),
        )
        for path, record in found
    ]


def _version(directory: Path, suffix: str) -> str:
    """A digest of the names of the finished files in `directory` ("" when none)."""
    if not directory.is_dir():
        return ""
    names = sorted(
        e.name for e in os.scandir(directory) if e.name.endswith(suffix) and e.name[0] != "."
    )
    return hashlib.sha1("\n".join(names).encode()).hexdigest() if names else ""


def replay_version(run: Run) -> str:
    return _version(Path(run.path) / "replays", ".parquet")


# --------------------------------------------------------------------------- incremental reads

T = TypeVar("T")


class Folded(Generic[T]):
    """A value folded over a growing list of files that never change once in place (replay
    parts, metrics round files): each refresh reads only the files new since the last one
    and merges them in. When a file read before is gone (a compaction merged it), the fold
    starts again from nothing. Shared by every session, hence the lock."""

    def __init__(self, read: Callable[[list], T], merge: Callable[[T, T], T], empty: T) -> None:
        self._read, self._merge, self._empty = read, merge, empty
        self._lock = threading.Lock()
        self._seen: set = set()
        self._value = empty
        self.files_read = 0  # every file read so far (the tests count them)

    def update(self, files: list) -> T:
        with self._lock:
            if not self._seen <= set(files):
                self._seen, self._value = set(), self._empty
            new = [f for f in files if f not in self._seen]
            if new:
                self._value = self._merge(self._value, self._read(new))
                self._seen.update(new)
                self.files_read += len(new)
            return self._value


class GrowingDataset:
    """A run's replay dataset, kept current by reading the footers of new part files only.

    A writer only adds part files with names it makes; anything else (a compacted file, a
    copy, a file gone) opens the run afresh with `replays.open`, which resolves those.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._names: frozenset[str] = frozenset()  # every part file listed, kept or not
        self._dataset: replays.ReplayDataset | None = None
        self.footers_read = 0  # part files whose footer was read (the tests count them)

    def current(self) -> replays.ReplayDataset:
        with self._lock:
            listing = part_paths(replays_dir(self.path))
            names = frozenset(p.name for p in listing)
            if self._dataset is None or names != self._names:
                new = [p for p in listing if p.name not in self._names]
                grown = self._grown(new) if self._dataset and self._names <= names else None
                if grown is None:
                    grown = replays.open(self.path)
                    self.footers_read += len(listing)
                self._dataset, self._names = grown, names
            return self._dataset

    def _grown(self, new: list[Path]) -> replays.ReplayDataset | None:
        """The dataset with the `new` part files added, or None if they are not plain
        additions by the run's writer."""
        if not all(is_part_name(p.name) for p in new):
            return None
        try:
            parts = [read_part(p) for p in new]
        except FileNotFoundError:
            return None  # a compaction is under way: open afresh
        self.footers_read += len(parts)
        if any(part.replaces for part in parts):
            return None
        kept = sorted([*self._dataset.parts, *parts], key=lambda part: part.path)
        return replays.ReplayDataset(self._dataset.run_dir, kept)


@st.cache_resource(max_entries=64, show_spinner=False)
def growing_dataset(path: str) -> GrowingDataset:
    return GrowingDataset(path)


@st.cache_resource(max_entries=64, show_spinner=False)
def summary_fold(path: str) -> Folded[Summary]:
    return Folded(queries.summary, Summary.merged, EMPTY_SUMMARY)


@st.cache_resource(max_entries=256, show_spinner=False)
def metrics_fold(path: str, table: str) -> Folded[pa.Table]:
    def merge(old: pa.Table, new: pa.Table) -> pa.Table:
        return pa.concat_tables([old, new]).sort_by("round")  # a stable sort

    return Folded(
        lambda rounds: metrics.read_rounds(path, table, rounds),
        merge,
        metrics.SCHEMAS[table].empty_table(),
    )


# --------------------------------------------------------------------------- replays


def dataset(run: Run) -> replays.ReplayDataset:
    """The run's replay dataset; raises ReplayFormatError for a file it cannot read."""
    return growing_dataset(run.path).current()


def files(run: Run) -> list[str]:
    return [str(p) for p in dataset(run).files]


def summary(run: Run) -> Summary:
    """Totals and ranges over the run's games, reading only the part files new since the
    last call."""
    return summary_fold(run.path).update(files(run))


@st.cache_data(max_entries=512, show_spinner=False)
def _count(version: str, parts: list[str], flt: GameFilter) -> int:
    return queries.count_games(parts, flt)


def count_games(run: Run, flt: GameFilter) -> int:
    return _count(replay_version(run), files(run), flt)


@st.cache_data(max_entries=512, show_spinner=False)
def _listing(version: str, parts: list[str], flt: GameFilter, limit: int, offset: int):
    return queries.list_games(parts, flt, limit, offset)


def list_games(run: Run, flt: GameFilter, limit: int, offset: int) -> pa.Table:
    return _listing(replay_version(run), files(run), flt, limit, offset)


@st.cache_data(max_entries=256, show_spinner=False)
def _opponents(version: str, parts: list[str], agents: tuple[str, ...]) -> pa.Table:
    return queries.opponents(parts, list(agents))


def opponents(run: Run, agents: list[str]) -> pa.Table:
    """Results of any of `agents` (one agent's versions) against each opponent."""
    return _opponents(replay_version(run), files(run), tuple(agents))


@st.cache_data(max_entries=64, show_spinner=False)
def _replay(path: str, version: str, match_id: str, game_index: int) -> replays.Replay:
    return growing_dataset(path).current().load_game(match_id, game_index)


def replay(run: Run, match_id: str, game_index: int) -> replays.Replay:
    """One game with its positions re-simulated (GameNotFoundError when absent)."""
    return _replay(run.path, replay_version(run), match_id, game_index)


def game_names(run: Run) -> list[str]:
    """The games the run's replays hold (several only in the human games' run)."""
    return sorted({part.game for part in dataset(run).parts})


@st.cache_data(max_entries=32, show_spinner=False)
def _fitted(path: str, version: str, game: str | None) -> Ratings:
    return results.ratings(path, game=game)


def fitted_ratings(run: Run, game: str | None = None) -> Ratings:
    """Ratings fitted from all the run's games of `game` (default: its only game; anchor:
    random, when it played)."""
    return _fitted(run.path, replay_version(run), game)


@st.cache_data(max_entries=32, show_spinner=False)
def _win_rates(path: str, version: str, agents: tuple[str, ...], game: str | None):
    return results.win_rates(path, list(agents), game=game)


def win_rates(
    run: Run, agents: list[str], game: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(score rate of row vs column, games) over all the run's games of `game`."""
    return _win_rates(run.path, replay_version(run), tuple(agents), game)


# --------------------------------------------------------------------------- metrics


def metrics_table(run: Run, table: str) -> pa.Table:
    """Every round of a league metrics table (empty when the run has none), reading only
    the rounds new since the last call."""
    return metrics_fold(run.path, table).update(metrics.rounds(run.path, table))


def latest_round(table: pa.Table) -> pa.Table:
    """The rows of the last round of a metrics table."""
    if table.num_rows == 0:
        return table
    last = max(table["round"].to_pylist())
    return table.filter(pc.equal(table["round"], last))


def until_round(table: pa.Table, round_index: int) -> pa.Table:
    """The rows of a metrics table up to and including round `round_index`."""
    return table.filter(pc.less_equal(table["round"], round_index))


# --------------------------------------------------------------------------- population


@dataclass(frozen=True)
class Ranking:
    """α-Rank and Nash averaging of the complete sub-population of some of a run's games."""

    completion: payoffs.Completion
    alpharank: AlphaRankResult
    nash: NashAverage


@st.cache_data(max_entries=64, show_spinner=False)
def _ranking(
    path: str,
    version: str,
    where: str | None,
    agents: tuple[str, ...] | None,
    alpha: float,
    game: str | None,
) -> Ranking:
    chosen = None if agents is None else list(agents)
    completion = payoffs.load(path, where, chosen, game).complete()
    a = completion.tables.antisymmetric()
    # As the league ranks them (arena.population): one population, seat-averaged payoffs.
    return Ranking(completion, alpharank([a], alpha=alpha), nash_average(a))


def ranking(
    run: Run,
    where: str | None,
    agents: list[str] | None,
    alpha: float = DEFAULT_ALPHA,
    game: str | None = None,
) -> Ranking:
    """α-Rank (at `alpha`) and Nash averaging of the agents of the games of `game` (default:
    the run's only game) matching the SQL condition `where` (all: None) that met every
    other; `agents` limits and orders them."""
    chosen = None if agents is None else tuple(agents)
    return _ranking(run.path, replay_version(run), where, chosen, alpha, game)


@st.cache_data(max_entries=32, show_spinner=False)
def _latest_evaluation(path: str, version: str) -> list[str]:
    return results.latest_evaluation_agents(path)


def latest_evaluation_agents(run: Run) -> list[str]:
    """The agents of a league's latest evaluation round, from its games."""
    return _latest_evaluation(run.path, replay_version(run))


@st.cache_data(max_entries=64, show_spinner=False)
def _psro_alpharank(
    path: str, version: str, round_index: int
) -> tuple[list[list[str]], AlphaRankResult]:
    meta = metrics.read_table(path, "psro_meta_strategy")
    meta = meta.filter(pc.equal(meta["round"], round_index)).to_pandas()
    members = [list(rows["agent"]) for _, rows in meta.groupby("player", sort=True)]
    entries = until_round(metrics.read_table(path, "psro_payoffs"), round_index)
    tables = responses.psro_tables(entries, members[0], len(members))
    return members, responses.limit_alpharank(tables)


def psro_alpharank(run: Run, round_index: int) -> tuple[list[list[str]], AlphaRankResult]:
    """(each player's members, multi-population α-Rank) of a PSRO run's payoff tables after
    iteration `round_index` (rebuilt from its `psro_payoffs` metrics)."""
    version = _version(metrics.metrics_dir(run.path, "psro_payoffs"), ".parquet")
    return _psro_alpharank(run.path, version, round_index)


# --------------------------------------------------------------------------- agents


def rating_lines(history: pd.DataFrame) -> pd.DataFrame:
    """Rating history with a `line` per agent, where a learner's line goes through its
    versions: per round, the newest version evaluated (older ones are often evaluated
    again alongside it)."""
    lines = history.assign(line=history["agent"].map(learner_of)).sort_values("agent")
    return lines.groupby(["round", "line"]).tail(1).sort_values(["line", "round"])


def versions(agent: str, ids: Iterable[str]) -> list[str]:
    """The ids among `ids` under which `agent` played: itself and its versions."""
    return [a for a in ids if learner_of(a) == agent or a == agent]


def checkpoints(run: Run, agent: str) -> list[tuple[str, dict]]:
    """(path relative to the run, metadata) of each checkpoint under agents/<agent>/,
    newest training step first. Only the JSON sidecars are read, never weights."""
    folder = Path(run.path) / "agents" / agent
    if Path(agent).name != agent or agent in ("", ".", "..") or not folder.is_dir():
        return []  # an id that is not a plain folder name has no folder
    found = []
    for file in folder.rglob("*.json"):
        try:
            meta = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue  # being written, or not a sidecar; the page lists what it can read
        if isinstance(meta, dict) and meta.get("format") == CHECKPOINT_FORMAT:
            found.append((str(file.relative_to(run.path)), meta))
    return sorted(found, key=lambda item: (-_step(item[1]), item[0]))


def _step(meta: dict) -> int:
    step = meta.get("step")
    return step if isinstance(step, int) else 0


# --------------------------------------------------------------------------- studies


def _file_version(path: Path) -> int:
    """A study table's version: its modification time (tables are replaced, never edited)."""
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


@st.cache_data(max_entries=64, show_spinner=False)
def _study_table(path: str, name: str, version: int) -> pa.Table | None:
    return study_tables.read_table(Path(path), name)


def study_table(run: Run, name: str) -> pa.Table | None:
    """The study's table `name` (arena.study.tables), or None before it is written."""
    version = _file_version(study_tables.table_path(Path(run.path), name))
    return _study_table(run.path, name, version)


@st.cache_data(max_entries=16, show_spinner="Fitting the frontier...")
def _study_frontier(path: str, version: int) -> Frontier:
    return fit_frontier(study_tables.read_table(Path(path), study_tables.RATINGS))


def study_frontier(run: Run) -> Frontier:
    """The compute frontier fitted to the study's current ratings."""
    ratings = study_tables.table_path(Path(run.path), study_tables.RATINGS)
    return _study_frontier(run.path, _file_version(ratings))
