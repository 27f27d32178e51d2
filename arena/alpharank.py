"""α-Rank (Omidshafiei et al. 2019, "α-Rank: Multi-Agent Evaluation by Evolution").

A population of ``m`` agents per player plays a game whose outcomes are given as
matrix-form payoff tables. Mutations are rare, so a population is monomorphic almost
always: the state of the evolution is a pure strategy profile (one strategy per
population), and a step is one population trying one mutant strategy, which takes over
(fixates) with probability ρ. α-Rank's ranking is the stationary distribution π of that
Markov chain over profiles.

- **Multi-population** (one table per player, each of shape ``[n_1, ..., n_P]``): from
  profile s, population k tries strategy r_k ≠ s_k (uniformly among all
  ``sum_k (n_k - 1)`` single-population deviations). With ``u = α (f_k(r) - f_k(s))``, the
  payoff gain of the mutant for population k, the Moran fixation probability is
  ``ρ = (1 - e^-u) / (1 - e^-mu)`` (1/m when u = 0, the neutral value).
- **Single population** (one table ``M[row, column]`` of a symmetric two-player game,
  ``M[i, j]`` the payoff of strategy i against j): the profile is one strategy s; a
  mutant r fixates with the same closed form where ``u = α (M[r, s] - M[s, r])`` (the
  *local* selection model, OpenSpiel's default: a mutant meets only the resident), or,
  with the whole population's fitness, ``f_r(k) = ((k - 1) M[r, r] + (m - k) M[r, s]) /
  (m - 1)`` for k mutants and ``ρ = 1 / (1 + sum_{l=1}^{m-1} prod_{k=1}^{l}
  e^(-α (f_r(k) - f_s(m - k))))``.
- **Infinite α** (the limit the paper ranks by): a mutant that gains fixates with
  probability ``1 - ε``, one that loses with ``ε``, a tie with 1/2; ε > 0 keeps the chain
  irreducible, and :func:`epsilon_sweep` takes ε to 0.

π solves ``π Q = 0, sum(π) = 1`` with Q the chain's rate matrix (off-diagonal: the
fixation probabilities; the common factor ``1 / sum_k (n_k - 1)`` of the transition
matrix does not change π, nor do self-transitions). Everything is vectorised: a
200-strategy single population takes milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse, special
from scipy.sparse import csgraph
from scipy.sparse import linalg as sparse_linalg
from threadpoolctl import threadpool_limits

DEFAULT_ALPHA = 100.0
DEFAULT_M = 50
DEFAULT_INF_ALPHA_EPS = 0.01
# |u| at or below this is a neutral mutation (ρ = 1/m), and an infinite-α payoff gain at
# or below it a tie: both as OpenSpiel's alpharank, whose results tests compare with.
_TIE_ATOL = 1e-14
# Chains of up to this many profiles are solved densely (LAPACK), larger ones with a
# sparse LU. A multi-population chain is sparse (a profile has sum_k (n_k - 1)
# neighbours) but its LU fills in: dense is faster as long as the matrix fits (3600
# profiles of a 60 x 60 game: ~0.5 s dense, ~10 s SuperLU).
_DENSE_MAX = 5000
# Residents per block in the whole-population fitness model (memory: block x n x m floats).
_FITNESS_BLOCK = 64
# A stationary probability below -this is not round-off: the solve failed.
_NEGATIVE_TOL = 1e-9


class AlphaRankError(ValueError):
    """α-Rank's Markov chain has no unique stationary distribution, or a sweep failed."""


@dataclass(frozen=True)
class AlphaRankResult:
    """α-Rank's stationary distribution.

    ``pi[i]`` is the mass of strategy profile ``profiles[i]`` (one strategy index per
    population, profiles in row-major order of the tables as in OpenSpiel);
    ``marginals[k][j]`` the mass of profiles in which population k plays j (for a single
    population, ``marginals == [pi]``). ``alpha`` is ``math.inf`` in the infinite-α limit.

    ``rho[s, r]`` (sparse, profiles x profiles) is the probability that the one-population
    deviation from profile s to r fixates (the chain's transition probability over the
    number of deviations); ``rho_neutral`` that of a neutral mutant (1/m; 1/2 at infinite
    α). α-Rank's response graph has an edge s -> r where ``rho[s, r] > rho_neutral``.
    """

    pi: np.ndarray
    profiles: np.ndarray
    marginals: list[np.ndarray]
    alpha: float
    rho: sparse.csr_matrix
    rho_neutral: float


def check_payoff_tables(payoffs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The tables as float64 arrays, or a one-line ValueError saying what is wrong.

    One square table ``[n, n]`` is a single symmetric population; P >= 2 tables, one per
    player, must all have the same shape with P axes (``[n_1, ..., n_P]``).
    """
    tables = [np.asarray(t, dtype=np.float64) for t in payoffs]
    if not tables:
        raise ValueError("no payoff tables given")
    shape = tables[0].shape
    for p, table in enumerate(tables):
        if table.shape != shape:
            raise ValueError(
                f"payoff table {p} has shape {table.shape} but table 0 has {shape}: "
                "every player's table covers the same strategy profiles"
            )
        if not np.isfinite(table).all():
            raise ValueError(f"payoff table {p} has NaN or infinite entries")
    if len(tables) == 1:
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError(
                f"a single-population payoff table must be square [n, n], got shape {shape}"
            )
    elif len(shape) != len(tables):
        raise ValueError(
            f"{len(tables)} populations need tables with {len(tables)} axes "
            f"(one per population), got shape {shape}"
        )
    if 0 in shape:
        raise ValueError(f"payoff tables have no strategies, shape {shape}")
    return tables


def fixation_probability(u: np.ndarray, m: int) -> np.ndarray:
    """``(1 - e^-u) / (1 - e^-mu)`` elementwise, 1/m where u = 0, without overflow.

    For u < 0 both terms are multiplied by ``e^(mu)``: ``e^((m-1)u) (e^u - 1) / (e^mu -
    1)``, so that α = 1000 on unit payoffs gives 0 rather than inf / inf.
    """
    u = np.asarray(u, dtype=np.float64)
    rho = np.full(u.shape, 1.0 / m)
    up, down = u > _TIE_ATOL, u < -_TIE_ATOL
    rho[up] = np.expm1(-u[up]) / np.expm1(-m * u[up])
    d = u[down]
    rho[down] = np.exp((m - 1) * d) * (np.expm1(d) / np.expm1(m * d))
    return rho


def _infinite_alpha_probability(gain: np.ndarray, eps: float) -> np.ndarray:
    """1 - ε for a mutant that gains, ε for one that loses, 1/2 for a tie."""
    out = np.where(gain > 0, 1.0 - eps, eps)
    return np.where(np.abs(gain) <= _TIE_ATOL, 0.5, out)


def _full_population_fixation(table: np.ndarray, alpha: float, m: int) -> np.ndarray:
    """ρ[s, r] of the single-population Moran process with whole-population fitness.

    With k mutants r among m, ``f_r(k) - f_s(m - k)`` is linear in k; the products of
    the formula are exponentials of its partial sums, and the sum over l a logsumexp.
    """
    k = np.arange(1, m, dtype=np.float64)  # number of mutants
    own = np.diag(table)
    n = len(table)
    rho = np.empty((n, n))
    # Blocks of residents s bound the [block, n, m - 1] arrays (1,000 agents at once: GBs).
    for start in range(0, n, _FITNESS_BLOCK):
        s = slice(start, start + _FITNESS_BLOCK)
        # d[s, r, k-1] = f_r(k) - f_s(m - k): r's fitness (k - 1 own kind, m - k
        # residents) minus the resident's (m - k - 1 own kind, k mutants).
        f_r = ((k - 1) * own[None, :, None] + (m - k) * table.T[s, :, None]) / (m - 1)
        f_s = ((m - k - 1) * own[s, None, None] + k * table[s, :, None]) / (m - 1)
        partial = np.cumsum(f_r - f_s, axis=-1)
        terms = np.concatenate([np.zeros(partial.shape[:2] + (1,)), -alpha * partial], axis=-1)
        rho[s] = np.exp(-special.logsumexp(terms, axis=-1))
    return rho


def _single_population_rates(
    table: np.ndarray, alpha: float, m: int, inf_eps: float | None, local: bool
) -> np.ndarray:
    """Dense rate matrix ``Q[s, r]`` (s ≠ r) of the single-population chain."""
    gain = table.T - table  # gain[s, r] = M[r, s] - M[s, r]: mutant r against resident s
    if inf_eps is not None:
        rates = _infinite_alpha_probability(gain, inf_eps)
    elif local:
        rates = fixation_probability(alpha * gain, m)
    else:
        rates = _full_population_fixation(table, alpha, m)
    np.fill_diagonal(rates, 0.0)
    return rates


def _multi_population_rates(
    tables: list[np.ndarray], alpha: float, m: int, inf_eps: float | None
) -> sparse.csr_matrix:
    """Sparse rate matrix over profiles: population k moves from s_k to r_k."""
    shape = tables[0].shape
    ids = np.arange(math.prod(shape)).reshape(shape)
    rows, cols, vals = [], [], []
    for k, table in enumerate(tables):
        # Strategy axis of population k last: [..., s_k] -> [..., s_k, r_k] pairs.
        t = np.moveaxis(table, k, -1)
        idx = np.moveaxis(ids, k, -1)
        gain = t[..., None, :] - t[..., :, None]  # f_k(r) - f_k(s), s on axis -2
        if inf_eps is not None:
            rate = _infinite_alpha_probability(gain, inf_eps)
        else:
            rate = fixation_probability(alpha * gain, m)
        n = shape[k]
        off = ~np.eye(n, dtype=bool)
        rows.append(np.broadcast_to(idx[..., :, None], gain.shape)[..., off].ravel())
        cols.append(np.broadcast_to(idx[..., None, :], gain.shape)[..., off].ravel())
        vals.append(rate[..., off].ravel())
    size = ids.size
    return sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size)
    )


def _closed_classes(rates: sparse.csr_matrix) -> int:
    """How many closed communicating classes the chain of positive rates has."""
    count, labels = csgraph.connected_components(rates, directed=True, connection="strong")
    coo = rates.tocoo()
    leaving = labels[coo.row] != labels[coo.col]
    return count - np.unique(labels[coo.row[leaving]]).size


def stationary_distribution(rates: np.ndarray | sparse.spmatrix) -> np.ndarray:
    """π with ``π Q = 0``, ``sum(π) = 1`` for the rates ``Q[s, r] >= 0`` (diagonal ignored).

    Raises :class:`AlphaRankError` unless the chain has exactly one closed class (a
    unique π): with a large finite α, fixation probabilities underflow to 0.
    """
    q = sparse.csr_matrix(rates)
    q.setdiag(0.0)
    q.eliminate_zeros()
    closed = _closed_classes(q)
    if closed != 1:
        raise AlphaRankError(
            f"α-Rank's Markov chain has {closed} closed classes, so no unique stationary "
            "distribution: fixation probabilities underflow to 0 at this alpha; lower alpha "
            "or use the infinite-alpha limit"
        )
    size = q.shape[0]
    # (Q - diag(row sums))^T π = 0 has rank size - 1 with one closed class: its last
    # equation is replaced by the normalisation sum(π) = 1.
    system = (q - sparse.diags(np.asarray(q.sum(axis=1)).ravel())).T.tocsr()
    rhs = np.zeros(size)
    rhs[-1] = 1.0
    if size <= _DENSE_MAX:
        dense = system.toarray()
        dense[-1] = 1.0
        # One BLAS thread: on the shared 2-core machine OpenBLAS's second thread made the
        # 200-profile solve vary 0.003-0.4 s and the 3,600-profile one 40% slower (measured).
        with threadpool_limits(1, user_api="blas"):
            pi = np.linalg.solve(dense, rhs)
    else:
        pi = sparse_linalg.spsolve(sparse.vstack([system[:-1], np.ones((1, size))], "csc"), rhs)
    if not np.isfinite(pi).all() or pi.min() < -_NEGATIVE_TOL:
        raise AlphaRankError("α-Rank's stationary distribution could not be solved accurately")
    pi = np.clip(pi, 0.0, None)
    return pi / pi.sum()


def profiles_of(shape: tuple[int, ...]) -> np.ndarray:
    """int[K, P]: every strategy profile of tables of this shape, in row-major order."""
    return np.indices(shape).reshape(len(shape), -1).T


def marginals_of(pi: np.ndarray, shape: tuple[int, ...]) -> list[np.ndarray]:
    """Per population, the mass of each of its strategies under π over the profiles."""
    joint = np.asarray(pi).reshape(shape)
    axes = range(joint.ndim)
    return [joint.sum(axis=tuple(a for a in axes if a != k)) for k in axes]


def alpharank(
    payoffs: Sequence[np.ndarray],
    alpha: float = DEFAULT_ALPHA,
    m: int = DEFAULT_M,
    use_inf_alpha: bool = False,
    inf_alpha_eps: float = DEFAULT_INF_ALPHA_EPS,
    local_selection: bool = True,
) -> AlphaRankResult:
    """α-Rank of the game given by ``payoffs`` (see the module docstring).

    ``payoffs`` follows OpenSpiel's ``alpharank.compute``: one square table for a single
    symmetric population, else one table per player. ``local_selection`` only concerns a
    single population (False: the paper's whole-population fitness).
    """
    tables = check_payoff_tables(payoffs)
    if isinstance(m, bool) or int(m) != m or m < 2:
        raise ValueError(f"population size m must be an integer >= 2, got {m}")
    m = int(m)
    if use_inf_alpha:
        if not 0.0 < inf_alpha_eps < 1.0:
            raise ValueError(f"inf_alpha_eps must be in (0, 1), got {inf_alpha_eps}")
        inf_eps: float | None = float(inf_alpha_eps)
    else:
        if not (math.isfinite(alpha) and alpha > 0):
            raise ValueError(f"alpha must be a positive finite number, got {alpha}")
        inf_eps = None
    if len(tables) == 1:
        rates = sparse.csr_matrix(
            _single_population_rates(tables[0], alpha, m, inf_eps, local_selection)
        )
        pi = stationary_distribution(rates)
        profiles = np.arange(len(pi))[:, None]
        marginals = [pi]
    else:
        rates = _multi_population_rates(tables, alpha, m, inf_eps)
        pi = stationary_distribution(rates)
        profiles = profiles_of(tables[0].shape)
        marginals = marginals_of(pi, tables[0].shape)
    return AlphaRankResult(
        pi=pi,
        profiles=profiles,
        marginals=marginals,
        alpha=math.inf if use_inf_alpha else float(alpha),
        rho=rates,
        rho_neutral=0.5 if use_inf_alpha else 1.0 / m,
    )


def alpha_sweep(
    payoffs: Sequence[np.ndarray],
    m: int = DEFAULT_M,
    start: float = 1e-4,
    factor: float = 2.0,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    max_steps: int = 1000,
) -> tuple[np.ndarray, np.ndarray]:
    """(alphas, pis[step, profile]): π for growing α until it stops changing.

    As OpenSpiel's ``sweep_pi_vs_alpha``: α starts at ``start`` and is multiplied by
    ``factor`` until two successive π agree (``np.allclose(rtol, atol)``). When α grows
    so large that the chain breaks apart (:class:`AlphaRankError`) before π settled, the
    sweep steps back and grows by ``(factor + 1) / 2`` instead; once π settled, it stops
    there. The last row of ``pis`` is the ranking.
    """
    if not (start > 0 and factor > 1):
        raise ValueError(f"need start > 0 and factor > 1, got {start} and {factor}")
    alphas: list[float] = []
    pis: list[np.ndarray] = []
    alpha = start
    for _ in range(max_steps):
        try:
            pi = alpharank(payoffs, alpha=alpha, m=m).pi
        except AlphaRankError:
            if not pis:
                raise
            settled = len(pis) > 1 and np.allclose(pis[-1], pis[-2], rtol, atol)
            if settled:
                break
            factor = (factor + 1.0) / 2.0
            alpha = alphas[-1] * factor
            continue
        alphas.append(alpha)
        pis.append(pi)
        if len(pis) > 1 and np.allclose(pis[-1], pis[-2], rtol, atol):
            break
        alpha *= factor
    else:
        raise AlphaRankError(f"α sweep: π did not settle within {max_steps} steps")
    return np.array(alphas), np.array(pis)


def epsilon_sweep(
    payoffs: Sequence[np.ndarray],
    start: float = 0.5,
    factor: float = 0.5,
    min_steps: int = 10,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    max_steps: int = 100,
) -> tuple[np.ndarray, np.ndarray]:
    """(epsilons, pis[step, profile]): the infinite-α π as ε shrinks, until it settles.

    As OpenSpiel's ``sweep_pi_vs_epsilon`` (which its PSRO uses for α-Rank): ε starts at
    ``start``, is multiplied by ``factor`` for at least ``min_steps`` steps and then until
    two successive π agree. The last row of ``pis`` is the ε → 0 ranking.
    """
    if not (0 < start < 1 and 0 < factor < 1):
        raise ValueError(f"need 0 < start < 1 and 0 < factor < 1, got {start} and {factor}")
    epsilons: list[float] = []
    pis: list[np.ndarray] = []
    eps = start
    for step in range(max_steps):
        pis.append(alpharank(payoffs, use_inf_alpha=True, inf_alpha_eps=eps).pi)
        epsilons.append(eps)
        if step > min_steps and np.allclose(pis[-1], pis[-2], rtol, atol):
            return np.array(epsilons), np.array(pis)
        eps *= factor
    raise AlphaRankError(f"ε sweep: π did not settle within {max_steps} steps")
