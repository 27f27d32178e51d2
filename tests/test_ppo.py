"""PPO learner and training-state files: games through the real match runner, GAE by hand,
learning against random, and save/load round trips that continue training identically."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

import agents
import games
from agents.baselines import RandomAgent
from agents.checkpoint import CheckpointError
from agents.network import NetConfig
from agents.ppo import PPOLearner, compute_gae
from agents.train_state import load_training_state, save_training_state, training_state_paths
from arena.match import MatchGames, play_games

LOSSES = {"policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction"}


@pytest.fixture(autouse=True)
def one_torch_thread():
    # These networks are tiny: on a shared 2-core machine torch's intra-op threads made the
    # training test ~10x slower (measured), waiting on each other instead of computing.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def ttt():
    return games.make("tic_tac_toe")


def small_learner(game, **kwargs) -> PPOLearner:
    net = NetConfig.for_game(game, "mlp", blocks=2, channels=64)
    return PPOLearner(game, "ppo", net=net, device="cpu", **kwargs)


def alternating_plan(n: int, seed: int) -> MatchGames:
    """n games, agent 0 in seat 0 of the even games and in seat 1 of the odd ones."""
    seat_agent = np.zeros((n, 2), dtype=np.int64)
    seat_agent[0::2, 1] = 1
    seat_agent[1::2, 0] = 1
    seeds = np.arange(n, dtype=np.int64) + seed
    return MatchGames(seeds=seeds, seat_agent=seat_agent, openings=[[] for _ in range(n)])


def play(game, learner: PPOLearner, opponent, plan: MatchGames, rng, learn: bool = True):
    """A match as the league plays it: the learner is agent 0, its moves go to `record`."""

    def observer(k, game_indices, state, legal_mask, actions):
        if k == 0:
            learner.record(game_indices, state, legal_mask, actions)

    players = [learner.agent()] + ([opponent] if opponent is not None else [])
    return play_games(game, players, plan, rng, observer=observer if learn else None)


def score_against(game, agent, opponent, n: int, seed: int) -> float:
    """Mean score (win 1, draw 0.5, loss 0) of `agent` over n games, seats alternating."""
    plan = alternating_plan(n, seed)
    columns = play_games(game, [agent, opponent], plan, np.random.default_rng(seed))
    seat = np.argmax(plan.seat_agent == 0, axis=1)
    return float((columns["returns"][np.arange(n), seat] + 1).mean() / 2)


# -- GAE -----------------------------------------------------------------------------------


def test_gae_matches_hand_computation():
    # Trajectory A: two moves, values 0.2 then -0.1, return +1 after the second move.
    # Trajectory B: one move, value 0.5, return -1. gamma 0.9, lambda 0.8.
    # A: delta1 = 1 - (-0.1) = 1.1; delta0 = 0.9 * (-0.1) - 0.2 = -0.29
    #    adv1 = 1.1; adv0 = -0.29 + 0.9 * 0.8 * 1.1 = 0.502. B: adv = -1 - 0.5 = -1.5.
    values = np.array([0.2, -0.1, 0.5], dtype=np.float32)
    rewards = np.array([0.0, 1.0, -1.0], dtype=np.float32)
    last = np.array([False, True, True])
    advantages = compute_gae(values, rewards, last, gamma=0.9, gae_lambda=0.8)
    np.testing.assert_allclose(advantages, [0.502, 1.1, -1.5], rtol=1e-6)


def test_end_games_applies_gae_to_each_players_own_moves(ttt):
    learner = small_learner(ttt, gamma=1.0, gae_lambda=0.5)
    plan = MatchGames(np.array([3]), np.zeros((1, 2), dtype=np.int64), [[]])  # self-play
    columns = play(ttt, learner, None, plan, np.random.default_rng(0))
    plies = int(columns["plies"][0])
    assert learner.end_games(columns["returns"]) == plies
    buffer = learner.buffer()
    # end_games orders samples by (game, player): seat 0's moves, then seat 1's.
    first = (plies + 1) // 2
    for seat, moves in ((0, slice(0, first)), (1, slice(first, plies))):
        v = buffer["value"][moves].astype(np.float64)
        ret = float(columns["returns"][0, seat])
        # The last move sees the return; the one before bootstraps from the last one's value.
        expected_last = ret - v[-1]
        expected_before = (v[-1] - v[-2]) + 0.5 * expected_last
        np.testing.assert_allclose(
            buffer["advantage"][moves][-2:], [expected_before, expected_last], rtol=1e-5, atol=1e-6
        )
        np.testing.assert_allclose(
            buffer["target"][moves], buffer["advantage"][moves] + v, rtol=1e-6
        )


# -- recording through the match runner ---------------------------------------------------


def test_samples_are_the_learners_moves(ttt):
    learner = small_learner(ttt)
    plan = alternating_plan(64, seed=7)
    columns = play(ttt, learner, RandomAgent(), plan, np.random.default_rng(1))
    seat = np.argmax(plan.seat_agent == 0, axis=1)
    # Tic-tac-toe alternates seats, seat 0 first: the learner played plies seat, seat+2, ...
    moves = [len(range(s, p, 2)) for s, p in zip(seat, columns["plies"], strict=True)]
    added = learner.end_games(columns["returns"])
    assert added == sum(moves) == len(learner.buffer()["action"])
    buffer = learner.buffer()
    # Every stored action was legal where it was played, and its log-prob is a probability.
    assert buffer["mask"][np.arange(added), buffer["action"]].all()
    assert (buffer["logprob"] <= 0).all() and (buffer["logprob"] > -np.log(1e6)).all()
    assert learner.end_games(columns["returns"]) == 0  # the match was closed


def test_self_play_records_both_seats(ttt):
    learner = small_learner(ttt)
    plan = MatchGames(np.arange(32), np.zeros((32, 2), dtype=np.int64), [[]] * 32)
    columns = play(ttt, learner, None, plan, np.random.default_rng(2))
    assert learner.end_games(columns["returns"]) == int(columns["plies"].sum())


def test_record_must_follow_act_on_the_same_games(ttt):
    learner = small_learner(ttt)
    state = ttt.init(4)
    mask = ttt.legal_mask(state)
    with pytest.raises(ValueError, match="must follow"):
        learner.record(np.arange(4), state, mask, np.zeros(4, dtype=np.int64))
    actions = learner.agent().act(ttt, state, mask, np.random.default_rng(0))
    with pytest.raises(ValueError, match="must follow"):
        learner.record(np.arange(4), state, mask, (actions + 1) % 9)


# -- training ------------------------------------------------------------------------------


def test_train_takes_at_most_steps_and_empties_the_buffer(ttt):
    learner = small_learner(ttt, minibatch=16, epochs=2)
    columns = play(ttt, learner, RandomAgent(), alternating_plan(32, 0), np.random.default_rng(3))
    learner.end_games(columns["returns"])
    stats = learner.train(3, np.random.default_rng(0))
    assert set(stats) == LOSSES and all(np.isfinite(v) for v in stats.values())
    assert learner.steps == 3
    assert len(learner.buffer()["action"]) == 0
    assert learner.train(3, np.random.default_rng(0)) == {} and learner.steps == 3


def test_training_against_random_improves_the_score(ttt, tmp_path):
    learner = small_learner(ttt, lr=3e-3, minibatch=128, seed=1)
    random_agent = RandomAgent()
    before = score_against(ttt, learner.agent(), random_agent, 2000, seed=10**6)
    rng = np.random.default_rng(1)
    for i in range(20):  # 5120 games, ~600 gradient steps
        columns = play(ttt, learner, random_agent, alternating_plan(256, 1000 * i), rng)
        learner.end_games(columns["returns"])
        learner.train(10**6, rng)
    after = score_against(ttt, learner.agent(), random_agent, 2000, seed=10**6)
    # Measured: about 0.51 before and 0.86-0.88 after, over three seeds.
    assert before < 0.62
    assert after > 0.75 and after - before > 0.2, (before, after)
    learner.save(tmp_path / "trained")
    snapshot = agents.make(learner.snapshot_spec(tmp_path / "trained"), ttt)
    greedy = score_against(ttt, snapshot, random_agent, 2000, seed=10**6 + 1)
    assert greedy > 0.75, greedy


# -- save and load -------------------------------------------------------------------------


def params(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_same_optimizer(a: torch.optim.Optimizer, b: torch.optim.Optimizer) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa["param_groups"] == sb["param_groups"]
    assert sa["state"].keys() == sb["state"].keys() and sa["state"]
    for key, entries in sa["state"].items():
        assert entries.keys() == sb["state"][key].keys()
        for name, value in entries.items():
            assert torch.equal(value, sb["state"][key][name]), (key, name)


def test_save_load_round_trip_continues_identically(ttt, tmp_path):
    learner = small_learner(ttt, minibatch=64, seed=3)
    for i in range(2):
        columns = play(
            ttt, learner, RandomAgent(), alternating_plan(64, i), np.random.default_rng(i)
        )
        learner.end_games(columns["returns"])
        learner.train(10, np.random.default_rng(i))
    # Save with a rollout waiting to be trained on: it is part of the learner's state.
    columns = play(ttt, learner, RandomAgent(), alternating_plan(64, 9), np.random.default_rng(9))
    learner.end_games(columns["returns"])
    learner.save(tmp_path / "ppo", parent="ancestor")
    loaded = PPOLearner.load(tmp_path / "ppo", ttt, "ppo", device="cpu")

    assert loaded.steps == learner.steps == 20
    assert loaded.hyperparameters == learner.hyperparameters
    for key, value in params(learner.model).items():
        assert torch.equal(value, params(loaded.model)[key]), key
    assert_same_optimizer(learner.optimizer, loaded.optimizer)
    for key, value in learner.buffer().items():
        np.testing.assert_array_equal(value, loaded.buffer()[key])

    # Same seeds from here on: same games, same losses, same weights.
    history = []
    for copy in (learner, loaded):
        losses = [copy.train(10**6, np.random.default_rng(42))]
        columns = play(ttt, copy, RandomAgent(), alternating_plan(64, 5), np.random.default_rng(5))
        copy.end_games(columns["returns"])
        losses.append(copy.train(10**6, np.random.default_rng(43)))
        history.append((losses, params(copy.model), copy.steps))
    assert history[0][0] == history[1][0]
    assert history[0][2] == history[1][2] > 20
    for key, value in history[0][1].items():
        assert torch.equal(value, history[1][1][key]), key


def test_checkpoint_plays_as_a_checkpoint_agent(ttt, tmp_path):
    learner = small_learner(ttt)
    learner.save(tmp_path / "ppo", parent="p0")
    spec = learner.snapshot_spec(tmp_path / "ppo")
    assert spec == f"checkpoint:{tmp_path / 'ppo' / 'model'}"
    assert learner.snapshot_spec(tmp_path / "ppo" / "model") == spec
    agent = agents.make(spec, ttt)
    state = ttt.play_sequences([[], [4], [0, 4], [0, 4, 8]])
    mask = ttt.legal_mask(state)
    # The snapshot plays the learner's most likely move.
    policy, _ = learner.agent().evaluate(ttt, state, mask)
    np.testing.assert_array_equal(
        agent.act(ttt, state, mask, np.random.default_rng(0)), policy.argmax(axis=1)
    )
    assert agent.evaluator.model.config == learner.config  # rebuilt from the sidecar


@pytest.mark.parametrize("spec", ["matrix:name=rps", "kuhn_poker"])
def test_where_equilibria_are_mixed_the_rated_agent_and_snapshots_sample(spec, tmp_path):
    """Played greedily, a policy of rock-paper-scissors or poker is a pure strategy: it loses
    what mixing earns. Rated versions and frozen copies sample it as training did."""
    game = games.make(spec)
    learner = small_learner(game)
    learner.save(tmp_path / "ppo", parent="p0")
    spec = learner.snapshot_spec(tmp_path / "ppo")
    assert spec == f"checkpoint:{tmp_path / 'ppo' / 'model'},temperature=1"
    state = game.init(20_000)
    game.sample_chance(state)
    mask = game.legal_mask(state, 0)
    policy, _ = learner.agent().evaluate(game, state, mask, 0)
    for agent in (learner.rated_agent("main"), agents.make(spec, game)):
        actions = agent.act(game, state, mask, np.random.default_rng(0), player=0)
        chosen = np.zeros_like(policy)
        chosen[np.arange(len(actions)), actions] = 1
        # Sampled: each action as often as the policy says (not only the likeliest one).
        np.testing.assert_allclose(chosen.mean(axis=0), policy.mean(axis=0), atol=0.02)
    assert learner.rated_agent("main").temperature == 1.0
    assert small_learner(games.make("tic_tac_toe")).rated_agent("main").temperature == 0.0


def test_load_refuses_a_torn_save(ttt, tmp_path):
    learner = small_learner(ttt)
    learner.save(tmp_path / "old")
    columns = play(ttt, learner, RandomAgent(), alternating_plan(32, 0), np.random.default_rng(0))
    learner.end_games(columns["returns"])
    learner.train(2, np.random.default_rng(0))
    learner.save(tmp_path / "new")
    # A crash after the new checkpoint but before its training state: old state, new weights.
    for path in training_state_paths(tmp_path / "old"):
        shutil.copy(path, tmp_path / "new" / path.name)
    with pytest.raises(CheckpointError, match="different saves"):
        PPOLearner.load(tmp_path / "new", ttt, "ppo", device="cpu")


# -- training state files ------------------------------------------------------------------


def regression_task(seed: int):
    """A tiny model, Adam, and a fixed data set."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 5, generator=gen)
    y = x @ torch.randn(5, 1, generator=gen)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.8, 0.99), amsgrad=True)
    return model, optimizer, x, y


def fit(model, optimizer, x, y, steps: int) -> list[float]:
    losses = []
    for _ in range(steps):
        loss = ((model(x) - y) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_training_state_round_trip_continues_identically(tmp_path):
    model, optimizer, x, y = regression_task(0)
    fit(model, optimizer, x, y, 5)
    arrays = {
        "obs": np.arange(24, dtype=np.float32).reshape(2, 3, 4),
        "mask": np.array([[True, False], [False, True]]),
        "action": np.array([3, -1], dtype=np.int64),
        "empty": np.zeros((0, 9), dtype=np.float32),
    }
    save_training_state(tmp_path, optimizer, arrays, {"step": 5, "note": "x"})
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["train_state.json", "train_state.safetensors"]  # no temporary leftovers
    assert b"pickle" not in (tmp_path / "train_state.json").read_bytes()

    fresh_model, fresh_optimizer, _, _ = regression_task(1)  # other weights, empty state
    fresh_model.load_state_dict(model.state_dict())
    loaded_arrays, extra = load_training_state(tmp_path, fresh_optimizer)
    assert extra == {"step": 5, "note": "x"}
    assert loaded_arrays.keys() == arrays.keys()
    for name, array in arrays.items():
        assert loaded_arrays[name].dtype == array.dtype
        np.testing.assert_array_equal(loaded_arrays[name], array)
    assert_same_optimizer(optimizer, fresh_optimizer)
    assert isinstance(fresh_optimizer.param_groups[0]["betas"], tuple)
    assert fit(model, optimizer, x, y, 5) == fit(fresh_model, fresh_optimizer, x, y, 5)


def test_training_state_refuses_foreign_or_mismatched_files(tmp_path):
    model, optimizer, x, y = regression_task(0)
    fit(model, optimizer, x, y, 2)
    save_training_state(tmp_path / "a", optimizer)
    fit(model, optimizer, x, y, 1)
    save_training_state(tmp_path / "b", optimizer)

    with pytest.raises(FileNotFoundError):
        load_training_state(tmp_path / "missing", optimizer)
    # Tensors of one save with the JSON of another.
    shutil.copy(tmp_path / "b" / "train_state.json", tmp_path / "a" / "train_state.json")
    with pytest.raises(CheckpointError, match="different saves"):
        load_training_state(tmp_path / "a", optimizer)
    # A pickle where the tensors should be is refused before anything parses it.
    torch.save(optimizer.state_dict(), tmp_path / "a" / "train_state.safetensors")
    with pytest.raises(CheckpointError, match="never unpickled"):
        load_training_state(tmp_path / "a", optimizer)
    # Another optimizer class, or another parameter layout.
    with pytest.raises(CheckpointError, match="Adam"):
        load_training_state(tmp_path / "b", torch.optim.SGD(model.parameters(), lr=0.1))
    other = torch.optim.Adam([torch.nn.Parameter(torch.zeros(3))])
    with pytest.raises(CheckpointError, match="does not fit"):
        load_training_state(tmp_path / "b", other)
