"""A game in progress between a person and an agent: the play page's state, free of Streamlit.

A game is its seed and its history (the actions so far, chance outcomes included, as a
replay row stores them), so every position is re-simulated from those two, undo is a
shorter history, and the finished game becomes one replay row (`row`) as a tournament's.
The agent's per-move notes (value, policy entropy, visits, and the search's root prior and
visit counts where it searches) are kept by ply for that row.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import games
from arena.match import winners

# Agent notes kept per move, and the replay column each goes to (agents.base.Agent).
NOTES = {"value": "values", "policy_entropy": "policy_entropy", "visits": "visits"}
SEARCH_NOTES = {"prior": "search_prior", "visit_counts": "search_visits"}
RESIGN = "resign"


class IllegalMove(ValueError):
    """A move the rules do not allow now; the message says why, for the page's notice."""


@dataclass
class Game:
    """One game: `seats[s]` is the agent id in seat s; `human` is the person's seat."""

    spec: str
    seed: int
    seats: list[str]
    human: int
    history: list[int] = field(default_factory=list)
    notes: dict[int, dict[str, Any]] = field(default_factory=dict)  # ply -> agent's notes
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    ended_at: dt.datetime | None = None
    resigned: bool = False
    think_seconds: float | None = None  # the agent's last answer took this long

    def __post_init__(self) -> None:
        self.spec = games.make(self.spec).spec  # stored canonical, as replays require

    @property
    def rules(self) -> games.Game:
        return games.make(self.spec)

    def state(self) -> games.State:
        """The current position, re-simulated from the seed and the history."""
        return self.rules.play_sequences([self.history], seeds=[self.seed])

    @property
    def over(self) -> bool:
        return self.resigned or bool(self.state().done[0])

    def legal(self) -> np.ndarray:
        """bool[num_actions]: the moves allowed now (none once the game is over)."""
        if self.over:
            return np.zeros(self.rules.num_actions, dtype=bool)
        return self.rules.legal_mask(self.state())[0]

    def humans_turn(self) -> bool:
        return not self.over and int(self.state().to_play[0]) == self.human

    def play(self, action: int) -> None:
        """The person's move; IllegalMove when it is not theirs to make or not allowed."""
        if self.over:
            raise IllegalMove("the game is over")
        if not self.humans_turn():
            raise IllegalMove("it is not your turn")
        if not 0 <= action < self.rules.num_actions or not self.legal()[action]:
            raise IllegalMove(f"move {action} is not legal here")
        self.history.append(int(action))
        self._resolve_chance()

    def reply(self, agent, rng: np.random.Generator) -> None:
        """The agent's moves (and chance's) until the person is to move or the game ends."""
        self._resolve_chance()
        while not self.over and not self.humans_turn():
            rules, state = self.rules, self.state()
            started = time.perf_counter()
            action = int(np.asarray(agent.act(rules, state, rules.legal_mask(state), rng))[0])
            self.think_seconds = time.perf_counter() - started
            if not rules.legal_mask(state)[0, action]:
                raise RuntimeError(f"{self.seats[int(state.to_play[0])]} chose illegal {action}")
            self._keep_notes(agent, len(self.history))
            self.history.append(action)
            self._resolve_chance()
        self._mark_end()

    def undo(self) -> None:
        """Take back the person's last move and everything after it (the agent's reply,
        chance outcomes), before the game ends; nothing to undo does nothing."""
        if self.over:
            raise IllegalMove("the game is over: start a new one")
        movers = self._movers()
        mine = [p for p, m in enumerate(movers) if m == self.human]
        if not mine:
            return
        del self.history[mine[-1] :]
        self.notes = {p: n for p, n in self.notes.items() if p < mine[-1]}

    def resign(self) -> None:
        if self.over:
            raise IllegalMove("the game is over")
        self.resigned = True
        self._mark_end()

    def returns(self) -> np.ndarray:
        """float32[num_players]: each seat's return (a resigned seat loses, as a forfeit)."""
        rules = self.rules
        if self.resigned:
            out = np.ones(rules.num_players, dtype=np.float32)
            out[self.human] = -1.0
            return out
        state = rules.init_from_seeds([self.seed])
        total = np.zeros(rules.num_players, dtype=np.float32)
        for action in self.history:
            total += rules.step(state, np.array([action]))[0]
        return total

    def row(self, run_id: str, match_id: str) -> dict[str, list]:
        """The finished game as replay columns (one row) for `replays.build_table`."""
        if not self.over:
            raise ValueError("the game is not over")
        returns = self.returns()
        plies = len(self.history)
        columns: dict[str, list] = {
            "run_id": [run_id],
            "match_id": [match_id],
            "game_index": [0],
            "game": [self.spec],
            "agents": [self.seats],
            "seed": [self.seed],
            "actions": [self.history],
            "winner": [int(winners(returns[None])[0])],
            "returns": [returns.tolist()],
            "termination": [RESIGN if self.resigned else "normal"],
            "reason": [f"{self.seats[self.human]} resigned" if self.resigned else None],
            "started_at": [self.started_at],
            "ended_at": [self.ended_at],
        }
        missing = {"values": np.nan, "policy_entropy": np.nan, "visits": -1}
        for key, column in NOTES.items():
            if any(key in n for n in self.notes.values()):
                at = [self.notes.get(p, {}).get(key, missing[column]) for p in range(plies)]
                columns[column] = [at]
        for key, column in SEARCH_NOTES.items():
            if any(key in n for n in self.notes.values()):
                columns[column] = [[self.notes.get(p, {}).get(key, []) for p in range(plies)]]
        return columns

    def _movers(self) -> list[int]:
        """Who made each move of the history: a seat, or -1 for chance."""
        rules = self.rules
        state = rules.init_from_seeds([self.seed])
        movers = []
        for action in self.history:
            movers.append(int(state.to_play[0]))
            rules.step(state, np.array([action]))
        return movers

    def _resolve_chance(self) -> None:
        """Deal pending chance outcomes from the game's own random state into the history."""
        rules, state = self.rules, self.state()
        if not rules.chance or state.done[0] or state.to_play[0] >= 0:
            self._mark_end()
            return
        record = np.full((1, rules.max_plies), -1, dtype=np.int64)
        record[0, : len(self.history)] = self.history
        rules.sample_chance(state, record)
        self.history = [int(a) for a in record[0, : int(state.ply[0])]]
        self._mark_end()

    def _keep_notes(self, agent, ply: int) -> None:
        notes = getattr(agent, "last_annotations", None) or {}
        kept = {}
        for key in NOTES:
            if key in notes:
                kept[key] = np.asarray(notes[key]).reshape(-1)[0].item()
        for key in SEARCH_NOTES:
            if key in notes:
                kept[key] = np.asarray(notes[key])[0].tolist()
        if kept:
            self.notes[ply] = kept

    def _mark_end(self) -> None:
        if self.ended_at is None and self.over:
            self.ended_at = dt.datetime.now(dt.timezone.utc)
