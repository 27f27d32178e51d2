"""Time the evaluation of a population from a stored replay dataset: `arena bench population`.

A synthetic run: `agents` mixed strategies of rock-paper-scissors (random Dirichlet
mixtures, so the population is cyclic and its Nash mixes many of them) play `games`
games, random pairs in both seat orders, written by the real replay writer. Timed: the
payoff tables from the Parquet dataset (DuckDB), then α-Rank and Nash averaging of them.
"""

from __future__ import annotations

import datetime as dt
import os
import time

import numpy as np

import replays
from arena import payoffs, population
from games.matrix import BUILT_IN

GAME = "matrix:name=rps"
_WRITE_BATCH = 250_000


def write_synthetic_run(run_dir: str | os.PathLike, agents: int, games: int, seed: int = 0) -> None:
    """`games` games of rock-paper-scissors between `agents` random mixed strategies."""
    rng = np.random.default_rng(seed)
    mixtures = rng.dirichlet(np.ones(3), agents).cumsum(axis=1)
    names = np.array([f"agent{i:04d}" for i in range(agents)])
    table = np.array(BUILT_IN["rps"][0])
    now = dt.datetime.now(dt.timezone.utc)
    with replays.ReplayWriter(run_dir, flush_rows=_WRITE_BATCH) as writer:
        for start in range(0, games, _WRITE_BATCH):
            n = min(_WRITE_BATCH, games - start)
            first = rng.integers(0, agents, n)
            second = (first + rng.integers(1, agents, n)) % agents  # never itself
            moves = [
                (rng.random(n)[:, None] > mixtures[who]).sum(axis=1) for who in (first, second)
            ]
            payoff = table[moves[0], moves[1]]
            writer.write(
                {
                    "run_id": "bench",
                    "match_id": [f"m{(start + i) // 1000:06d}" for i in range(n)],
                    "game_index": (np.arange(start, start + n) % 1000).astype(np.int32),
                    "game": GAME,
                    "agents": np.stack([names[first], names[second]], axis=1).tolist(),
                    "seed": 0,
                    "actions": np.stack(moves, axis=1),
                    "plies": 2,
                    "winner": np.where(payoff > 0, 0, np.where(payoff < 0, 1, -1)),
                    "returns": np.stack([payoff, -payoff], axis=1).astype(np.float32),
                    "termination": "normal",
                    "started_at": now,
                    "ended_at": now,
                }
            )


def benchmark(run_dir: str | os.PathLike) -> dict:
    """Seconds for each step of evaluating the run's population, and the results' sizes."""
    start = time.perf_counter()
    completion = payoffs.load(run_dir).complete()
    a = completion.tables.antisymmetric()
    loaded = time.perf_counter()
    agents = list(completion.tables.agents)
    ranked = population.alpharank_rows(agents, a)
    ranked_at = time.perf_counter()
    nash = population.nash_rows(agents, a)
    done = time.perf_counter()
    return {
        "agents": len(agents),
        "games": replays.open(run_dir).count(),
        "payoffs_seconds": loaded - start,
        "alpharank_seconds": ranked_at - loaded,
        "nash_averaging_seconds": done - ranked_at,
        "total_seconds": done - start,
        "nash_support": int(np.count_nonzero(nash["mass"] > 1e-6)),
        "alpharank_top_mass": float(np.max(ranked["mass"])),
    }
