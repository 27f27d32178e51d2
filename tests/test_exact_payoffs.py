"""Exact payoff tables (arena/exact_payoffs.py): against hand-computed rock-paper-scissors and
OpenSpiel's expected values on Kuhn poker, None where they cannot be computed, and `arena
ratings --exact` on a league's and a tournament's agents."""

from __future__ import annotations

import numpy as np
import pytest

import agents
import games
from arena import exact_payoffs, ids, metrics, payoffs, population, results
from arena.league import run_league
from arena.tournament import run_tournament
from tests.test_population_eval import RPS_LEAGUE, arena


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


def printed_masses(output: str) -> dict[str, float]:
    """agent -> mass from `arena ratings --method alpharank`'s table."""
    rows = (line.split("│") for line in output.splitlines() if line.count("│") == 4)
    return {cells[2].strip(): float(cells[3]) for cells in rows if cells[1].strip().isdigit()}


def test_ratings_exact_ranks_a_leagues_agents_on_their_strategies(tmp_path):
    """The latest evaluation's agents rebuilt from metrics/population (learner versions from
    their round's checkpoints): α-Rank of their exact table, not of their 16 games a pair."""
    run = run_league({**RPS_LEAGUE, "out": str(tmp_path / "league")}, log=lambda _: None)
    done = arena("ratings", run, "--method", "alpharank", "--exact")
    assert done.exit_code == 0, done.output
    assert "on exact expected payoffs" in done.output
    shown = printed_masses(done.output)
    names = results.latest_evaluation_agents(run)
    assert sorted(shown) == names and any("@r" in n for n in names)
    game = games.make(RPS_LEAGUE["game"])
    members = metrics.read_table(run, "population").to_pandas()
    last = members[members["round"] == members["round"].max()].set_index("agent")["spec"]
    built = {n: agents.make(last[n.split("@")[0]], game, name=n) for n in names}
    exact = exact_payoffs.antisymmetric(exact_payoffs.seat_tables(game, built))
    mass = population.alpharank_rows(names, exact)["mass"]
    assert [shown[n] for n in names] == pytest.approx(mass, abs=5e-5)  # printed to 4 places
    sampled = payoffs.load(run, ids.EVAL_ONLY, names).antisymmetric()
    assert np.abs(sampled - exact).max() > 0.05  # the games alone rank otherwise


def test_ratings_exact_gives_the_pure_strategies_of_rps_equal_mass(tmp_path):
    """`random` and the three pure strategies treat each other alike: α-Rank gives each
    exactly a quarter on exact payoffs, and its 20 games a pair do not."""
    run = tmp_path / "rps"
    pure = [f"fixed:action={k}" for k in range(3)]
    run_tournament(
        {"game": "matrix:name=rps", "agents": ["random", *pure], "games_per_pair": 20,
         "out": str(run)}
    )  # fmt: skip
    exact = printed_masses(arena("ratings", run, "--method", "alpharank", "--exact").output)
    assert exact == {name: 0.25 for name in ["random", *pure]}
    sampled = printed_masses(arena("ratings", run, "--method", "alpharank").output)
    assert max(abs(m - 0.25) for m in sampled.values()) > 0.01
    # Where there is no tree, or no --method to take it: one-line errors.
    elo = arena("ratings", run, "--exact")
    assert elo.exit_code == 2 and "--exact go with --method alpharank" in elo.output
    c4 = tmp_path / "c4"
    run_tournament(
        {"game": "connect_four", "agents": ["random", "fixed:action=3"], "games_per_pair": 2,
         "out": str(c4)}
    )  # fmt: skip
    none = arena("ratings", c4, "--method", "nash-avg", "--exact")
    assert none.exit_code == 2 and "--exact: no exact payoffs" in none.output
    assert len(none.output.strip().splitlines()) == 1


def test_ratings_exact_ranks_the_seats_apart_where_they_differ(tmp_path):
    """Kuhn poker's seats differ: the per-seat table comes from the exact seat tables too
    (a tournament has no self-play games, so the games alone could not rank per seat)."""
    names = ["random", "fixed:action=0", "fixed:action=1"]
    run = tmp_path / "kuhn"
    run_tournament({"game": "kuhn_poker", "agents": names, "games_per_pair": 2, "out": str(run)})
    done = arena("ratings", run, "--method", "alpharank", "--exact")
    assert done.exit_code == 0, done.output
    seats = done.output.split("α-Rank per seat")[1]
    rows = [line.split("│") for line in seats.splitlines() if line.count("│") == 5]
    shown = {r[2].strip(): (float(r[3]), float(r[4])) for r in rows if r[1].strip().isdigit()}
    game, pool = made("kuhn_poker", names)
    mass = population.alpharank_per_seat_rows(names, exact_payoffs.seat_tables(game, pool))
    expected = np.reshape(mass["mass"], (2, 3))
    for i, name in enumerate(names):
        assert shown[name] == pytest.approx(tuple(expected[:, i]), abs=5e-5)
