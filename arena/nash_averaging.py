"""Nash averaging (Balduzzi et al. 2018, "Re-evaluating evaluation").

Agents are rated against the population's maximum-entropy Nash equilibrium rather than
against the population itself. For the antisymmetric payoff matrix A of a symmetric
zero-sum game between the agents (``A[i, j] > 0`` when i beats j, e.g.
:func:`arena.diversity.payoff_from_scores`), p is the maximum-entropy Nash equilibrium
(:func:`arena.diversity.nash_equilibrium`) and agent i's skill is ``(A p)_i``, its
expected payoff against the equilibrium mixture: 0 for every agent the equilibrium uses
(the game's value), below 0 for the rest.

Why it matters: an average over the population (or Elo, fitted to games in proportion to
who was played) moves when the population gains copies of an agent; the maximum-entropy
equilibrium splits its mass evenly among copies, so A p, and with it every skill, is
unchanged (the paper's invariance to redundancy). An agent that beats nobody in the
equilibrium gets no credit for beating many weak agents.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arena.diversity import nash_equilibrium


@dataclass(frozen=True)
class NashAverage:
    """``p``: the maximum-entropy Nash mixture over the agents; ``skill = A @ p``."""

    p: np.ndarray
    skill: np.ndarray


def nash_average(a: np.ndarray) -> NashAverage:
    """Nash averaging of the antisymmetric payoff matrix ``a`` (ValueError otherwise)."""
    p = nash_equilibrium(a)
    return NashAverage(p=p, skill=np.asarray(a, dtype=np.float64) @ p)
