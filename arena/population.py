"""Game-theoretic rankings of a population from its empirical payoffs: α-Rank and Nash
averaging, as rows of the league's `alpharank` and `nash_averaging` metrics tables (and of
`arena ratings --method`).

Both rank the agents of the complete sub-population (arena.payoffs) by its antisymmetric
payoff matrix ``A = (P - P^T) / 2``. For α-Rank that is the seat-averaged table P itself
as far as the ranking goes: a single population with local selection (the default) reads
only ``M[r, s] - M[s, r]``, which A and P share, so no payoff of an agent against itself
is needed (the league plays none).
"""

from __future__ import annotations

import numpy as np

from arena.alpharank import DEFAULT_ALPHA, alpharank
from arena.nash_averaging import nash_average

METHODS = ("elo", "alpharank", "nash-avg")


def alpharank_rows(agents: list[str], a: np.ndarray, alpha: float = DEFAULT_ALPHA) -> dict:
    """Columns `agent`, `mass` (α-Rank's stationary distribution), `alpha`."""
    result = alpharank([a], alpha=alpha)
    return {"agent": list(agents), "mass": result.pi, "alpha": [result.alpha] * len(agents)}


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
