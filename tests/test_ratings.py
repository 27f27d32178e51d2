"""Ratings: online Elo, Bradley-Terry-Davidson fits, win rates and the pentanomial SPRT."""

import json
import math

import choix
import duckdb
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, special

from arena.ratings import (
    ELO_PER_NAT,
    NELO_PER_T,
    PAIR_COLUMNS,
    aggregate_results,
    benchmark_fit,
    elo_online,
    fit_ratings,
    pentanomial_from_pairs,
    simulate_games,
    sprt,
    win_rate_matrix,
)


def synthetic(num_agents, num_games, fma=0.0, draw=0.0, sd=150.0, seed=0, names=None):
    """Pair table of simulated games, the names and the true (mean-zero) Elo per name."""
    rng = np.random.default_rng(seed)
    true = rng.normal(0.0, sd, num_agents)
    first, second, winner = simulate_games(true, num_games, fma, draw, seed=seed + 1)
    names = np.array(names or [f"p{i:03d}" for i in range(num_agents)])
    table = aggregate_results(names[first], names[second], winner)
    return table, dict(zip(names, true - true.mean(), strict=True)), (first, second, winner)


# --------------------------------------------------------------------------- online Elo


def test_elo_online_hand_computed():
    ratings = elo_online([("a", "b", 1), ("b", "a", 1)], k=16.0)
    # Game 1: equal ratings, expected 0.5, so +-8. Game 2: b (-8) beats a (+8):
    # expected score of b = 1 / (1 + 10^(16/400)) = 0.47699041, b gains 16 * 0.52300959.
    assert ratings["b"] == pytest.approx(-8 + 16 * 0.52300959, abs=1e-6)
    assert ratings["a"] == pytest.approx(-ratings["b"])
    assert elo_online([("x", "y", 0.5)], initial=1500.0) == {"x": 1500.0, "y": 1500.0}
    with pytest.raises(ValueError):
        elo_online([("a", "b", 2)])


# --------------------------------------------------------------------------- pair tables


def test_aggregate_and_win_rate_matrix_by_hand():
    first = ["a", "a", "a", "b", "b", "c"]
    second = ["b", "b", "b", "a", "a", "a"]
    winner = [0, 0, -1, 1, 0, -1]  # a-b: W W D; b-a: a wins, b wins; c-a: draw
    table = aggregate_results(first, second, winner)
    assert table.column_names == list(PAIR_COLUMNS)
    assert table.to_pylist() == [
        {"first": "a", "second": "b", "first_wins": 2, "draws": 1, "second_wins": 0},
        {"first": "b", "second": "a", "first_wins": 1, "draws": 0, "second_wins": 1},
        {"first": "c", "second": "a", "first_wins": 0, "draws": 1, "second_wins": 0},
    ]
    rate, games = win_rate_matrix(table, ["a", "b", "c"])
    # a vs b over both seat orders: 2 W + 1 D + 1 W + 1 L in 5 games = 3.5 / 5.
    assert rate[0, 1] == pytest.approx(0.7) and rate[1, 0] == pytest.approx(0.3)
    assert rate[0, 2] == rate[2, 0] == 0.5
    assert np.isnan(rate[1, 2]) and np.isnan(rate[0, 0])
    assert games.tolist() == [[0, 5, 1], [5, 0, 0], [1, 0, 0]]
    sub_rate, sub_games = win_rate_matrix(table, ["b", "a"])  # order and subset respected
    assert sub_rate[0, 1] == pytest.approx(0.3) and sub_games[0, 1] == 5
    with pytest.raises(ValueError):
        aggregate_results(["a"], ["b"], [2])


def test_duckdb_aggregation_matches_helper():
    _, _, (first, second, winner) = synthetic(6, 500, draw=0.5)
    games = pa.table({"a": [f"p{i:03d}" for i in first], "b": [f"p{i:03d}" for i in second]})
    games = games.append_column("winner", pa.array(winner))
    query = """SELECT a AS first, b AS second, sum((winner = 0)::BIGINT) AS first_wins,
        sum((winner = -1)::BIGINT) AS draws, sum((winner = 1)::BIGINT) AS second_wins
        FROM games GROUP BY ALL ORDER BY first, second"""
    from_duckdb = pa.table(duckdb.sql(query))
    helper = aggregate_results(games["a"], games["b"], winner)
    assert from_duckdb.to_pylist() == helper.to_pylist()
    a, b = fit_ratings(from_duckdb), fit_ratings(helper)
    np.testing.assert_allclose(a.rating, b.rating)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.sampled_from([-1, 0, 1]))))
def test_win_rates_are_complementary(games):
    games = [g for g in games if g[0] != g[1]]
    if not games:
        return
    first, second, winner = (np.array(c) for c in zip(*games, strict=True))
    table = aggregate_results(first.astype(str), second.astype(str), winner)
    rate, counts = win_rate_matrix(table)
    met = counts > 0
    np.testing.assert_allclose((rate + rate.T)[met], 1.0)
    assert counts.sum() == 2 * len(games)


# --------------------------------------------------------------------------- Bradley-Terry


def test_recovers_known_elo_within_intervals():
    table, truth, _ = synthetic(50, 60_000, fma=40.0, draw=0.6, seed=7)
    ratings = fit_ratings(table, anchor=None)
    expected = np.array([truth[a] for a in ratings.agents])
    inside = (ratings.ci_low <= expected) & (expected <= ratings.ci_high)
    assert inside.mean() >= 0.9
    assert np.all(np.abs(ratings.rating - expected) < 4 * ratings.stderr)
    assert ratings.rating.mean() == pytest.approx(0.0, abs=1e-9)
    low, high = ratings.first_move_advantage_ci
    assert low < 40.0 < high and high - low < 20
    assert ratings.draw_ci[0] < 0.6 < ratings.draw_ci[1]
    assert ratings.games.sum() == 2 * 60_000


def test_two_players_by_hand():
    # a beats b in 30 of 40 games: MLE difference 400 log10(3) = 190.8 Elo with
    # Var = 1 / (n p (1 - p)) = 1 / 7.5 nats^2, i.e. a stderr of 63.4 Elo (the weak prior
    # shifts both by about 0.2%).
    table = aggregate_results(["a", "b"] * 20, ["b", "a"] * 20, [0, 1] * 15 + [1, 0] * 5)
    by_b = fit_ratings(table, anchor="b", first_move_advantage=False)
    assert by_b.rating.tolist() == pytest.approx([190.8, 0.0], rel=5e-3)
    assert by_b.stderr.tolist() == pytest.approx([ELO_PER_NAT / math.sqrt(7.5), 0.0], rel=5e-3)
    by_mean = fit_ratings(table, anchor=None, first_move_advantage=False)
    assert by_mean.rating.tolist() == pytest.approx([95.4, -95.4], rel=5e-3)
    assert by_mean.stderr == pytest.approx(by_b.stderr[0] / 2)


def test_matches_choix_bradley_terry_without_draws_or_advantage():
    table, _, (first, second, winner) = synthetic(15, 3000, seed=3)
    ours = fit_ratings(table, anchor=None, first_move_advantage=False)
    assert ours.draw == 0.0 and math.isnan(ours.first_move_advantage_stderr)
    data = [(a, b) if w == 0 else (b, a) for a, b, w in zip(first, second, winner, strict=True)]
    # Our prior N(0, prior_sd) is choix's penalty alpha * sum(theta^2) with alpha = 1/(2 var).
    alpha = 0.5 * (ELO_PER_NAT / ours.prior_sd) ** 2
    theirs = choix.opt_pairwise(15, data, alpha=alpha, tol=1e-10)
    np.testing.assert_allclose(ours.rating, (theirs - theirs.mean()) * ELO_PER_NAT, atol=1e-3)
    # The unpenalised MLE differs from ours by far less than the standard errors.
    mle = choix.ilsr_pairwise(15, data, alpha=0.0, tol=1e-12)
    assert np.abs(ours.rating - (mle - mle.mean()) * ELO_PER_NAT).max() < 0.1 * ours.stderr.min()
    # Fitting a first-move advantage the data do not have changes little and finds ~0.
    with_fma = fit_ratings(table, anchor=None)
    low, high = with_fma.first_move_advantage_ci
    assert low < 0 < high
    assert np.abs(with_fma.rating - ours.rating).max() < 0.1 * ours.stderr.min()


def test_anchor_behaviour():
    names = ["random", "greedy", "mcts", "az"]
    table, _, _ = synthetic(4, 2000, draw=0.3, sd=200.0, names=names)
    default = fit_ratings(table)
    assert default.anchor == "random" and default.to_dict()["agents"]["random"]["rating"] == 0.0
    assert default.stderr[default.agents.index("random")] == 0.0
    moved = fit_ratings(table, anchor="mcts", anchor_value=1000.0)
    k = moved.agents.index("mcts")
    assert moved.rating[k] == 1000.0 and moved.stderr[k] == 0.0
    # Only the reference point moves: every difference and the model terms are unchanged.
    np.testing.assert_allclose(moved.rating - default.rating, 1000.0 - default.rating[k])
    assert moved.draw == pytest.approx(default.draw)
    # The stderr of i relative to k is the stderr of k relative to i: Var(r_i - r_k).
    r = default.agents.index("random")
    assert (np.delete(default.stderr, r) > 0).all()
    assert moved.stderr[r] == pytest.approx(default.stderr[k], rel=1e-9)
    mean = fit_ratings(table, anchor=None, anchor_value=1500.0)
    assert mean.anchor is None and mean.rating.mean() == pytest.approx(1500.0)
    np.testing.assert_allclose(mean.rating - default.rating, 1500.0 - default.rating.mean())
    # Without a "random" agent the default falls back to the mean; other names must exist.
    no_random = table.filter(
        pa.compute.and_(
            pa.compute.not_equal(table["first"], "random"),
            pa.compute.not_equal(table["second"], "random"),
        )
    )
    fallback = fit_ratings(no_random)
    assert fallback.anchor is None and fallback.rating.mean() == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="anchor"):
        fit_ratings(table, anchor="nobody")


def test_degenerate_results_do_not_crash():
    # "champ" wins and "chump" loses every game: the MLE is infinite, the prior keeps it finite.
    first = ["champ", "a", "b", "chump", "a", "b", "a", "champ"]
    second = ["a", "champ", "chump", "a", "b", "a", "chump", "chump"]
    winner = [0, 1, 0, 1, 0, -1, 0, 0]
    ratings = fit_ratings(aggregate_results(first, second, winner), anchor=None)
    assert np.isfinite(ratings.rating).all() and np.isfinite(ratings.stderr).all()
    best, worst = ratings.rows()[0][1], ratings.rows()[-1][1]
    assert (best, worst) == ("champ", "chump")
    stderr = dict(zip(ratings.agents, ratings.stderr, strict=True))
    assert min(stderr["champ"], stderr["chump"]) > max(stderr["a"], stderr["b"]) > 0
    # A single game, a seat that always wins, and only draws (perfect tic-tac-toe players).
    one_game = dict(zip(PAIR_COLUMNS, (["x"], ["y"], [1], [0], [0]), strict=True))
    assert np.isfinite(fit_ratings(one_game).rating).all()
    always = fit_ratings(aggregate_results(["x", "y"] * 50, ["y", "x"] * 50, [0] * 100))
    assert always.first_move_advantage > 400 and np.isfinite(always.rating).all()
    draws = fit_ratings(aggregate_results(["x", "y"] * 50, ["y", "x"] * 50, [-1] * 100))
    np.testing.assert_allclose(draws.rating, 0.0, atol=1e-6)
    assert draws.draw_rate_equal > 0.95
    with pytest.raises(ValueError):
        fit_ratings(aggregate_results([], [], []))


def test_exports():
    table, _, _ = synthetic(5, 1000, fma=30.0, draw=0.5)
    ratings = fit_ratings(table)
    rows = ratings.rows()
    assert len(rows) == 5 and all(len(r) == len(ratings.headers) for r in rows)
    shown = [float(r[2]) for r in rows]
    assert shown == sorted(shown, reverse=True) and [r[0] for r in rows] == list("12345")
    arrow = ratings.to_arrow()
    assert arrow.column_names == ["agent", "rating", "stderr", "ci_low", "ci_high", "games"]
    assert arrow["agent"].to_pylist() == list(ratings.agents)
    meta = json.loads(arrow.schema.metadata[b"ratings"])
    assert meta["first_move_advantage"] == pytest.approx(ratings.first_move_advantage)
    as_dict = ratings.to_dict()
    json.dumps(as_dict)  # plain Python values only
    first = as_dict["agents"][ratings.agents[0]]
    assert first["ci"] == [ratings.ci_low[0], ratings.ci_high[0]]


def test_benchmark_fit_small():
    result = benchmark_fit(num_agents=30, num_games=20_000, seed=1)
    assert result["num_agents"] == 30 and 0 < result["num_pairs"] <= 30 * 29
    assert result["fit_seconds"] > 0
    assert result["rmse_elo"] < 2 * result["mean_stderr_elo"]
    assert result["ci_coverage"] >= 0.8
    true_fma, fitted_fma = result["first_move_advantage"]
    assert abs(fitted_fma - true_fma) < 4 * result["mean_stderr_elo"]


# --------------------------------------------------------------------------- SPRT


def constrained_loglik(counts, target, model):
    """Independent check: maximise sum n_i log p_i under the hypothesis with SLSQP."""
    counts = np.where(counts == 0, 1e-3, np.asarray(counts, dtype=float))
    a = np.linspace(0.0, 1.0, 5)

    def hypothesis(theta):  # p = softmax(theta) keeps p on the simplex
        p = special.softmax(theta)
        if model == "logistic":
            return p @ a - 1 / (1 + 10 ** (-target / 400))
        return (p @ a - 0.5) / math.sqrt(p @ (a - p @ a) ** 2) - math.sqrt(2) * target / NELO_PER_T

    result = optimize.minimize(
        lambda theta: -(counts @ special.log_softmax(theta)),
        np.log(counts / counts.sum()),
        method="SLSQP",
        constraints=[{"type": "eq", "fun": hypothesis}],
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    return -result.fun


@pytest.mark.parametrize(
    ("counts", "elo0", "elo1", "model"),
    [
        ([10789, 19328, 33806, 19402, 10543], -3.0, 1.0, "logistic"),
        ([39, 2226, 31451, 2412, 40], 0.2, 0.9, "logistic"),
        ([39, 2226, 31451, 2412, 40], 0.764, 3.439, "normalized"),
        ([3, 40, 120, 60, 0], 0.0, 10.0, "normalized"),
    ],
)
def test_sprt_llr_is_the_constrained_likelihood_ratio(counts, elo0, elo1, model):
    result = sprt(counts, elo0, elo1, elo_model=model)
    counts = np.array(counts)
    expected = constrained_loglik(counts, elo1, model) - constrained_loglik(counts, elo0, model)
    assert result.llr == pytest.approx(expected, abs=1e-6)
    assert result.pairs == counts.sum()


def test_sprt_symmetries_and_bounds():
    counts = [120, 800, 2100, 900, 150]
    base = sprt(counts, 0.0, 5.0)
    assert base.lower_bound == pytest.approx(math.log(0.05 / 0.95))
    assert base.upper_bound == pytest.approx(math.log(0.95 / 0.05))
    swapped = sprt(counts, 5.0, 0.0)
    assert swapped.llr == pytest.approx(-base.llr)
    # The opponent's view: reversed counts and negated Elo give the same likelihoods.
    assert sprt(counts[::-1], -0.0, -5.0).llr == pytest.approx(base.llr)
    assert sprt(counts, 3.0, 3.0).llr == pytest.approx(0.0, abs=1e-9)
    assert sprt([50, 300, 800, 300, 50], -5.0, 5.0).llr == pytest.approx(0.0, abs=1e-9)
    # For small Elo ranges the GSPRT is close to fishtest's Brownian approximation
    # N (s1 - s0)(2 s - s0 - s1) / (2 var).
    p = np.array(counts) / sum(counts)
    a = np.linspace(0, 1, 5)
    s, var = p @ a, p @ (a - p @ a) ** 2
    s0, s1 = 0.5, 1 / (1 + 10 ** (-5 / 400))
    approx = sum(counts) * (s1 - s0) * (2 * s - s0 - s1) / (2 * var)
    assert base.llr > 0 and base.llr == pytest.approx(approx, rel=0.01)
    assert base.elo_ci[0] < base.elo < base.elo_ci[1]


def test_sprt_decisions():
    rng = np.random.default_rng(5)

    def pairs(p_win, p_draw, n):
        game = rng.choice([1.0, 0.5, 0.0], size=(n, 2), p=[p_win, p_draw, 1 - p_win - p_draw])
        return pentanomial_from_pairs(game)

    strong = sprt(pairs(0.45, 0.3, 400), 0.0, 5.0)  # about +70 Elo
    assert strong.decision == "H1" and strong.llr > strong.upper_bound
    assert strong.elo_ci[0] < 70 < strong.elo_ci[1]
    equal = sprt(pairs(0.35, 0.3, 20_000), 0.0, 5.0)
    assert equal.decision == "H0" and equal.llr < equal.lower_bound
    assert sprt(pairs(0.35, 0.3, 20), 0.0, 5.0).decision == "continue"
    normalized = sprt(pairs(0.45, 0.3, 400), 0.0, 5.0, elo_model="normalized")
    assert normalized.decision == "H1" and normalized.elo > 0
    with pytest.raises(ValueError):
        sprt([1, 2, 3], 0.0, 5.0)


def test_pentanomial_from_pairs():
    pairs = [(1, 1), (0, 0), (0.5, 0.5), (1, 0), (0.5, 1)]
    assert pentanomial_from_pairs(pairs).tolist() == [1, 0, 2, 1, 1]
    assert pentanomial_from_pairs(np.empty((0, 2))).tolist() == [0] * 5
    with pytest.raises(ValueError):
        pentanomial_from_pairs([(1, 0.3)])
