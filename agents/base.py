"""The Agent protocol: one call decides moves for a whole batch of games."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from games import Game, State


@runtime_checkable
class Agent(Protocol):
    """Anything with a `name` and a batched `act` is an agent.

    `act` returns one legal action (int64) per game of the batch; `legal_mask` is
    `game.legal_mask(state)`, passed in so that callers compute it once per ply. Finished
    games may be in the batch; their action is ignored. Agents that can report beliefs also
    implement `evaluate(game, state, legal_mask) -> (policy float32[B, A], value float32[B])`
    (value from the point of view of the player to move). After `act`, an agent may expose
    per-move annotations in `last_annotations`: a dict with any of `value` (float32[B]),
    `policy_entropy` (float32[B]) and `visits` (int32[B]); the match runner stores them.
    """

    name: str

    def act(
        self, game: Game, state: State, legal_mask: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray: ...


def sample_legal(legal_mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random legal action per row (0 for rows with no legal action)."""
    noise = rng.random(legal_mask.shape)
    noise[~legal_mask] = -1.0
    return noise.argmax(axis=1).astype(np.int64)
