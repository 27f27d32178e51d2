"""Throughput of the Numba MCTS agent: simulations per second on one thread."""

from __future__ import annotations

import time

import numpy as np

import games
from agents.mcts import MCTSAgent

OPENING_PLIES = 6


def opening_positions(game: games.Game, batch: int, seed: int) -> games.State:
    """A batch of positions after OPENING_PLIES uniformly random plies."""
    state = game.init(batch, seed)
    rng_state = np.arange(batch, dtype=np.int64) + seed
    for _ in range(OPENING_PLIES):
        # Games over already (rare) get -1, which step ignores, and are not counted later.
        game.step(state, game.random_legal(game.legal_mask(state), rng_state))
    return state


def _rate(agent: MCTSAgent, game: games.Game, state: games.State, seconds: float) -> dict:
    """Search `state` repeatedly for about `seconds`; simulations count live roots only.

    Both wall-clock and CPU time are reported: on a shared machine the CPU rate is the one
    that does not depend on the load.
    """
    legal = game.legal_mask(state)
    rng = np.random.default_rng(0)
    live = int((~state.done).sum())
    calls = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    while True:
        agent.act(game, state, legal, rng)
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
    cpu = time.process_time() - cpu_start
    simulations = calls * live * agent.sims
    return {
        "calls": calls,
        "simulations": simulations,
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "sims_per_second": simulations / elapsed,
        "sims_per_cpu_second": simulations / cpu,
    }


def bench_mcts(
    game_name: str = "connect_four",
    sims: int = 400,
    batch: int = 64,
    seconds: float = 5.0,
    seed: int = 0,
) -> dict:
    """Simulations per second of `mcts:sims=...` on one thread, after compilation.

    Half of `seconds` searches `batch` initial positions, half `batch` positions after
    OPENING_PLIES random plies. Returns the settings, then for each phase ("initial",
    "openings") and overall: calls, simulations, seconds, cpu_seconds, sims_per_second and
    sims_per_cpu_second.
    """
    game = games.make(game_name)
    agent = MCTSAgent(game, sims=sims)
    threads = games.get_threads()
    games.set_threads(1)
    try:
        warm = game.init(1, seed)
        agent.act(game, warm, game.legal_mask(warm), np.random.default_rng(0))  # compile
        initial = _rate(agent, game, game.init(batch, seed), seconds / 2)
        openings = _rate(agent, game, opening_positions(game, batch, seed), seconds / 2)
    finally:
        games.set_threads(threads)
    simulations = initial["simulations"] + openings["simulations"]
    elapsed = initial["seconds"] + openings["seconds"]
    cpu = initial["cpu_seconds"] + openings["cpu_seconds"]
    return {
        "game": game_name,
        "sims": sims,
        "batch": batch,
        "threads": 1,
        "initial": initial,
        "openings": openings,
        "simulations": simulations,
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "sims_per_second": simulations / elapsed,
        "sims_per_cpu_second": simulations / cpu,
    }
