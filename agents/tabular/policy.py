"""A tabular policy: one probability row per information state, keyed as the game keys them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from agents.tabular.tree import GameTree

TOLERANCE = 1e-6  # how far a row's sum may stray from 1 (float32 stores, long sums)


@dataclass(frozen=True, eq=False)  # arrays: compared by identity
class TabularPolicy:
    """Action probabilities per information state of the game `spec` (canonical): row r is
    player players[r]'s strategy in its information state keys[r] (the game's
    information_keys), probs[r] float64[num_actions], zero outside the legal actions and
    summing to 1."""

    spec: str
    players: np.ndarray
    keys: np.ndarray
    probs: np.ndarray
    _index: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        players = np.ascontiguousarray(self.players, dtype=np.int64)
        keys = np.ascontiguousarray(self.keys, dtype=np.int64)
        probs = np.ascontiguousarray(self.probs, dtype=np.float64)
        if players.ndim != 1 or keys.shape != players.shape or probs.ndim != 2:
            raise ValueError(
                f"a tabular policy needs players[I], keys[I] and probs[I, A], got shapes "
                f"{players.shape}, {keys.shape}, {probs.shape}"
            )
        if probs.shape[0] != players.shape[0]:
            raise ValueError(f"{probs.shape[0]} probability rows for {players.shape[0]} keys")
        bad = np.flatnonzero(
            (probs < 0).any(axis=1) | (np.abs(probs.sum(axis=1) - 1.0) > TOLERANCE)
        )
        if bad.size:
            r = int(bad[0])
            raise ValueError(
                f"policy row {r} (player {players[r]}, key {keys[r]}) is not a probability "
                f"distribution: {probs[r].tolist()}"
            )
        index = {(int(p), int(k)): r for r, (p, k) in enumerate(zip(players, keys, strict=True))}
        if len(index) != len(players):
            raise ValueError("a tabular policy lists an information state twice")
        object.__setattr__(self, "players", players)
        object.__setattr__(self, "keys", keys)
        object.__setattr__(self, "probs", probs)
        object.__setattr__(self, "_index", index)

    def __len__(self) -> int:
        return int(self.players.shape[0])

    def row(self, player: int, key: int) -> int:
        """The row of player `player`'s information state `key`; KeyError when absent."""
        return self._index[(int(player), int(key))]

    def action_probabilities(self, player: int, key: int) -> np.ndarray:
        """float64[num_actions]: the strategy in that information state."""
        return self.probs[self.row(player, key)]

    def rows_for(self, tree: GameTree) -> np.ndarray:
        """int64[I]: this policy's row for each information set of `tree` (in the tree's
        order); ValueError naming the first information state it lacks or plays illegally."""
        if tree.spec != self.spec:
            raise ValueError(f"a policy for {self.spec} given for {tree.spec}")
        if self.probs.shape[1] != tree.num_actions:
            raise ValueError(
                f"a policy over {self.probs.shape[1]} actions given for {tree.spec}, "
                f"which has {tree.num_actions}"
            )
        rows = np.empty(tree.num_info, dtype=np.int64)
        for i, (p, k) in enumerate(zip(tree.info_player, tree.info_key, strict=True)):
            r = self._index.get((int(p), int(k)))
            if r is None:
                raise ValueError(
                    f"the policy has no strategy for player {p} in information state "
                    f"{tree.information_string(i)!r} of {tree.spec}"
                )
            rows[i] = r
        illegal = np.flatnonzero((self.probs[rows] > 0.0) & ~tree.info_legal)
        if illegal.size:
            i, a = divmod(int(illegal[0]), tree.num_actions)
            raise ValueError(
                f"the policy plays illegal action {a} for player {tree.info_player[i]} in "
                f"information state {tree.information_string(i)!r} of {tree.spec}"
            )
        return rows

    def in_tree_order(self, tree: GameTree) -> np.ndarray:
        """float64[I, A]: the probabilities of each information set of `tree`, in its order."""
        return self.probs[self.rows_for(tree)]

    @classmethod
    def from_tree(cls, tree: GameTree, probs: np.ndarray) -> TabularPolicy:
        """The policy playing probs[i] (float64[I, A]) in the tree's information set i."""
        return cls(tree.spec, tree.info_player.copy(), tree.info_key.copy(), probs)

    @classmethod
    def uniform(cls, tree: GameTree) -> TabularPolicy:
        """Every legal action equally likely, in every information set of `tree`."""
        legal = tree.info_legal.astype(np.float64)
        return cls.from_tree(tree, legal / legal.sum(axis=1, keepdims=True))
