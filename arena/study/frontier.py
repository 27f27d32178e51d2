"""The compute frontier of a study: what training compute and search at play time each buy.

From the ratings (`DIR/tables/ratings.parquet`, arena.study.rate), the snapshot players
below saturation are fitted by weighted least squares (weights 1 / stderr^2) to

    Elo = alpha_net + a * log10(training FLOPs) + b * log2(simulations)

(one intercept per network size): `a` is the Elo bought by 10x of training compute, `b`
the Elo per doubling of simulations, and 10x of training is worth `2 ** (a / b)` x of
simulations at equal Elo (the exchange rate). For each simulation budget alone the slope
in log10 training compute is fitted too (`Elo = alpha_net + a_S * log10 FLOPs`).

Saturation: a game with a best play (Tic-tac-toe) or a strong enough player flattens the
curve at the top, where more compute buys nothing and a straight line does not hold. The
plateau is the set of players statistically tied with the strongest (their difference
within the confidence interval) when it holds two or more (a single strongest player is no
plateau), with every player of the same network that has at least the training and the
simulations of one of them; the plateau is left out of the fit.

Intervals: a parametric bootstrap of the whole procedure. Each draw adds to every rating a
normal error with its standard error (scaled up by sqrt(chi^2 / dof) when the points
scatter more than the errors say, so a curve the line does not fit widens the intervals),
finds the plateau again and refits; the intervals are the draws' percentiles.

Equal wall-clock time (`equal_time`): each rollout-search anchor `mcts:sims=N` against each
snapshot with search at the same seconds per move (both measured from the games,
arena.study.rate.CostModel), the snapshot's Elo interpolated along its simulation budgets
in log seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

from arena.study.tables import RATINGS, read_table, write_table

FRONTIER = "frontier"
EQUAL_TIME = "equal_time"
DRAWS = 2000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    value: float
    ci_low: float
    ci_high: float

    def __str__(self) -> str:
        if math.isnan(self.value):
            return "not fitted (too few players below saturation)"
        return f"{self.value:.3g} [{self.ci_low:.3g}, {self.ci_high:.3g}]"


NO_ESTIMATE = Estimate(math.nan, math.nan, math.nan)


@dataclass(frozen=True)
class Frontier:
    elo_per_10x_training: Estimate
    elo_per_doubling_sims: Estimate
    exchange_rate: Estimate  # x of simulations worth 10x of training compute
    per_budget: dict[int, Estimate]  # simulations -> Elo per 10x training at that budget
    points: int  # snapshot players fitted
    saturated: int  # snapshot players left out on the plateau
    confidence: float

    def to_arrow(self) -> pa.Table:
        """Long format: one row per quantity (and simulation budget, for the lines)."""
        rows = [
            ("elo_per_10x_training", None, self.elo_per_10x_training),
            ("elo_per_doubling_sims", None, self.elo_per_doubling_sims),
            ("exchange_rate", None, self.exchange_rate),
            *(("elo_per_10x_training", s, e) for s, e in sorted(self.per_budget.items())),
        ]
        table = pa.table(
            {
                "quantity": [q for q, _, _ in rows],
                "sims": pa.array([s for _, s, _ in rows], pa.int64()),
                "value": [e.value for _, _, e in rows],
                "ci_low": [e.ci_low for _, _, e in rows],
                "ci_high": [e.ci_high for _, _, e in rows],
            }
        )
        meta = {"points": str(self.points), "saturated": str(self.saturated)}
        return table.replace_schema_metadata({**meta, "confidence": str(self.confidence)})


def plateau(
    rating: np.ndarray,
    stderr: np.ndarray,
    nets: np.ndarray,
    flops: np.ndarray,
    sims: np.ndarray,
    confidence: float = CONFIDENCE,
) -> np.ndarray:
    """bool mask: the players tied with the strongest, when two or more are, and every
    player of the same network with at least the training and the simulations of one of
    those (where less compute already reached the top, more cannot be below it)."""
    if rating.size == 0:
        return np.zeros(0, dtype=bool)
    best = int(np.argmax(rating))
    z = stats.norm.ppf(0.5 + confidence / 2)
    tied = rating[best] - rating <= z * np.hypot(stderr, stderr[best])
    if tied.sum() < 2:
        return np.zeros_like(tied)
    above = (
        (nets[:, None] == nets[None, tied])
        & (flops[:, None] >= flops[None, tied])
        & (sims[:, None] >= sims[None, tied])
    )
    return tied | above.any(axis=1)


def _design(nets: np.ndarray, columns: list[np.ndarray]) -> np.ndarray:
    """One intercept column per network, then the given columns."""
    intercepts = [(nets == n).astype(float) for n in np.unique(nets)]
    return np.column_stack([*intercepts, *columns])


def _wls(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Coefficients of the weighted least squares fit; NaN when not identified."""
    sw = np.sqrt(w)[:, None]
    beta, _, rank, _ = np.linalg.lstsq(x * sw, y * sw[:, 0], rcond=None)
    return beta if rank == x.shape[1] else np.full(x.shape[1], np.nan)


def _fit(
    y: np.ndarray,
    se: np.ndarray,
    nets: np.ndarray,
    flops: np.ndarray,
    sims: np.ndarray,
    budgets: np.ndarray,
    confidence: float,
) -> tuple[np.ndarray, np.ndarray, float]:
    """([a, b, then a_S for each of `budgets`], the plateau mask, chi^2 per degree of
    freedom of the joint fit) for ratings `y` of the points."""
    flat = plateau(y, se, nets, flops, sims, confidence)
    keep = ~flat
    w = 1.0 / se**2
    log_flops, log_sims = np.log10(flops), np.log2(sims)
    x = _design(nets[keep], [log_flops[keep], log_sims[keep]])
    beta = _wls(x, y[keep], w[keep])
    dof = int(keep.sum()) - x.shape[1]
    chi2 = float(np.sum(w[keep] * (y[keep] - x @ beta) ** 2)) / dof if dof > 0 else math.nan
    lines = []
    for s in budgets:
        at = keep & (sims == s)
        lines.append(_wls(_design(nets[at], [log_flops[at]]), y[at], w[at])[-1])
    return np.array([beta[-2], beta[-1], *lines]), flat, chi2


def _estimate(value: float, samples: np.ndarray, confidence: float) -> Estimate:
    finite = samples[~np.isnan(samples)]
    if math.isnan(value) or finite.size == 0:
        return NO_ESTIMATE
    tail = (1 - confidence) / 2
    low, high = np.quantile(finite, [tail, 1 - tail], method="inverted_cdf")
    return Estimate(float(value), float(low), float(high))


def _exchange(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """2 ** (a / b): 10x training is a Elo, a doubling of simulations b Elo, so a / b
    doublings buy it; none do when b <= 0 (infinite)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(b > 0, 2.0 ** (a / b), np.where(np.isnan(b), np.nan, np.inf))


def fit_frontier(
    ratings: pa.Table, draws: int = DRAWS, seed: int = 0, confidence: float = CONFIDENCE
) -> Frontier:
    """The frontier of the snapshot players in a ratings table (module docstring). Each
    bootstrap draw finds its own plateau, so the intervals include that choice too."""
    rows = ratings.filter(pc.equal(ratings["kind"], "snapshot"))
    flops = rows["train_flops"].to_numpy()
    rows = rows.filter(pa.array(np.isfinite(flops) & (flops > 0)))
    y = rows["rating"].to_numpy()
    se = np.maximum(rows["stderr"].to_numpy(), 1e-6)
    nets = np.asarray(rows["net"].to_pylist(), dtype=object)
    flops, sims = rows["train_flops"].to_numpy(), rows["sims"].to_numpy()
    budgets = np.unique(sims)
    point, flat, chi2 = _fit(y, se, nets, flops, sims, budgets, confidence)
    # Points scattered more than their errors say: the line misses, so widen the errors.
    scale = max(1.0, math.sqrt(chi2)) if math.isfinite(chi2) else 1.0
    rng = np.random.default_rng(seed)
    samples = np.array(
        [
            _fit(
                y + rng.normal(size=y.size) * se * scale, se, nets, flops, sims, budgets, confidence
            )[0]
            for _ in range(draws if not np.isnan(point[:2]).any() else 0)
        ]
    ).reshape(-1, point.size)
    return Frontier(
        elo_per_10x_training=_estimate(point[0], samples[:, 0], confidence),
        elo_per_doubling_sims=_estimate(point[1], samples[:, 1], confidence),
        exchange_rate=_estimate(
            float(_exchange(point[0], point[1])),
            _exchange(samples[:, 0], samples[:, 1]),
            confidence,
        ),
        per_budget={
            int(s): _estimate(point[2 + i], samples[:, 2 + i], confidence)
            for i, s in enumerate(budgets)
        },
        points=int((~flat).sum()),
        saturated=int(flat.sum()),
        confidence=confidence,
    )


def equal_time(ratings: pa.Table) -> pa.Table:
    """Each `mcts:sims=N` anchor against each snapshot at the anchor's seconds per move."""
    frame = ratings.to_pylist()
    anchors = [
        r for r in frame if r["kind"] == "anchor" and r["sims"] and _timed(r["seconds_per_move"])
    ]
    lines: dict[str, list[dict]] = {}
    for r in frame:
        if r["kind"] == "snapshot" and _timed(r["seconds_per_move"]):
            lines.setdefault(r["snapshot"], []).append(r)
    out = []
    for anchor in sorted(anchors, key=lambda r: r["sims"]):
        t = math.log(anchor["seconds_per_move"])
        for snapshot, line in sorted(lines.items()):
            line = sorted(line, key=lambda r: r["seconds_per_move"])
            times = np.log([r["seconds_per_move"] for r in line])
            if not times[0] <= t <= times[-1]:
                continue  # outside the budgets played: no extrapolation
            elo = float(np.interp(t, times, [r["rating"] for r in line]))
            out.append(
                {
                    "anchor": anchor["agent"],
                    "anchor_sims": anchor["sims"],
                    "seconds_per_move": anchor["seconds_per_move"],
                    "anchor_elo": anchor["rating"],
                    "snapshot": snapshot,
                    "net": line[0]["net"],
                    "train_flops": line[0]["train_flops"],
                    "snapshot_elo": elo,
                    "snapshot_minus_anchor": elo - anchor["rating"],
                }
            )
    return pa.Table.from_pylist(out, EQUAL_TIME_SCHEMA)


EQUAL_TIME_SCHEMA = pa.schema(
    [
        ("anchor", pa.string()),
        ("anchor_sims", pa.int64()),
        ("seconds_per_move", pa.float64()),
        ("anchor_elo", pa.float64()),
        ("snapshot", pa.string()),
        ("net", pa.string()),
        ("train_flops", pa.float64()),
        ("snapshot_elo", pa.float64()),
        ("snapshot_minus_anchor", pa.float64()),
    ]
)


def steps_in_sims(ratings: pa.Table, confidence: float = CONFIDENCE) -> pa.Table:
    """Each snapshot's Elo change from each simulation budget to the next, with the half
    width of its interval (the two errors taken as independent): is strength monotone?"""
    z = stats.norm.ppf(0.5 + confidence / 2)
    lines: dict[str, list[dict]] = {}
    for r in ratings.to_pylist():
        if r["kind"] == "snapshot":
            lines.setdefault(r["snapshot"], []).append(r)
    out = []
    for snapshot, line in sorted(lines.items(), key=lambda item: item[1][0]["train_flops"]):
        line.sort(key=lambda r: r["sims"])
        for lo, hi in pairwise(line):
            out.append(
                {
                    "snapshot": snapshot,
                    "sims_from": lo["sims"],
                    "sims_to": hi["sims"],
                    "change": hi["rating"] - lo["rating"],
                    "half_width": z * math.hypot(lo["stderr"], hi["stderr"]),
                }
            )
    schema = pa.schema(
        [
            ("snapshot", pa.string()),
            ("sims_from", pa.int64()),
            ("sims_to", pa.int64()),
            ("change", pa.float64()),
            ("half_width", pa.float64()),
        ]
    )
    return pa.Table.from_pylist(out, schema)


def _timed(seconds: float | None) -> bool:
    return seconds is not None and math.isfinite(seconds) and seconds > 0


def write_frontier(study_dir: Path) -> Frontier:
    """Fit the frontier of the study's ratings; write tables/frontier and equal_time."""
    ratings = read_table(study_dir, RATINGS)
    if ratings is None:
        raise ValueError(f"{study_dir} has no ratings yet (tables/{RATINGS}.parquet)")
    found = fit_frontier(ratings)
    write_table(study_dir, FRONTIER, found.to_arrow())
    write_table(study_dir, EQUAL_TIME, equal_time(ratings))
    return found
