"""Empirical payoff tables of a population, from a run's replay dataset.

A game's payoff to an agent is its return (the game's reward to its seat: chips in poker,
+1 / -1 / 0 in win-or-lose games). Two views of the same games:

- ``payoff[i, j]``: agent i's mean return against agent j, each seating of the two
  (two players: i first or j first) weighted equally, so that a seat's advantage cancels
  out however unevenly the seats were played. This is the table of the symmetric game
  whose strategies are whole agents (a policy for every seat): single-population α-Rank
  takes it, and Nash averaging and the diversity measures its antisymmetric part
  ``(P - P^T) / 2`` (:meth:`PayoffTables.antisymmetric`), which equals P in a zero-sum
  game. The diagonal is the agent against itself: from self-play games when stored, else
  exactly 0 in a zero-sum game (by its rules: the seats' returns cancel in every game),
  else unknown (NaN).
- ``seat_payoffs[s, i, j]`` (two-player games): seat s's mean return when agent i sits
  first and agent j second, for multi-population α-Rank, where the seats are separate
  populations (in asymmetric games such as Kuhn poker returns depend on the seat).

Pairs never played (in every seating) are never filled in: :meth:`PayoffTables.complete`
names them and keeps the largest sub-population it finds without any, naming whom it
dropped. Games with more than two distinct agents are left out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import games
from arena import results

SHOWN_PAIRS = 8  # missing pairs named in a message; the rest are counted


@dataclass(frozen=True)
class PayoffTables:
    """A population's empirical payoffs (see the module docstring); arrays follow `agents`.

    ``games[i, j]`` counts the games between i and j in any seating (self-play on the
    diagonal), ``seat_games[i, j]`` those with i first and j second. ``known[i, j]`` is
    True when every seating of the pair was played (i != j), or the diagonal is known.
    ``seat_payoffs`` and ``seat_games`` are None in games of more than two players.
    """

    game: str
    agents: tuple[str, ...]
    payoff: np.ndarray  # float64[n, n], NaN where unknown
    games: np.ndarray  # int64[n, n]
    known: np.ndarray  # bool[n, n]
    seat_payoffs: np.ndarray | None  # float64[2, n, n], NaN where unplayed
    seat_games: np.ndarray | None  # int64[n, n]
    zero_sum: bool  # the game's rules: the seats' returns sum to 0 in every game

    def subset(self, keep: np.ndarray | list[int]) -> PayoffTables:
        """The tables of the agents at positions `keep`, in that order."""
        k = np.asarray(keep, dtype=np.int64)
        square = np.ix_(k, k)
        return replace(
            self,
            agents=tuple(self.agents[i] for i in k),
            payoff=self.payoff[square],
            games=self.games[square],
            known=self.known[square],
            seat_payoffs=None
            if self.seat_payoffs is None
            else self.seat_payoffs[(slice(None), *square)],
            seat_games=None if self.seat_games is None else self.seat_games[square],
        )

    def missing_pairs(self, seats: bool = False, diagonal: bool = False) -> list[tuple[str, str]]:
        """Pairs lacking games: unordered pairs of different agents not played in every
        seating (with `diagonal`, also (a, a) for an agent whose payoff against itself is
        unknown); with `seats`, the ordered (first, second) profiles never played,
        self-play included (what multi-population α-Rank needs)."""
        gaps = ~self._known(seats, diagonal)
        if not seats:
            gaps = np.triu(gaps)
        return [(self.agents[i], self.agents[j]) for i, j in zip(*np.nonzero(gaps), strict=True)]

    def complete(self, seats: bool = False, diagonal: bool = False) -> Completion:
        """The largest sub-population this finds with no missing pair (as
        :meth:`missing_pairs` counts them), and whom it drops.

        Agents are dropped one at a time, the one in the most missing pairs first (on ties
        the one with fewer games, then the later name): a greedy cover, not guaranteed the
        largest possible, but deterministic and quick.
        """
        known = self._known(seats, diagonal)
        keep = np.ones(len(self.agents), dtype=bool)
        played = self.games.sum(axis=1)
        while keep.any():
            gaps = ~known & keep[None, :] & keep[:, None]
            count = gaps.sum(axis=0) + gaps.sum(axis=1)
            if not count.any():
                break
            worst = np.flatnonzero(count == count.max())
            fewest = worst[played[worst] == played[worst].min()]
            keep[max(fewest, key=lambda i: self.agents[i])] = False
        return Completion(
            tables=self.subset(np.flatnonzero(keep)),
            dropped=tuple(a for a, k in zip(self.agents, keep, strict=True) if not k),
            missing=tuple(self.missing_pairs(seats, diagonal)),
            seats=seats,
        )

    def _known(self, seats: bool, diagonal: bool) -> np.ndarray:
        if seats:
            if self.seat_games is None:
                raise ValueError(
                    f"per-seat payoff tables are for two-player games, not {self.game}"
                )
            return self.seat_games > 0
        known = self.known.copy()
        if not diagonal:
            np.fill_diagonal(known, True)
        return known

    def antisymmetric(self) -> np.ndarray:
        """``(P - P^T) / 2``, 0 on the diagonal: the symmetric zero-sum game of the agents
        (Nash averaging, diversity). Every pair must be known: see :meth:`complete`."""
        _require_complete(self.missing_pairs())
        a = (self.payoff - self.payoff.T) / 2.0
        np.fill_diagonal(a, 0.0)
        return a

    def symmetric(self) -> np.ndarray:
        """P itself, diagonal included (single-population α-Rank); every entry known."""
        _require_complete(self.missing_pairs(diagonal=True))
        return self.payoff.copy()

    def per_seat(self) -> list[np.ndarray]:
        """[seat 0's table, seat 1's table] (multi-population α-Rank); every profile known."""
        _require_complete(self.missing_pairs(seats=True))
        return [self.seat_payoffs[0].copy(), self.seat_payoffs[1].copy()]


@dataclass(frozen=True)
class Completion:
    """The complete sub-population of a payoff table (:meth:`PayoffTables.complete`)."""

    tables: PayoffTables
    dropped: tuple[str, ...]
    missing: tuple[tuple[str, str], ...]  # the pairs without games, in the whole table
    seats: bool = False  # the pairs are ordered (first, second) profiles, self-play included

    def describe(self) -> str:
        """One line for a log or the terminal; empty when nothing is missing."""
        if not self.missing:
            return ""
        kept = len(self.tables.agents)
        what = "profile" if self.seats else "pair"
        return (
            f"{what}s without games{' (first vs second)' if self.seats else ''}: "
            f"{describe_missing(self.missing)}; evaluated on the {kept} agents that have "
            f"every {what}, without {', '.join(self.dropped)}"
        )


def _require_complete(missing: list[tuple[str, str]]) -> None:
    if missing:
        raise ValueError(
            f"payoffs incomplete, pairs without games: {describe_missing(missing)} "
            "(use PayoffTables.complete)"
        )


def describe_missing(pairs: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> str:
    shown = ", ".join(f"{a} vs {b}" for a, b in pairs[:SHOWN_PAIRS])
    more = len(pairs) - SHOWN_PAIRS
    return shown + (f" and {more} more" if more > 0 else "")


def load(
    run_dir: str | os.PathLike,
    where: str | None = None,
    agents: list[str] | None = None,
    game: str | None = None,
) -> PayoffTables:
    """The payoff tables of a run's games of `game` (default: its only game), optionally
    only those matching the SQL condition `where` (e.g. arena.ids.EVAL_ONLY), over `agents`
    in that order (default: every agent in the games, sorted; games with an agent not
    listed are left out)."""
    game, sums = results.seat_returns(run_dir, where, game)
    return from_seat_returns(game, sums, agents)


def from_seat_returns(game: str, sums: pa.Table, agents: list[str] | None = None) -> PayoffTables:
    """The tables from per-seating return sums (:func:`arena.results.seat_returns`)."""
    players = sum(1 for name in sums.column_names if name.startswith("return_"))
    seating = (
        sums["agents"].combine_chunks() if sums.num_rows else pa.array([], pa.list_(pa.string()))
    )
    flat = pc.list_flatten(seating)
    names = pa.array(sorted(pc.unique(flat).to_pylist()) if agents is None else agents, pa.string())
    if len(set(names.to_pylist())) != len(names):
        raise ValueError(f"agents listed twice: {sorted(names.to_pylist())}")
    n = len(names)
    found = pc.fill_null(pc.index_in(flat, value_set=names), -1)
    idx = found.to_numpy(zero_copy_only=False).astype(np.int64).reshape(-1, players)
    count = sums["games"].to_numpy().astype(np.int64)
    mean = np.stack([sums[f"return_{s}"].to_numpy() for s in range(players)], axis=1)
    mean = mean / np.maximum(count, 1)[:, None]
    # Each seating's two agents: the first seat's, and the first other one (if any).
    first = idx[:, 0]
    differs = idx != first[:, None]
    other = np.where(differs.any(axis=1), idx[np.arange(len(idx)), differs.argmax(axis=1)], first)
    # Left out: seatings with an agent not asked for, or with more than two agents.
    listed = (idx >= 0).all(axis=1)
    usable = listed & ((idx == first[:, None]) | (idx == other[:, None])).all(axis=1)
    idx, count, mean = idx[usable], count[usable], mean[usable]
    first, other = first[usable], other[usable]

    # An agent's return in a game is the mean over the seats it holds.
    def value(agent: np.ndarray) -> np.ndarray:
        mine = idx == agent[:, None]
        return (mean * mine).sum(axis=1) / mine.sum(axis=1)

    total = np.zeros((n, n))
    seatings = np.zeros((n, n))
    np.add.at(total, (first, other), value(first))
    np.add.at(seatings, (first, other), 1.0)
    pair = first != other
    np.add.at(total, (other[pair], first[pair]), value(other)[pair])
    np.add.at(seatings, (other[pair], first[pair]), 1.0)
    played = np.zeros((n, n), dtype=np.int64)
    np.add.at(played, (first, other), count)
    np.add.at(played, (other[pair], first[pair]), count[pair])
    # A pair is known when each of its agents has sat first against the other.
    led = np.zeros((n, n), dtype=bool)
    led[first, other] = True
    known = led & led.T
    with np.errstate(invalid="ignore", divide="ignore"):
        payoff = np.where(known, total / seatings, np.nan)
    zero_sum = games.make(game).zero_sum
    if zero_sum:  # against itself an agent gets 0 on average over the seats, exactly
        unplayed = np.flatnonzero(~np.diag(known))
        payoff[unplayed, unplayed] = 0.0
        known[unplayed, unplayed] = True
    seat_payoffs = seat_games = None
    if players == 2:
        seat_games = np.zeros((n, n), dtype=np.int64)
        seat_games[idx[:, 0], idx[:, 1]] = count
        seat_payoffs = np.full((2, n, n), np.nan)
        seat_payoffs[:, idx[:, 0], idx[:, 1]] = mean.T
    return PayoffTables(
        game=game,
        agents=tuple(names.to_pylist()),
        payoff=payoff,
        games=played,
        known=known,
        seat_payoffs=seat_payoffs,
        seat_games=seat_games,
        zero_sum=zero_sum,
    )
