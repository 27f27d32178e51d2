"""The `policy:PATH` agent: plays a tabular policy checkpoint (e.g. `arena solve`'s)."""

from __future__ import annotations

import os

import numpy as np

from agents.tabular.checkpoint import load_policy
from agents.tabular.policy import TabularPolicy
from games import Game, State

_NONE = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))  # a player with no states


class PolicyAgent:
    """Samples each move from its policy's row for the mover's information state.

    At a simultaneous node the match runner names the seat it asks for (`player=`); at
    decision nodes each game's player to move is the mover. An information state the policy
    lacks raises ValueError naming it (the match runner forfeits those games).
    """

    def __init__(self, policy: TabularPolicy, name: str = "policy"):
        self.name = name
        self.policy = policy
        # Per player: its keys sorted, and the policy row of each, for a vectorised lookup.
        self._lookup = {}
        for p in np.unique(policy.players):
            rows = np.flatnonzero(policy.players == p)
            order = np.argsort(policy.keys[rows])
            self._lookup[int(p)] = (policy.keys[rows][order], rows[order])

    def strategy(
        self, game: Game, state: State, legal_mask: np.ndarray, player: int | None = None
    ) -> np.ndarray:
        """float64[B, A]: the mover's strategy in each game (zeros in finished games)."""
        if game.spec != self.policy.spec:
            raise ValueError(f"{self.name} plays {self.policy.spec}, not {game.spec}")
        n = len(state)
        movers = state.to_play if player is None else np.full(n, int(player))
        out = np.zeros((n, game.num_actions), dtype=np.float64)
        live = ~state.done
        for p in np.unique(movers[live]):
            idx = np.flatnonzero(live & (movers == p))
            if p < 0:
                raise ValueError(
                    f"{self.name} was asked to move at a chance or simultaneous node without "
                    f"a player (game {idx[0]})"
                )
            keys = game.information_keys(state.take(idx), int(p))
            known, rows = self._lookup.get(int(p), _NONE)
            at = np.searchsorted(known, keys)
            found = at < len(known)
            found[found] = known[at[found]] == keys[found]
            if not found.all():
                i = int(idx[np.flatnonzero(~found)[0]])
                raise ValueError(
                    f"{self.name} has no strategy for player {p} in information state "
                    f"{game.information_string(state, i, int(p))!r} of {game.spec}"
                )
            out[idx] = self.policy.probs[rows[at]]
        return out

    def act(
        self,
        game: Game,
        state: State,
        legal_mask: np.ndarray,
        rng: np.random.Generator,
        player: int | None = None,
    ) -> np.ndarray:
        probs = self.strategy(game, state, legal_mask, player)
        cumulative = np.cumsum(probs, axis=1)
        # The first action whose cumulative probability passes u * total: never one of
        # probability 0, and a rounding shortfall of the total cannot run past the end.
        threshold = rng.random(len(state)) * cumulative[:, -1]
        return (cumulative <= threshold[:, None]).sum(axis=1).astype(np.int64)

    def evaluate(
        self, game: Game, state: State, legal_mask: np.ndarray, player: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(the policy's probabilities, NaN values: a tabular policy holds no values)."""
        probs = self.strategy(game, state, legal_mask, player)
        return probs, np.full(len(state), np.nan, dtype=np.float32)


def load_policy_agent(path: str | os.PathLike, game: Game, name: str = "policy") -> PolicyAgent:
    """The agent of the `policy:PATH` spec: the checkpoint at `path`, checked against game."""
    policy, _ = load_policy(path, game)
    return PolicyAgent(policy, name)
