"""Meta-solvers for PSRO: the mixture over a population that the next best response faces.

Input: one payoff table per player, ``payoffs[p][i_0, ..., i_{P-1}]`` = player p's
expected payoff when each player q plays its population member ``i_q``. Output: one
mixture per player (:func:`meta_strategy`).

- ``nash``: an exact Nash equilibrium by linear programming (HiGHS through scipy), for
  two-player zero-sum (or constant-sum) games only: player p maximises v subject to
  ``x^T A_p >= v`` columnwise, ``x`` a distribution, ``A_p`` its table with its own
  strategies on the rows.
- ``alpharank``: each population's α-Rank marginal in the infinite-α limit (ε swept to 0,
  as OpenSpiel's PSRO does; :mod:`arena.alpharank`): scale-free, any number of players.
- ``uniform``: every member alike (fictitious play over the population).
- ``prd``: projected replicator dynamics (Lanctot et al. 2017, "A Unified Game-Theoretic
  Approach to Multiagent Reinforcement Learning"), with OpenSpiel's defaults: from the
  uniform mixtures, ``x_p += dt x_p (u_p - x_p . u_p)`` with ``u_p`` the payoff of each
  member against the others' current mixtures, every step projected (Euclidean) onto the
  simplex with every entry >= gamma; the answer is the average of all iterates.
  Replicator dynamics is exponential weights in continuous time (learning rate 1 over
  time ``T = iterations * dt``), so in a two-player zero-sum game no player gains more
  than ``sum_p ln(n_p) / T`` by deviating from the averages; elsewhere they need not
  approach an equilibrium at all.

A solver that does not apply or does not converge raises :class:`MetaSolverError` rather
than return a wrong mixture: ``nash`` on a game that is not two-player constant-sum or
when the LP is not solved to optimality; ``prd`` when some player gains more than
``PRD_REGRET_SLACK`` times that bound by deviating from the average mixtures (and more than
``PRD_RELATIVE_TOL`` of the payoff range, the Euler steps' own error on large payoffs).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit
from scipy import optimize

from arena.alpharank import (
    AlphaRankError,
    check_payoff_tables,
    epsilon_sweep,
    marginals_of,
)

META_SOLVERS = ("nash", "alpharank", "uniform", "prd")

# OpenSpiel's projected_replicator_dynamics defaults (used by its PSRO's "prd").
PRD_ITERATIONS = 100_000
PRD_DT = 1e-3
PRD_GAMMA = 1e-6
# PRD converged when no player gains more by deviating than PRD_REGRET_SLACK times the
# zero-sum bound sum_p ln(n_p) / (iterations * dt) (measured: random zero-sum games with
# payoffs of scale 0.01..10 stay within 0.9 times it; the tests' general-sum game around
# whose equilibrium the dynamics spiral out exceeds it 6 times, a random 3-player 10 x 10 x
# 10 game 4.6 times) or PRD_RELATIVE_TOL of the payoff range (matrix_brps,
# payoffs of +-50, gains 0.04 = 1.8 x the bound by discretisation alone).
PRD_REGRET_SLACK = 2.0
PRD_RELATIVE_TOL = 0.01
# Tables of a constant-sum game sum to the same value everywhere up to this.
_CONSTANT_SUM_TOL = 1e-9


class MetaSolverError(ValueError):
    """The meta-solver does not apply to this game or did not converge."""


def meta_strategy(name: str, payoffs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """One mixture per player over its population members (see the module docstring)."""
    if name not in META_SOLVERS:
        raise ValueError(f"unknown meta-solver {name!r}; choose one of {', '.join(META_SOLVERS)}")
    tables = check_payoff_tables(payoffs)
    if len(tables) < 2:
        raise ValueError("meta-solvers need one payoff table per player (at least two)")
    if name == "uniform":
        return [np.full(n, 1.0 / n) for n in tables[0].shape]
    if name == "nash":
        return zero_sum_nash(tables)
    if name == "prd":
        return projected_replicator_dynamics(tables)
    try:
        _, pis = epsilon_sweep(tables)
    except AlphaRankError as error:
        raise MetaSolverError(f"alpharank: {error}") from error
    return marginals_of(pis[-1], tables[0].shape)


def payoffs_against(tables: Sequence[np.ndarray], mixtures: Sequence[np.ndarray]) -> list:
    """``u[p][i]``: player p's expected payoff with member i against the others' mixtures."""
    values = []
    for p, table in enumerate(tables):
        u = table
        # Contract the other players' axes from the last one down, so axis p stays put.
        for q in reversed(range(len(tables))):
            if q != p:
                u = np.tensordot(u, mixtures[q], axes=([q], [0]))
        values.append(u)
    return values


def regrets(tables: Sequence[np.ndarray], mixtures: Sequence[np.ndarray]) -> np.ndarray:
    """Per player: its best member's payoff minus its mixture's, against the others'."""
    u = payoffs_against(tables, mixtures)
    return np.array([u[p].max() - u[p] @ mixtures[p] for p in range(len(tables))])


def _row_player_nash(a: np.ndarray) -> np.ndarray:
    """The maximin mixture of the row player of the zero-sum matrix game A (LP)."""
    rows, cols = a.shape
    # Variables (x_1..x_rows, v): maximise v s.t. v - x^T A[:, j] <= 0, sum(x) = 1, x >= 0.
    result = optimize.linprog(
        c=np.r_[np.zeros(rows), -1.0],
        A_ub=np.c_[-a.T, np.ones(cols)],
        b_ub=np.zeros(cols),
        A_eq=np.r_[np.ones(rows), 0.0][None, :],
        b_eq=[1.0],
        bounds=[(0, None)] * rows + [(None, None)],
        method="highs",
    )
    if result.status != 0:
        raise MetaSolverError(f"nash: the equilibrium LP was not solved: {result.message}")
    x = np.clip(result.x[:rows], 0.0, None)
    return x / x.sum()


def zero_sum_nash(tables: Sequence[np.ndarray]) -> list[np.ndarray]:
    """A Nash equilibrium of a two-player constant-sum game, one LP per player."""
    if len(tables) != 2:
        raise MetaSolverError(
            f"nash applies to two-player zero-sum games, not {len(tables)} players "
            "(use alpharank or prd)"
        )
    total = tables[0] + tables[1]
    if np.ptp(total) > _CONSTANT_SUM_TOL * max(1.0, np.abs(total).max()):
        raise MetaSolverError(
            "nash applies to two-player zero-sum games, but the payoffs of the two players "
            f"do not sum to a constant (the sums range over {np.ptp(total):.3g}); "
            "use alpharank or prd"
        )
    return [_row_player_nash(tables[0]), _row_player_nash(tables[1].T)]


@njit(cache=True)
def _project_to_floored_simplex(x: np.ndarray, gamma: float) -> np.ndarray:
    """Euclidean projection of x onto {y : y_i >= gamma, sum(y) = 1}.

    Shift to y - gamma onto the simplex of mass 1 - n gamma, whose projection is
    ``max(x - tau, 0)`` with tau from the sorted entries (Held et al. 1974; Wang and
    Carreira-Perpinan 2013, "Projection onto the probability simplex").
    """
    n = len(x)
    z = np.sort(x - gamma)[::-1]
    tau = 0.0
    running = 0.0
    for k in range(n):
        running += z[k]
        candidate = (running - (1.0 - n * gamma)) / (k + 1)
        if z[k] - candidate > 0:
            tau = candidate
    return np.maximum(x - gamma - tau, 0.0) + gamma


@njit(cache=True)
def _prd_average(
    own_first: np.ndarray, sizes: np.ndarray, iterations: int, dt: float, gamma: float
) -> np.ndarray:
    """PRD from uniform mixtures; the average of all iterates, row p = player p's (padded).

    ``own_first`` holds, one player after another, each player's table with its own axis
    moved first and the others flattened behind it in their order ([n_p, K / n_p]), so
    that its payoffs against the others' mixtures are one matrix-vector product with the
    Kronecker product of those mixtures.
    """
    players, width = len(sizes), sizes.max()
    profiles = own_first.size // players
    x = np.zeros((players, width))
    for p in range(players):
        x[p, : sizes[p]] = 1.0 / sizes[p]
    total = x.copy()
    for _ in range(iterations):
        new = np.zeros((players, width))
        for p in range(players):
            n = sizes[p]
            others = np.ones(1)
            for q in range(players):
                if q != p:
                    others = np.outer(others, x[q, : sizes[q]]).ravel()
            table = own_first[p * profiles : (p + 1) * profiles].reshape((n, profiles // n))
            # u: player p's payoff with each member against the others' current mixtures.
            u = table @ others
            xp = x[p, :n]
            step = xp + dt * xp * (u - np.dot(xp, u))
            new[p, :n] = _project_to_floored_simplex(step, gamma)
        x = new
        total += x
    return total / (iterations + 1)


def projected_replicator_dynamics(
    tables: Sequence[np.ndarray],
    iterations: int = PRD_ITERATIONS,
    dt: float = PRD_DT,
    gamma: float = PRD_GAMMA,
) -> list[np.ndarray]:
    """PRD's average mixtures (module docstring); MetaSolverError if they are no equilibrium."""
    tables = check_payoff_tables(tables)
    shape = tables[0].shape
    if not (0.0 <= gamma and gamma * max(shape) < 1.0):
        raise ValueError(f"prd: gamma must be in [0, 1/{max(shape)}), got {gamma}")
    if iterations < 1 or dt <= 0:
        raise ValueError(f"prd: need iterations >= 1 and dt > 0, got {iterations} and {dt}")
    own_first = np.concatenate([np.moveaxis(t, p, 0).ravel() for p, t in enumerate(tables)])
    padded = _prd_average(own_first, np.array(shape), iterations, dt, gamma)
    average = [padded[p, :n] for p, n in enumerate(shape)]
    bound = sum(np.log(n) for n in shape) / (iterations * dt)
    tol = max(PRD_REGRET_SLACK * bound, PRD_RELATIVE_TOL * max(np.ptp(t) for t in tables))
    regret = regrets(tables, average)
    if regret.max() > tol:
        raise MetaSolverError(
            f"prd did not converge: after {iterations} steps player {regret.argmax()} still "
            f"gains {regret.max():.3g} by deviating from the average mixture (tolerance "
            f"{tol:.3g}); the dynamics cycle or need more iterations: try nash or alpharank"
        )
    return average
