"""Ratings from game results: online Elo, Bradley-Terry-Davidson fits, win rates, SPRT.

Everything here works on results aggregated per ordered pair of agents (the "pair table"):
columns ``first``, ``second`` (agent ids of the first and second mover), ``first_wins``,
``draws``, ``second_wins``. Callers build it from the replay dataset with DuckDB/pyarrow,
or from raw per-game arrays with :func:`aggregate_results`. Rows of an agent against
itself (self-play: a league's training games, and its evaluation games for per-seat
α-Rank) are left out of ratings and win rates alike: they say nothing about how the agent
compares with others.

Rating model (:func:`fit_ratings`): Bradley-Terry with Davidson's draw model (Davidson
1970) and a first-move advantage. With ``u = (r_first + h - r_second) * ln(10) / 400``::

    P(first wins) = e^(u/2) / Z,  P(second wins) = e^(-u/2) / Z,  P(draw) = nu / Z,
    Z = e^(u/2) + e^(-u/2) + nu

so a rating difference of 400 Elo means 10:1 odds of a win over a loss, ``h`` is the
first mover's extra rating, and ``nu`` sets the draw rate (``nu / (2 + nu)`` between equal
agents); with ``nu = 0`` it is plain Bradley-Terry. Davidson rather than Rao-Kupper (the
BayesElo model) or "a draw is half a win" because the log-likelihood is a log-sum-exp of
terms linear in (ratings, h, log nu): jointly concave, so the MAP point is unique and
Newton-type solvers converge in a few steps.

Regularisation: weak Gaussian priors make the problem strictly concave even when an agent
won (or lost) every game, when a seat always wins or when every game is drawn: ratings
~ N(0, prior_sd) (the likelihood only sees differences, so this pulls towards the
population mean and fixes the mean at 0), h ~ N(0, prior_sd), log nu ~ N(0, 3). With
no draws at all nu is fixed at its maximum-likelihood value 0 (exact Bradley-Terry).
Intervals come from the inverse Hessian of the penalised log-likelihood (the observed
Fisher information plus the prior precision), restricted to contrasts with the anchor.

SPRT (:func:`sprt`): fishtest's generalised SPRT on pentanomial game-pair counts, after
Michel Van den Bergh's notes (support_MLE_multinomial.pdf, normalized_elo_practical.pdf).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import linalg, optimize, stats
from threadpoolctl import threadpool_limits

PAIR_COLUMNS = ("first", "second", "first_wins", "draws", "second_wins")
ELO_PER_NAT = 400.0 / math.log(10.0)  # Elo = 400 log10(odds) = ELO_PER_NAT * ln(odds)
DEFAULT_ANCHOR = "random"
_LOG_NU_PRIOR_SD = 3.0

PairTable = pa.Table | Mapping[str, Any]


# --------------------------------------------------------------------------- online Elo


def elo_online(
    games: Iterable[tuple[str, str, float]], k: float = 16.0, initial: float = 0.0
) -> dict[str, float]:
    """Classic sequential Elo: each game moves both ratings by ``k * (score - expected)``."""
    ratings: dict[str, float] = {}
    for a, b, score_a in games:
        if score_a not in (0, 0.5, 1):
            raise ValueError(f"score must be 1, 0.5 or 0, got {score_a!r}")
        ra = ratings.setdefault(a, initial)
        rb = ratings.setdefault(b, initial)
        delta = k * (score_a - 1.0 / (1.0 + 10.0 ** ((rb - ra) / 400.0)))
        ratings[a] = ra + delta
        ratings[b] = rb - delta
    return ratings


# --------------------------------------------------------------------------- pair tables


def aggregate_results(
    first: Sequence[str] | np.ndarray,
    second: Sequence[str] | np.ndarray,
    winner_seat: Sequence[int] | np.ndarray,
) -> pa.Table:
    """Aggregate per-game results into the pair table, sorted by (first, second).

    ``winner_seat`` follows ``State.winner``: 0 if the first mover won, 1 if the second
    mover won, -1 for a draw.
    """
    winner = np.asarray(winner_seat)
    if winner.size and not np.isin(winner, (-1, 0, 1)).all():
        raise ValueError("winner_seat must hold 0, 1 or -1")
    games = pa.table(
        {
            "first": _as_strings(first),
            "second": _as_strings(second),
            "first_wins": (winner == 0).astype(np.int64),
            "draws": (winner == -1).astype(np.int64),
            "second_wins": (winner == 1).astype(np.int64),
        }
    )
    counts = [(c, "sum") for c in PAIR_COLUMNS[2:]]
    grouped = games.group_by(["first", "second"]).aggregate(counts)
    table = pa.table(
        {c: grouped[c if c in ("first", "second") else f"{c}_sum"] for c in PAIR_COLUMNS}
    )
    return table.sort_by([("first", "ascending"), ("second", "ascending")])


@dataclass(frozen=True)
class _Pairs:
    """A pair table encoded as integer agent indices into sorted ``names``."""

    names: list[str]
    first: np.ndarray
    second: np.ndarray
    wins: np.ndarray  # first-mover wins
    draws: np.ndarray
    losses: np.ndarray  # first-mover losses (second-mover wins)


def _as_strings(values: Any) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        values = pa.array(np.asarray(values, dtype=str))
    return values.cast(pa.string())


def _column(pairs: PairTable, name: str) -> Any:
    if name not in (pairs.column_names if isinstance(pairs, pa.Table) else pairs):
        raise KeyError(f"pair table lacks column {name!r}; expected {PAIR_COLUMNS}")
    return pairs[name]


def _encode(pairs: PairTable, extra_names: Iterable[str] = ()) -> _Pairs:
    """The pair table without its self-play rows (see the module docstring), encoded."""
    first = _as_strings(_column(pairs, "first"))
    second = _as_strings(_column(pairs, "second"))
    counts = [np.asarray(_column(pairs, c), dtype=np.float64) for c in PAIR_COLUMNS[2:]]
    if any((c < 0).any() for c in counts):
        raise ValueError("negative game counts in pair table")
    apart = pc.fill_null(pc.not_equal(first, second), True)
    first, second = first.filter(apart), second.filter(apart)
    counts = [c[apart.to_numpy(zero_copy_only=False)] for c in counts]
    both = pa.concat_arrays([first, second, pa.array(list(extra_names), pa.string())])
    names = pc.unique(both).sort()
    return _Pairs(
        names.to_pylist(),
        pc.index_in(first, value_set=names).to_numpy(),
        pc.index_in(second, value_set=names).to_numpy(),
        *counts,
    )


def win_rate_matrix(
    pairs: PairTable, agents: Sequence[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Score rate of each row agent against each column agent, both seat orders combined.

    Draws count half. Returns ``(rate, games)``: ``rate`` is NaN where two agents never
    met (and on the diagonal); ``games`` is the symmetric count of games played.
    Agents default to all in the table (sorted); pairs with other agents are ignored.
    """
    enc = _encode(pairs, agents or ())
    order = list(agents) if agents is not None else enc.names
    # Map the encoded (sorted) index to the requested row; -1 for agents not requested.
    index = {name: i for i, name in enumerate(enc.names)}
    position = np.full(len(enc.names), -1)
    position[[index[a] for a in order]] = np.arange(len(order))
    a, b = position[enc.first], position[enc.second]
    keep = (a >= 0) & (b >= 0)
    a, b = a[keep], b[keep]
    wins, draws, losses = enc.wins[keep], enc.draws[keep], enc.losses[keep]
    m = len(order)
    score = np.zeros((m, m))
    games = np.zeros((m, m))
    np.add.at(score, (a, b), wins + 0.5 * draws)
    np.add.at(score, (b, a), losses + 0.5 * draws)
    np.add.at(games, (a, b), wins + draws + losses)
    games += games.T
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(games > 0, score / games, np.nan)
    return rate, games.astype(np.int64)


# --------------------------------------------------------------------------- Bradley-Terry


@dataclass(frozen=True)
class Ratings:
    """A fitted rating list on the Elo scale (400 log10), relative to ``anchor``.

    Arrays are aligned with ``agents`` (sorted by name). ``anchor`` is the agent held at
    ``anchor_value`` (its stderr is 0), or None when the mean rating is.
    """

    agents: tuple[str, ...]
    rating: np.ndarray
    stderr: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    games: np.ndarray
    first_move_advantage: float  # Elo added to the first mover; 0 when not fitted
    first_move_advantage_stderr: float  # NaN when not fitted
    first_move_advantage_ci: tuple[float, float]
    draw: float  # Davidson's nu; 0 when no draws were seen
    draw_ci: tuple[float, float]  # NaN when not fitted
    anchor: str | None
    anchor_value: float
    confidence: float
    prior_sd: float

    headers = ("#", "agent", "Elo", "±", "CI", "games")

    @property
    def draw_rate_equal(self) -> float:
        """Draw probability between two equal agents (first-move advantage aside)."""
        return self.draw / (2.0 + self.draw)

    def rows(self) -> list[tuple[str, ...]]:
        """Display rows, best first, matching :attr:`headers` (e.g. for a rich Table)."""
        order = np.argsort(-self.rating, kind="stable")
        return [
            (
                str(rank),
                self.agents[i],
                f"{self.rating[i]:.0f}",
                f"{(self.ci_high[i] - self.ci_low[i]) / 2:.0f}",
                f"[{self.ci_low[i]:.0f}, {self.ci_high[i]:.0f}]",
                str(int(self.games[i])),
            )
            for rank, i in enumerate(order, start=1)
        ]

    def _summary(self) -> dict[str, Any]:
        return {
            "first_move_advantage": self.first_move_advantage,
            "first_move_advantage_stderr": self.first_move_advantage_stderr,
            "first_move_advantage_ci": list(self.first_move_advantage_ci),
            "draw": self.draw,
            "draw_ci": list(self.draw_ci),
            "anchor": self.anchor,
            "anchor_value": self.anchor_value,
            "confidence": self.confidence,
            "prior_sd": self.prior_sd,
        }

    def to_arrow(self) -> pa.Table:
        """One row per agent; the scalar results go to the schema metadata as JSON."""
        table = pa.table(
            {
                "agent": pa.array(self.agents, pa.string()),
                "rating": self.rating,
                "stderr": self.stderr,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "games": self.games.astype(np.int64),
            }
        )
        return table.replace_schema_metadata({"ratings": json.dumps(self._summary())})

    def to_dict(self) -> dict[str, Any]:
        agents = {
            name: {
                "rating": float(self.rating[i]),
                "stderr": float(self.stderr[i]),
                "ci": [float(self.ci_low[i]), float(self.ci_high[i])],
                "games": int(self.games[i]),
            }
            for i, name in enumerate(self.agents)
        }
        return {"agents": agents, **self._summary()}


class _Davidson:
    """Negative log-posterior of the Davidson model in natural units, with derivatives.

    Parameters x = [beta (one per agent), eta (first-move advantage)?, tau = log nu?].
    """

    def __init__(self, enc: _Pairs, fit_fma: bool, fit_draw: bool, prior_sd_elo: float):
        self.enc = enc
        self.n = len(enc.names)
        self.games = enc.wins + enc.draws + enc.losses
        self.fit_fma, self.fit_draw = fit_fma, fit_draw
        self.i_eta = self.n if fit_fma else None
        self.i_tau = self.n + fit_fma if fit_draw else None
        self.size = self.n + fit_fma + fit_draw
        beta_prec = (ELO_PER_NAT / prior_sd_elo) ** 2
        self.prior = np.full(self.size, beta_prec)
        if fit_draw:
            self.prior[self.i_tau] = 1.0 / _LOG_NU_PRIOR_SD**2
        self._cached: tuple[np.ndarray, tuple[np.ndarray, ...]] | None = None

    def start(self) -> np.ndarray:
        x = np.zeros(self.size)
        if self.fit_draw:
            # Draw rate nu / (2 + nu) between equals: start from the observed draw rate.
            rate = np.clip(self.enc.draws.sum() / self.games.sum(), 0.01, 0.99)
            x[self.i_tau] = math.log(2 * rate / (1 - rate))
        return x

    def _probabilities(self, x: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per pair: u, log Z and the win / loss / draw probabilities of the first mover."""
        # The solver asks for the Hessian at points whose value it has just computed.
        if self._cached is not None and np.array_equal(self._cached[0], x):
            return self._cached[1]
        e = self.enc
        u = x[e.first] - x[e.second]
        if self.fit_fma:
            u += x[self.i_eta]
        nu = math.exp(x[self.i_tau]) if self.fit_draw else 0.0
        # Scale Z by exp(-|u|/2) so that one exp serves all three probabilities safely.
        a = np.exp(-0.5 * np.abs(u))
        rest = 1.0 + a * (a + nu)
        p_big = 1.0 / rest
        p_small = a * a * p_big
        ahead = u >= 0
        p_win = np.where(ahead, p_big, p_small)
        p_loss = np.where(ahead, p_small, p_big)
        log_z = 0.5 * np.abs(u) + np.log(rest)
        result = u, log_z, p_win, p_loss, nu * a * p_big
        self._cached = (x.copy(), result)
        return result

    def value_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        e = self.enc
        u, log_z, p_win, p_loss, p_draw = self._probabilities(x)
        loglik = np.dot((e.wins - e.losses) * 0.5, u) - np.dot(self.games, log_z)
        # d loglik / du for every pair, then scattered onto the agents (+first, -second).
        g_u = 0.5 * (e.wins - e.losses - self.games * (p_win - p_loss))
        grad = np.zeros(self.size)
        grad[: self.n] = np.bincount(e.first, g_u, self.n) - np.bincount(e.second, g_u, self.n)
        if self.fit_fma:
            grad[self.i_eta] = g_u.sum()
        if self.fit_draw:
            loglik += e.draws.sum() * x[self.i_tau]
            grad[self.i_tau] = e.draws.sum() - np.dot(self.games, p_draw)
        value = -loglik + 0.5 * np.dot(self.prior, x * x)
        return value, -grad + self.prior * x

    def hessian(self, x: np.ndarray) -> np.ndarray:
        """Hessian of the negative log-posterior: the Fisher information plus prior."""
        e, n = self.enc, self.n
        _, _, p_win, p_loss, p_draw = self._probabilities(x)
        # Second derivatives of log Z = logsumexp(u/2, -u/2, tau), times games per pair.
        h_uu = self.games * 0.25 * (p_win + p_loss - (p_win - p_loss) ** 2)
        block = np.bincount(e.first * n + e.second, h_uu, n * n).reshape(n, n)
        hess = np.zeros((self.size, self.size))
        hess[:n, :n] = block
        hess[:n, :n] += block.T
        hess[:n, :n] *= -1.0
        hess[np.diag_indices(n)] += block.sum(0) + block.sum(1)
        if self.fit_fma:
            col = np.bincount(e.first, h_uu, n) - np.bincount(e.second, h_uu, n)
            hess[:n, self.i_eta] = hess[self.i_eta, :n] = col
            hess[self.i_eta, self.i_eta] = h_uu.sum()
        if self.fit_draw:
            h_ut = -self.games * 0.5 * p_draw * (p_win - p_loss)
            col = np.bincount(e.first, h_ut, n) - np.bincount(e.second, h_ut, n)
            hess[:n, self.i_tau] = hess[self.i_tau, :n] = col
            if self.fit_fma:
                hess[self.i_eta, self.i_tau] = hess[self.i_tau, self.i_eta] = h_ut.sum()
            hess[self.i_tau, self.i_tau] = np.dot(self.games, p_draw * (1 - p_draw))
        hess[np.diag_indices(self.size)] += self.prior
        return hess


def fit_ratings(
    pairs: PairTable,
    *,
    anchor: str | None = DEFAULT_ANCHOR,
    anchor_value: float = 0.0,
    first_move_advantage: bool = True,
    prior_sd: float = 1000.0,
    confidence: float = 0.95,
) -> Ratings:
    """Fit Bradley-Terry-Davidson ratings (MAP under weak priors) to a pair table.

    ``anchor`` names the agent held at ``anchor_value``; None holds the mean there
    instead, and so does the default ``"random"`` when no agent has that id (any other
    absent name is an error). ``first_move_advantage=False`` fixes h at 0. ``prior_sd``
    is the prior's standard deviation of ratings (and of h) in Elo.
    """
    enc = _encode(pairs)
    if not enc.names:
        raise ValueError("pair table has no games")
    if anchor is not None and anchor not in enc.names:
        if anchor != DEFAULT_ANCHOR:
            raise ValueError(f"anchor {anchor!r} has played no games")
        anchor = None
    # One BLAS thread: the dense solves are small, and on a busy machine OpenBLAS's spinning
    # worker threads made the 1,000-agent fit 3-15x slower (measured).
    with threadpool_limits(1, user_api="blas"):
        model = _Davidson(enc, first_move_advantage, bool(enc.draws.sum() > 0), prior_sd)
        # Newton steps with a trust region: a handful of dense (agents x agents) solves. The
        # gradient is in games, so its tolerance scales with them (1e-8 per game is far below
        # any rating precision that matters); the first radius allows ratings ~ 700 Elo apart.
        result = optimize.minimize(
            model.value_and_grad,
            model.start(),
            jac=True,
            hess=model.hessian,
            method="trust-exact",
            options={
                "gtol": 1e-8 * max(1.0, model.games.sum()),
                "initial_trust_radius": 4 * math.sqrt(model.size),
            },
        )
        if not result.success:
            raise RuntimeError(f"rating fit did not converge: {result.message}")
        x = result.x
        cov = linalg.cho_solve(linalg.cho_factor(model.hessian(x)), np.eye(model.size))
    n = model.n
    beta, cov_beta = x[:n], cov[:n, :n]
    if anchor is None:
        # Contrasts with the mean: Var(b_i - mean b) = C_ii - 2 mean_j C_ij + mean C.
        row_mean = cov_beta.mean(axis=1)
        var = np.diag(cov_beta) - 2 * row_mean + row_mean.mean()
        beta = beta - beta.mean()
    else:
        k = enc.names.index(anchor)
        var = np.diag(cov_beta) - 2 * cov_beta[:, k] + cov_beta[k, k]
        beta = beta - beta[k]
    z = stats.norm.ppf(0.5 + confidence / 2)
    rating = beta * ELO_PER_NAT + anchor_value
    stderr = np.sqrt(np.maximum(var, 0.0)) * ELO_PER_NAT
    games = np.bincount(enc.first, model.games, n) + np.bincount(enc.second, model.games, n)
    nan2 = (math.nan, math.nan)
    fma, fma_se, fma_ci = 0.0, math.nan, nan2
    if first_move_advantage:
        fma = x[model.i_eta] * ELO_PER_NAT
        fma_se = math.sqrt(cov[model.i_eta, model.i_eta]) * ELO_PER_NAT
        fma_ci = (fma - z * fma_se, fma + z * fma_se)
    nu, nu_ci = 0.0, nan2
    if model.fit_draw:
        tau, tau_se = x[model.i_tau], math.sqrt(cov[model.i_tau, model.i_tau])
        nu, nu_ci = math.exp(tau), (math.exp(tau - z * tau_se), math.exp(tau + z * tau_se))
    return Ratings(
        agents=tuple(enc.names),
        rating=rating,
        stderr=stderr,
        ci_low=rating - z * stderr,
        ci_high=rating + z * stderr,
        games=games.round().astype(np.int64),
        first_move_advantage=float(fma),
        first_move_advantage_stderr=fma_se,
        first_move_advantage_ci=fma_ci,
        draw=nu,
        draw_ci=nu_ci,
        anchor=anchor,
        anchor_value=anchor_value,
        confidence=confidence,
        prior_sd=prior_sd,
    )


def simulate_games(
    true_elo: np.ndarray,
    num_games: int,
    first_move_advantage: float = 0.0,
    draw: float = 0.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random games under the Davidson model: (first index, second index, winner seat)."""
    rng = np.random.default_rng(seed)
    m = len(true_elo)
    first = rng.integers(0, m, num_games)
    second = (first + rng.integers(1, m, num_games)) % m  # never plays itself
    u = (true_elo[first] + first_move_advantage - true_elo[second]) / ELO_PER_NAT
    z = np.exp(u / 2) + np.exp(-u / 2) + draw
    p_win, p_draw = np.exp(u / 2) / z, draw / z
    r = rng.random(num_games)
    winner = np.where(r < p_win, 0, np.where(r < p_win + p_draw, -1, 1))
    return first, second, winner


def benchmark_fit(num_agents: int = 1000, num_games: int = 1_000_000, seed: int = 0) -> dict:
    """Fit synthetic players of known Elo; report the fit time and the recovery error."""
    rng = np.random.default_rng(seed)
    true_elo = rng.normal(0.0, 200.0, num_agents)
    true_fma, true_draw = 35.0, 0.8
    first, second, winner = simulate_games(true_elo, num_games, true_fma, true_draw, seed + 1)
    names = np.array([f"agent{i:05d}" for i in range(num_agents)])
    pairs = aggregate_results(names[first], names[second], winner)
    start = time.perf_counter()
    ratings = fit_ratings(pairs, anchor=None)
    seconds = time.perf_counter() - start
    truth = dict(zip(names, true_elo - true_elo.mean(), strict=True))
    expected = np.array([truth[a] for a in ratings.agents])
    error = ratings.rating - expected
    inside = (ratings.ci_low <= expected) & (expected <= ratings.ci_high)
    return {
        "num_agents": num_agents,
        "num_games": num_games,
        "num_pairs": pairs.num_rows,
        "fit_seconds": seconds,
        "rmse_elo": float(np.sqrt(np.mean(error**2))),
        "max_abs_error_elo": float(np.abs(error).max()),
        "mean_stderr_elo": float(ratings.stderr.mean()),
        "ci_coverage": float(inside.mean()),
        "first_move_advantage": (true_fma, ratings.first_move_advantage),
        "draw": (true_draw, ratings.draw),
    }


# --------------------------------------------------------------------------- SPRT

# Per-game score of a game pair for each pentanomial cell [LL, LD, DD/WL, WD, WW].
_PAIR_SCORE = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
NELO_PER_T = 800.0 / math.log(10.0)  # normalized Elo per unit of per-game t-value


def pentanomial_from_pairs(results_pairs: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """Count game pairs by total score: ``results_pairs[i]`` holds the tested player's
    scores (1, 0.5 or 0) in the two games of pair i (one from each seat)."""
    scores = np.asarray(results_pairs, dtype=np.float64).reshape(-1, 2)
    if not np.isin(scores, (0.0, 0.5, 1.0)).all():
        raise ValueError("pair scores must be 1, 0.5 or 0")
    return np.bincount((2 * scores.sum(axis=1)).round().astype(np.int64), minlength=5)


def _secular_root(p_hat: np.ndarray, z: np.ndarray) -> float:
    """Solve sum_i p_i z_i / (1 + x z_i) = 0 for x in the range keeping all 1 + x z_i > 0."""
    lo, hi = -1.0 / z.max(), -1.0 / z.min()
    eps = 1e-12 * (hi - lo)
    return optimize.brentq(lambda x: np.dot(p_hat, z / (1 + x * z)), lo + eps, hi - eps)


def _mle_expectation(p_hat: np.ndarray, score: float) -> np.ndarray:
    """Most likely distribution on _PAIR_SCORE with mean ``score`` given frequencies p_hat.

    Lagrange conditions give p_i = p_hat_i / (1 + x (a_i - score)) (Van den Bergh,
    support_MLE_multinomial.pdf, Prop. 1.1), with x from the secular equation.
    """
    z = _PAIR_SCORE - score
    return p_hat / (1 + _secular_root(p_hat, z) * z)


def _mle_t_value(p_hat: np.ndarray, t: float) -> np.ndarray:
    """Most likely distribution with t-value (mean - 1/2) / sd equal to ``t``.

    The constraint's gradient depends on p, so iterate p_i = p_hat_i / (1 + x z_i(p)) with
    z_i = a_i - 1/2 - t sd (1 + ((a_i - mean) / sd)^2) / 2 (normalized_elo_practical.pdf,
    section 4.1) to a fixed point.
    """
    p = np.full_like(p_hat, 1.0 / len(p_hat))
    for _ in range(100):
        mean = np.dot(p, _PAIR_SCORE)
        sd = math.sqrt(np.dot(p, (_PAIR_SCORE - mean) ** 2))
        z = _PAIR_SCORE - 0.5 - t * sd * (1 + ((_PAIR_SCORE - mean) / sd) ** 2) / 2
        p_next = p_hat / (1 + _secular_root(p_hat, z) * z)
        if np.abs(p_next - p).max() < 1e-13:
            return p_next
        p = p_next
    return p


def _logistic_score(elo: float) -> float:
    return 1.0 / (1.0 + 10.0 ** (-elo / 400.0))


@dataclass(frozen=True)
class SPRTResult:
    """Outcome of :func:`sprt`. ``decision`` is "H0", "H1" (accepted) or "continue"."""

    llr: float
    lower_bound: float
    upper_bound: float
    decision: Literal["H0", "H1", "continue"]
    elo: float
    elo_ci: tuple[float, float]
    pairs: int
    elo_model: str


def sprt(
    pentanomial: Sequence[int] | np.ndarray,
    elo0: float,
    elo1: float,
    alpha: float = 0.05,
    beta: float = 0.05,
    elo_model: Literal["logistic", "normalized"] = "logistic",
    confidence: float = 0.95,
) -> SPRTResult:
    """Generalised SPRT of H0: elo = elo0 against H1: elo = elo1, as fishtest runs it.

    The LLR is N * sum_i p_hat_i log(p1_i / p0_i), where p0 / p1 are the most likely
    pentanomial distributions whose expected score (logistic model: L(elo)) or t-value
    (normalized model: elo / (800 / ln 10) per game, times sqrt 2 per pair) equals the
    hypothesis. Empty cells get a count of 1e-3, as in fishtest. The Elo estimate and
    interval are fixed-sample ones (no correction for the sequential stopping).
    """
    counts = np.asarray(pentanomial, dtype=np.float64)
    if counts.shape != (5,) or (counts < 0).any():
        raise ValueError("pentanomial must be 5 non-negative counts [LL, LD, DD+WL, WD, WW]")
    pairs = int(counts.sum())
    regular = np.where(counts == 0, 1e-3, counts)
    n = regular.sum()
    p_hat = regular / n
    if elo_model == "logistic":
        p0, p1 = (_mle_expectation(p_hat, _logistic_score(e)) for e in (elo0, elo1))
    elif elo_model == "normalized":
        p0, p1 = (_mle_t_value(p_hat, math.sqrt(2) * e / NELO_PER_T) for e in (elo0, elo1))
    else:
        raise ValueError(f"unknown elo_model {elo_model!r}")
    llr = float(n * np.dot(p_hat, np.log(p1) - np.log(p0)))
    lower, upper = math.log(beta / (1 - alpha)), math.log((1 - beta) / alpha)
    decision = "H1" if llr >= upper else "H0" if llr <= lower else "continue"

    mean = float(np.dot(p_hat, _PAIR_SCORE))
    sd = math.sqrt(np.dot(p_hat, (_PAIR_SCORE - mean) ** 2))
    half = stats.norm.ppf(0.5 + confidence / 2) * sd / math.sqrt(n)
    scores = np.array([mean, mean - half, mean + half])
    if elo_model == "logistic":
        s = np.clip(scores, 1e-3, 1 - 1e-3)  # fishtest's clamp: finite Elo at 0% / 100%
        elo = -400.0 * np.log10(1 / s - 1)
    else:
        elo = (scores - 0.5) / (math.sqrt(2) * sd) * NELO_PER_T  # per-game sd = sqrt 2 sd
    return SPRTResult(
        llr=llr,
        lower_bound=lower,
        upper_bound=upper,
        decision=decision,
        elo=float(elo[0]),
        elo_ci=(float(elo[1]), float(elo[2])),
        pairs=pairs,
        elo_model=elo_model,
    )
