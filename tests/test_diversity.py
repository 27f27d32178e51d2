"""Diversity metrics against hand-computed cases, and on real agents' behaviour."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon

import agents
import games
from arena import diversity, metrics

# Rock, paper, scissors: each beats the next one (row beats column where +1).
RPS = np.array([[0.0, 1.0, -1.0], [-1.0, 0.0, 1.0], [1.0, -1.0, 0.0]])
# Agent 0 beats 1 and 2, agent 1 beats 2.
TRANSITIVE = np.array([[0.0, 1.0, 1.0], [-1.0, 0.0, 1.0], [-1.0, -1.0, 0.0]])


def weighted_rps(a: float, b: float, c: float) -> np.ndarray:
    """0 beats 1 by a, 1 beats 2 by c, 2 beats 0 by b."""
    return np.array([[0.0, a, -b], [-a, 0.0, c], [b, -c, 0.0]])


def assert_equilibrium(p: np.ndarray, a: np.ndarray) -> None:
    assert p.min() >= 0.0
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    # No agent (column) scores above 0 against the mixture.
    assert (p @ a).min() >= -diversity.NASH_TOL


# --------------------------------------------------------------------------- payoffs


def test_non_antisymmetric_or_nan_payoffs_are_refused():
    with pytest.raises(ValueError, match="antisymmetric"):
        diversity.nash_equilibrium(np.array([[0.0, 1.0], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="NaN"):
        diversity.cyclic_triple_share(np.array([[0.0, np.nan], [np.nan, 0.0]]))


# --------------------------------------------------------------------------- hand cases


def test_rock_paper_scissors():
    p = diversity.nash_equilibrium(RPS)
    np.testing.assert_allclose(p, [1 / 3] * 3, atol=1e-8)
    assert diversity.nash_support(p) == 3
    assert diversity.nash_entropy(p) == pytest.approx(math.log(3))
    # ReLU(A) holds three 1s, each weighted 1/3 * 1/3.
    assert diversity.effective_diversity(RPS) == pytest.approx(1 / 3)
    assert diversity.cyclic_triple_share(RPS) == 1.0
    # L = A A^T = [[2,-1,-1],[-1,2,-1],[-1,-1,2]]: eigenvalues 0, 3, 3 -> 3/4 + 3/4.
    kernel = diversity.payoff_kernel(RPS)
    np.testing.assert_allclose(kernel, 3 * np.eye(3) - np.ones((3, 3)))
    assert diversity.dpp_expected_cardinality(kernel) == pytest.approx(1.5)


def test_transitive_population():
    p = diversity.nash_equilibrium(TRANSITIVE)
    np.testing.assert_allclose(p, [1, 0, 0], atol=1e-12)
    assert diversity.nash_support(p) == 1
    assert diversity.nash_entropy(p) == 0.0
    assert diversity.effective_diversity(TRANSITIVE) == 0.0
    assert diversity.cyclic_triple_share(TRANSITIVE) == 0.0
    # L = [[2,1,-1],[1,2,1],[-1,1,2]]: trace 6, det 0 and the eigenvalues 0, 3, 3.
    kernel = diversity.payoff_kernel(TRANSITIVE)
    expected = np.trace(np.eye(3) - np.linalg.inv(kernel + np.eye(3)))
    assert expected == pytest.approx(1.5)
    assert diversity.dpp_expected_cardinality(kernel) == pytest.approx(expected)


def test_identical_agents():
    a = np.zeros((4, 4))
    p = diversity.nash_equilibrium(a)
    # Every mixture is an equilibrium; the maximum-entropy one is uniform.
    np.testing.assert_allclose(p, [0.25] * 4, atol=1e-12)
    assert diversity.nash_entropy(p) == pytest.approx(math.log(4))
    assert diversity.effective_diversity(a) == 0.0
    assert diversity.dpp_expected_cardinality(diversity.payoff_kernel(a)) == 0.0
    assert math.isnan(diversity.cyclic_triple_share(a))  # no decided triple
    dists = np.tile([[[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]], (4, 1, 1))
    assert diversity.mean_pairwise_js(dists) == 0.0
    # K = 1 1^T + 1e-6 I: eigenvalues 4 + 1e-6 and 1e-6 three times.
    expected = math.log(4 + 1e-6) + 3 * math.log(1e-6)
    assert diversity.dvd_logdet(dists) == pytest.approx(expected, rel=1e-6)
    assert diversity.dvd_logdet(dists) < -40


def test_weighted_rock_paper_scissors():
    # Nash p ~ (c, b, a): column 0 earns -a p1 + b p2 = -ab + ba = 0, and so on.
    a = weighted_rps(1.0, 0.5, 0.25)
    p = diversity.nash_equilibrium(a)
    np.testing.assert_allclose(p, [1 / 7, 2 / 7, 4 / 7], atol=1e-7)
    assert_equilibrium(p, a)
    # p0 p1 * 1 + p1 p2 * 0.25 + p2 p0 * 0.5 = 2/49 + 2/49 + 2/49.
    assert diversity.effective_diversity(a) == pytest.approx(6 / 49, abs=1e-7)
    entropy = -sum(x * math.log(x) for x in (1 / 7, 2 / 7, 4 / 7))
    assert diversity.nash_entropy(p) == pytest.approx(entropy, abs=1e-6)


def test_dominated_agent_leaves_the_support():
    # Rock-paper-scissors plus an agent that loses to all three by a margin of 0.5.
    a = np.zeros((4, 4))
    a[:3, :3] = RPS
    a[:3, 3], a[3, :3] = 0.5, -0.5
    p = diversity.nash_equilibrium(a)
    np.testing.assert_allclose(p, [1 / 3, 1 / 3, 1 / 3, 0], atol=1e-8)
    assert diversity.nash_support(p) == 3
    assert diversity.effective_diversity(a) == pytest.approx(1 / 3)
    # Of the four triples only rock-paper-scissors is a cycle.
    assert diversity.cyclic_triple_share(a) == 0.25


def test_duplicate_agent_shares_its_weight_and_ties_are_undecided():
    # Rock twice (an even record between the copies), paper, scissors.
    a = np.zeros((4, 4))
    index = [0, 0, 1, 2]
    a[:, :] = RPS[np.ix_(index, index)]
    p = diversity.nash_equilibrium(a)
    np.testing.assert_allclose(p, [1 / 6, 1 / 6, 1 / 3, 1 / 3], atol=1e-7)
    # The triples holding both rocks have an undecided pair; the other two are cycles.
    assert diversity.cyclic_triple_share(a) == 1.0


def test_an_agent_outside_the_support_can_bound_the_equilibrium():
    # 0 and 1 tie; 2 loses to 0 by 1 but beats 1 by 2, so an equilibrium needs p0 >= 2/3.
    # The support's own maximum-entropy point (1/2, 1/2) is beaten by 2: the bounded
    # solve over every agent's multiplier finds the most even mixture that is not.
    a = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, -2.0], [-1.0, 2.0, 0.0]])
    support, _ = diversity._maximal_support(a)
    np.testing.assert_allclose(
        diversity._max_entropy_newton(a[np.ix_(support, support)]), [0.5] * 2
    )
    p = diversity.nash_equilibrium(a)
    np.testing.assert_allclose(p, [2 / 3, 1 / 3, 0], atol=1e-7)
    assert_equilibrium(p, a)


def test_lp_equilibrium_is_returned_when_the_entropy_solve_fails(monkeypatch):
    class Stuck:
        x = np.zeros(3)  # softmax(0) = uniform: not an equilibrium of this game

    monkeypatch.setattr(diversity.optimize, "minimize", lambda *args, **kwargs: Stuck())
    a = weighted_rps(1.0, 0.5, 0.25)
    p = diversity.nash_equilibrium(a)
    np.testing.assert_allclose(p, [1 / 7, 2 / 7, 4 / 7], atol=1e-7)


@pytest.mark.parametrize(
    ("a", "expected"),
    [
        (TRANSITIVE, [1, 0, 0]),
        (weighted_rps(1.0, 0.5, 0.25), [1 / 7, 2 / 7, 4 / 7]),
        (np.zeros((3, 3)), [1 / 3] * 3),
        (RPS[np.ix_([0, 0, 1, 2], [0, 0, 1, 2])], [1 / 6, 1 / 6, 1 / 3, 1 / 3]),
        (np.block([[RPS, np.full((3, 1), 0.5)], [np.full((1, 3), -0.5), 0.0]]), [1 / 3] * 3 + [0]),
    ],
)
def test_entropy_solve_reaches_the_equilibrium_without_the_fallback(monkeypatch, a, expected):
    support_lp = diversity._maximal_support

    def poisoned(payoff):
        support, p = support_lp(payoff)
        return support, np.full_like(p, np.nan)  # any use of the LP's point shows up

    monkeypatch.setattr(diversity, "_maximal_support", poisoned)
    np.testing.assert_allclose(diversity.nash_equilibrium(a), expected, atol=1e-7)


@st.composite
def payoff_matrices(draw):
    n = draw(st.integers(1, 7))
    # Coarse values make ties and several equilibria common.
    values = draw(st.lists(st.sampled_from([-1.0, -0.5, 0.0, 0.25, 0.5, 1.0]), min_size=n * n))
    upper = np.triu(np.array(values[: n * n]).reshape(n, n), 1)
    return upper - upper.T


@settings(max_examples=60, deadline=None)
@given(payoff_matrices(), st.randoms(use_true_random=False))
def test_nash_is_a_best_response_and_does_not_depend_on_agent_order(a, rnd):
    p = diversity.nash_equilibrium(a)
    assert_equilibrium(p, a)
    # The maximum-entropy equilibrium is unique, so relabelling agents relabels it.
    order = list(range(len(a)))
    rnd.shuffle(order)
    q = diversity.nash_equilibrium(a[np.ix_(order, order)])
    np.testing.assert_allclose(q, p[order], atol=1e-5)
    assert 0.0 <= diversity.effective_diversity(a, p) <= 1.0


# --------------------------------------------------------------------------- behaviour


def test_js_divergence_by_hand():
    # p = (1, 0), q = (1/2, 1/2), m = (3/4, 1/4):
    # JS = 1/2 ln(4/3) + 1/4 ln(2/3) + 1/4 ln 2 = 3/2 ln 2 - 3/4 ln 3.
    dists = np.array([[[1.0, 0.0]], [[0.5, 0.5]]])
    expected = 1.5 * math.log(2) - 0.75 * math.log(3)
    assert diversity.mean_pairwise_js(dists) == pytest.approx(expected)
    assert expected == pytest.approx(jensenshannon([1, 0], [0.5, 0.5]) ** 2)
    # Disjoint moves: the bound ln 2. Three agents: pairs (ln 2, ln 2, 0) on one probe.
    disjoint = np.array([[[1.0, 0.0]], [[0.0, 1.0]], [[0.0, 1.0]]])
    assert diversity.mean_pairwise_js(disjoint) == pytest.approx(2 / 3 * math.log(2))
    assert math.isnan(diversity.mean_pairwise_js(dists[:1]))


def test_dvd_logdet_by_hand():
    # One probe, disjoint one-hot moves: squared distance 2, l = sqrt(1) -> K01 = e^-1.
    dists = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    expected = math.log((1 + 1e-6) ** 2 - math.exp(-2))
    assert diversity.dvd_logdet(dists) == pytest.approx(expected)
    # An explicit length scale: K01 = exp(-2 / (2 * 4)).
    expected = math.log((1 + 1e-6) ** 2 - math.exp(-0.5))
    assert diversity.dvd_logdet(dists, length_scale=2.0) == pytest.approx(expected)
    # The default length scale sqrt(probes) makes repeated probes change nothing.
    rng = np.random.default_rng(0)
    many = rng.dirichlet(np.ones(4), size=(5, 3))
    assert diversity.dvd_logdet(np.tile(many, (1, 4, 1))) == pytest.approx(
        diversity.dvd_logdet(many)
    )


def test_probe_positions_are_reproducible_and_live():
    game = games.make("connect_four")
    probes = diversity.probe_positions(game, 40, seed=3)
    assert len(probes) == 40
    assert not probes.done.any()
    assert probes.ply.min() >= 4 and probes.ply.max() <= 16
    assert game.legal_mask(probes).any(axis=1).all()
    np.testing.assert_array_equal(probes.data, diversity.probe_positions(game, 40, seed=3).data)
    assert not np.array_equal(probes.data, diversity.probe_positions(game, 40, seed=4).data)
    # Tic-tac-toe cannot last 16 plies: the target is capped at its last non-final ply.
    ttt = games.make("tic_tac_toe")
    short = diversity.probe_positions(ttt, 30, seed=0)
    assert not short.done.any() and short.ply.max() <= 8


class Leftmost:
    """Deterministic: always the lowest-numbered legal move."""

    def __init__(self, game=None, name="leftmost"):
        self.name = name

    def act(self, game, state, legal_mask, rng):
        return legal_mask.argmax(axis=1)


@pytest.fixture(scope="module")
def connect_four_probes():
    game = games.make("connect_four")
    probes = diversity.probe_positions(game, 48, seed=0)
    return game, probes, game.legal_mask(probes)


def test_real_agents_differ_and_deterministic_copies_do_not(connect_four_probes):
    game, probes, legal = connect_four_probes
    population = [
        agents.make("random", game),
        agents.make("greedy", game),
        Leftmost(),
        Leftmost(name="leftmost-2"),
    ]
    dists = diversity.action_distributions(population, game, probes, legal, samples=32)
    assert dists.shape == (4, len(probes), game.num_actions)
    np.testing.assert_allclose(dists.sum(axis=2), 1.0)
    assert not dists[:, ~legal].any()
    assert diversity.mean_pairwise_js(dists[:2]) > 0.0  # greedy wins and blocks
    assert diversity.mean_pairwise_js(dists[2:]) == 0.0
    assert (dists[2] == legal.astype(float) * (np.cumsum(legal, axis=1) == 1)).all()
    # Two identical agents cost about ln(1e-6) in the log-determinant.
    assert diversity.dvd_logdet(dists) < diversity.dvd_logdet(dists[:3]) - 10


def test_sampled_distributions_use_common_random_numbers(connect_four_probes):
    game, probes, legal = connect_four_probes
    pair = [agents.make("random", game), agents.make("random", game, name="random-2")]
    dists = diversity.action_distributions(pair, game, probes, legal, samples=8, seed=5)
    assert diversity.mean_pairwise_js(dists) == 0.0
    again = diversity.action_distributions(pair, game, probes, legal, samples=8, seed=5)
    np.testing.assert_array_equal(dists, again)
    other = diversity.action_distributions(pair, game, probes, legal, samples=8, seed=6)
    assert not np.array_equal(dists, other)


class Flat:
    """Reports weight 1 on every action, legal or not."""

    name = "flat"

    def evaluate(self, game, state, legal_mask):
        shape = legal_mask.shape
        return np.ones(shape, dtype=np.float32), np.zeros(shape[0], dtype=np.float32)


def test_reported_policies_are_renormalised_over_legal_moves(connect_four_probes):
    game, probes, legal = connect_four_probes
    (dist,) = diversity.action_distributions([Flat()], game, probes, legal)
    np.testing.assert_allclose(dist, legal / legal.sum(axis=1, keepdims=True))


def test_agents_reporting_policies_are_read_through_evaluate(connect_four_probes):
    game, probes, legal = connect_four_probes
    # MCTS.evaluate uses a fixed seed: two copies report the same visit distribution.
    pair = [agents.make("mcts:sims=32", game), agents.make("mcts:sims=32", game)]
    dists = diversity.action_distributions(pair, game, probes, legal)
    np.testing.assert_allclose(dists.sum(axis=2), 1.0)
    assert diversity.mean_pairwise_js(dists) == 0.0
    # Search spreads its visits, unlike 32 samples of a single move per probe.
    assert (dists[0] > 0).sum(axis=1).mean() > 1.5


# --------------------------------------------------------------------------- all metrics


def test_population_metrics_fill_the_diversity_table(tmp_path):
    dists = np.array([[[1.0, 0.0]], [[0.0, 1.0]], [[0.5, 0.5]]])
    values = diversity.population_metrics(RPS, dists)
    assert list(values) == [*diversity.RESULT_METRICS, *diversity.BEHAVIOUR_METRICS]
    assert values["effective_diversity"] == pytest.approx(1 / 3)
    assert values["dpp_cardinality"] == pytest.approx(1.5)
    assert values["nash_support"] == 3.0
    assert values["nash_entropy"] == pytest.approx(math.log(3))
    assert values["cyclic_triple_share"] == 1.0
    assert values["mean_js_divergence"] == pytest.approx(diversity.mean_pairwise_js(dists))
    assert values["dvd_logdet"] == pytest.approx(diversity.dvd_logdet(dists))
    assert list(diversity.population_metrics(TRANSITIVE)) == list(diversity.RESULT_METRICS)
    rows = {"metric": list(values), "value": list(values.values())}
    metrics.write_round(tmp_path, "diversity", 0, rows)
    table = metrics.read_table(tmp_path, "diversity")
    assert table["metric"].to_pylist() == list(values)
    assert table["value"].to_pylist() == pytest.approx(list(values.values()))
