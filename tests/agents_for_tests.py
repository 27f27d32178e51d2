"""Misbehaving agents, loaded through the `package.module:ClassName` spec form."""

import os
import sys
import time
from pathlib import Path

import numpy as np

from agents.base import sample_legal


class Crashing:
    """Raises on every call."""

    def __init__(self, game, name="crashing"):
        self.name = name

    def act(self, game, state, legal_mask, rng):
        raise RuntimeError("boom")


class RandomActOnly:
    """Uniformly random legal moves, stating no strategy: measured by counting its moves."""

    def __init__(self, game, name="random-act-only"):
        self.name = name

    def act(self, game, state, legal_mask, rng, player=None):
        return sample_legal(legal_mask, rng)


class Illegal:
    """Plays a full column / taken cell whenever one exists, else the first legal move."""

    def __init__(self, game, name="illegal"):
        self.name = name

    def act(self, game, state, legal_mask, rng):
        blocked = ~legal_mask
        return np.where(blocked.any(axis=1), blocked.argmax(axis=1), legal_mask.argmax(axis=1))


class Gated:
    """A random agent that holds its match until the file `release` exists: each process
    it plays in first appends "PID NODE" to the file `seen` (NODE: the Ray node's id, or
    "-" outside Ray), then waits. A test sees where a match is in progress, kills that
    process or removes that node, then opens the gate."""

    def __init__(self, game, name="gated", seen="", release=""):
        self.name = name
        self.seen, self.release = Path(seen), Path(release)

    def act(self, game, state, legal_mask, rng):
        if not self.release.exists():
            with self.seen.open("a") as out:
                out.write(f"{os.getpid()} {_ray_node()}\n")
            while not self.release.exists():
                time.sleep(0.01)
        noise = rng.random(legal_mask.shape)
        noise[~legal_mask] = -1.0
        return noise.argmax(axis=1)


def _ray_node() -> str:
    ray = sys.modules.get("ray")  # imported already in a Ray worker; never imported here
    return ray.get_runtime_context().get_node_id() if ray and ray.is_initialized() else "-"
