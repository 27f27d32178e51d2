"""Stored games as (observation, action, reward, done) transitions for offline learning."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import games
from replays.reader import ReplayDataset, as_dataset
from replays.simulate import entry_players, per_seat, resimulate


def transitions(
    source: str | os.PathLike | ReplayDataset | pa.Table, *, skip_forfeits: bool = False
) -> dict[str, np.ndarray]:
    """One transition per stored move of a player (chance outcomes are not moves: they are
    left out), in game order then ply order.

    `source` is a run directory, a `ReplayDataset` or a replay table (e.g. from
    `ReplayDataset.filter`), holding games of a single game. Keys, each with N rows:

    - `observations` float32[N, *obs_shape]: the position before the move, from the
      mover's point of view (what the mover saw; at a simultaneous node, where each
      player's action is an entry of its own, the player of that entry)
    - `legal_masks` bool[N, num_actions], `actions` int64[N], `players` int64[N] (mover)
    - `rewards` float32[N]: the mover's return on the mover's last move of the game, 0
      on its other moves (each player's reward arrives with its final transition, as in
      PettingZoo's AEC games); `dones` bool[N]: True on each player's last move
    - `game_ids` int64[N]: row of the game in the table (for a run directory or dataset:
      in `ReplayDataset.to_table()`), `plies` int64[N]: moves played before this one

    Rewards are the stored `returns`, so forfeited and truncated games end like the
    others: each player's last move carries its return (a forfeiting seat usually -1).
    A player who never moved before a forfeit has no transition. `skip_forfeits=True`
    leaves forfeited games out.
    """
    table = source if isinstance(source, pa.Table) else as_dataset(source).to_table()
    if skip_forfeits:
        table = table.filter(pc.not_equal(table["termination"], "forfeit"))
    if len(table) == 0:
        raise ValueError("no games to make transitions from")
    positions = resimulate(table)
    game = positions.game
    is_final = np.zeros(len(positions.states), dtype=bool)
    is_final[positions.final_rows()] = True
    before = games.State(game.spec, positions.states.data[~is_final])
    game_ids = np.repeat(np.arange(len(table)), np.diff(positions.offsets) - 1)
    players = entry_players(before, game_ids, game.num_players)
    moved = players >= 0  # not a chance outcome
    moves = before.take(np.flatnonzero(moved))
    players, game_ids = players[moved], game_ids[moved]

    # The last move of each (game, player): first occurrence of its key in reverse order.
    key = game_ids * game.num_players + players
    _, from_end = np.unique(key[::-1], return_index=True)
    last = len(key) - 1 - from_end
    dones = np.zeros(len(key), dtype=bool)
    dones[last] = True
    rewards = np.zeros(len(key), dtype=np.float32)
    returns = per_seat(table, "returns", game.num_players)
    rewards[last] = returns[game_ids[last], players[last]]

    observations = np.empty((len(moves), *game.obs_shape), dtype=np.float32)
    legal_masks = np.empty((len(moves), game.num_actions), dtype=np.bool_)
    for p in range(game.num_players):
        rows = np.flatnonzero(players == p)
        observations[rows] = game.observe(moves.take(rows), p)
        legal_masks[rows] = game.legal_mask(moves.take(rows), p)
    return {
        "observations": observations,
        "legal_masks": legal_masks,
        "actions": pc.list_flatten(table["actions"]).to_numpy().astype(np.int64)[moved],
        "rewards": rewards,
        "dones": dones,
        "players": players,
        "game_ids": game_ids,
        "plies": moves.ply.astype(np.int64),
    }
