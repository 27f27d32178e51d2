"""Exact payoff tables (arena/exact_payoffs.py): against hand-computed rock-paper-scissors and
OpenSpiel's expected values on Kuhn poker, None where they cannot be computed, and a league's
evaluation on them."""

from __future__ import annotations

import numpy as np
import pytest

import agents
import games
from arena import exact_payoffs, ids, metrics, payoffs, population
from arena.league import run_league
from tests.test_population_eval import RPS_LEAGUE


def made(spec: str, names: list[str]) -> tuple[games.Game, dict]:
    game = games.make(spec)
    return game, {n: agents.make(n, game) for n in names}


def test_rps_tables_are_the_matrix_against_each_strategy():
    game, pool = made("matrix:name=rps", ["fixed:action=0", "fixed:action=1", "random"])
    first, second = exact_payoffs.seat_tables(game, pool)
    # Rock (row 0) against paper (column 1) loses a chip in either seat; random breaks even.
    expected = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(first, expected, atol=1e-12)
    np.testing.assert_allclose(second, -expected, atol=1e-12)
    a = exact_payoffs.antisymmetric([first, second])
    np.testing.assert_allclose(a, expected, atol=1e-12)


def test_kuhn_tables_match_openspiel_expected_values():
    pyspiel = pytest.importorskip("pyspiel")
    from open_spiel.python import policy
    from open_spiel.python.algorithms import expected_game_score

    names = ["random", "fixed:action=0", "fixed:action=1"]  # uniform, always pass, always bet
    game, pool = made("kuhn_poker", names)
    first, second = exact_payoffs.seat_tables(game, pool)
    theirs = pyspiel.load_game("kuhn_poker")
    policies = [policy.UniformRandomPolicy(theirs)]
    for action in (0, 1):
        table = policy.TabularPolicy(theirs)
        table.action_probability_array[:] = 0.0
        table.action_probability_array[:, action] = 1.0
        policies.append(table)
    root = theirs.new_initial_state()
    for i in range(3):
        for j in range(3):
            values = expected_game_score.policy_value(root, [policies[i], policies[j]])
            assert first[i, j] == pytest.approx(values[0], abs=1e-12)
            assert second[i, j] == pytest.approx(values[1], abs=1e-12)


class Unstated:
    """Plays the lowest legal action without stating a strategy: only its games measure it."""

    name = "unstated"

    def act(self, game, state, legal_mask, rng, player=None):
        return legal_mask.argmax(axis=1)


def test_no_tables_where_they_cannot_be_computed():
    game, both = made("connect_four", ["random", "fixed:action=3"])
    assert exact_payoffs.seat_tables(game, both) is None  # perfect information: no tree
    game, three = made("kuhn_poker:players=3", ["random", "fixed:action=0"])
    assert exact_payoffs.seat_tables(game, three) is None  # tables of two seats only
    game, rps = made("matrix:name=rps", ["random"])
    assert exact_payoffs.seat_tables(game, {**rps, "unstated": Unstated()}) is None


def test_a_rps_league_ranks_its_population_on_exact_payoffs(tmp_path):
    """The league's α-Rank is that of the exact table of the evaluated agents (rebuilt here
    from their specs in metrics/population), not that of its 16 games per pair."""
    run = run_league({**RPS_LEAGUE, "out": str(tmp_path / "league")}, log=lambda _: None)
    ranked = metrics.read_table(run, "alpharank").to_pydict()
    (last,) = set(ranked["round"])
    members = metrics.read_table(run, "population").to_pandas()
    spec = members[members["round"] == last].set_index("agent")["spec"]
    game = games.make(RPS_LEAGUE["game"])
    names = ranked["agent"]
    # A learner's version (main@r0002) is its slot's checkpoint of that round.
    built = {n: agents.make(spec[n.split("@")[0]], game, name=n) for n in names}
    exact = exact_payoffs.antisymmetric(exact_payoffs.seat_tables(game, built))
    np.testing.assert_allclose(
        ranked["mass"], population.alpharank_rows(names, exact)["mass"], atol=1e-12
    )
    sampled = payoffs.load(run, ids.EVAL_ONLY, names).antisymmetric()
    assert np.abs(sampled - exact).max() > 0.05  # the games alone would have ranked otherwise
