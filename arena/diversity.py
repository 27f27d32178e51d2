"""How different the agents of a population are: from results and from behaviour.

From results, everything starts at the empirical antisymmetric payoff matrix A of a
population in which every pair has met (:meth:`arena.payoffs.PayoffTables.antisymmetric`
of the complete sub-population: pairs that never met are not guessed at), ``A[i, j] > 0``
when i outscores j:

- ``effective_diversity``: ``p^T ReLU(A) p`` with ``p`` a Nash equilibrium of A: how much
  the equilibrium agents beat each other (Balduzzi et al. 2019, "Open-ended learning in
  symmetric zero-sum games"). 0 for a transitive population, 1/3 for rock-paper-scissors.
- ``dpp_cardinality``: expected size ``Tr(I - (L + I)^-1)`` of a sample from the
  determinantal point process with kernel ``L = A A^T`` (Perez-Nieves et al. 2021,
  "Modelling behavioural diversity for learning in open-ended games").
- ``nash_support``, ``nash_entropy``: how many agents the equilibrium mixes, and how evenly.
- ``cyclic_triple_share``: the share of decided agent triples that beat each other in a
  circle (i > j > k > i), the non-transitive part of the population.

From behaviour, on a fixed set of probe positions (:func:`probe_positions`,
:func:`action_distributions`):

- ``mean_js_divergence``: mean over agent pairs of the mean over probes of the
  Jensen-Shannon divergence between their action distributions (nats, at most ln 2).
- ``dvd_logdet``: log-determinant of the RBF kernel over behavioural embeddings (Parker-Holder
  et al. 2020, "Effective Diversity in Population Based Reinforcement Learning").

:func:`population_metrics` computes them all by name for the ``diversity`` metrics table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import optimize, special
from scipy.spatial import distance

from agents import Agent, random_step
from games import Game, State
from games.layout import SIMULTANEOUS

# Equilibrium accuracy: a returned p is never beaten by more than this by any agent.
NASH_TOL = 1e-6
# Added to the DvD kernel so that identical agents (a singular kernel) give a very negative
# but finite log-determinant: (n - 1) * ln(1e-6) ~ -13.8 per duplicate.
DVD_JITTER = 1e-6
_ANTISYMMETRY_TOL = 1e-9

RESULT_METRICS = (
    "effective_diversity",
    "dpp_cardinality",
    "nash_support",
    "nash_entropy",
    "cyclic_triple_share",
)
BEHAVIOUR_METRICS = ("mean_js_divergence", "dvd_logdet")


# --------------------------------------------------------------------------- results


def _check_payoff(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise ValueError(f"payoff matrix must be square and non-empty, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(
            "payoff matrix has NaN or infinite entries (see arena.payoffs: use the complete "
            "sub-population)"
        )
    if not np.allclose(a, -a.T, rtol=0.0, atol=_ANTISYMMETRY_TOL):
        raise ValueError("payoff matrix of a symmetric zero-sum game must be antisymmetric")
    return a


def _maximal_support(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bool mask of every agent in some equilibrium, one equilibrium) from a single LP.

    Equilibria of an antisymmetric game (value 0) are the p >= 0 with p^T A >= 0, a cone
    once unnormalised. Maximising sum(t) with 0 <= t_i <= min(y_i, 1) over cone points y
    scales up a sum of equilibria until every agent some equilibrium uses has y_i >= 1.
    """
    n = len(a)
    eye, zero = np.eye(n), np.zeros((n, n))
    result = optimize.linprog(
        c=np.r_[np.zeros(n), -np.ones(n)],
        A_ub=np.block([[-eye, eye], [-a.T, zero]]),
        b_ub=np.zeros(2 * n),
        bounds=[(0, None)] * n + [(0, 1)] * n,
        method="highs",
    )
    if result.status != 0:
        raise RuntimeError(f"Nash support LP failed: {result.message}")
    y, t = np.clip(result.x[:n], 0.0, None), result.x[n:]
    return t > 0.5, y / y.sum()


def nash_equilibrium(a: np.ndarray) -> np.ndarray:
    """The maximum-entropy Nash equilibrium of the symmetric zero-sum game A.

    A must be antisymmetric (the game's value is then 0): p is an equilibrium when
    ``p^T A >= 0`` columnwise, no agent beats the mixture. Equilibria form a polytope;
    entropy is strictly concave, so its maximiser over them is unique and treats
    interchangeable agents alike (A = 0 gives the uniform mixture). It is found through
    the convex dual ``min_w logsumexp(A_S w)`` (S: the agents some equilibrium uses, from
    an LP), whose solution is ``p_S = softmax(A_S w)``. Accurate to ~1e-8; should the dual
    solve miss :data:`NASH_TOL` (near-ties can hide an agent from the LP), the LP's
    own equilibrium is returned instead.
    """
    a = _check_payoff(a)
    support, p_lp = _maximal_support(a)
    rows = a[support]
    # First with multipliers for the agents in S only (the others' held at 0): a smooth
    # unconstrained problem that Newton steps solve in a dozen iterations (200 agents:
    # 0.2 s, where the bounded quasi-Newton solve below took 100 s, measured). Its point
    # is the answer unless an agent outside S beats it.
    p = np.zeros(len(a))
    p[support] = _max_entropy_newton(rows[:, support])
    if (p @ a).min() >= -NASH_TOL:
        return p

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = rows @ w
        lse = special.logsumexp(z)
        return lse, rows.T @ np.exp(z - lse)

    # One multiplier per agent j for (p^T A)_j >= 0. Agents in S earn exactly 0 against
    # every equilibrium (an equality: free multiplier), the others strictly less against
    # some, so the dual optimum is finite. (Multipliers >= 0 throughout would also be
    # valid, but the solver then travels far: measured 20x slower with 100 agents.)
    bounds = [(None, None) if s else (0.0, None) for s in support]
    result = optimize.minimize(
        objective,
        np.zeros(len(a)),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"ftol": 0.0, "gtol": 1e-12, "maxiter": 20 * len(a) + 1000},
    )
    p[support] = special.softmax(rows @ result.x)
    if (p @ a).min() < -NASH_TOL:
        return p_lp
    return p


def _max_entropy_newton(m: np.ndarray) -> np.ndarray:
    """``softmax(M w)`` at the minimiser of ``logsumexp(M w)``: the maximum-entropy p with
    ``p^T M = 0`` (M square, the support's own block of A). The Hessian
    ``M^T (diag p - p p^T) M`` is singular along the directions that do not move p, which
    the trust region's exact subproblem solve copes with."""

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = m @ w
        lse = special.logsumexp(z)
        return lse, m.T @ np.exp(z - lse)

    def hessian(w: np.ndarray) -> np.ndarray:
        p = special.softmax(m @ w)
        weighted = m * p[:, None]
        return m.T @ weighted - np.outer(p @ m, p @ m)

    result = optimize.minimize(
        objective,
        np.zeros(len(m)),
        jac=True,
        hess=hessian,
        method="trust-exact",
        options={"gtol": 1e-12},
    )
    return special.softmax(m @ result.x)


def effective_diversity(a: np.ndarray, p: np.ndarray | None = None) -> float:
    """``p^T ReLU(A) p``: expected margin by which one equilibrium agent beats another.

    p defaults to :func:`nash_equilibrium` of A.
    """
    a = _check_payoff(a)
    p = nash_equilibrium(a) if p is None else np.asarray(p, dtype=np.float64)
    return float(p @ np.maximum(a, 0.0) @ p)


def payoff_kernel(a: np.ndarray) -> np.ndarray:
    """``L = A A^T``: the Gram matrix of the agents' payoff vectors (rows of A).

    As in Perez-Nieves et al. 2021: agents with similar results against the population
    are similar; L is PSD by construction and 0 when every record is even.
    """
    a = _check_payoff(a)
    return a @ a.T


def dpp_expected_cardinality(kernel: np.ndarray) -> float:
    """``Tr(I - (L + I)^-1) = sum_i lambda_i / (lambda_i + 1)`` for a PSD kernel L."""
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1]:
        raise ValueError(f"kernel must be square, got shape {kernel.shape}")
    if not np.allclose(kernel, kernel.T):
        raise ValueError("kernel must be symmetric")
    # Round-off can leave PSD eigenvalues at -1e-16; a DPP has none below 0.
    eigenvalues = np.clip(np.linalg.eigvalsh(kernel), 0.0, None)
    return float(np.sum(eigenvalues / (eigenvalues + 1.0)))


def nash_support(p: np.ndarray, tol: float = 1e-6) -> int:
    """How many agents have probability above tol."""
    return int(np.count_nonzero(np.asarray(p) > tol))


def nash_entropy(p: np.ndarray) -> float:
    """Shannon entropy of p in nats (ln n for the uniform mixture of n agents)."""
    return float(special.entr(np.clip(np.asarray(p, dtype=np.float64), 0.0, None)).sum())


def cyclic_triple_share(a: np.ndarray) -> float:
    """Share of decided agent triples whose results form a cycle i > j > k > i.

    i beats j when A[i, j] > 0 strictly; a pair with A = 0 (an even record)
    is undecided and every triple containing it is left out. NaN when no triple is
    decided. Counted with matrix powers: a decided triple is a triangle of the
    "decided" graph D (trace(D^3) / 6 of them), a cyclic one a directed 3-cycle of the
    "beats" graph B (trace(B^3) / 3).
    """
    a = _check_payoff(a)
    beats = (a > 0).astype(np.float64)
    decided = beats + beats.T
    triples = np.trace(decided @ decided @ decided) / 6.0
    if triples == 0:
        return math.nan
    cycles = np.trace(beats @ beats @ beats) / 3.0
    return float(cycles / triples)


# --------------------------------------------------------------------------- behaviour


def probe_positions(game: Game, count: int, seed: int, plies: tuple[int, int] = (4, 16)) -> State:
    """``count`` non-terminal positions from uniformly random play, reproducible by seed.

    Each probe plays a target number of random moves drawn uniformly from
    ``plies[0]..plies[1]`` (inclusive, capped at ``game.max_plies - 1``); a game that ends
    before its target starts over. Probes are decision points, never chance nodes (chance
    is sampled as in play); in games with simultaneous moves, decision points of player 0
    (its turn, or a simultaneous node), whose view `action_distributions` then asks for.
    """
    if count <= 0:
        raise ValueError(f"count must be positive, got {count}")
    high = min(plies[1], game.max_plies - 1)
    low = min(plies[0], high)
    if low < 0:
        raise ValueError(f"plies must be non-negative, got {plies}")
    rng = np.random.default_rng(seed)
    target = rng.integers(low, high + 1, size=count)
    state = game.init(count, seed=seed)
    # Each round either moves a game on or restarts it; this bound is far above the
    # expected number of rounds and only stops a game where no such position exists.
    for _ in range(100 * (high + 1)):
        game.reset_done(state, seed=int(rng.integers(2**62)))
        game.sample_chance(state)
        at_node = state.to_play == SIMULTANEOUS
        wrong_seat = game.simultaneous & ~at_node & (state.to_play != 0)
        # A simultaneous node's step is one entry per player: stop short of overshooting.
        width = np.where(at_node, game.num_players, 1)
        moving = np.flatnonzero((state.ply + width <= target) | (wrong_seat & ~state.done))
        if moving.size == 0:
            if not state.done.any():
                return state
            continue  # games that chance ended start over
        sub = state.take(moving)
        game.step(sub, random_step(game, sub, rng))
        state.data[moving] = sub.data
    raise RuntimeError(f"no non-terminal {game.name} positions found at plies {low}..{high}")


def action_distributions(
    agents: Sequence[Agent],
    game: Game,
    probe_state: State,
    legal_mask: np.ndarray,
    samples: int = 32,
    seed: int = 0,
) -> np.ndarray:
    """float64[num_agents, num_probes, num_actions]: each agent's move distribution.

    An agent with ``evaluate`` reports its policy (renormalised over the legal moves).
    Otherwise its moves are counted over ``samples`` calls of ``act``, call s with
    ``default_rng([seed, s])`` for every agent: common random numbers, so that two agents
    that decide the same way get exactly the same distribution.
    """
    legal = np.asarray(legal_mask, dtype=bool)
    probes, actions = legal.shape
    if not legal.any(axis=1).all():
        raise ValueError("every probe position needs a legal move (use probe_positions)")
    rows = np.arange(probes)
    out = np.zeros((len(agents), probes, actions))
    # Simultaneous games are probed where player 0 decides (probe_positions): its view.
    seat = {"player": 0} if game.simultaneous else {}
    for i, agent in enumerate(agents):
        if hasattr(agent, "evaluate"):
            policy, _ = agent.evaluate(game, probe_state.copy(), legal, **seat)
            policy = np.where(legal, np.asarray(policy, dtype=np.float64), 0.0)
            mass = policy.sum(axis=1, keepdims=True)
            if not (mass > 0).all():
                raise ValueError(f"agent {agent.name!r} gives no weight to any legal move")
            out[i] = policy / mass
            continue
        for s in range(samples):
            rng = np.random.default_rng([seed, s])
            moves = agent.act(game, probe_state.copy(), legal, rng, **seat)
            np.add.at(out[i], (rows, moves), 1.0 / samples)
    return out


def _js_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence in nats along the last axis (0 log 0 = 0)."""
    m = 0.5 * (p + q)
    js = 0.5 * (special.rel_entr(p, m) + special.rel_entr(q, m)).sum(axis=-1)
    return np.clip(js, 0.0, math.log(2.0))  # round-off only


def mean_pairwise_js(dists: np.ndarray) -> float:
    """Mean over agent pairs of the mean over probes of their JS divergence (nats).

    Between 0 (all agents play alike) and ln 2 (disjoint moves everywhere); NaN for fewer
    than two agents.
    """
    dists = np.asarray(dists, dtype=np.float64)
    n = len(dists)
    if n < 2:
        return math.nan
    total = sum(_js_divergence(dists[i], dists[i + 1 :]).mean(axis=1).sum() for i in range(n))
    return float(total / (n * (n - 1) / 2))


def dvd_logdet(dists: np.ndarray, length_scale: float | None = None) -> float:
    """``log det(K + 1e-6 I)`` with ``K_ij = exp(-||e_i - e_j||^2 / (2 l^2))``.

    e_i are the agents' probe distributions concatenated. The length scale l defaults to
    sqrt(num_probes), so that the exponent is half the mean over probes of the squared
    L2 distance between two distributions (at most 2): the value does not drift with the
    number of probes. 0 at most for any population (K has a unit diagonal), about
    -13.8 per duplicate agent (:data:`DVD_JITTER`).
    """
    dists = np.asarray(dists, dtype=np.float64)
    if dists.ndim != 3:
        raise ValueError(f"dists must be [agents, probes, actions], got shape {dists.shape}")
    n, probes = dists.shape[:2]
    scale = math.sqrt(probes) if length_scale is None else float(length_scale)
    if scale <= 0:
        raise ValueError(f"length_scale must be positive, got {length_scale}")
    squared = distance.squareform(distance.pdist(dists.reshape(n, -1), "sqeuclidean"))
    kernel = np.exp(-squared / (2.0 * scale**2)) + DVD_JITTER * np.eye(n)
    sign, logdet = np.linalg.slogdet(kernel)
    if sign <= 0:
        raise RuntimeError("DvD kernel is not positive definite")  # an RBF kernel always is
    return float(logdet)


# --------------------------------------------------------------------------- all of them


def population_metrics(a: np.ndarray, dists: np.ndarray | None = None) -> dict[str, float]:
    """Every diversity metric by name (:data:`RESULT_METRICS` of the antisymmetric payoff
    matrix A, then :data:`BEHAVIOUR_METRICS` when ``dists`` from
    :func:`action_distributions` is given, for the same agents in the same order).

    Rows for the metrics table: ``{"metric": list(m), "value": list(m.values())}``.
    """
    p = nash_equilibrium(a)
    metrics = {
        "effective_diversity": effective_diversity(a, p),
        "dpp_cardinality": dpp_expected_cardinality(payoff_kernel(a)),
        "nash_support": float(nash_support(p)),
        "nash_entropy": nash_entropy(p),
        "cyclic_triple_share": cyclic_triple_share(a),
    }
    if dists is not None:
        metrics["mean_js_divergence"] = mean_pairwise_js(dists)
        metrics["dvd_logdet"] = dvd_logdet(dists)
    return metrics
