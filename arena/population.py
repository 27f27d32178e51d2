"""Game-theoretic rankings of a population from its empirical payoffs: α-Rank and Nash
averaging, as rows of the league's `alpharank` and `nash_averaging` metrics tables (and of
`arena ratings --method`).

Both rank the agents of the complete sub-population (arena.payoffs) by its antisymmetric
payoff matrix ``A = (P - P^T) / 2``. For α-Rank that is the seat-averaged table P itself
as far as the ranking goes: a single population with local selection (the default) reads
only ``M[r, s] - M[s, r]``, which A and P share, so no payoff of an agent against itself
is needed.

Where the seats differ (:func:`seats_differ`: Kuhn poker, where the first player bets
first), the two seats are also ranked as two populations by multi-population α-Rank on
the per-seat tables (`alpharank_per_seat`), which need every (first, second) profile of
the agents, each agent against itself included: the league's evaluation then also plays
every agent against a copy of itself (games that ratings and win rates leave out).
"""

from __future__ import annotations

import numpy as np

import games
from arena.alpharank import DEFAULT_ALPHA, alpharank
from arena.nash_averaging import nash_average

METHODS = ("elo", "alpharank", "nash-avg")


def alpharank_rows(agents: list[str], a: np.ndarray, alpha: float = DEFAULT_ALPHA) -> dict:
    """Columns `agent`, `mass` (α-Rank's stationary distribution), `alpha`."""
    result = alpharank([a], alpha=alpha)
    return {"agent": list(agents), "mass": result.pi, "alpha": [result.alpha] * len(agents)}


def seats_differ(game: games.Game) -> bool:
    """Whether the game's populations are ranked per seat too: two players whose rules treat
    the seats differently (games.Game.seat_symmetric; more players are never ranked per
    seat, arena.payoffs keeps no per-seat tables for them)."""
    return game.num_players == 2 and not game.seat_symmetric


def alpharank_per_seat_rows(
    agents: list[str], tables: list[np.ndarray], alpha: float = DEFAULT_ALPHA
) -> dict:
    """Columns `seat`, `agent`, `mass` (the seat's α-Rank marginal), `alpha`: multi-population
    α-Rank of [seat 0's table, seat 1's table] (arena.payoffs.PayoffTables.per_seat), whose
    populations are the same `agents` in either seat."""
    result = alpharank(tables, alpha=alpha)
    return {
        "seat": [seat for seat in range(len(tables)) for _ in agents],
        "agent": list(agents) * len(tables),
        "mass": np.concatenate(result.marginals),
        "alpha": [result.alpha] * len(agents) * len(tables),
    }


def nash_rows(agents: list[str], a: np.ndarray) -> dict:
    """Columns `agent`, `mass` (the maximum-entropy Nash mixture), `skill` (payoff against it)."""
    result = nash_average(a)
    return {"agent": list(agents), "mass": result.p, "skill": result.skill}


def rows(method: str, agents: list[str], a: np.ndarray) -> dict:
    """The rows of `method` (alpharank or nash-avg), for a metrics table or a terminal."""
    if method == "alpharank":
        return alpharank_rows(agents, a)
    if method == "nash-avg":
        return nash_rows(agents, a)
    raise ValueError(f"unknown method {method!r}; methods: {', '.join(METHODS[1:])}")
