"""The match runner on games beyond perfect information: chance outcomes sampled and stored
with the actions, simultaneous nodes asked seat by seat and stepped jointly, forfeits
charged to the seat that failed (never to a negative `to_play`), the winner of general-sum
games; and the agents that assume perfect information refusing these games."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import games
import replays
from agents.az_learner import AlphaZeroLearner
from agents.baselines import RandomAgent
from agents.ppo import PPOLearner
from agents.spec import make as make_agent
from arena.config import ConfigError
from arena.diversity import action_distributions, probe_positions
from arena.league import resolve as resolve_league
from arena.match import MatchGames, play_games, winners
from arena.results import pair_table
from arena.tournament import resolve as resolve_tournament
from arena.tournament import run_tournament
from games.layout import CHANCE, SIMULTANEOUS
from replays.errors import ReplayFormatError
from replays.record import replay_from_row
from replays.simulate import resimulate

GAMES = 24


def plan(n: int, seats: list[list[int]] | None = None, players: int = 2) -> MatchGames:
    """n games, agent k in seat k unless `seats` (one row per game) says otherwise."""
    seat_agent = np.array(seats) if seats is not None else np.tile(np.arange(players), (n, 1))
    return MatchGames(
        seeds=np.arange(n, dtype=np.int64) + 100,
        seat_agent=seat_agent.astype(np.int64),
        openings=[[] for _ in range(n)],
    )


def table(columns: dict) -> pa.Table:
    n = len(columns["seed"])
    columns = {**columns, "run_id": "r", "match_id": "m", "game_index": np.arange(n)}
    return replays.build_table(columns)


class Recorder:
    """A random agent that keeps what it was asked: the movers, its seat keyword, its mask."""

    def __init__(self, name: str, fixed: int | None = None):
        self.name = name
        self.fixed = fixed
        self.calls: list[tuple[np.ndarray, int | None, np.ndarray]] = []

    def act(self, game, state, legal_mask, rng, **seat):
        self.calls.append((state.to_play.copy(), seat.get("player"), legal_mask.copy()))
        if self.fixed is not None:
            return np.full(len(state), self.fixed, dtype=np.int64)
        return RandomAgent().act(game, state, legal_mask, rng)


class SaysItsSeat(RandomAgent):
    """Annotates each move with the seat it was asked for as its `value`."""

    def act(self, game, state, legal_mask, rng, player=None):
        self.last_annotations = {"value": np.full(len(state), player, dtype=np.float32)}
        return super().act(game, state, legal_mask, rng)


class FailsInSeat:
    """Raises when asked for `seat` (the keyword at simultaneous nodes, else the mover)."""

    def __init__(self, name: str, seat: int):
        self.name = name
        self.seat = seat

    def act(self, game, state, legal_mask, rng, player=None):
        movers = state.to_play if player is None else np.full(len(state), player)
        if (movers == self.seat).any():
            raise RuntimeError(f"no move for seat {self.seat}")
        return RandomAgent().act(game, state, legal_mask, rng)


# -- chance: Kuhn poker ----------------------------------------------------------------


def test_kuhn_deals_are_recorded_and_the_stored_games_re_simulate():
    game = games.make("kuhn_poker:players=3")
    agents = [Recorder(f"p{k}") for k in range(3)]
    columns = play_games(game, agents, plan(GAMES, players=3), np.random.default_rng(0))
    assert set(columns["termination"].to_pylist()) == {"normal"}
    # The deal, one card per player, is the first three entries of every history.
    deals = columns["actions"][:, :3]
    assert ((deals >= 0) & (deals <= 3)).all()
    assert all(len(set(d)) == 3 for d in deals.tolist())
    # Each agent was asked only at decision nodes, and only for its own seat: a chance node
    # (to_play -1) never made the last seat's agent move.
    for seat, agent in enumerate(agents):
        assert agent.calls and all((movers == seat).all() for movers, _, _ in agent.calls)
        assert all(player is None for _, player, _ in agent.calls)  # not a simultaneous game
    # Returns are the pot: zero-sum, and the unique winner holds the highest.
    returns = columns["returns"]
    np.testing.assert_allclose(returns.sum(axis=1), 0.0, atol=1e-6)
    np.testing.assert_array_equal(columns["winner"], returns.argmax(axis=1))
    stored = table(columns)
    positions = resimulate(stored)  # raises unless the engine gets the stored returns
    assert (positions.states.to_play == CHANCE).sum() == 3 * GAMES
    # Who made each move (what the replay viewer names): chance for the deal, then players.
    replay = replay_from_row(stored.slice(0, 1))
    movers = replay.movers.tolist()
    assert movers[:3] == [-1, -1, -1] and movers[3:] == [p % 3 for p in range(len(movers) - 3)]
    assert "p0:" in game.render_svg(replay.states, replay.plies)  # every card, face up


def test_a_changed_deal_or_return_does_not_re_simulate():
    game = games.make("kuhn_poker")
    self_play = plan(GAMES, [[0, 0]] * GAMES)
    columns = play_games(game, [RandomAgent(name="a")], self_play, np.random.default_rng(1))
    changed = {**columns, "returns": columns["returns"].copy()}
    changed["returns"][0] *= -1
    with pytest.raises(ReplayFormatError, match="differs from the engine"):
        resimulate(table(changed))
    dealt = {**columns, "actions": columns["actions"].copy()}
    dealt["actions"][0, 1] = dealt["actions"][0, 0]  # the same card twice
    with pytest.raises(ReplayFormatError, match="at ply 1 is illegal"):
        resimulate(table(dealt))


def test_a_forfeit_in_a_card_game_is_charged_to_the_failing_seat():
    game = games.make("kuhn_poker:players=3")
    agents = [RandomAgent(name="a"), FailsInSeat("b", seat=1), RandomAgent(name="c")]
    columns = play_games(game, agents, plan(GAMES, players=3), np.random.default_rng(2))
    forfeits = np.array(columns["termination"].to_pylist()) == "forfeit"
    assert forfeits.all()  # player 1 always acts, right after the deal
    np.testing.assert_array_equal(columns["returns"][forfeits, 1], -1.0)
    np.testing.assert_array_equal(columns["returns"][forfeits][:, [0, 2]], 1.0)
    assert (columns["winner"][forfeits] == -1).all()  # two players share the highest return
    assert all("b raised RuntimeError" in r for r in columns["reason"].to_pylist())


# -- simultaneous moves: matrix games and Goofspiel ------------------------------------


def test_each_seat_is_asked_for_its_own_action_and_the_joint_move_is_recorded():
    game = games.make("matrix:name=rps")
    rock, paper = Recorder("rock", fixed=0), Recorder("paper", fixed=1)
    seats = [[0, 1] if i % 2 == 0 else [1, 0] for i in range(GAMES)]
    columns = play_games(game, [rock, paper], plan(GAMES, seats), np.random.default_rng(3))
    for agent in (rock, paper):
        # One batched call per seat it holds, told the seat, with that seat's legal mask.
        assert sorted(player for _, player, _ in agent.calls) == [0, 1]
        for movers, player, mask in agent.calls:
            assert type(player) is int and len(movers) == GAMES // 2
            assert (movers == SIMULTANEOUS).all() and mask.all()
    # History: player 0's action, then player 1's; paper beats rock in either seat.
    expected = np.array([[0, 1] if s == [0, 1] else [1, 0] for s in seats])
    np.testing.assert_array_equal(columns["actions"], expected)
    paper_seat = np.array([s.index(1) for s in seats])
    np.testing.assert_array_equal(columns["winner"], paper_seat)
    np.testing.assert_array_equal(columns["returns"][np.arange(GAMES), paper_seat], 1.0)
    resimulate(table(columns))


def test_a_forfeit_at_a_simultaneous_node_is_the_failing_seats_not_the_last_one():
    """to_play is -2 there: indexing seats with it would charge seat 0 of two."""
    game = games.make("matrix:name=rps")
    agents = [RandomAgent(name="a"), FailsInSeat("b", seat=1)]
    columns = play_games(game, agents, plan(GAMES), np.random.default_rng(4))
    assert set(columns["termination"].to_pylist()) == {"forfeit"}
    np.testing.assert_array_equal(columns["returns"], np.tile([1.0, -1.0], (GAMES, 1)))
    np.testing.assert_array_equal(columns["winner"], 0)


def test_general_sum_winner_is_the_unique_highest_return():
    np.testing.assert_array_equal(
        winners(np.array([[1.0, -1.0], [0.0, 0.0], [5.0, 5.0], [1.0, 10.0]])), [0, -1, -1, 1]
    )
    np.testing.assert_array_equal(winners(np.array([[2.0, -1, -1], [1.0, 1, -1]])), [0, -1])
    # Prisoner's dilemma (cooperate 0, defect 1): mutual cooperation is a tie, not a win.
    game = games.make("matrix:name=pd")
    agents = [Recorder("c", fixed=0), Recorder("d", fixed=1)]
    columns = play_games(game, agents, plan(2, [[0, 0], [0, 1]]), np.random.default_rng(5))
    np.testing.assert_array_equal(columns["returns"], [[5.0, 5.0], [0.0, 10.0]])
    np.testing.assert_array_equal(columns["winner"], [-1, 1])


def test_goofspiel_annotations_land_on_each_seats_entry():
    game = games.make("goofspiel:cards=3")
    agents = [SaysItsSeat(name="a"), SaysItsSeat(name="b")]
    columns = play_games(game, agents, plan(GAMES), np.random.default_rng(8))
    # Two bidding turns (the last card plays itself), each bid an entry in player order.
    assert columns["values"] == [[0.0, 1.0, 0.0, 1.0]] * GAMES
    stored = table(columns)
    resimulate(stored)
    assert replay_from_row(stored.slice(0, 1)).movers.tolist() == [0, 1, 0, 1]
    samples = replays.transitions(stored)
    np.testing.assert_array_equal(samples["players"], [0, 1, 0, 1] * GAMES)


def test_ppo_records_each_seats_moves_from_that_seats_side():
    game = games.make("goofspiel:cards=3")
    learner = PPOLearner(game, "ppo", device="cpu", seed=0)
    recorded = []
    p = plan(GAMES, [[0, 0]] * GAMES)

    def observer(k, idx, state, mask, actions):
        learner.record(idx, state, mask, actions)
        recorded.append((idx, state.to_play.copy()))

    columns = play_games(game, [learner.agent()], p, np.random.default_rng(6), observer=observer)
    assert set(columns["termination"].to_pylist()) == {"normal"}
    # PPO recorded each seat's moves as that seat's, observed from that seat's side.
    moves = learner.take_recorded()
    players = np.concatenate([m["player"] for m in moves])
    assert set(players.tolist()) == {0, 1}
    first = moves[0]  # every game's first turn, asked seat by seat
    start = game.init_from_seeds(p.seeds)
    np.testing.assert_array_equal(first["obs"], game.observe(start, int(first["player"][0])))
    assert all((to_play == SIMULTANEOUS).all() for _, to_play in recorded)


# -- refusals ------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["mcts", "greedy", "solver", "az:no_such_checkpoint"])
def test_search_agents_refuse_games_of_imperfect_information(spec):
    kind = spec.partition(":")[0]
    with pytest.raises(ValueError) as err:
        make_agent(spec, games.make("kuhn_poker"))
    assert str(err.value) == (
        f"{kind} searches games of perfect information; kuhn_poker has chance and hidden "
        "information"
    )
    with pytest.raises(ValueError, match="goofspiel has simultaneous moves and hidden"):
        make_agent(spec, games.make("goofspiel:cards=3"))


def test_the_alphazero_learner_refuses_and_the_ppo_learner_plays():
    with pytest.raises(ValueError, match="the AlphaZero learner searches games of perfect"):
        AlphaZeroLearner(games.make("kuhn_poker"), "main", device="cpu")
    game = games.make("kuhn_poker")
    ppo = PPOLearner(game, "main", device="cpu")
    columns = play_games(game, [ppo.agent()], plan(4, [[0, 0]] * 4), np.random.default_rng(7))
    assert set(columns["termination"].to_pylist()) == {"normal"}


@pytest.mark.parametrize("spec", ["kuhn_poker:players=3", "goofspiel:cards=4,order=random"])
def test_diversity_probes_are_decision_points_the_agents_can_be_asked_at(spec):
    game = games.make(spec)
    probes = probe_positions(game, 16, seed=0, plies=(2, 6))
    assert not probes.done.any() and (probes.to_play != CHANCE).all()
    if game.simultaneous:  # asked from player 0's side: its turns and simultaneous nodes
        assert np.isin(probes.to_play, (SIMULTANEOUS, 0)).all()
    mask = game.legal_mask(probes)
    assert mask.any(axis=1).all()
    agents = [RandomAgent(name="r"), PPOLearner(game, "ppo", device="cpu").agent()]
    dists = action_distributions(agents, game, probes, mask, samples=4)
    np.testing.assert_allclose(dists.sum(axis=2), 1.0, rtol=1e-5)
    assert (dists[:, ~mask] == 0).all()


def test_a_three_player_tournament_seats_both_agents_and_rates_every_game(tmp_path):
    """Two agents in a game of three: they alternate around the table, and every game's
    win (in any seat) or tie is counted for the pair."""
    config = {
        "game": "kuhn_poker:players=3",
        "agents": ["a=random", "b=random"],
        "games_per_pair": 8,
        "out": str(tmp_path / "run"),
    }
    run_tournament(config)
    stored = replays.open(tmp_path / "run").to_table()
    seats = stored["agents"].to_pylist()
    assert sorted(map(tuple, seats)) == [("a", "b", "a")] * 4 + [("b", "a", "b")] * 4
    resimulate(stored)
    pairs = pair_table(tmp_path / "run").to_pylist()
    counted = sum(p["first_wins"] + p["draws"] + p["second_wins"] for p in pairs)
    assert counted == 8
    third_seat_wins = sum(w == 2 for w in stored["winner"].to_pylist())
    assert third_seat_wins > 0  # seat 2's wins are among those counted


def test_configs_that_need_perfect_information_are_refused_before_a_run(tmp_path):
    out = str(tmp_path / "run")
    tournament = {"game": "kuhn_poker", "agents": ["random", "b=random"], "out": out}
    with pytest.raises(ConfigError, match="random openings are for games of perfect information"):
        resolve_tournament({**tournament, "opening_plies": 2, "games_per_pair": 2})
    league = {"game": "kuhn_poker", "out": out, "learner": {"algorithm": "alphazero"}}
    with pytest.raises(ConfigError, match=r"AlphaZero learner searches .*\(use algorithm"):
        resolve_league(league)
    with pytest.raises(ConfigError, match="anchor 'greedy': greedy searches games of perfect"):
        resolve_league({**league, "learner": {}, "league": {"anchors": ["random", "greedy"]}})
    assert resolve_league({"game": "kuhn_poker", "out": out})["learner"]["algorithm"] == "ppo"
    assert not (tmp_path / "run").exists()
