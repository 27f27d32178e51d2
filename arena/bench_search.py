"""Where PUCT search time goes: tree work (Numba kernels, observations) vs network forward.

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

OPENING_PLIES = 6


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
    """Search `batch` positions (after OPENING_PLIES random plies) once with `sims`
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
    torch.manual_seed(seed)
    model = build_network(NetConfig.for_game(game, blocks=blocks, channels=channels))
    evaluator = NetworkEvaluator(game, model, device)
    config = SearchConfig(
        sims=sims,
        leaves_per_forward=leaves_per_forward,
        max_leaves_per_game=-(-leaves_per_forward // batch),
    )
    state = game.init(batch, seed)
    rng_state = np.arange(batch, dtype=np.int64) + seed
    for _ in range(OPENING_PLIES):
        game.step(state, game.random_legal(game.legal_mask(state), rng_state))
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
