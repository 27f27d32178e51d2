"""`Replay`: one stored game as Python values, with its positions re-simulated."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

import games
from replays.simulate import entry_players, resimulate


@dataclass
class Replay:
    """One stored game. `states` holds `plies + 1` rows: the position before each move,
    then the final position (`game.render_text(replay.states, i)` draws position i)."""

    run_id: str
    match_id: str
    game_index: int
    game: str
    agents: list[str]
    seed: int
    actions: np.ndarray  # int64[plies]
    winner: int
    returns: np.ndarray  # float32[num_players]
    plies: int
    termination: str
    reason: str | None
    started_at: dt.datetime
    ended_at: dt.datetime
    values: np.ndarray | None  # float32[plies], NaN where the mover gave none
    policy_entropy: np.ndarray | None  # float32[plies]
    visits: np.ndarray | None  # int32[plies], -1 where the mover gave none
    # Recorded with `record_search`: the mover's prior and root visit counts over all
    # actions, per move; a row of NaN (prior) or -1 (visits) for a move without search.
    search_prior: np.ndarray | None  # float32[plies, num_actions]
    search_visits: np.ndarray | None  # int32[plies, num_actions]
    states: games.State

    @property
    def movers(self) -> np.ndarray:
        """int64[plies]: who made each move: a player, or -1 for a chance outcome (at a
        simultaneous node each player's action is a move of its own, in player order)."""
        before = self.states.take(np.arange(self.plies))
        return entry_players(before, np.zeros(self.plies, dtype=np.int64), len(self.agents))


def replay_from_row(row: pa.Table) -> Replay:
    """The Replay of a one-row replay table."""
    values = row.to_pylist()[0]
    dtypes = {
        "actions": np.int64,
        "returns": np.float32,
        "values": np.float32,
        "policy_entropy": np.float32,
        "visits": np.int32,
    }
    for name, dtype in dtypes.items():
        if values[name] is not None:
            values[name] = np.asarray(values[name], dtype=dtype)
    num_actions = games.make(values["game"]).num_actions
    for name, dtype, missing in (
        ("search_prior", np.float32, np.nan),
        ("search_visits", np.int32, -1),
    ):
        values[name] = _per_move_table(values.get(name), num_actions, dtype, missing)
    return Replay(**values, states=resimulate(row).states)


def _per_move_table(moves: list | None, num_actions: int, dtype, missing) -> np.ndarray | None:
    """[plies, num_actions] from one list per move; `missing` fills moves without a list."""
    if moves is None:
        return None
    out = np.full((len(moves), num_actions), missing, dtype=dtype)
    for i, entries in enumerate(moves):
        if entries:
            out[i] = entries
    return out
