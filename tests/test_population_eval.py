"""Evaluation of a population from its replays: payoff tables (arena.payoffs), missing
pairs, and diversity, α-Rank and Nash averaging on real matches and constructed games."""

import datetime as dt

import numpy as np
import pytest

import replays
from arena import diversity, ids, metrics, payoffs, population, results
from arena.league import resolve, run_league
from arena.tournament import run_tournament

KUHN = "kuhn_poker:players=2"
RPS_ANCHORS = ["rock=fixed:action=0", "paper=fixed:action=1", "scissors=fixed:action=2"]


def write_games(run_dir, game: str, seatings: list[tuple[tuple[str, ...], tuple, int]]) -> None:
    """`count` games per (agents by seat, returns by seat), through the real replay writer."""
    now = dt.datetime.now(dt.timezone.utc)
    with replays.ReplayWriter(run_dir) as writer:
        for k, (agents, returns, count) in enumerate(seatings):
            writer.write(
                {
                    "run_id": "test",
                    "match_id": f"m{k}",
                    "game_index": np.arange(count, dtype=np.int32),
                    "game": game,
                    "agents": [list(agents)] * count,
                    "seed": 0,
                    "actions": [[0, 0]] * count,
                    "winner": [int(np.argmax(returns)) if len(set(returns)) > 1 else -1] * count,
                    "returns": [list(returns)] * count,
                    "termination": "normal",
                    "started_at": now,
                    "ended_at": now,
                }
            )


# --------------------------------------------------------------------------- payoff tables


def test_payoffs_per_seat_and_seat_averaged_with_counts(tmp_path):
    # Kuhn-like: returns depend on the seat. a first vs b: 3 x (+1, -1) and 1 x (-2, +2).
    write_games(
        tmp_path,
        KUHN,
        [(("a", "b"), (1, -1), 3), (("a", "b"), (-2, 2), 1), (("b", "a"), (2, -2), 2)],
    )
    tables = payoffs.load(tmp_path)
    assert tables.agents == ("a", "b")
    np.testing.assert_allclose(tables.seat_payoffs[0], [[np.nan, 0.25], [2.0, np.nan]])
    np.testing.assert_allclose(tables.seat_payoffs[1], [[np.nan, -0.25], [-2.0, np.nan]])
    np.testing.assert_array_equal(tables.seat_games, [[0, 4], [2, 0]])
    np.testing.assert_array_equal(tables.games, [[0, 6], [6, 0]])
    # Each seating counts half, however many games it had: a gets (0.25 - 2) / 2 against b.
    # A zero-sum game's agent gets exactly 0 against itself (seats averaged).
    np.testing.assert_allclose(tables.payoff, [[0.0, -0.875], [0.875, 0.0]])
    assert tables.zero_sum
    np.testing.assert_allclose(tables.antisymmetric(), tables.payoff)
    # Multi-population α-Rank needs every (first, second) profile, self-play included.
    with pytest.raises(ValueError, match="a vs a.*b vs b"):
        tables.per_seat()


def test_self_play_games_complete_the_per_seat_tables(tmp_path):
    write_games(
        tmp_path,
        KUHN,
        [
            (("a", "b"), (1, -1), 2),
            (("b", "a"), (1, -1), 2),
            (("a", "a"), (1, -1), 1),
            (("b", "b"), (-1, 1), 1),
        ],
    )
    first, second = payoffs.load(tmp_path).per_seat()
    np.testing.assert_allclose(first, [[1, 1], [1, -1]])
    np.testing.assert_allclose(second, -first)
    # The first mover's edge cancels in the seat-averaged table: a and b are even.
    np.testing.assert_allclose(payoffs.load(tmp_path).payoff, np.zeros((2, 2)))


# b and c met only with b first: that pair is missing (a seat's edge would bias it).
B_C_MISSING = [
    (("a", "b"), (1, -1), 4),
    (("b", "a"), (-1, 1), 4),
    (("a", "c"), (1, -1), 2),
    (("c", "a"), (-1, 1), 2),
    (("b", "c"), (1, -1), 2),
]


def test_missing_pairs_are_named_and_never_filled(tmp_path):
    write_games(tmp_path, "matrix:name=rps", B_C_MISSING)
    tables = payoffs.load(tmp_path)
    assert tables.missing_pairs() == [("b", "c")]
    assert np.isnan(tables.payoff[1, 2]) and np.isnan(tables.payoff[2, 1])
    with pytest.raises(ValueError, match="b vs c"):
        tables.antisymmetric()
    with pytest.raises(ValueError, match="NaN"):
        diversity.population_metrics(tables.payoff)  # refused, not counted as even
    completion = tables.complete()
    # b and c each miss one pair; c has played fewer games, so c goes.
    assert completion.dropped == ("c",)
    assert completion.tables.agents == ("a", "b")
    assert "b vs c" in completion.describe() and "without c" in completion.describe()
    np.testing.assert_allclose(completion.tables.antisymmetric(), [[0, 1], [-1, 0]])


def test_agents_outside_the_population_and_unknown_self_payoffs(tmp_path):
    # The prisoner's dilemma is not zero-sum: an agent's payoff against itself is only
    # known from self-play, which is missing here (though every game below sums to 10).
    write_games(
        tmp_path,
        "matrix:name=pd",
        [
            (("c", "d"), (0, 10), 3),
            (("d", "c"), (10, 0), 3),
            (("c", "x"), (5, 5), 3),
        ],
    )
    tables = payoffs.load(tmp_path, agents=["d", "c"])
    assert tables.agents == ("d", "c") and not tables.zero_sum
    np.testing.assert_allclose(tables.payoff, [[np.nan, 10], [0, np.nan]])
    assert tables.missing_pairs() == []
    assert tables.missing_pairs(diagonal=True) == [("d", "d"), ("c", "c")]
    np.testing.assert_allclose(tables.antisymmetric(), [[0, 5], [-5, 0]])
    with pytest.raises(ValueError, match="d vs d"):
        tables.symmetric()


def test_games_of_more_players_average_each_agents_seats(tmp_path):
    # Two agents alternate around a three-seat table; a game of three agents is left out.
    write_games(
        tmp_path,
        "kuhn_poker:players=3",
        [
            (("a", "b", "a"), (1, -2, 1), 2),
            (("b", "a", "b"), (-1, 2, -1), 1),
            (("a", "b", "c"), (1, 1, -2), 5),
        ],
    )
    tables = payoffs.load(tmp_path, agents=["a", "b"])
    # a: 1 a game (mean of its two seats) in one seating, 2 in the other.
    np.testing.assert_allclose(tables.payoff, [[0, 1.5], [-1.5, 0]])
    np.testing.assert_array_equal(tables.games, [[0, 3], [3, 0]])
    assert tables.seat_payoffs is None
    with pytest.raises(ValueError, match="two-player games"):
        tables.per_seat()


# --------------------------------------------------------------------------- RPS


def test_rps_pure_strategies_from_real_matches(tmp_path):
    run = tmp_path / "rps"
    run_tournament(
        {
            "game": "matrix:name=rps",
            "agents": RPS_ANCHORS,
            "games_per_pair": 10,
            "out": str(run),
        }
    )
    tables = payoffs.load(run).complete().tables
    assert tables.agents == ("paper", "rock", "scissors")
    # Paper beats rock beats scissors beats paper, every game.
    np.testing.assert_allclose(tables.antisymmetric(), [[0, 1, -1], [-1, 0, 1], [1, -1, 0]])
    values = diversity.population_metrics(tables.antisymmetric())
    assert values["nash_support"] == 3
    assert values["effective_diversity"] == pytest.approx(1 / 3)
    mass = population.alpharank_rows(list(tables.agents), tables.antisymmetric())["mass"]
    np.testing.assert_allclose(mass, [1 / 3] * 3, atol=1e-9)


def test_matrix_default_league_anchors_every_pure_strategy(tmp_path):
    rps = resolve({"game": "matrix:name=rps", "out": str(tmp_path / "a")})
    assert rps["league"]["anchors"] == ["random", *(f"fixed:action={n}" for n in range(3))]
    # Two actions, two pure anchors (fixed:action=2 would be refused there).
    pd = resolve({"game": "matrix:name=pd", "out": str(tmp_path / "b")})
    assert pd["league"]["anchors"] == ["random", "fixed:action=0", "fixed:action=1"]
    # A resolved config resolves to itself (a resumed league keeps its anchors).
    assert resolve(rps)["league"]["anchors"] == rps["league"]["anchors"]


# A small, quick RPS league (seconds): pure-strategy anchors and two PPO learners.
RPS_LEAGUE = {
    "game": "matrix:name=rps",
    "minutes": 0.0,
    "rounds": 2,
    "learner": {"channels": 8, "train_steps": 4},
    "league": {"games_per_round": 64},
    "evaluation": {"every": 2, "games_per_pair": 16, "probe_positions": 4},
}


def test_rps_league_writes_alpharank_and_nash_averaging(tmp_path):
    values = {**RPS_LEAGUE, "out": str(tmp_path / "league")}
    run = run_league(values, log=lambda _: None)
    anchors = ["fixed:action=0", "fixed:action=1", "fixed:action=2"]
    ranked = metrics.read_table(run, "alpharank").to_pydict()
    assert metrics.rounds(run, "alpharank") == [2]
    assert set(anchors) <= set(ranked["agent"])
    assert sum(ranked["mass"]) == pytest.approx(1.0)
    # `arena ratings --method` ranks the same agents: the latest evaluation round's.
    assert results.latest_evaluation_agents(run) == sorted(ranked["agent"])
    nash = metrics.read_table(run, "nash_averaging").to_pydict()
    assert nash["agent"] == ranked["agent"]
    assert sum(nash["mass"]) == pytest.approx(1.0)
    table = metrics.read_table(run, "diversity")
    found = dict(zip(table["metric"].to_pylist(), table["value"].to_pylist(), strict=True))
    # Rock, paper and scissors alone form a cycle that no mixture of the rest can avoid.
    assert found["nash_support"] >= 3
    assert found["effective_diversity"] > 0
    # Rock-paper-scissors treats both seats alike: no per-seat α-Rank, so no evaluation
    # game of an agent against itself.
    assert metrics.rounds(run, "alpharank_per_seat") == []
    sql = f"SELECT count(*) AS n FROM games WHERE {ids.EVAL_ONLY} AND agents[1] = agents[2]"
    assert results.query(run, sql)["n"].to_pylist() == [0]


# --------------------------------------------------------------------------- Kuhn

# Pure Kuhn poker agents: pass (p) or bet (b) at each information state (card 0-2 and the
# history), for both seats. Found by searching random pure agents: X beats Y beats Z beats
# X by at least 1/4 chip a game (seats averaged); D loses to all three; X beats T beats D.
KUHN_STATES = ["0", "0pb", "1", "1pb", "2", "2pb", "1p", "1b", "2p", "2b", "0p", "0b"]
KUHN_AGENTS = {
    "X": "pbbbppbbppbp",
    "Y": "bppbppppbppp",
    "Z": "pbpbbbbpppbp",
    "D": "ppppppppbpbb",
    "T": "bbppppppbpbb",
}


def kuhn_payoffs(names: list[str]) -> np.ndarray:
    """Exact seat-averaged payoffs (OpenSpiel's expected values), antisymmetrised."""
    pyspiel = pytest.importorskip("pyspiel")
    from open_spiel.python import policy
    from open_spiel.python.algorithms import expected_game_score

    game = pyspiel.load_game("kuhn_poker")
    policies = {}
    for name in names:
        table = policy.TabularPolicy(game)
        table.action_probability_array[:] = 0.0
        for state, move in zip(KUHN_STATES, KUHN_AGENTS[name], strict=True):
            table.action_probability_array[table.state_lookup[state], "pb".index(move)] = 1.0
        policies[name] = table
    root = game.new_initial_state()
    n = len(names)
    p = np.zeros((n, n))
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            first = expected_game_score.policy_value(root, [policies[a], policies[b]])[0]
            second = expected_game_score.policy_value(root, [policies[b], policies[a]])[1]
            p[i, j] = (first + second) / 2
    return (p - p.T) / 2


def test_kuhn_cyclic_population_shows_diversity_and_the_measures_agree():
    names = ["X", "Y", "Z", "D"]
    a = kuhn_payoffs(names)
    assert min(a[0, 1], a[1, 2], a[2, 0]) > 0.2 and (a[:3, 3] > 0).all()
    values = diversity.population_metrics(a)
    nash = population.nash_rows(names, a)
    ranked = population.alpharank_rows(names, a)
    assert values["effective_diversity"] > 0.05
    assert values["cyclic_triple_share"] == 0.25  # of the 4 triples, X Y Z is the cycle
    # A 3-cycle's equilibrium mixes all three; the agent they all beat is left out, and
    # α-Rank's mass sits on the same three agents (the sink of its response graph).
    assert values["nash_support"] == 3
    np.testing.assert_array_equal(nash["mass"] > 1e-6, [True, True, True, False])
    assert ranked["mass"][:3].min() > 0.1 and ranked["mass"][3] < 1e-3
    assert nash["skill"][3] < 0 and np.allclose(nash["skill"][:3], 0.0, atol=1e-9)


def test_kuhn_transitive_population_has_no_diversity():
    names = ["X", "T", "D"]
    a = kuhn_payoffs(names)
    assert a[0, 1] > 0 and a[1, 2] > 0 and a[0, 2] > 0
    values = diversity.population_metrics(a)
    assert values["effective_diversity"] == 0.0 and values["nash_support"] == 1
    assert values["cyclic_triple_share"] == 0.0
    # Both rankings put everything on the agent that beats the others.
    assert population.nash_rows(names, a)["mass"] == pytest.approx([1, 0, 0], abs=1e-9)
    assert population.alpharank_rows(names, a)["mass"][0] > 0.99


# --------------------------------------------------------------------------- CLI, bench


def arena(*args):
    from typer.testing import CliRunner

    from arena.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def test_ratings_command_prints_alpharank_and_nash_averaging(tmp_path):
    run = tmp_path / "rps"
    agents = [*RPS_ANCHORS, "[red]odd=random"]  # a name rich must not read as markup
    run_tournament(
        {"game": "matrix:name=rps", "agents": agents, "games_per_pair": 10, "out": str(run)}
    )
    ranked = arena("ratings", run, "--method", "alpharank")
    assert ranked.exit_code == 0, ranked.output
    assert "α-Rank" in ranked.output and "[red]odd" in ranked.output
    nash = arena("ratings", run, "--method", "nash-avg", "--agent", "rock", "--agent", "paper")
    assert nash.exit_code == 0, nash.output
    # Paper beats rock every game: the equilibrium is paper alone, rock's skill is -1.
    lines = [line for line in nash.output.splitlines() if "rock" in line or "paper" in line]
    assert "paper" in lines[0] and "1.0000" in lines[0] and "-1.0000" in lines[1]
    bad = arena("ratings", run, "--method", "glicko")
    assert bad.exit_code == 2
    assert bad.output.strip() == (
        "error: unknown --method 'glicko'; methods: elo, alpharank, nash-avg"
    )
    absent = arena("ratings", run, "--method", "alpharank", "--agent", "nobody")
    assert absent.exit_code == 2 and "no games of nobody" in absent.output


def test_ratings_command_names_missing_pairs_and_who_is_dropped(tmp_path):
    write_games(tmp_path, "matrix:name=rps", B_C_MISSING)
    result = arena("ratings", tmp_path, "--method", "nash-avg")
    assert result.exit_code == 0, result.output
    assert "pairs without games: b vs c" in result.output and "without c" in result.output


def test_bench_population_evaluates_a_synthetic_run(tmp_path):
    from arena.bench_population import benchmark, write_synthetic_run

    write_synthetic_run(tmp_path, agents=12, games=6000, seed=1)
    result = benchmark(tmp_path)
    assert result["agents"] == 12 and result["games"] == 6000
    # Random mixtures of rock, paper and scissors: a cyclic population.
    assert result["nash_support"] >= 3


def test_fixed_agent_plays_its_action_where_legal_else_the_lowest():
    import agents
    import games

    game = games.make("matrix:name=rps")
    agent = agents.make("fixed:action=2", game)
    legal = np.array([[True, True, True], [True, True, False], [False, True, False]])
    moves = agent.act(game, None, legal, np.random.default_rng(0))
    np.testing.assert_array_equal(moves, [2, 0, 1])
    with pytest.raises(ValueError, match="action=3 is not an action of matrix:name=rps"):
        agents.make("fixed:action=3", game)
    with pytest.raises(ValueError, match="must be >= 0"):
        agents.make("fixed:action=-1", game)
