"""Throughput by backend: local, and Ray with 1, 2, ... worker processes.

Tournament: a random-vs-greedy Connect Four tournament, the replay writing included (as
`arena tournament` reports it), after a small warm-up tournament on the same backend so
that worker start-up and kernel loading stay out of the timing. League: the game's default
league config, training games per second of each round after the first (self-play, the
driver's SGD and snapshots included, evaluation rounds left out).

    python -m arena.bench_backends --games 200000 --workers 1 2 --repeats 3
    python -m arena.bench_backends --league-rounds 4 --workers 2 --repeats 1
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
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


def main() -> None:
    from arena.machine import describe

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--games", type=int, default=200_000, help="tournament games")
    parser.add_argument("--league-rounds", type=int, default=0, help="measure a league instead")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3, help="rounds over all backends")
    parser.add_argument("--address", default=None, help="Ray cluster (default: start one)")
    args = parser.parse_args()
    print(f"machine: {describe()}")
    # The first Ray backend starts (or joins) the cluster, the others join it; rounds over
    # all backends in turn, so a shared machine's changing load hits each of them alike.
    backends = {"local": make_backend("local")}
    for workers in args.workers:
        name = f"ray, {workers} worker{'s' if workers > 1 else ''}"
        backends[name] = make_backend("ray", args.address, workers)
    rates: dict[str, list[float]] = {name: [] for name in backends}
    try:
        for _ in range(args.repeats):
            for name, backend in backends.items():
                if args.league_rounds:
                    rates[name].append(bench_league(backend, args.league_rounds))
                else:
                    rates[name].append(bench_tournament(backend, games=args.games))
    finally:
        for backend in reversed(backends.values()):
            backend.close()
    base = statistics.median(rates["local"])
    for name, runs in rates.items():
        rate = statistics.median(runs)
        spread = ", ".join(f"{r:,.1f}" for r in runs)
        print(f"{name:<15}{rate:10,.1f} games/s  ({rate / base:4.0%} of local; runs: {spread})")


if __name__ == "__main__":
    main()
