"""Evaluation of a population from its replays: payoff tables (arena.payoffs), missing
pairs, and diversity, α-Rank and Nash averaging on real matches and constructed games."""

import datetime as dt

import numpy as np
import pytest

import replays
from arena import diversity, metrics, payoffs, population
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


def test_missing_pairs_are_named_and_never_filled(tmp_path):
    # b and c met only with b first: that pair is missing (a seat's edge would bias it).
    write_games(
        tmp_path,
        "matrix:name=rps",
        [
            (("a", "b"), (1, -1), 4),
            (("b", "a"), (-1, 1), 4),
            (("a", "c"), (1, -1), 2),
            (("c", "a"), (-1, 1), 2),
            (("b", "c"), (1, -1), 2),
        ],
    )
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


def test_rps_league_writes_alpharank_and_nash_averaging(tmp_path):
    values = {
        "game": "matrix:name=rps",
        "out": str(tmp_path / "league"),
        "minutes": 0.0,
        "rounds": 2,
        "learner": {"channels": 8, "train_steps": 4},
        "league": {"games_per_round": 64},
        "evaluation": {"every": 2, "games_per_pair": 16, "probe_positions": 4},
    }
    run = run_league(values, log=lambda _: None)
    anchors = ["fixed:action=0", "fixed:action=1", "fixed:action=2"]
    ranked = metrics.read_table(run, "alpharank").to_pydict()
    assert metrics.rounds(run, "alpharank") == [2]
    assert set(anchors) <= set(ranked["agent"])
    assert sum(ranked["mass"]) == pytest.approx(1.0)
    nash = metrics.read_table(run, "nash_averaging").to_pydict()
    assert nash["agent"] == ranked["agent"]
    assert sum(nash["mass"]) == pytest.approx(1.0)
    table = metrics.read_table(run, "diversity")
    found = dict(zip(table["metric"].to_pylist(), table["value"].to_pylist(), strict=True))
    # Rock, paper and scissors alone form a cycle that no mixture of the rest can avoid.
    assert found["nash_support"] >= 3
    assert found["effective_diversity"] > 0
