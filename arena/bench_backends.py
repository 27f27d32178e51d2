"""Throughput by backend: local, and Ray with 1, 2, ... worker processes.

Tournament: a random-vs-greedy Connect Four tournament, the replay writing included (as
`arena tournament` reports it), after a small warm-up tournament on the same backend so
that worker start-up and kernel loading stay out of the timing. League: the game's default
league config, training games per second of each round after the first (self-play, the
learners' SGD and snapshots included, evaluation rounds left out).

    arena bench backends --games 200000 --workers 1,2 --repeats 3
    arena bench backends --league-rounds 4 --workers 1,2 --repeats 1
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path

from arena.backends import Backend, make_backend
from arena.tournament import run_tournament


def bench_tournament(
    backend: Backend | str, workers: int | None = None, games: int = 200_000
) -> float:
    """Games per second of a random-vs-greedy tournament of `games` games on `backend` (a
    backend, or a name for `make_backend`, then with `workers` Ray workers)."""
    if isinstance(backend, str):
        with make_backend(backend, workers=workers) as made:
            return bench_tournament(made, games=games)
    concurrency = 1024
    with tempfile.TemporaryDirectory() as scratch:
        rate = 0.0
        for run, count in (("warm-up", 4 * backend.workers * concurrency), ("timed", games)):
            config = {
                "game": "connect_four",
                "agents": ["random", "greedy"],
                "games_per_pair": count,
                "concurrency": concurrency,
                "out": str(Path(scratch) / run),
            }
            report = run_tournament(config, flush_seconds=60.0, backend=backend)
            rate = report.games_played / report.seconds
        return rate


def bench_league(backend: Backend, rounds: int = 4, game: str = "connect_four") -> float:
    """Median training games per second of rounds 2..`rounds` of the default league."""
    from arena import metrics
    from arena.league import run_league

    if rounds < 3:
        raise ValueError(
            f"rounds must be >= 3 (round 1 warms up, the last evaluates), got {rounds}"
        )
    with tempfile.TemporaryDirectory() as scratch:
        values = {"game": game, "out": scratch + "/league", "rounds": rounds, "minutes": 0.0}
        values["evaluation"] = {"every": rounds + 1}  # only the final one, not timed
        run_league(values, log=lambda _: None, backend=backend)
        rows = metrics.read_table(scratch + "/league", "progress").to_pylist()
        return statistics.median(r["games_per_second"] for r in rows[1 : rounds - 1])


def compare_backends(
    workers: Sequence[int] = (1, 2),
    repeats: int = 3,
    games: int = 200_000,
    league_rounds: int = 0,
    address: str | None = None,
) -> dict[str, list[float]]:
    """Games per second of each run, by backend: local, then Ray with each worker count.

    A league of `league_rounds` rounds if given, else a tournament of `games` games. The
    first Ray backend starts (or joins) the cluster and the others join it; each repeat
    runs all backends in turn, so a shared machine's changing load hits them alike."""
    if repeats < 1 or any(w < 1 for w in workers):
        raise ValueError(f"repeats and workers must be at least 1, got {repeats} and {workers}")
    backends = {"local": make_backend("local")}
    try:
        for count in workers:
            name = f"ray, {count} worker{'s' if count > 1 else ''}"
            backends[name] = make_backend("ray", address, count)
        rates: dict[str, list[float]] = {name: [] for name in backends}
        for _ in range(repeats):
            for name, backend in backends.items():
                if league_rounds:
                    rates[name].append(bench_league(backend, league_rounds))
                else:
                    rates[name].append(bench_tournament(backend, games=games))
        return rates
    finally:
        for backend in reversed(backends.values()):
            backend.close()
