"""AlphaGo's leaf evaluation, `rollout_mix`: rollout values, the mixed evaluator, and the key's
path from a league config through the learner's searches to its snapshots' specs."""

from __future__ import annotations

import numpy as np
import pytest

import agents
import games
from agents.alphazero import AlphaZeroAgent, RolloutMix
from agents.az_learner import AlphaZeroConfig, AlphaZeroLearner
from agents.mcts import rollout_values
from agents.neural import NetworkEvaluator
from arena.config import ConfigError
from arena.league import resolve
from arena.learners import make_learner

TTT = games.make("tic_tac_toe")
C4 = games.make("connect_four")
# One empty square left, X to move: filling it wins / draws, so each rollout is certain.
WIN_IN_ONE = [0, 1, 2, 3, 4, 5, 7, 6]
DRAW_IN_ONE = [0, 1, 2, 3, 4, 6, 5, 8]


def rollouts(game, rows, seed=0, count=1, greedy=False):
    out = np.full(len(rows), np.nan)
    shape = game.num_actions, game.num_players
    rollout_values(game.params, rows, *shape, count, seed, out, greedy)
    return out


def test_rollout_values_are_the_movers_results():
    rows = TTT.play_sequences([WIN_IN_ONE, DRAW_IN_ONE, [0, 3, 1, 4, 2]]).data
    assert rollouts(TTT, rows).tolist() == [1.0, 0.0, 0.0]  # a finished game: no rollout


def test_rollout_values_are_random_results_seeded():
    rows = C4.play_sequences([[3]] * 256).data
    first = rollouts(C4, rows, seed=1)
    assert set(first.tolist()) <= {-1.0, 0.0, 1.0} and len(set(first.tolist())) > 1
    np.testing.assert_array_equal(first, rollouts(C4, rows, seed=1))
    assert not np.array_equal(first, rollouts(C4, rows, seed=2))
    # Averages of 16 rollouts: fractions, spread less than single results.
    means = rollouts(C4, rows, seed=1, count=16)
    assert np.abs(means).max() <= 1 and means.std() < first.std()
    assert not np.isin(means, [-1.0, 0.0, 1.0]).all()


def test_greedy_rollouts_take_a_win_at_once_and_block_one():
    # X to move with a win at square 2 (and O threatening 5): random rollouts often miss it,
    # greedy ones never.
    can_win = TTT.play_sequences([[0, 3, 1, 4]] * 64).data
    assert (rollouts(TTT, can_win, seed=3, greedy=True) == 1.0).all()
    assert (rollouts(TTT, can_win, seed=3) < 1.0).any()
    # O to move against X's threat at 3: blocking there, then blocking 5, draws every time;
    # random rollouts sometimes lose.
    must_block = TTT.play_sequences([[0, 4, 1, 2, 6]] * 64).data
    assert (rollouts(TTT, must_block, seed=3, greedy=True) == 0.0).all()
    assert (rollouts(TTT, must_block, seed=3) == -1.0).any()
    # a game of seven columns: same seeds, same values; other seeds, other values
    rows = C4.play_sequences([[3]] * 128).data
    np.testing.assert_array_equal(
        rollouts(C4, rows, seed=1, greedy=True), rollouts(C4, rows, seed=1, greedy=True)
    )
    assert not np.array_equal(
        rollouts(C4, rows, seed=1, greedy=True), rollouts(C4, rows, seed=2, greedy=True)
    )


def test_mixed_leaf_values_are_lambda_weighted():
    rows = TTT.play_sequences([WIN_IN_ONE, DRAW_IN_ONE]).data
    learner = AlphaZeroLearner(TTT, "t", AlphaZeroConfig(blocks=1, channels=8), device="cpu")
    network = NetworkEvaluator(TTT, learner.model, "cpu")
    priors, values = network(rows)
    mix = RolloutMix(TTT, network, 0.25, 4, np.random.default_rng(0))
    mixed_priors, mixed = mix(rows)
    np.testing.assert_array_equal(mixed_priors, priors)
    np.testing.assert_allclose(mixed, 0.75 * values + 0.25 * np.array([1.0, 0.0]), atol=1e-6)
    assert mixed.dtype == np.float32


def test_search_scores_its_leaves_with_the_mix():
    """A search of one simulation from a square away from a sure win: the root's own
    evaluation and the exact win are averaged, so with mix 1 the root is worth exactly 1
    and with mix 0 it is worth (network value + 1) / 2."""
    learner = AlphaZeroLearner(TTT, "t", AlphaZeroConfig(blocks=1, channels=8), device="cpu")
    state = TTT.play_sequences([WIN_IN_ONE])
    _, net_value = NetworkEvaluator(TTT, learner.model, "cpu")(state.data)
    for mix, expected in ((1.0, 1.0), (0.0, (net_value[0] + 1) / 2)):
        searcher = AlphaZeroAgent(TTT, learner.model, sims=1, device="cpu", rollout_mix=mix)
        value = searcher.search(state, np.random.default_rng(0)).value[0]
        assert value == pytest.approx(expected, abs=1e-6)


def test_league_key_reaches_self_play_and_snapshot_specs(tmp_path):
    config = resolve(
        {
            "game": "tic_tac_toe",
            "out": str(tmp_path / "run"),
            "learner": {"rollout_mix": 0.5, "leaf_rollouts": 3},
        }
    )
    learner = make_learner(config, "main", seed=0)
    assert learner.searcher(4).rollout_mix == 0.5 and learner.searcher(4).leaf_rollouts == 3
    assert learner.greedy_agent("g").rollout_mix == 0.5
    learner.save(tmp_path / "main")
    spec = learner.snapshot_spec(tmp_path / "main" / "model")
    assert spec.endswith(",rollout_mix=0.5,leaf_rollouts=3")
    assert agents.make(spec, TTT).leaf_rollouts == 3
    greedy = make_learner(
        {**config, "learner": {**config["learner"], "rollout_policy": "greedy"}}, "g", 0
    )
    assert greedy.searcher(4).greedy_rollouts and greedy.greedy_agent("g").greedy_rollouts
    greedy_spec = greedy.snapshot_spec(tmp_path / "main" / "model")
    assert greedy_spec.endswith(",rollout_mix=0.5,leaf_rollouts=3,rollout_policy=greedy")
    assert agents.make(greedy_spec, TTT).greedy_rollouts
    plain = make_learner({**config, "learner": {**config["learner"], "rollout_mix": 0.0}}, "m", 0)
    assert "rollout_mix" not in plain.snapshot_spec(tmp_path / "main" / "model")


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_rollout_mix_outside_zero_one_is_refused(tmp_path, bad):
    with pytest.raises(ConfigError, match="rollout_mix"):
        resolve({"game": "tic_tac_toe", "out": str(tmp_path), "learner": {"rollout_mix": bad}})
    with pytest.raises(ValueError, match=r"rollout_mix=.* must be in \[0, 1\]"):
        agents.make(f"az:{tmp_path}/model,rollout_mix={bad}", TTT)


def test_an_unknown_rollout_policy_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="rollout_policy"):
        resolve({"game": "tic_tac_toe", "out": str(tmp_path), "learner": {"rollout_policy": "x"}})
    with pytest.raises(ValueError, match="rollout_policy=x is invalid: must be random or greedy"):
        agents.make(f"az:{tmp_path}/model,rollout_policy=x", TTT)
