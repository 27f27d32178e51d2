"""α-Rank against OpenSpiel's open_spiel.python.egt.alpharank on the same payoff tables."""

import math
import warnings

import numpy as np
import pyspiel
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from open_spiel.python import policy as openspiel_policy
from open_spiel.python.algorithms import expected_game_score
from open_spiel.python.algorithms.psro_v2 import utils as psro_utils
from open_spiel.python.egt import alpharank as reference
from open_spiel.python.egt import utils as egt_utils

from arena.alpharank import AlphaRankError, alpha_sweep, alpharank, epsilon_sweep

ATOL = 1e-6


def matrix_game(name: str) -> list[np.ndarray]:
    """Both players' payoff tables of one of OpenSpiel's matrix games."""
    return list(egt_utils.game_payoffs_array(pyspiel.load_game(name)))


def kuhn_policy_values(count: int, seed: int) -> np.ndarray:
    """v[i, j]: player 0's exact expected return when pure policy i (of ``count`` random
    deterministic Kuhn poker policies) plays first against policy j."""
    game = pyspiel.load_game("kuhn_poker")
    rng = np.random.default_rng(seed)
    policies = []
    for _ in range(count):
        policy = openspiel_policy.TabularPolicy(game)
        table = policy.action_probability_array
        table[:] = 0.0
        table[np.arange(len(table)), rng.integers(0, 2, size=len(table))] = 1.0
        policies.append(policy)
    root = game.new_initial_state()
    return np.array(
        [[expected_game_score.policy_value(root, [a, b])[0] for b in policies] for a in policies]
    )


KUHN = kuhn_policy_values(5, seed=0)
# One population whose members play either seat: i's mean return against j over both seats.
KUHN_SYMMETRIC = (KUHN - KUHN.T) / 2
RPS = matrix_game("matrix_rps")[0]
# OpenSpiel's biased RPS scaled to unit payoffs (its own +-50 overflow exp in OpenSpiel's
# fixation probabilities at alpha >= 15, which ours avoid).
BIASED_RPS = matrix_game("matrix_brps")[0] / 50

SINGLE = {"rps": RPS, "biased rps": BIASED_RPS, "kuhn symmetric": KUHN_SYMMETRIC}
MULTI = {
    "battle of the sexes": matrix_game("matrix_bos"),
    "prisoner's dilemma": matrix_game("matrix_pd"),
    "kuhn 2 populations": [KUHN, -KUHN],
    "random 3 populations": [np.random.default_rng(5).normal(size=(2, 3, 2)) for _ in range(3)],
}
SETTINGS = [
    {"alpha": 0.5, "m": 5},
    {"alpha": 1.0, "m": 10},
    {"use_inf_alpha": True, "inf_alpha_eps": 0.01},
    {"use_inf_alpha": True, "inf_alpha_eps": 1e-5},
]


def reference_pi(tables, **kwargs) -> np.ndarray:
    with np.errstate(over="ignore"):  # OpenSpiel's exp(-m u) overflows to a correct 0
        return reference.compute(tables, **kwargs)[2]


def assert_fixation_equal(result, tables, settings):
    """The fixation probabilities equal OpenSpiel's (which it keeps for finite α only)."""
    if "use_inf_alpha" in settings:
        eps = settings["inf_alpha_eps"]
        assert result.rho_neutral == 0.5
        assert set(np.unique(result.rho.data)) <= {eps, 0.5, 1 - eps}
        return
    with np.errstate(over="ignore"):
        rhos, rho_m = reference.compute(tables, **settings)[:2]
    np.testing.assert_allclose(result.rho.toarray(), rhos, rtol=1e-9, atol=1e-15)
    assert result.rho_neutral == rho_m


# --------------------------------------------------------------------------- agreement


@pytest.mark.parametrize("settings", SETTINGS, ids=str)
@pytest.mark.parametrize("name", SINGLE)
def test_single_population_equals_openspiel(name, settings):
    result = alpharank([SINGLE[name]], **settings)
    np.testing.assert_allclose(result.pi, reference_pi([SINGLE[name]], **settings), atol=ATOL)
    assert_fixation_equal(result, [SINGLE[name]], settings)
    assert result.marginals[0] is result.pi
    np.testing.assert_array_equal(result.profiles, np.arange(len(result.pi))[:, None])
    assert result.alpha == (math.inf if "use_inf_alpha" in settings else settings["alpha"])


@pytest.mark.parametrize("name", SINGLE)
def test_whole_population_fitness_equals_openspiel(name):
    # Not the local selection model: each agent's fitness is against the whole population.
    for alpha, m in [(0.5, 5), (2.0, 30)]:
        mine = alpharank([SINGLE[name]], alpha=alpha, m=m, local_selection=False).pi
        theirs = reference_pi([SINGLE[name]], alpha=alpha, m=m, use_local_selection_model=False)
        np.testing.assert_allclose(mine, theirs, atol=ATOL)


@pytest.mark.parametrize("settings", SETTINGS, ids=str)
@pytest.mark.parametrize("name", MULTI)
def test_multi_population_equals_openspiel(name, settings):
    tables = MULTI[name]
    result = alpharank(tables, **settings)
    pi = reference_pi(tables, **settings)
    np.testing.assert_allclose(result.pi, pi, atol=ATOL)
    assert_fixation_equal(result, tables, settings)
    # Profiles in OpenSpiel's numbering, and its PSRO's marginals.
    shape = tables[0].shape
    for i, profile in enumerate(result.profiles):
        np.testing.assert_array_equal(egt_utils.get_strat_profile_from_id(shape, i), profile)
    for mine, theirs in zip(
        result.marginals, psro_utils.get_alpharank_marginals(tables, pi), strict=True
    ):
        np.testing.assert_allclose(mine, theirs, atol=ATOL)


@hypothesis_settings(max_examples=40, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    seed=st.integers(0, 2**32 - 1),
    alpha=st.floats(0.01, 0.5),
    m=st.integers(2, 15),
)
def test_random_tables_equal_openspiel(shape, seed, alpha, m):
    # One axis: a single population (square table); more: one table per population.
    rng = np.random.default_rng(seed)
    if len(shape) == 1:
        tables = [rng.uniform(-1, 1, size=(shape[0], shape[0]))]
    else:
        tables = [rng.uniform(-1, 1, size=shape) for _ in shape]
    for kwargs in [{"alpha": alpha, "m": m}, {"use_inf_alpha": True, "inf_alpha_eps": alpha}]:
        pi = alpharank(tables, **kwargs).pi
        np.testing.assert_allclose(pi, reference_pi(tables, **kwargs), atol=ATOL)


def test_many_agents_equal_openspiel():
    # 70 agents: more than one block of residents in the whole-population model.
    a = np.random.default_rng(7).normal(size=(70, 70))
    a = a - a.T
    for settings in [{"alpha": 10.0, "m": 50}, *SETTINGS]:
        np.testing.assert_allclose(
            alpharank([a], **settings).pi, reference_pi([a], **settings), atol=ATOL
        )
    mine = alpharank([a], alpha=0.5, m=5, local_selection=False).pi
    theirs = reference_pi([a], alpha=0.5, m=5, use_local_selection_model=False)
    np.testing.assert_allclose(mine, theirs, atol=ATOL)


@pytest.mark.parametrize("tables", [[RPS], [BIASED_RPS], [KUHN_SYMMETRIC]], ids=SINGLE)
def test_alpha_sweep_equals_openspiel(tables):
    alphas, pis = alpha_sweep(tables)
    with np.errstate(over="ignore"):
        pi, alpha = reference.sweep_pi_vs_alpha(tables, return_alpha=True)
    assert alphas[-1] == pytest.approx(alpha, rel=1e-12)
    np.testing.assert_allclose(pis[-1], pi, atol=ATOL)
    assert alphas[0] == 1e-4 and np.all(np.diff(alphas) > 0)


@pytest.mark.parametrize("name", ["kuhn 2 populations", "prisoner's dilemma"])
def test_epsilon_sweep_equals_openspiel(name):
    epsilons, pis = epsilon_sweep(MULTI[name])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # OpenSpiel prints and warns on its way down
        pi, epsilon = reference.sweep_pi_vs_epsilon(MULTI[name], return_epsilon=True)
    assert epsilons[-1] == pytest.approx(epsilon, rel=1e-12)
    np.testing.assert_allclose(pis[-1], pi, atol=ATOL)


# --------------------------------------------------------------------------- meaning


def test_rps_ranks_uniformly_and_a_dominant_strategy_takes_all():
    np.testing.assert_allclose(alpharank([RPS]).pi, 1 / 3, atol=1e-12)
    # Defection dominates in the prisoner's dilemma: (defect, defect) is the sink.
    result = alpharank(matrix_game("matrix_pd"), use_inf_alpha=True, inf_alpha_eps=1e-8)
    assert result.pi[3] > 1 - 1e-6
    np.testing.assert_array_equal(result.profiles[3], [1, 1])


def test_a_large_alpha_that_breaks_the_chain_apart_is_reported():
    # Battle of the sexes: leaving either coordinated outcome costs 2 or 3, and at
    # alpha 10 with m = 50 that fixation probability underflows to 0 (OpenSpiel too
    # finds two stationary distributions there).
    with pytest.raises(AlphaRankError, match="2 closed classes.*infinite-alpha"):
        alpharank(matrix_game("matrix_bos"), alpha=10.0, m=50)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "payoffs, kwargs, message",
    [
        ([np.zeros((2, 3))], {}, "must be square"),
        ([], {}, "no payoff tables"),
        ([np.zeros((2, 2)), np.zeros((2, 3))], {}, "table 1 has shape"),
        ([np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 2))], {}, "3 axes"),
        ([np.array([[0.0, np.nan], [0.0, 0.0]])], {}, "NaN"),
        ([np.array([[0.0, np.inf], [0.0, 0.0]])], {}, "NaN or infinite"),
        ([RPS], {"m": 1}, "m must be an integer >= 2"),
        ([RPS], {"m": 2.5}, "m must be an integer >= 2"),
        ([RPS], {"alpha": 0.0}, "alpha must be a positive"),
        ([RPS], {"alpha": -1.0}, "alpha must be a positive"),
        ([RPS], {"alpha": math.inf}, "alpha must be a positive finite"),
        ([RPS], {"use_inf_alpha": True, "inf_alpha_eps": 0.0}, "inf_alpha_eps"),
    ],
)
def test_bad_input_is_refused(payoffs, kwargs, message):
    with pytest.raises(ValueError, match=message):
        alpharank(payoffs, **kwargs)
