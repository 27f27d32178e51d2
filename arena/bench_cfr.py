"""`arena bench cfr`: our CFR+ against OpenSpiel's C++ CFRPlusSolver, in one process.

Both run single-threaded on the same game for the same iterations; compilation (Numba's,
on a warm-up iteration) and building the tree are reported apart from the iteration rate.
Pin the process (`taskset -c 0`) to compare on one core.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import games
from agents.tabular.cfr import Solver
from agents.tabular.exploitability import evaluate as measure
from agents.tabular.tree import build_tree


@dataclass
class CfrBench:
    iterations: int
    tree_seconds: float  # enumerating the game tree
    warmup_seconds: float  # the first iteration: compiles the kernels (cached on disk)
    iterations_per_second: float
    exploitability: float  # of the average policy after `iterations`
    exploitability_seconds: float  # computing it (warm)


@dataclass
class OpenSpielBench:
    iterations_per_second: float
    exploitability: float
    exploitability_seconds: float  # pyspiel.exploitability of its average policy


def bench_ours(spec: str, iterations: int) -> CfrBench:
    """Time `iterations` CFR+ iterations of our solver on `spec`, then the exploitability."""
    games.set_threads(1)
    game = games.make(spec)
    start = time.perf_counter()
    tree = build_tree(game)
    tree_seconds = time.perf_counter() - start
    warm = Solver(tree, "cfr+")
    start = time.perf_counter()
    warm.run(1)
    measure(tree, warm.average_policy())  # compiles the best response too
    warmup_seconds = time.perf_counter() - start
    solver = Solver(tree, "cfr+")
    start = time.perf_counter()
    solver.run(iterations)
    run_seconds = time.perf_counter() - start
    policy = solver.average_policy()
    start = time.perf_counter()
    result = measure(tree, policy)
    return CfrBench(
        iterations=iterations,
        tree_seconds=tree_seconds,
        warmup_seconds=warmup_seconds,
        iterations_per_second=iterations / run_seconds,
        exploitability=result.exploitability,
        exploitability_seconds=time.perf_counter() - start,
    )


def bench_openspiel(name: str, iterations: int) -> OpenSpielBench:
    """Time pyspiel.CFRPlusSolver on OpenSpiel's game `name` (ImportError without pyspiel)."""
    import pyspiel

    game = pyspiel.load_game(name)
    solver = pyspiel.CFRPlusSolver(game)
    start = time.perf_counter()
    for _ in range(iterations):
        solver.evaluate_and_update_policy()
    run_seconds = time.perf_counter() - start
    policy = solver.average_policy()
    start = time.perf_counter()
    value = pyspiel.exploitability(game, policy)
    return OpenSpielBench(
        iterations_per_second=iterations / run_seconds,
        exploitability=value,
        exploitability_seconds=time.perf_counter() - start,
    )
