"""Batched re-simulation: every position of many stored games, played by the engine.

Games are sorted by length so the games still running at ply p are the first k rows of
one batched state; each ply is then one `legal_mask` and one `step` call on a slice,
whatever the number of games.

A stored game is its history, as the engine's `play_sequences` takes it: chance outcomes
are entries of their own, and a simultaneous node is one entry per player, in player
order. Those entries are played one at a time like any other, except at a simultaneous
node, whose actions the engine takes only together: the positions between its entries are
replayed from the start, and the node is stepped jointly once its last entry is reached.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import games
from games.kernels import RNG, SIMULTANEOUS
from replays.errors import ReplayFormatError


@dataclass
class Positions:
    """All positions of n games of one game: game k's positions (before each move, then
    the final one) are rows `offsets[k]:offsets[k + 1]` of `states`."""

    game: games.Game
    states: games.State
    offsets: np.ndarray  # int64[n + 1]

    def final_rows(self) -> np.ndarray:
        return self.offsets[1:] - 1


def resimulate(table: pa.Table) -> Positions:
    """Replay every game of `table` (replay rows of a single game) through the engine.

    Raises ReplayFormatError naming the game when a stored action is illegal, or when
    a game stored as ended by the rules ends differently in the engine.
    """
    names = pc.unique(table["game"]).to_pylist()
    if len(names) != 1:
        raise ValueError(f"re-simulation needs games of one game; got {sorted(names)}")
    game = games.make(names[0])
    actions = table["actions"].combine_chunks()
    lengths = pc.list_value_length(actions).to_numpy().astype(np.int64)
    moves = pc.list_flatten(actions).to_numpy().astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)])[:-1]
    offsets = np.concatenate([[0], np.cumsum(lengths + 1)])

    order = np.argsort(-lengths, kind="stable")
    # Row k of the batch plays game order[k]; these follow that order.
    sorted_lengths, sorted_starts, sorted_offsets = lengths[order], starts[order], offsets[order]
    # The stored seed is the game's RNG state at its start. `Game.init` derives its own
    # seeds, so the slot is set afterwards; the current games draw nothing at init.
    state = game.init(len(table))
    state.data[:, RNG] = table["seed"].to_numpy()[order]
    out = np.empty((offsets[-1], state.data.shape[1]), dtype=np.int64)
    sorted_returns = np.zeros((len(table), game.num_players), dtype=np.float32)
    # Entries of the current simultaneous node taken so far, per row (sorted order).
    buffered = np.zeros(len(table), dtype=np.int64)
    for ply in range(int(lengths.max(initial=0)) + 1):
        live = int(np.count_nonzero(sorted_lengths >= ply))
        out[sorted_offsets[:live] + ply] = state.data[:live]
        moving = int(np.count_nonzero(sorted_lengths > ply))
        if moving == 0:
            break
        batch = games.State(game.spec, state.data[:moving])
        chosen = moves[sorted_starts[:moving] + ply]
        in_range = (chosen >= 0) & (chosen < game.num_actions)
        mask = game.legal_mask(batch)
        legal = in_range & mask[np.arange(moving), np.where(in_range, chosen, 0)]
        if not legal.all():
            k = order[np.flatnonzero(~legal)[0]]
            raise ReplayFormatError(
                f"{_name(table, k)}: stored action {moves[starts[k] + ply]} at ply {ply} "
                f"is illegal in {game.spec}"
            )
        if game.simultaneous:
            played = (out, sorted_offsets, moves, sorted_starts, table["seed"].to_numpy()[order])
            sorted_returns[:moving] += _step_entries(game, batch, chosen, ply, buffered, played)
        else:
            sorted_returns[:moving] += game.step(batch, chosen)
    engine_returns = np.empty_like(sorted_returns)
    engine_returns[order] = sorted_returns
    positions = Positions(game, games.State(game.spec, out), offsets)
    _check_outcomes(table, positions, engine_returns)
    return positions


def _step_entries(
    game: games.Game,
    batch: games.State,
    chosen: np.ndarray,
    ply: int,
    buffered: np.ndarray,
    played: tuple[np.ndarray, ...],
) -> np.ndarray:
    """Play history entry `ply` of every row of `batch`, in place; returns the rewards.

    Rows at a simultaneous node take one player's action per entry: the engine takes them
    only as one joint step, so a row in the middle of the node is replayed from its start
    (`play_sequences`), and the node's last entry steps jointly from the position stored
    before the node (rewards come with that step)."""
    out, offsets, moves, starts, seeds = played
    n = len(batch)
    players = game.num_players
    at_node = np.flatnonzero(batch.to_play == SIMULTANEOUS)
    single = np.setdiff1d(np.arange(n), at_node)
    rewards = np.zeros((n, players), dtype=np.float32)
    if single.size:
        part = batch.take(single)
        rewards[single] = game.step(part, chosen[single])
        batch.data[single] = part.data
    last = at_node[buffered[at_node] == players - 1]
    if last.size:  # the node's whole joint action, from the position before it
        node = games.State(game.spec, out[offsets[last] + ply - (players - 1)])
        joint = moves[starts[last, None] + ply - (players - 1) + np.arange(players)]
        rewards[last] = game.step(node, joint)
        batch.data[last] = node.data
    middle = np.setdiff1d(at_node, last)
    if middle.size:
        history = [moves[starts[r] : starts[r] + ply + 1] for r in middle]
        batch.data[middle] = game.play_sequences(history, seeds=seeds[middle]).data
    taken = np.zeros(n, dtype=np.int64)
    taken[middle] = buffered[middle] + 1
    buffered[:n] = taken
    return rewards


def entry_players(before: games.State, game_ids: np.ndarray, num_players: int) -> np.ndarray:
    """int64[N]: whose entry of its game's history each action taken from the positions
    `before` (game_ids[k]: the game of row k, rows in ply order) is: the mover; at a
    simultaneous node the player in turn (a node's entries are one per player, in player
    order, so a run of such positions counts through the players); -1 for chance."""
    players = before.to_play.astype(np.int64)
    at_node = players == SIMULTANEOUS
    if at_node.any():
        index = np.arange(len(players))
        first = np.ones(len(players), dtype=bool)
        first[1:] = (game_ids[1:] != game_ids[:-1]) | ~at_node[:-1]
        run_start = np.maximum.accumulate(np.where(at_node & first, index, 0))
        players[at_node] = (index - run_start)[at_node] % num_players
    return players


def per_seat(table: pa.Table, column: str, num_players: int) -> np.ndarray:
    """A per-seat list column as a [rows, num_players] numpy array."""
    flat = pc.list_flatten(table[column]).to_numpy(zero_copy_only=False)
    if flat.size != len(table) * num_players:
        raise ReplayFormatError(f"column {column!r} does not hold {num_players} seats per game")
    return flat.reshape(len(table), num_players)


def _name(table: pa.Table, k: int) -> str:
    return f"match {table['match_id'][k].as_py()!r} game {table['game_index'][k].as_py()}"


def _check_outcomes(table: pa.Table, positions: Positions, engine_returns: np.ndarray) -> None:
    """A game stored as `normal` must end, with the same winner and returns, in the engine."""
    final = positions.final_rows()
    normal = pc.equal(table["termination"], "normal").to_numpy(zero_copy_only=False)
    done = positions.states.done[final]
    winner = table["winner"].to_numpy()
    returns = per_seat(table, "returns", positions.game.num_players)
    bad = normal & (
        ~done
        | (positions.states.winner[final] != winner)
        | ~np.isclose(engine_returns, returns).all(axis=1)
    )
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ReplayFormatError(
            f"{_name(table, k)}: the stored outcome (winner {winner[k]}, returns "
            f"{returns[k].tolist()}) differs from the engine's replay of its actions"
        )
