"""Where PUCT search time goes: tree work (Numba kernels, observations) vs network forward;
and how many network evaluations per second forward batches of given sizes reach.

python -m arena.bench_search
"""

from __future__ import annotations

import json
import time
from dataclasses import replace

import numpy as np
import torch

import games
from agents.network import NetConfig, build_network
from agents.neural import NetworkEvaluator
from agents.puct import SearchConfig, search
from arena.bench_mcts import opening_positions

MAX_LEAVES = 65_536  # a forward batch far beyond what search sends; bounds memory


def leaf_sizes(text: str) -> list[int]:
    """The forward batch sizes of `--leaves`: comma-separated positive integers."""
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isdigit() and 1 <= int(part) <= MAX_LEAVES for part in parts):
        raise ValueError(
            f"--leaves takes comma-separated sizes from 1 to {MAX_LEAVES:,} "
            f"such as 64,256,1024; got {text!r}"
        )
    return [int(part) for part in parts]


def _evaluator(
    game: games.Game, blocks: int, channels: int, device: str, seed: int
) -> NetworkEvaluator:
    """A freshly initialised resnet's evaluator on `device`."""
    torch.manual_seed(seed)
    model = build_network(NetConfig.for_game(game, blocks=blocks, channels=channels))
    return NetworkEvaluator(game, model, device)


def forward_rates(
    leaves: list[int],
    blocks: int = 4,
    channels: int = 64,
    device: str = "auto",
    game_name: str = "connect_four",
    seconds: float = 1.0,
    seed: int = 0,
) -> list[dict]:
    """Network evaluations per second of search's evaluator (observations, the copy to the
    device, the forward pass, the masked softmax and the copy back) for forward batches of
    each size in `leaves`, each timed for about `seconds` (at least 3 batches) after a
    warm-up batch. One dict per size: leaves, device, batches, evals_per_second and
    observe_share (the part of the time spent building observations on the host)."""
    game = games.make(game_name)
    evaluator = _evaluator(game, blocks, channels, device, seed)
    rates = []
    for size in leaves:
        rows = opening_positions(game, size, seed).data
        evaluator(rows)  # warm-up: torch picks its kernels for this shape
        evaluator.seconds = {"observe": 0.0, "forward": 0.0}
        batches, start = 0, time.perf_counter()
        while batches < 3 or time.perf_counter() - start < seconds:
            evaluator(rows)
            batches += 1
        elapsed = time.perf_counter() - start
        rates.append(
            {
                "leaves": size,
                "device": str(evaluator.device),
                "batches": batches,
                "evals_per_second": batches * size / elapsed,
                "observe_share": evaluator.seconds["observe"] / elapsed,
            }
        )
    return rates


def bench_search(
    blocks: int = 4,
    channels: int = 64,
    leaves_per_forward: int = 256,
    sims: int = 64,
    batch: int = 512,
    device: str = "auto",
    game_name: str = "connect_four",
    seed: int = 0,
) -> dict:
    """Search `batch` positions (after 6 random plies, as arena.bench_mcts) once with `sims`
    simulations, guided by a freshly initialised resnet, after a warm-up search.

    Games share each forward pass; when there are fewer than `leaves_per_forward` games,
    each game adds several leaves per pass (virtual loss). Returns the settings and:
    simulations, seconds, sims_per_second, forwards, leaves_per_forward_median and _mean
    (the last rounds are smaller: games whose walks reached finished games are done early),
    forward_seconds (the network pass, incl. softmax and copies), observe_seconds,
    tree_seconds (select/expand/backup kernels and bookkeeping), and tree_share = the
    fraction of the search that is not the network pass.
    """
    game = games.make(game_name)
    evaluator = _evaluator(game, blocks, channels, device, seed)
    config = SearchConfig(
        sims=sims,
        leaves_per_forward=leaves_per_forward,
        max_leaves_per_game=-(-leaves_per_forward // batch),
    )
    state = opening_positions(game, batch, seed)
    rng = np.random.default_rng(seed)
    # Warm-up at the same leaf batch size: Numba loads its cache, torch picks its kernels.
    search(game, state.data, evaluator, replace(config, sims=2), rng)
    evaluator.seconds = {"observe": 0.0, "forward": 0.0}

    sizes = []

    def evaluate(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sizes.append(len(rows))
        return evaluator(rows)

    start = time.perf_counter()
    result = search(game, state.data, evaluate, config, rng)
    seconds = time.perf_counter() - start
    simulations = int(result.visits.sum())
    forward = evaluator.seconds["forward"]
    return {
        "game": game_name,
        "blocks": blocks,
        "channels": channels,
        "sims": sims,
        "batch": batch,
        "leaves_per_forward": leaves_per_forward,
        "device": str(evaluator.device),
        "torch_threads": torch.get_num_threads(),
        "simulations": simulations,
        "seconds": seconds,
        "sims_per_second": simulations / seconds,
        "forwards": result.forwards,
        "leaves_per_forward_median": float(np.median(sizes)),
        "leaves_per_forward_mean": result.leaves / result.forwards,
        "forward_seconds": forward,
        "observe_seconds": evaluator.seconds["observe"],
        "tree_seconds": result.tree_seconds,
        "tree_share": 1.0 - forward / seconds,
    }


if __name__ == "__main__":
    print(json.dumps(bench_search(), indent=2))
