"""League metrics: one Parquet file per table per round under `run/metrics/<table>/`.

A round's file is written once, atomically, when the round is complete, and never edited;
a resumed league starts after the last complete round, so the history can never disagree
with the replays it came from. Readers concatenate the rounds.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from arena.rundir import atomic_write

TIME = pa.timestamp("us", tz="UTC")

SCHEMAS: dict[str, pa.Schema] = {
    # Bradley-Terry ratings of the whole population after the round.
    "ratings": pa.schema(
        [
            ("round", pa.int32()),
            ("agent", pa.string()),
            ("rating", pa.float64()),
            ("stderr", pa.float64()),
            ("ci_low", pa.float64()),
            ("ci_high", pa.float64()),
            ("games", pa.int64()),
        ]
    ),
    # Score rate of `agent` against `opponent` (draws count half) over all games so far.
    "winrates": pa.schema(
        [
            ("round", pa.int32()),
            ("agent", pa.string()),
            ("opponent", pa.string()),
            ("score", pa.float64()),
            ("games", pa.int64()),
        ]
    ),
    # One row per diversity metric (names in arena.diversity).
    "diversity": pa.schema(
        [("round", pa.int32()), ("metric", pa.string()), ("value", pa.float64())]
    ),
    # α-Rank's stationary distribution over the evaluated agents (arena.alpharank; single
    # population on arena.payoffs' seat-averaged payoffs), and the α it was computed at.
    "alpharank": pa.schema(
        [
            ("round", pa.int32()),
            ("agent", pa.string()),
            ("mass", pa.float64()),
            ("alpha", pa.float64()),
        ]
    ),
    # Multi-population α-Rank where the seats differ (arena.population.seats_differ): the
    # two seats are populations of the evaluated agents, on arena.payoffs' per-seat tables
    # (self-play evaluation games included); `mass` is seat `seat`'s marginal.
    "alpharank_per_seat": pa.schema(
        [
            ("round", pa.int32()),
            ("seat", pa.int32()),
            ("agent", pa.string()),
            ("mass", pa.float64()),
            ("alpha", pa.float64()),
        ]
    ),
    # Nash averaging (arena.nash_averaging): the maximum-entropy Nash mixture over the
    # evaluated agents and each agent's skill (mean payoff) against it.
    "nash_averaging": pa.schema(
        [
            ("round", pa.int32()),
            ("agent", pa.string()),
            ("mass", pa.float64()),
            ("skill", pa.float64()),
        ]
    ),
    # Throughput and totals at the end of the round.
    "progress": pa.schema(
        [
            ("round", pa.int32()),
            ("time", TIME),
            ("elapsed_seconds", pa.float64()),
            ("games_total", pa.int64()),
            ("games_per_second", pa.float64()),
            ("train_steps", pa.int64()),
            ("train_steps_per_second", pa.float64()),
        ]
    ),
    # The population after the round: who exists, in which role, descended from whom.
    "population": pa.schema(
        [
            ("round", pa.int32()),
            ("agent", pa.string()),
            ("role", pa.string()),  # main, main_exploiter, league_exploiter, snapshot, anchor
            ("parent", pa.string()),  # agent id it was copied or snapshotted from; null if none
            ("created_round", pa.int32()),
            ("spec", pa.string()),  # agent spec to rebuild it (checkpoint path for networks)
        ]
    ),
    # A league's main exploiters against its main agents in the round's evaluation games: a
    # lower bound on each main agent's exploitability, with a 95% interval (arena.exploiter).
    "exploitability_bounds": pa.schema(
        [
            ("round", pa.int32()),
            ("agent", pa.string()),  # the main agent's version id
            ("exploiter", pa.string()),  # the main exploiter's version id
            ("bound", pa.float64()),
            ("ci_low", pa.float64()),
            ("ci_high", pa.float64()),
            ("games", pa.int64()),
        ]
    ),
    # `arena solve`: the average policy after `iteration` iterations (one file per evaluation);
    # PSRO: the meta-strategy mixture after each iteration (elapsed_seconds: the whole run's).
    "exploitability": pa.schema(
        [
            ("round", pa.int32()),
            ("iteration", pa.int64()),
            ("nash_conv", pa.float64()),
            ("exploitability", pa.float64()),  # nash_conv / number of players
            ("elapsed_seconds", pa.float64()),  # solving time so far, evaluations excluded
        ]
    ),
    # PSRO (arena.psro): each player's meta-strategy over the population after the round.
    "psro_meta_strategy": pa.schema(
        [
            ("round", pa.int32()),
            ("player", pa.int32()),
            ("agent", pa.string()),
            ("probability", pa.float64()),
        ]
    ),
    # PSRO: the payoff-table entries the round's new member added (agent per seat).
    "psro_payoffs": pa.schema(
        [
            ("round", pa.int32()),
            ("player", pa.int32()),  # whose payoff
            ("profile", pa.list_(pa.string())),
            ("payoff", pa.float64()),
        ]
    ),
}

_ROUND_FILE = re.compile(r"^round-(\d{6})\.parquet$")


def metrics_dir(run_dir: str | os.PathLike, table: str) -> Path:
    if table not in SCHEMAS:
        raise ValueError(f"unknown metrics table {table!r}; tables: {', '.join(SCHEMAS)}")
    return Path(run_dir) / "metrics" / table


def _round_file(run_dir: str | os.PathLike, table: str, round_index: int) -> Path:
    """`metrics/<table>/round-000012.parquet`: the name `_ROUND_FILE` parses."""
    return metrics_dir(run_dir, table) / f"round-{round_index:06d}.parquet"


def write_round(run_dir: str | os.PathLike, table: str, round_index: int, rows: dict) -> Path:
    """Write one round of a metrics table (columns as lists/arrays, `round` filled in)."""
    metrics_dir(run_dir, table)  # checks the table name
    schema = SCHEMAS[table]
    length = len(next(iter(rows.values()))) if rows else 0
    columns = {"round": [round_index] * length, **rows}
    data = pa.Table.from_pydict({f.name: columns[f.name] for f in schema}, schema=schema)
    sink = io.BytesIO()
    pq.write_table(data, sink)
    path = _round_file(run_dir, table, round_index)
    atomic_write(path, sink.getvalue())
    return path


def rounds(run_dir: str | os.PathLike, table: str) -> list[int]:
    """Round numbers with a complete file for this table, ascending."""
    directory = metrics_dir(run_dir, table)
    if not directory.is_dir():
        return []
    found = (_ROUND_FILE.match(p.name) for p in directory.iterdir())
    return sorted(int(m.group(1)) for m in found if m)


def read_table(run_dir: str | os.PathLike, table: str) -> pa.Table:
    """Every round of a metrics table, in round order (an empty table when none)."""
    return read_rounds(run_dir, table, rounds(run_dir, table))


def read_rounds(run_dir: str | os.PathLike, table: str, round_indices: list[int]) -> pa.Table:
    """Some rounds of a metrics table, in the order given (a live reader reads each once)."""
    parts = [pq.read_table(_round_file(run_dir, table, r)) for r in round_indices]
    if not parts:
        return SCHEMAS[table].empty_table()
    return pa.concat_tables([p.cast(SCHEMAS[table]) for p in parts])
