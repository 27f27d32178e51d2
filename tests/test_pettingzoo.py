"""The PettingZoo adapters: PettingZoo's own API tests for every registered game (and every
spec in the table of OpenSpiel equivalents), the ParallelEnv of the games with simultaneous
moves, and move-by-move agreement with PettingZoo's classic connect_four_v3 and
tictactoe_v3 (written by others)."""

import functools

import numpy as np
import pettingzoo
import pytest
from pettingzoo.test import (
    api_test,
    parallel_api_test,
    parallel_seed_test,
    render_test,
    seed_test,
)

import games
from games.layout import SIMULTANEOUS
from games.openspiel import covered_specs
from games.pettingzoo import ArenaAECEnv, ArenaParallelEnv, pettingzoo_steps_per_second

NAMES = covered_specs()
SIMULTANEOUS_NAMES = [name for name in NAMES if games.make(name).simultaneous]
# Both references number actions like our engine (identity mapping) and lay out
# observations the same way: (rows, cols, 2), image row 0 at the top, plane 0 the
# observer's stones. Differences, mapped below: tictactoe_v3 names its agents player_1 and
# player_2 (ours: player_0, player_1, as connect_four_v3); their action_mask still lists the
# open columns/cells for the agent selected after the game ended, ours is all zeros.
REFERENCE_IDS = {"connect_four": "classic/connect_four-v3", "tic_tac_toe": "classic/tictactoe-v3"}


def reference_env(name):
    return pettingzoo.make("aec", REFERENCE_IDS[name])


# api_test warns about things that hold for every classic dict-observation env
# (it lists PettingZoo's own by name to silence them): not findings about ours.
API_TEST_NOISE = [
    "ignore:Observation is not a NumPy array:UserWarning",
    "ignore:Observation numpy array is all zeros:UserWarning",
    "ignore:Observation space for each agent probably should be:UserWarning",
    "ignore:Action mask numpy array is all zeros:UserWarning",
]


def env_fn(name):
    return functools.partial(games.pettingzoo_env, name)


def quiet_api_test_noise(test):
    for spec in API_TEST_NOISE:
        test = pytest.mark.filterwarnings(spec)(test)
    return test


@pytest.mark.parametrize("name", NAMES)
@quiet_api_test_noise
def test_api_test(name):
    api_test(games.pettingzoo_env(name), num_cycles=1000)


@pytest.mark.parametrize("name", NAMES)
def test_seed_test(name):
    seed_test(env_fn(name), num_cycles=200)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.filterwarnings("ignore:render mode 'human' is not supported")
def test_render_test(name):
    render_test(env_fn(name))


@pytest.mark.parametrize("name", SIMULTANEOUS_NAMES)
@quiet_api_test_noise
def test_parallel_api_test(name):
    parallel_api_test(games.pettingzoo_env(name, parallel=True), num_cycles=1000)


@pytest.mark.parametrize("name", SIMULTANEOUS_NAMES)
def test_parallel_seed_test(name):
    parallel_seed_test(functools.partial(games.pettingzoo_env, name, parallel=True), 200)


def test_parallel_env_is_for_simultaneous_games_only():
    with pytest.raises(ValueError, match="no simultaneous moves: use its AEC env"):
        games.pettingzoo_env("kuhn_poker", parallel=True)


@pytest.mark.parametrize("name", NAMES)
def test_env_shape_and_metadata(name):
    game = games.make(name)
    env = games.pettingzoo_env(name)
    assert isinstance(env, ArenaAECEnv)
    assert env.possible_agents == [f"player_{p}" for p in range(game.num_players)]
    assert env.metadata["render_modes"] == ["ansi", "rgb_array"]
    assert env.metadata["is_parallelizable"] is False
    assert env.metadata["name"] and env.metadata["render_fps"] > 0
    space = env.observation_space("player_1")["observation"]
    if len(game.obs_shape) == 3:  # board planes, channels last as PettingZoo's classic
        planes, rows, cols = game.obs_shape
        assert space.shape == (rows, cols, planes) and space.dtype == np.int8
    else:
        assert space.shape == game.obs_shape and space.dtype == np.float32
    assert env.action_space("player_0").n == game.num_actions


def _play_both(ours, theirs, rng):
    """Play one random game in both envs, comparing everything an agent can see.

    Returns player_0's return, as it sees it when it steps out of the finished game.
    """
    ours.reset(seed=int(rng.integers(1000)))
    theirs.reset()
    to_ref = dict(zip(ours.possible_agents, theirs.possible_agents, strict=True))

    def renamed(per_agent):
        return {to_ref[agent]: value for agent, value in per_agent.items()}

    returns = {}
    while ours.agents:
        assert [to_ref[agent] for agent in ours.agents] == theirs.agents
        assert to_ref[ours.agent_selection] == theirs.agent_selection
        assert renamed(ours.terminations) == theirs.terminations
        assert renamed(ours.truncations) == theirs.truncations
        assert renamed(ours.rewards) == {a: float(r) for a, r in theirs.rewards.items()}
        over = any(ours.terminations.values())
        for agent in ours.agents:
            mine, ref = ours.observe(agent), theirs.observe(to_ref[agent])
            assert mine["observation"].dtype == np.int8
            np.testing.assert_array_equal(mine["observation"], ref["observation"])
            assert mine["action_mask"].dtype == np.int8
            if over:
                assert not mine["action_mask"].any()
            else:
                np.testing.assert_array_equal(mine["action_mask"], ref["action_mask"])
        observation, reward, terminated, truncated, info = ours.last()
        _, ref_reward, ref_terminated, ref_truncated, ref_info = theirs.last()
        assert (reward, terminated, truncated, info) == (
            float(ref_reward),
            ref_terminated,
            ref_truncated,
            ref_info,
        )
        if terminated:
            returns[ours.agent_selection] = reward
            action = None
        else:
            action = int(rng.choice(np.flatnonzero(observation["action_mask"])))
        ours.step(action)
        theirs.step(action)
    assert not theirs.agents
    assert returns["player_0"] == -returns["player_1"]
    return returns["player_0"]


@pytest.mark.parametrize("name", sorted(REFERENCE_IDS))
def test_same_random_games_as_pettingzoo_reference(name):
    ours, theirs = games.pettingzoo_env(name), reference_env(name)
    rng = np.random.default_rng(2024)
    returns = {_play_both(ours, theirs, rng) for _ in range(60)}
    assert {-1.0, 1.0} <= returns  # both seats won some of the random games


def first_legal(env) -> int:
    """The first legal action of the selected agent."""
    return int(np.flatnonzero(env.observe(env.agent_selection)["action_mask"])[0])


def own_view(game, state, player):
    """The engine's observation of `player`, as the env shows it (board planes HWC int8)."""
    planes = game.observe(state, player)[0]
    return planes.transpose(1, 2, 0).astype(np.int8) if planes.ndim == 3 else planes


@pytest.mark.parametrize("name", NAMES)
def test_observe_any_agent_is_from_its_own_side(name):
    """Each agent sees the engine's observation for its own seat only; the selected agent's
    mask holds its legal actions, everyone else's is empty; chance is never an agent's."""
    game = games.make(name)
    env = games.pettingzoo_env(name)
    env.reset(seed=0)
    for _ in range(3):
        if not env.agents or env.terminations[env.agent_selection]:
            break
        state = env.engine_state
        assert state.to_play[0] != games.kernels.CHANCE  # resolved inside the env
        for player, agent in enumerate(env.possible_agents):
            seen = env.observe(agent)
            np.testing.assert_array_equal(seen["observation"], own_view(game, state, player))
            if agent == env.agent_selection:
                legal = game.legal_mask(state, player)[0]
                np.testing.assert_array_equal(seen["action_mask"], legal)
            else:
                assert not seen["action_mask"].any()
        env.step(first_legal(env))


def _fill_column_zero(env):
    for _ in range(6):  # alternating stones: nobody gets four in the column
        env.step(0)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", ["occupied", "too_big", "negative", "float", "array", "none"])
def test_illegal_or_out_of_space_action_loses(name, kind):
    env = games.pettingzoo_env(name)
    env.reset(seed=0)
    if name == "connect_four":
        _fill_column_zero(env)
        illegal = 0
    else:
        env.step(first_legal(env))
        mask = env.observe(env.agent_selection)["action_mask"]
        if kind == "occupied" and mask.all():
            pytest.skip(f"every action of {name} is legal here")
        illegal = int(np.argmin(mask))  # the first illegal action, e.g. the cell just taken
    action = {
        "occupied": illegal,
        "too_big": games.make(name).num_actions,
        "negative": -1,
        "float": 1.0,
        "array": np.array([1]),
        "none": None,  # only terminated agents may pass None
    }[kind]
    mover = env.agent_selection
    others = [agent for agent in env.possible_agents if agent != mover]
    before = env.engine_state.data.copy()
    env.step(action)
    np.testing.assert_array_equal(env.engine_state.data, before)  # the board did not change
    expected = {mover: -1.0} | dict.fromkeys(others, 1.0 / len(others))  # the others share +1
    assert env.rewards == expected
    assert env.terminations == dict.fromkeys(env.possible_agents, True)
    assert env.truncations == dict.fromkeys(env.possible_agents, False)
    assert isinstance(env.infos[mover]["reason"], str) and env.infos[mover]["reason"]
    assert all(env.infos[other] == {} for other in others)
    assert not env.observe(mover)["action_mask"].any()
    # AEC: the terminated agents step out with None, each seeing its own return.
    seen = {}
    while env.agents:
        agent = env.agent_selection
        _, reward, terminated, _, _ = env.last()
        assert terminated
        seen[agent] = reward
        with pytest.raises(ValueError):
            env.step(0)
        env.step(None)
    assert seen == expected


def test_reference_gives_zero_to_the_other_player_on_illegal_move():
    # Documented difference: PettingZoo's TerminateIllegalWrapper is not zero-sum.
    env = reference_env("connect_four")
    env.reset()
    _fill_column_zero(env)
    env.step(0)  # PettingZoo logs a warning here
    assert env.rewards == {"player_0": -1.0, "player_1": 0}


@pytest.mark.parametrize("name", NAMES)
def test_reset_seed_is_the_engine_seed_and_repeats_what_follows(name):
    game = games.make(name)
    env = games.pettingzoo_env(name)
    env.reset(seed=7)
    started = game.init(1, 7)
    game.sample_chance(started)  # chance's moves are made inside the env
    np.testing.assert_array_equal(env.engine_state.data, started.data)
    env.reset()
    after_seeded = env.engine_state.data.copy()
    env.reset(seed=7)
    env.reset()
    np.testing.assert_array_equal(env.engine_state.data, after_seeded)


@pytest.mark.parametrize("name", NAMES)
def test_render_ansi_is_the_engine_text_board(name):
    game = games.make(name)
    env = games.pettingzoo_env(name, render_mode="ansi")
    env.reset(seed=0)
    env.step(first_legal(env))
    assert env.render() == game.render_text(env.engine_state)


@pytest.mark.parametrize("name", NAMES)
def test_render_rgb_array_is_the_engine_picture(name):
    game = games.make(name)
    env = games.pettingzoo_env(name, render_mode="rgb_array")
    env.reset(seed=0)
    before = env.render()
    assert before.dtype == np.uint8 and before.ndim == 3 and before.shape[2] == 3
    env.step(first_legal(env))
    after = env.render()
    np.testing.assert_array_equal(after, game.render_rgb(env.engine_state))
    if game.perfect_information:  # a board shows the move (cards show no bets)
        assert not np.array_equal(before, after)


def test_unsupported_render_mode_warns_and_renders_nothing():
    with pytest.warns(UserWarning, match="not supported"):
        env = games.pettingzoo_env("connect_four", render_mode="human")
    with pytest.warns(UserWarning, match="render_mode="):
        assert env.render() is None


def test_steps_per_second_at_least_pettingzoo_connect_four():
    ours = pettingzoo_steps_per_second(env_fn("connect_four"), seconds=0.3)
    reference = pettingzoo_steps_per_second(
        functools.partial(reference_env, "connect_four"), seconds=0.3
    )
    assert np.isfinite(ours) and np.isfinite(reference) and reference > 0
    assert ours > reference


@pytest.mark.parametrize("name", SIMULTANEOUS_NAMES)
def test_aec_env_holds_simultaneous_actions_unseen_until_all_are_in(name):
    """At a simultaneous node the AEC env selects the players in order (never a seat
    indexed by the negative to_play), and nobody sees an action before the joint step."""
    env = games.pettingzoo_env(name)
    env.reset(seed=3)
    assert env.engine_state.to_play[0] == SIMULTANEOUS
    assert env.agent_selection == "player_0"
    before = env.engine_state.data.copy()
    views = {agent: env.observe(agent)["observation"] for agent in env.possible_agents}
    env.step(first_legal(env))
    np.testing.assert_array_equal(env.engine_state.data, before)  # held, not yet played
    assert env.agent_selection == "player_1"
    assert env.rewards == dict.fromkeys(env.possible_agents, 0.0)
    for agent in env.possible_agents:
        np.testing.assert_array_equal(env.observe(agent)["observation"], views[agent])
    for _ in env.possible_agents[1:]:
        env.step(first_legal(env))
    assert env.engine_state.ply[0] > before[0, games.kernels.PLY]


def _returns_aec(name, seed, choose):
    env = games.pettingzoo_env(name)
    env.reset(seed=seed)
    returns = dict.fromkeys(env.possible_agents, 0.0)
    for agent in env.agent_iter():
        observation, reward, terminated, truncated, _ = env.last()
        returns[agent] += reward
        env.step(None if terminated or truncated else choose(agent, observation))
    return returns


@pytest.mark.parametrize("name", SIMULTANEOUS_NAMES)
def test_parallel_env_plays_the_same_games_as_the_aec_env(name):
    def choose(agent, observation):  # a fixed, non-trivial policy: the last legal action
        return int(np.flatnonzero(observation["action_mask"])[-1])

    for seed in range(5):
        env = games.pettingzoo_env(name, parallel=True)
        assert isinstance(env, ArenaParallelEnv) and env.metadata["is_parallelizable"]
        observations, _ = env.reset(seed=seed)
        returns = dict.fromkeys(env.possible_agents, 0.0)
        while env.agents:
            actions = {
                agent: choose(agent, seen)
                for agent, seen in observations.items()
                if seen["action_mask"].any()
            }
            observations, rewards, terminations, _, _ = env.step(actions)
            for agent, reward in rewards.items():
                returns[agent] += reward
        assert all(terminations.values())
        assert returns == _returns_aec(name, seed, choose)


@pytest.mark.parametrize("name", SIMULTANEOUS_NAMES)
def test_parallel_env_missing_or_illegal_action_loses(name):
    env = games.pettingzoo_env(name, parallel=True)
    env.reset(seed=0)
    _, rewards, terminations, _, infos = env.step({"player_0": 0})
    assert rewards["player_1"] == -1.0 and rewards["player_0"] == 1.0
    assert "no action for player_1" in infos["player_1"]["reason"]
    assert all(terminations.values()) and env.agents == []
    env.reset(seed=0)
    _, rewards, _, _, infos = env.step({"player_0": 10**6, "player_1": 0})
    assert rewards["player_0"] == -1.0 and "outside the action space" in infos["player_0"]["reason"]
