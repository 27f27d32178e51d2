"""Baseline agents: uniformly random, greedy (win now, else block, else random), and fixed
(always the same action: the pure strategies of a matrix game)."""

from __future__ import annotations

import numpy as np
from numba import njit

from agents.base import pure_strategy, require_perfect_information, sample_legal
from games import Game, State, kernels
from games.kernels import DONE, TO_PLAY, WINNER


class RandomAgent:
    """Picks a uniformly random legal move (in any game: it needs no view of the state)."""

    def __init__(self, game: Game | None = None, name: str = "random"):
        self.name = name

    def act(
        self, game: Game, state: State, legal_mask: np.ndarray, rng, player: int | None = None
    ) -> np.ndarray:
        return sample_legal(legal_mask, rng)

    def strategy(
        self, game: Game, state: State, legal_mask: np.ndarray, player: int | None = None
    ) -> np.ndarray:
        legal = np.asarray(legal_mask, dtype=np.float64)
        return legal / np.maximum(legal.sum(axis=1, keepdims=True), 1.0)


class FixedAgent:
    """Always plays action `action` where it is legal, else the lowest legal action.

    In a matrix game it is a pure strategy (`fixed:action=0` is rock in `matrix:name=rps`);
    the fallback makes it an agent of any game: in a table with fewer rows than columns,
    the row player's `fixed:action=2` plays row 0 where there is no row 2.
    """

    def __init__(self, game: Game | None = None, name: str = "fixed", action: int = 0):
        if game is not None and not 0 <= action < game.num_actions:
            raise ValueError(
                f"agent 'fixed': action={action} is not an action of {game.spec} "
                f"(actions 0..{game.num_actions - 1})"
            )
        self.name = name
        self.action = action

    def act(
        self, game: Game, state: State, legal_mask: np.ndarray, rng, player: int | None = None
    ) -> np.ndarray:
        # argmax of a boolean row is its first True: the lowest legal action.
        return np.where(legal_mask[:, self.action], self.action, legal_mask.argmax(axis=1))

    def strategy(
        self, game: Game, state: State, legal_mask: np.ndarray, player: int | None = None
    ) -> np.ndarray:
        return pure_strategy(self.act(game, state, legal_mask, None), legal_mask)


@njit(cache=True, inline="always")
def wins_at_once(g, data, i, a, player_offset, scratch, rewards) -> bool:
    """Whether legal action a of game i wins at once for the mover (offset 0) or, had the
    opponent the move, for the opponent (offset 1: playing there first blocks that win).
    scratch (int64[1, W]) and rewards (float32[1, players]) are work space."""
    scratch[0] = data[i]
    if player_offset:  # the opponent to move, in a state its rules accept
        kernels.null_move_row(g, scratch, 0)
        if not kernels.is_legal(g, scratch, 0, a):
            return False
    kernels.apply_row(g, scratch, 0, a, rewards)
    mover = (data[i, TO_PLAY] + player_offset) % 2
    return scratch[0, DONE] == 1 and scratch[0, WINNER] == mover


@njit(cache=True)
def _winning_moves(g, data, legal, player_offset, out):
    """out[i, a] = wins_at_once(.., a, player_offset, ..) for each legal a, else False."""
    scratch = np.empty((1, data.shape[1]), dtype=np.int64)
    rewards = np.zeros((1, 2), dtype=np.float32)
    for i in range(data.shape[0]):
        for a in range(legal.shape[1]):
            out[i, a] = legal[i, a] and wins_at_once(g, data, i, a, player_offset, scratch, rewards)


class GreedyAgent:
    """Wins at once if it can, else blocks the opponent's immediate win, else plays randomly."""

    def __init__(self, game: Game | None = None, name: str = "greedy"):
        if game is not None:
            require_perfect_information(game, "greedy")
        self.name = name

    def act(self, game: Game, state: State, legal_mask: np.ndarray, rng) -> np.ndarray:
        require_perfect_information(game, "greedy")
        wins = np.empty_like(legal_mask)
        blocks = np.empty_like(legal_mask)
        _winning_moves(game.params, state.data, legal_mask, 0, wins)
        _winning_moves(game.params, state.data, legal_mask, 1, blocks)
        actions = sample_legal(legal_mask, rng)
        block_rows = blocks.any(axis=1)
        actions[block_rows] = sample_legal(blocks[block_rows], rng)
        win_rows = wins.any(axis=1)
        actions[win_rows] = sample_legal(wins[win_rows], rng)
        return actions
