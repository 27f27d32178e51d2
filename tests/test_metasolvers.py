"""PSRO meta-solvers against known equilibria and OpenSpiel's psro_v2 meta-strategies."""

import numpy as np
import pyspiel
import pytest
from open_spiel.python.algorithms.psro_v2 import meta_strategies
from open_spiel.python.algorithms.psro_v2 import utils as psro_utils
from open_spiel.python.egt import utils as egt_utils

from arena.metasolvers import (
    META_SOLVERS,
    MetaSolverError,
    meta_strategy,
    projected_replicator_dynamics,
    regrets,
)


def openspiel_tables(name: str) -> list[np.ndarray]:
    """Both players' payoff tables of one of OpenSpiel's matrix games."""
    return list(egt_utils.game_payoffs_array(pyspiel.load_game(name)))


def zero_sum(a: np.ndarray) -> list[np.ndarray]:
    return [a, -a]


class MetaGame:
    """The part of a PSRO solver that OpenSpiel's meta-strategy functions read."""

    symmetric_game = False

    def __init__(self, tables: list[np.ndarray], **kwargs):
        self.tables = tables
        self.kwargs = kwargs

    def get_meta_game(self) -> list[np.ndarray]:
        return self.tables

    def get_kwargs(self) -> dict:
        return self.kwargs


# A general-sum game (a Shapley game with unequal payoffs) around whose interior
# equilibrium replicator dynamics spirals out: the time average never settles.
CYCLING = [
    np.array([[0.0, 0.0, 2.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]),
    np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.5, 0.0, 0.0]]),
]


def assert_mixtures_close(mine, reference, atol):
    assert len(mine) == len(reference)
    for x, y in zip(mine, reference, strict=True):
        np.testing.assert_allclose(x, np.asarray(y).ravel(), rtol=0, atol=atol)


# --------------------------------------------------------------------------- nash


def test_nash_of_rps_is_uniform_and_of_biased_rps_the_known_mixture():
    np.testing.assert_allclose(meta_strategy("nash", openspiel_tables("matrix_rps")), 1 / 3)
    # OpenSpiel's biased RPS (payoffs +-25, +-50, +-5): the equilibrium is (1, 10, 5) / 16.
    for x in meta_strategy("nash", openspiel_tables("matrix_brps")):
        np.testing.assert_allclose(x, np.array([1, 10, 5]) / 16, atol=1e-9)


def test_nash_agrees_with_openspiel_lp_on_a_rectangular_game():
    a = np.random.default_rng(3).normal(size=(5, 8))
    mine = meta_strategy("nash", zero_sum(a))
    assert regrets(zero_sum(a), mine).max() < 1e-9
    reference = meta_strategies.nash_strategy(MetaGame(zero_sum(a)))
    assert_mixtures_close(mine, reference, atol=1e-6)


def test_nash_accepts_constant_sum_score_rates():
    # Score rates of both seats sum to 1: the same equilibrium as the zero-sum 2 S - 1.
    s = np.array([[0.5, 0.9, 0.2], [0.1, 0.5, 0.7], [0.8, 0.3, 0.5]])
    mine = meta_strategy("nash", [s, 1.0 - s])
    assert_mixtures_close(mine, meta_strategy("nash", zero_sum(2 * s - 1)), atol=1e-9)


def test_nash_refuses_general_sum_and_more_players():
    with pytest.raises(MetaSolverError, match="zero-sum.*do not sum to a constant"):
        meta_strategy("nash", openspiel_tables("matrix_bos"))
    tables = [np.zeros((2, 2, 2))] * 3
    with pytest.raises(MetaSolverError, match="not 3 players"):
        meta_strategy("nash", tables)


# --------------------------------------------------------------------------- prd


def test_prd_with_default_settings_equals_openspiel_prd_strategy():
    # Payoffs of +-2 as in Kuhn poker. (On the original +-50, Euler steps of 0.05 turn the
    # orbit chaotic: summation order alone moves the average by 1e-3, in either program.)
    tables = [t / 25 for t in openspiel_tables("matrix_brps")]
    reference = meta_strategies.prd_strategy(MetaGame(tables))
    assert_mixtures_close(meta_strategy("prd", tables), reference, atol=1e-9)


@pytest.mark.parametrize(
    "tables",
    [
        zero_sum(np.random.default_rng(0).normal(size=(4, 6))),
        [np.random.default_rng(1).normal(size=(3, 2, 3)) for _ in range(3)],  # 3 players
    ],
    ids=["zero-sum 4x6", "3-player general-sum"],
)
def test_prd_equals_openspiel_on_random_tables(tables):
    kwargs = {"prd_iterations": 20_000, "prd_dt": 2e-3, "prd_gamma": 1e-4}
    reference = meta_strategies.prd_strategy(MetaGame(tables, **kwargs))
    mine = projected_replicator_dynamics(tables, iterations=20_000, dt=2e-3, gamma=1e-4)
    assert_mixtures_close(mine, reference, atol=1e-9)


def test_prd_reports_dynamics_that_do_not_converge():
    with pytest.raises(MetaSolverError, match="prd did not converge: .* player 0 still gains"):
        meta_strategy("prd", CYCLING)


def test_prd_parameters_are_checked():
    with pytest.raises(ValueError, match="gamma"):
        projected_replicator_dynamics(zero_sum(np.eye(3)), gamma=0.5)
    with pytest.raises(ValueError, match="iterations"):
        projected_replicator_dynamics(zero_sum(np.eye(3)), iterations=0)


# --------------------------------------------------------------------------- alpharank, uniform


@pytest.mark.parametrize("name", ["matrix_brps", "matrix_bos", "matrix_pd"])
def test_alpharank_marginals_equal_openspiel_psro_alpharank_strategy(name):
    tables = openspiel_tables(name)
    reference, _ = psro_utils.alpharank_strategy(MetaGame(tables), return_joint=True)
    assert_mixtures_close(meta_strategy("alpharank", tables), reference, atol=1e-6)


def test_alpharank_and_prd_handle_three_players_and_uniform_is_uniform():
    tables = [np.random.default_rng(2).normal(size=(2, 3, 4)) for _ in range(3)]
    mixtures = meta_strategy("alpharank", tables)
    assert [len(x) for x in mixtures] == [2, 3, 4]
    for x in mixtures:
        assert x.min() >= 0 and x.sum() == pytest.approx(1.0)
    assert_mixtures_close(
        meta_strategy("uniform", tables), [np.full(n, 1 / n) for n in (2, 3, 4)], atol=0
    )


# --------------------------------------------------------------------------- bad input


def test_bad_input_is_refused_with_a_clear_error():
    assert META_SOLVERS == ("nash", "alpharank", "uniform", "prd")
    with pytest.raises(ValueError, match="unknown meta-solver 'ficticious'"):
        meta_strategy("ficticious", zero_sum(np.eye(2)))
    with pytest.raises(ValueError, match="at least two"):
        meta_strategy("uniform", [np.eye(2)])
    with pytest.raises(ValueError, match="table 1 has shape"):
        meta_strategy("nash", [np.eye(2), np.eye(3)])
    with pytest.raises(ValueError, match="NaN"):
        meta_strategy("prd", [np.eye(2), np.full((2, 2), np.nan)])
    with pytest.raises(ValueError, match="2 axes"):
        meta_strategy("uniform", [np.zeros(3), np.zeros(3)])
