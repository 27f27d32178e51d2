"""Misbehaving agents, loaded through the `package.module:ClassName` spec form."""

import numpy as np


class Crashing:
    """Raises on every call."""

    def __init__(self, game, name="crashing"):
        self.name = name

    def act(self, game, state, legal_mask, rng):
        raise RuntimeError("boom")


class Illegal:
    """Plays a full column / taken cell whenever one exists, else the first legal move."""

    def __init__(self, game, name="illegal"):
        self.name = name

    def act(self, game, state, legal_mask, rng):
        blocked = ~legal_mask
        return np.where(blocked.any(axis=1), blocked.argmax(axis=1), legal_mask.argmax(axis=1))
