"""Time and peak memory of rejecting a checkpoint whose sidecar claims a huge architecture.

Usage: python scripts/bench_bounded_loading.py [BLOCKS]   (default 20000; docs/benchmarks.md)

Saves a small Connect Four checkpoint, rewrites its JSON sidecar to say `blocks: BLOCKS`
(weights and sha256 unchanged), then loads it once in this fresh process and reports the
wall time until the rejection and the growth of the process's peak RSS (tracemalloc would
slow the old code's rejection several-fold, so it is not used here).
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import games
from agents.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from agents.network import NetConfig, build_network


def main(blocks: int) -> None:
    game = games.make("connect_four")
    config = NetConfig.for_game(game, blocks=1, channels=8)
    with tempfile.TemporaryDirectory() as scratch:
        stem = Path(scratch) / "model"
        save_checkpoint(stem, build_network(config), config, game.name)
        sidecar = Path(f"{stem}.json")
        meta = json.loads(sidecar.read_text())
        meta["architecture"]["blocks"] = blocks
        sidecar.write_text(json.dumps(meta))
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        try:
            load_checkpoint(stem, game=game, device="cpu")
            outcome = "loaded (not rejected!)"
        except CheckpointError as err:
            outcome = f"rejected: {err}"
        seconds = time.perf_counter() - start
        rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    print(outcome)
    print(f"blocks={blocks}: {seconds * 1000:.2f} ms, peak RSS growth {rss_growth / 2**10:.1f} MiB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
