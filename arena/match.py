"""The match runner: many games between agents in one batched engine state.

Each ply, pending chance nodes are resolved first (sampled from each game's own random
state, the outcomes recorded with the actions at their ply), then every agent is asked
once, for all the games where it is to move. At a simultaneous node every seat moves: each
seat's agent is asked for its own action (`act(..., player=seat)`, with that seat's legal
mask) and the game takes one joint step, recorded as one action per seat in seat order.
An agent that raises, or returns an illegal action, forfeits exactly the games concerned
(the reason is kept; its seat gets -1, the others +1) and the other games go on. The
result is one replay row per game, as columns ready for `replays.build_table`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from agents import Agent
from games import Game, State
from games.layout import SIMULTANEOUS

# observer(agent_index, game_indices, state_before, legal_mask, actions): called after every
# successful batched act with the games it covered (learners record training data this way).
# At a simultaneous node it is called once per seat, with that seat's legal mask; the seat
# is the `player` the agent's act was given (state_before.to_play is then -2).
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
    record_search: bool = False,
) -> dict[str, object]:
    """Play every game of the plan in one batch; returns replay columns, one entry per game.

    The columns cover everything but `run_id`, `match_id` and `game_index`, which belong to
    the caller's schedule. `record_search` also keeps the searching agents' root priors and
    visit counts per move (`search_prior`, `search_visits`; see agents.base.Agent).
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
    searched: dict[str, dict[tuple[int, int], np.ndarray]] = {"prior": {}, "visit_counts": {}}
    forfeited = np.zeros(n, dtype=bool)
    reasons: list[str | None] = [None] * n
    ended = np.full(n, started)
    live = ~state.done
    seats = np.arange(game.num_players)

    def finish(now: np.datetime64) -> None:
        ended[live & state.done] = now
        live[:] &= ~state.done

    while live.any():
        if game.chance:  # outcomes go into `actions` at their ply, as the game's history
            returns[live] += game.sample_chance(state, record=actions)[live]
            plies[live] = state.ply[live]
            finish(_now())
            if not live.any():
                break
        to_play = state.to_play
        simultaneous = live & (to_play == SIMULTANEOUS)
        # The seat each game's single mover sits in; -1 where no single player moves (a
        # negative to_play must never index the seats, where it would pick the last one).
        mover_seat = np.where(live & (to_play >= 0), to_play, -1)
        chosen = np.full((n, game.num_players), -1, dtype=np.int64)
        loser = np.full(n, -1, dtype=np.int64)  # the seat that forfeited each game
        # (games, the seat moving in each, the player keyword): the single movers, then at
        # simultaneous nodes each seat in turn, each with its own legal actions.
        requests = [(mover_seat >= 0, mover_seat, None)]
        if simultaneous.any():
            requests += [(simultaneous, np.full(n, s), int(s)) for s in seats]
        mover_mask = game.legal_mask(state)
        for games_mask, seat, player in requests:
            seat_agent = plan.seat_agent[np.arange(n), np.maximum(seat, 0)]
            mask = mover_mask if player is None else game.legal_mask(state, player)
            for k, agent in enumerate(agents):
                idx = np.flatnonzero(games_mask & (seat_agent == k) & ~forfeited)
                if idx.size == 0:
                    continue
                picked = _ask(agent, ids[k], game, state.take(idx), mask[idx], rng, player)
                if isinstance(picked, str):  # the agent failed: it forfeits these games
                    _forfeit(idx, picked, seat[idx], forfeited, reasons, loser)
                    continue
                legal = mask[idx, np.clip(picked, 0, game.num_actions - 1)] & (picked >= 0)
                legal &= picked < game.num_actions
                for i, a in zip(idx[~legal], picked[~legal], strict=True):
                    reason = f"{ids[k]} played illegal action {a}"
                    _forfeit(np.array([i]), reason, seat[[i]], forfeited, reasons, loser)
                chosen[idx[legal], seat[idx[legal]]] = picked[legal]
                if observer is not None and legal.any():
                    keep = np.flatnonzero(legal)
                    observer(k, idx[keep], state.take(idx[keep]), mask[idx[keep]], picked[keep])
                # A seat's entry in the history of a simultaneous node is at ply + seat.
                at = state.ply[idx] + (seat[idx] if player is not None else 0)
                _record_annotations(agent, idx, legal, at, values, entropy, visits)
                if record_search:
                    _record_search(agent, idx, legal, at, searched)
                annotated[idx[legal]] |= bool(getattr(agent, "last_annotations", None))
        now = _now()
        for i in np.flatnonzero(forfeited & live):
            returns[i] = 1.0
            returns[i, loser[i]] = -1.0
        ended[forfeited & live] = now
        live &= ~forfeited
        if not live.any():
            break
        # Forfeited and finished games stay in the batch; a finished game ignores its action,
        # a forfeited one is given any legal move and is no longer recorded.
        single = np.flatnonzero(live & (mover_seat >= 0))
        actions[single, state.ply[single]] = chosen[single, mover_seat[single]]
        if game.simultaneous:  # joint steps: a decision node takes its mover's column
            sim = np.flatnonzero(live & simultaneous)
            actions[sim[:, None], state.ply[sim][:, None] + seats] = chosen[sim]
            fallback = np.stack([game.legal_mask(state, s).argmax(axis=1) for s in seats], 1)
            step_actions = np.where(live[:, None], chosen, fallback)
        else:
            step_actions = np.where(
                live, chosen[np.arange(n), np.maximum(mover_seat, 0)], mover_mask.argmax(axis=1)
            )
        returns[live] += game.step(state, step_actions)[live]
        plies[live] = state.ply[live]
        finish(now)

    winner = winners(returns)
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
        "search_prior": _search_lists(searched["prior"], plies, np.float32),
        "search_visits": _search_lists(searched["visit_counts"], plies, np.int32),
    }


def alternating_seats(games: int, num_players: int) -> np.ndarray:
    """seat_agent for a match between agents 0 and 1: they alternate around the table, and
    the first seat alternates from game to game (game i, seat s: agent (i + s) % 2), so in
    two-player games each agent moves first in every other game."""
    return (np.arange(games)[:, None] + np.arange(num_players)) % 2


def alternating_plan(
    games: int,
    num_players: int,
    rng: np.random.Generator,
    openings: list[list[int]] | None = None,
) -> MatchGames:
    """A match of agents 0 and 1 with seats alternating (alternating_seats), each game's
    seed drawn from `rng`, played from `openings` (one per game) or the empty one."""
    return MatchGames(
        seeds=rng.integers(0, 2**62, games, dtype=np.int64),
        seat_agent=alternating_seats(games, num_players),
        openings=openings if openings is not None else [[] for _ in range(games)],
    )


def winners(returns: np.ndarray) -> np.ndarray:
    """int64[N]: the player with the unique highest return in each game, -1 on a tie (in
    general-sum games too: mutual cooperation is nobody's win)."""
    best = returns.max(axis=1, keepdims=True)
    unique = (returns == best).sum(axis=1) == 1
    return np.where(unique, returns.argmax(axis=1), -1)


def _ask(
    agent: Agent,
    agent_id: str,
    game: Game,
    state: State,
    mask: np.ndarray,
    rng: np.random.Generator,
    player: int | None,
) -> np.ndarray | str:
    """The agent's actions for these games, or why it failed (any failure forfeits its
    games, never the run). `player` (its seat) is passed only at simultaneous nodes."""
    try:
        seat = {} if player is None else {"player": player}
        picked = np.asarray(agent.act(game, state, mask, rng, **seat))
        if picked.shape != (len(state),) or not np.issubdtype(picked.dtype, np.integer):
            raise ValueError(
                f"act returned {picked.dtype} {picked.shape}, expected ({len(state)},) ints"
            )
    except Exception as err:
        return f"{agent_id} raised {type(err).__name__}: {err}"
    return picked


def _forfeit(
    idx: np.ndarray,
    reason: str,
    seats: np.ndarray,
    forfeited: np.ndarray,
    reasons: list,
    loser: np.ndarray,
) -> None:
    """Game idx[j] is forfeited by the agent in seat seats[j] (the first failure stands)."""
    for i, seat in zip(idx, seats, strict=True):
        if not forfeited[i]:
            forfeited[i] = True
            reasons[i] = reason
            loser[i] = seat


def _record_annotations(agent, idx, legal, ply, values, entropy, visits) -> None:
    notes = getattr(agent, "last_annotations", None) or {}
    for key, target in (("value", values), ("policy_entropy", entropy), ("visits", visits)):
        if key in notes:
            column = np.asarray(notes[key])
            if column.shape == idx.shape:
                target[idx[legal], ply[legal]] = column[legal]


def _record_search(agent, idx, legal, ply, searched) -> None:
    """Keep each legal move's root statistics, by (game, ply), for `_search_lists`."""
    notes = getattr(agent, "last_annotations", None) or {}
    for key, kept in searched.items():
        table = notes.get(key)
        if table is None or np.shape(table)[0] != idx.size:
            continue
        table = np.asarray(table)
        for j in np.flatnonzero(legal):
            kept[int(idx[j]), int(ply[j])] = table[j]


def _search_lists(kept: dict, plies: np.ndarray, dtype) -> list | None:
    """A search column: per game a list per move (empty where no search was kept), None
    for games without any; None for the whole column when nothing was kept. A Python loop
    over moves, fine for the opt-in `record_search` runs (searching agents dominate)."""
    if not kept:
        return None
    games = {i for i, _ in kept}
    return [
        [kept[i, p].astype(dtype).tolist() if (i, p) in kept else [] for p in range(plies[i])]
        if i in games
        else None
        for i in range(len(plies))
    ]


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
