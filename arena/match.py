"""The match runner: many games between two agents in one batched engine state.

Each ply, every agent is asked once, for all the games where it is to move. An agent that
raises, or returns an illegal action, forfeits exactly the games concerned (the reason is
kept) and the other games go on. The result is one replay row per game, as columns ready
for `replays.build_table`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from agents import Agent
from games import Game, State

# observer(agent_index, game_indices, state_before, legal_mask, actions): called after every
# successful batched act with the games it covered (learners record training data this way).
Observer = Callable[[int, np.ndarray, State, np.ndarray, np.ndarray], None]

_ANNOTATIONS = {"value": "values", "policy_entropy": "policy_entropy", "visits": "visits"}


@dataclass
class MatchGames:
    """What to play: game i puts agents[seat_agent[i, s]] in seat s, after openings[i]."""

    seeds: np.ndarray  # int64[N], one per game: engine seed, recorded in the replay row
    seat_agent: np.ndarray  # int[N, num_players], indices into the agents list
    openings: list[list[int]]  # forced first moves per game (may be empty)


def play_games(
    game: Game,
    agents: list[Agent],
    plan: MatchGames,
    rng: np.random.Generator,
    agent_ids: list[str] | None = None,
    observer: Observer | None = None,
) -> dict[str, object]:
    """Play every game of the plan in one batch; returns replay columns, one entry per game.

    The columns cover everything but `run_id`, `match_id` and `game_index`, which belong to
    the caller's schedule.
    """
    n = len(plan.seeds)
    ids = agent_ids or [a.name for a in agents]
    started = _now()
    # Each game starts from its own stored seed, so a replay re-simulates it exactly.
    state = game.play_sequences(plan.openings, seeds=plan.seeds)
    limit = game.max_plies
    actions = np.full((n, limit), -1, dtype=np.int64)
    for i, opening in enumerate(plan.openings):
        actions[i, : len(opening)] = opening
    plies = state.ply.copy()
    returns = np.zeros((n, game.num_players), dtype=np.float32)
    values = np.full((n, limit), np.nan, dtype=np.float32)
    entropy = np.full((n, limit), np.nan, dtype=np.float32)
    visits = np.full((n, limit), -1, dtype=np.int64)
    annotated = np.zeros(n, dtype=bool)
    forfeited = np.zeros(n, dtype=bool)
    reasons: list[str | None] = [None] * n
    ended = np.full(n, started)
    live = ~state.done

    while live.any():
        mask = game.legal_mask(state)
        mover = plan.seat_agent[np.arange(n), state.to_play]
        chosen = np.full(n, -1, dtype=np.int64)
        for k, agent in enumerate(agents):
            idx = np.flatnonzero(live & (mover == k))
            if idx.size == 0:
                continue
            sub = state.take(idx)
            try:
                picked = np.asarray(agent.act(game, sub, mask[idx], rng))
                if picked.shape != idx.shape or not np.issubdtype(picked.dtype, np.integer):
                    raise ValueError(
                        f"act returned {picked.dtype} {picked.shape}, expected ({idx.size},) ints"
                    )
            except Exception as err:  # any agent failure forfeits its games, never the run
                _forfeit(idx, f"{ids[k]} raised {type(err).__name__}: {err}", forfeited, reasons)
                continue
            legal = mask[idx, np.clip(picked, 0, game.num_actions - 1)] & (picked >= 0)
            legal &= picked < game.num_actions
            for i, a in zip(idx[~legal], picked[~legal], strict=True):
                _forfeit(np.array([i]), f"{ids[k]} played illegal action {a}", forfeited, reasons)
            chosen[idx[legal]] = picked[legal]
            if observer is not None and legal.any():
                keep = np.flatnonzero(legal)
                observer(k, idx[keep], sub.take(keep), mask[idx[keep]], picked[keep])
            _record_annotations(agent, idx, legal, state.ply[idx], values, entropy, visits)
            annotated[idx[legal]] |= bool(getattr(agent, "last_annotations", None))
        now = _now()
        for i in np.flatnonzero(forfeited & live):
            loser = state.to_play[i]
            returns[i] = 1.0
            returns[i, loser] = -1.0
        ended[forfeited & live] = now
        live &= ~forfeited
        moving = np.flatnonzero(live)
        if moving.size == 0:
            break
        actions[moving, state.ply[moving]] = chosen[moving]
        # Forfeited and finished games stay in the batch; a finished game ignores its action,
        # a forfeited one is given any legal move and is no longer recorded.
        step_actions = np.where(live, chosen, mask.argmax(axis=1))
        returns[live] += game.step(state, step_actions)[live]
        plies[moving] += 1
        ended[live & state.done] = now
        live &= ~state.done

    winner = np.where(returns.max(axis=1) > 0, returns.argmax(axis=1), -1)
    return {
        "game": game.spec,
        "agents": _id_lists(ids, plan.seat_agent),
        "seed": plan.seeds.astype(np.int64),
        "actions": actions,
        "plies": plies.astype(np.int16),
        "winner": winner.astype(np.int8),
        "returns": returns,
        "termination": _labels(["normal", "forfeit"], forfeited.astype(np.int8)),
        "reason": pa.array(reasons, pa.string()),
        "started_at": np.full(n, started),
        "ended_at": ended,
        "values": _per_game(values, plies, annotated, np.isnan),
        "policy_entropy": _per_game(entropy, plies, annotated, np.isnan),
        "visits": _per_game(visits, plies, annotated, lambda v: v < 0),
    }


def _forfeit(idx: np.ndarray, reason: str, forfeited: np.ndarray, reasons: list) -> None:
    for i in idx:
        if not forfeited[i]:
            forfeited[i] = True
            reasons[i] = reason


def _record_annotations(agent, idx, legal, ply, values, entropy, visits) -> None:
    notes = getattr(agent, "last_annotations", None) or {}
    for key, target in (("value", values), ("policy_entropy", entropy), ("visits", visits)):
        if key in notes:
            column = np.asarray(notes[key])
            if column.shape == idx.shape:
                target[idx[legal], ply[legal]] = column[legal]


def _labels(names: list[str], codes: np.ndarray) -> pa.Array:
    """Strings from small integer codes without a Python loop (via a dictionary array)."""
    return pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(names)).cast(pa.string())


def _id_lists(ids: list[str], seat_agent: np.ndarray) -> pa.Array:
    """The `agents` column: for each game, the agent id in each seat."""
    offsets = np.arange(0, seat_agent.size + 1, seat_agent.shape[1], dtype=np.int32)
    return pa.ListArray.from_arrays(offsets, _labels(ids, seat_agent.ravel()))


def _now() -> np.datetime64:
    """UTC now as datetime64[us] (numpy columns convert to Arrow without a Python loop)."""
    return np.datetime64(dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), "us")


def _per_game(table: np.ndarray, plies: np.ndarray, annotated: np.ndarray, missing) -> list | None:
    """One list per game (None for games where no agent gave this annotation); None for
    the whole column when no game has any."""
    if not annotated.any():
        return None
    out: list = []
    for i in range(table.shape[0]):
        row = table[i, : plies[i]]
        out.append(row.tolist() if annotated[i] and not missing(row).all() else None)
    return out
