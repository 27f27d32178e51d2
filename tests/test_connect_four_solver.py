"""The exact Connect Four solver against the public benchmark positions and brute force."""

import numpy as np
import pytest

import agents
import games
from agents import connect_four_solver as cs
from agents.evaluation import benchmark_positions, load_positions

GAME = games.make("connect_four")


def states(pos):
    return GAME.play_sequences(pos.sequences)


@pytest.mark.parametrize("name", ["Test_L3_R1", "Test_L2_R1", "Test_L2_R2", "Test_L1_R1"])
def test_scores_match_every_position_of_a_set(name):
    pos = load_positions(name)
    assert len(pos) == 1000
    found = cs.solve_batch(states(pos).data)
    wrong = np.flatnonzero(found != pos.scores)
    assert wrong.size == 0, [(pos.lines[i], pos.scores[i], found[i]) for i in wrong[:5]]


# Early positions take up to seconds (L1_R2) or minutes (L1_R3, 8 s on average) each, so
# only a quick sample: the first 15 of L1_R2 and the four L1_R3 positions among its first 14
# that solve in about 0.2 s each (about a second per set on a quiet machine).
@pytest.mark.parametrize("name, index", [("L1_R2", range(15)), ("L1_R3", [2, 5, 9, 13])])
def test_scores_match_a_sample_of_the_early_sets(name, index):
    pos = load_positions(name, limit=max(index) + 1)
    index = np.array(index)
    found = cs.solve_batch(GAME.play_sequences([pos.sequences[i] for i in index]).data)
    np.testing.assert_array_equal(found, pos.scores[index])


def test_a_tiny_table_stays_exact():
    # Few slots: entries are overwritten all the time, and slot + stored key bits must
    # still never mistake one position for another.
    pos = load_positions("Test_L2_R1")
    small = cs.Solver(tt_size=1)
    assert small.tt_size == 131101  # the first prime above 2**17
    np.testing.assert_array_equal(small.solve_batch(states(pos).data), pos.scores)


@pytest.mark.parametrize("name", ["Test_L3_R1.moves", "Test_L2_R1.moves", "Test_L2_R2.moves"])
def test_move_scores_match_the_moves_files(name):
    pos = load_positions(name)
    full = np.flatnonzero((pos.column_scores == cs.INVALID).any(axis=1))
    sample = np.union1d(np.arange(0, len(pos), 25), full[:10])
    state = GAME.play_sequences([pos.sequences[i] for i in sample])
    assert full.size > 0
    for k, i in enumerate(sample):
        np.testing.assert_array_equal(
            cs.move_scores(state.data[k]), pos.column_scores[i], err_msg=f"line {pos.lines[i]}"
        )


def _brute_force(state, memo):
    """Score by the benchmark's definition, by trying every continuation."""
    key = state.data[0].tobytes()
    if key in memo:
        return memo[key]
    best = -1000
    stones = int(state.ply[0]) // 2 + 1  # the mover's stones after this move
    for a in np.flatnonzero(GAME.legal_mask(state)[0]):
        child = state.copy()
        GAME.step(child, np.array([a]))
        if child.winner[0] >= 0:
            score = 22 - stones
        elif child.done[0]:
            score = 0
        else:
            score = -_brute_force(child, memo)
        best = max(best, score)
    memo[key] = best
    return best


def test_scores_agree_with_brute_force_near_the_end():
    rng = np.random.default_rng(7)
    memo = {}
    checked = 0
    while checked < 12:
        state = GAME.init(1, seed=int(rng.integers(1 << 30)))
        for _ in range(33 + checked % 3):  # 7 to 9 empty cells left, both sides to move
            GAME.step(state, np.array([rng.choice(np.flatnonzero(GAME.legal_mask(state)[0]))]))
            if state.done[0]:
                break
        if state.done[0]:
            continue
        assert cs.solve(state.data[0]) == _brute_force(state, memo)
        checked += 1


def test_finished_games_are_refused():
    won = GAME.play_sequences([[0, 1, 0, 1, 0, 1, 0]])  # vertical four for player 0
    assert won.done[0]
    with pytest.raises(ValueError, match="finished game"):
        cs.solve(won.data[0])
    with pytest.raises(ValueError, match="finished game"):
        cs.solve_batch(np.concatenate([GAME.play_sequences([[3]]).data, won.data]))
    with pytest.raises(ValueError, match="finished game"):
        cs.move_scores(won.data[0])


def test_rows_of_another_shape_are_refused():
    with pytest.raises(ValueError, match="state rows"):
        cs.solve(np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="state rows"):
        cs.solve_batch(GAME.play_sequences([[3]]).data.astype(np.int32))


def test_the_agent_plays_an_exactly_optimal_move():
    pos = load_positions("Test_L2_R2.moves", limit=120)
    state = states(pos)
    legal = GAME.legal_mask(state)
    agent = agents.make("solver", GAME)
    best = pos.column_scores.max(axis=1)
    chosen = []
    for seed in range(4):
        actions = agent.act(GAME, state, legal, np.random.default_rng(seed))
        np.testing.assert_array_equal(pos.column_scores[np.arange(len(pos)), actions], best)
        chosen.append(actions)
    ties = (pos.column_scores == best[:, None]).sum(axis=1) > 1
    assert ties.any()
    # Ties are broken at random: some tied position got different moves across seeds.
    assert (np.ptp(np.array(chosen)[:, ties], axis=0) > 0).any()
    np.testing.assert_array_equal(agent.last_annotations["value"], np.sign(best))


def test_the_agent_reports_a_uniform_policy_over_optimal_moves():
    pos = load_positions("Test_L3_R1.moves", limit=60)
    state = states(pos)
    policy, value = cs.SolverAgent(GAME).evaluate(GAME, state, GAME.legal_mask(state))
    best = pos.column_scores == pos.column_scores.max(axis=1, keepdims=True)
    assert policy.dtype == np.float32 and value.dtype == np.float32
    np.testing.assert_allclose(policy, best / best.sum(axis=1, keepdims=True))
    np.testing.assert_array_equal(value, np.sign(pos.column_scores.max(axis=1)))


def test_the_agent_skips_finished_games_in_a_batch():
    deep = [3] * 6 + [2] * 6 + [4] * 5  # deep enough to solve at once
    state = GAME.play_sequences([[0, 1, 0, 1, 0, 1, 0], deep])
    legal = GAME.legal_mask(state)
    agent = cs.SolverAgent(GAME, name="exact")
    actions = agent.act(GAME, state, legal, np.random.default_rng(0))
    assert actions.shape == (2,) and legal[1, actions[1]]
    policy, value = agent.evaluate(GAME, state, legal)
    assert policy[0].sum() == 0 and value[0] == -1.0  # the player to move has lost
    assert agent.name == "exact"


def test_the_agent_refuses_other_games():
    with pytest.raises(ValueError, match="connect_four"):
        cs.SolverAgent(games.make("tic_tac_toe"))
    with pytest.raises(ValueError, match="connect_four"):
        agents.make("solver", games.make("tic_tac_toe"))


def test_benchmark_positions_reports_time_and_correctness():
    report = benchmark_positions("L3_R1", limit=40)
    assert report["positions"] == 40 and report["correct"] == 40
    assert report["mean_ms"] > 0 and report["fresh_table"]
