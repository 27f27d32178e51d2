"""Per-seat (two-population) α-Rank where the seats differ: which games, the league's
self-play evaluation games and what they must not change (Elo, win rates), the
`alpharank_per_seat` metrics against OpenSpiel's α-Rank, and `arena ratings`."""

import numpy as np
import pytest

import games
from arena import ids, metrics, payoffs, population, results
from arena.league import run_league
from arena.ratings import fit_ratings
from tests.test_population_eval import KUHN, arena, write_games

# A small, quick Kuhn league (seconds): random and both pure strategies (always pass,
# always bet) as anchors, and two PPO learners: five agents per evaluation round.
KUHN_LEAGUE = {
    "game": "kuhn_poker",
    "minutes": 0.0,
    "rounds": 2,
    "learner": {"channels": 8, "train_steps": 4},
    "league": {"games_per_round": 64, "anchors": ["random", "fixed:action=0", "fixed:action=1"]},
    "evaluation": {"every": 2, "games_per_pair": 16, "probe_positions": 4},
}
GAMES_PER_PAIR = KUHN_LEAGUE["evaluation"]["games_per_pair"]
SELF_PLAY = "len(agents) = 2 AND agents[1] = agents[2]"


@pytest.fixture(scope="module")
def kuhn_league(tmp_path_factory):
    out = tmp_path_factory.mktemp("kuhn") / "league"
    return run_league({**KUHN_LEAGUE, "out": str(out)}, log=lambda _: None)


def test_which_games_rank_their_seats_apart():
    differ = {spec: population.seats_differ(games.make(spec)) for spec in SPECS}
    assert differ == SPECS
    # More players: no per-seat tables (arena.payoffs), so never per seat.
    assert not population.seats_differ(games.make("kuhn_poker:players=3"))


SPECS = {
    "kuhn_poker": True,  # the first player bets first
    "leduc_poker": True,
    "connect_four": True,
    "matrix:name=mp": True,  # one seat wants to match, the other to differ
    "matrix:name=rps": False,  # the column table is the row table transposed
    "matrix:name=pd": False,
    "goofspiel": False,  # the same cards, bids at once
    "goofspiel:order=random": False,
}


def test_league_plays_each_agent_against_itself_in_its_evaluation(kuhn_league):
    agents = results.latest_evaluation_agents(kuhn_league)
    assert len(agents) == 5 and {"fixed:action=0", "fixed:action=1", "random"} < set(agents)
    rows = results.query(
        kuhn_league,
        f"SELECT agents[1] AS agent, count(*) AS games FROM games "
        f"WHERE {ids.EVAL_ONLY} AND {SELF_PLAY} GROUP BY ALL ORDER BY agent",
    ).to_pydict()
    assert rows == {"agent": agents, "games": [GAMES_PER_PAIR] * 5}


def test_self_play_games_stay_out_of_elo_and_win_rates(kuhn_league):
    ratings = metrics.read_table(kuhn_league, "ratings").to_pydict()
    # Each agent met the four others, GAMES_PER_PAIR games each; its self-play games
    # would add 2 x GAMES_PER_PAIR (it sat in both seats).
    assert ratings["games"] == [4 * GAMES_PER_PAIR] * 5
    # The same fit as from the evaluation games without any self-play.
    apart = results.pair_table(kuhn_league, f"{ids.EVAL_ONLY} AND NOT ({SELF_PLAY})")
    assert fit_ratings(apart).agents == tuple(ratings["agent"])
    np.testing.assert_allclose(fit_ratings(apart).rating, ratings["rating"], atol=1e-9)
    rates = metrics.read_table(kuhn_league, "winrates").to_pydict()
    assert all(a != b for a, b in zip(rates["agent"], rates["opponent"], strict=True))
    assert set(rates["games"]) == {GAMES_PER_PAIR} and len(rates["agent"]) == 5 * 4


def test_self_play_rows_change_no_rating():
    pairs = {"first": ["a", "b"], "second": ["b", "a"], "first_wins": [6, 5], "draws": [1, 0]}
    pairs["second_wins"] = [3, 5]
    # Self-play rows where the first seat always wins: counted, they would move the
    # first-move advantage and each agent's count of games.
    with_self = {
        "first": [*pairs["first"], "a", "b"],
        "second": [*pairs["second"], "a", "b"],
        "first_wins": [*pairs["first_wins"], 40, 40],
        "draws": [*pairs["draws"], 0, 0],
        "second_wins": [*pairs["second_wins"], 0, 0],
    }
    plain, counted = fit_ratings(pairs), fit_ratings(with_self)
    np.testing.assert_allclose(counted.rating, plain.rating, atol=1e-9)
    assert counted.first_move_advantage == pytest.approx(plain.first_move_advantage)
    np.testing.assert_array_equal(counted.games, plain.games)


def openspiel_marginals(tables: list[np.ndarray], alpha: float) -> list[np.ndarray]:
    """Each population's marginal of OpenSpiel's multi-population α-Rank."""
    pytest.importorskip("matplotlib")  # open_spiel.python.egt.alpharank imports it
    from open_spiel.python.egt import alpharank as openspiel_alpharank

    pi = openspiel_alpharank.compute(tables, m=50, alpha=alpha)[2]
    joint = np.asarray(pi).reshape(tables[0].shape)
    return [joint.sum(axis=1), joint.sum(axis=0)]


def test_per_seat_alpharank_metrics_agree_with_openspiel(kuhn_league):
    stored = metrics.read_table(kuhn_league, "alpharank_per_seat").to_pydict()
    assert metrics.rounds(kuhn_league, "alpharank_per_seat") == [2]
    agents = stored["agent"][:5]  # in the league's order of its members
    # Every agent met every other and itself in both seats: nobody is left out.
    assert sorted(agents) == results.latest_evaluation_agents(kuhn_league)
    assert stored["agent"] == agents * 2 and stored["seat"] == [0] * 5 + [1] * 5
    mass = np.reshape(stored["mass"], (2, 5))
    np.testing.assert_allclose(mass.sum(axis=1), [1.0, 1.0])
    tables = payoffs.load(kuhn_league, ids.EVAL_ONLY, agents).per_seat()
    # Kuhn poker is zero-sum: seat 1's table is minus seat 0's, game by game.
    np.testing.assert_array_equal(tables[1], -tables[0])
    np.testing.assert_allclose(mass, openspiel_marginals(tables, stored["alpha"][0]), atol=1e-6)
    # At a small α every profile keeps mass, so the comparison sees the whole chain.
    mild = np.reshape(population.alpharank_per_seat_rows(agents, tables, 0.5)["mass"], (2, 5))
    assert mild.min() > 1e-4
    np.testing.assert_allclose(mild, openspiel_marginals(tables, 0.5), atol=1e-6)


def test_ratings_command_prints_the_seats_ranking(kuhn_league):
    result = arena("ratings", kuhn_league, "--method", "alpharank")
    assert result.exit_code == 0, result.output
    stored = metrics.read_table(kuhn_league, "alpharank_per_seat").to_pydict()
    lines = result.output.splitlines()
    title = next(i for i, line in enumerate(lines) if "α-Rank per seat" in line)
    for seat, agent, mass in zip(stored["seat"], stored["agent"], stored["mass"], strict=True):
        row = next(line for line in lines[title:] if f" {agent} " in line)
        assert row.split()[5 + 2 * seat] == f"{mass:.4f}"  # "│ # │ agent │ seat 0 │ seat 1 │"


def test_missing_profiles_are_named_and_the_complete_agents_ranked(tmp_path):
    # A Kuhn tournament-like run: a and b in both seats, a against itself, b never.
    write_games(
        tmp_path,
        KUHN,
        [
            (("a", "b"), (1, -1), 2),
            (("b", "a"), (2, -2), 2),
            (("a", "a"), (1, -1), 2),
            (("c", "a"), (-1, 1), 2),
            (("a", "c"), (1, -1), 2),
            (("c", "c"), (1, -1), 2),
        ],
    )
    completion = payoffs.load(tmp_path).complete(seats=True)
    assert completion.missing == (("b", "b"), ("b", "c"), ("c", "b"))
    assert completion.dropped == ("b",) and completion.tables.agents == ("a", "c")
    assert completion.describe() == (
        "profiles without games (first vs second): b vs b, b vs c, c vs b; evaluated on "
        "the 2 agents that have every profile, without b"
    )
    result = arena("ratings", tmp_path, "--method", "alpharank")
    assert result.exit_code == 0, result.output
    assert "per-seat α-Rank: profiles without games (first vs second): b vs b" in result.output
    # Ranked: a and c only, as multi-population α-Rank of their tables has them.
    rows = [line.split() for line in result.output.splitlines() if line.startswith("│")]
    mass = population.alpharank_per_seat_rows(["a", "c"], completion.tables.per_seat())["mass"]
    order = np.argsort(-(mass[:2] + mass[2:]))
    assert [row[3] for row in rows[-2:]] == [["a", "c"][i] for i in order]
    assert [row[5::2][:2] for row in rows[-2:]] == [
        [f"{mass[i]:.4f}", f"{mass[2 + i]:.4f}"] for i in order
    ]


def test_ratings_command_on_games_without_self_play_says_so(tmp_path):
    write_games(tmp_path, KUHN, [(("a", "b"), (1, -1), 2), (("b", "a"), (1, -1), 2)])
    result = arena("ratings", tmp_path, "--method", "alpharank")
    assert result.exit_code == 0, result.output
    assert "per-seat α-Rank: no agent played every other and itself in both seats" in (
        result.output
    )
    # A symmetric game's ranking has no per-seat part.
    write_games(
        tmp_path / "rps", "matrix:name=rps", [(("a", "b"), (1, -1), 2), (("b", "a"), (-1, 1), 2)]
    )
    symmetric = arena("ratings", tmp_path / "rps", "--method", "alpharank")
    assert symmetric.exit_code == 0, symmetric.output
    assert "per seat" not in symmetric.output and "per-seat" not in symmetric.output


def test_population_page_shows_each_seats_mass(kuhn_league, monkeypatch):
    from tests.test_dashboard_population import page, table_with

    at = page(kuhn_league, monkeypatch)
    shown = table_with(at, "α-Rank seat 0").set_index("agent")
    stored = metrics.read_table(kuhn_league, "alpharank_per_seat").to_pandas()
    for seat, rows in stored.groupby("seat"):
        mass = rows.set_index("agent")["mass"]
        np.testing.assert_allclose(shown[f"α-Rank seat {seat}"][mass.index], mass, atol=1e-12)
