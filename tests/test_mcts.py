"""UCT MCTS: contract, exact terminal values, tactics, and strength that grows with sims."""

import numpy as np
import pytest

import agents
import games
from agents import mcts
from agents.baselines import RandomAgent
from agents.mcts import MCTSAgent
from arena.bench_mcts import bench_mcts

C4 = games.make("connect_four")
TTT = games.make("tic_tac_toe")


def play(game, first, second, seat_of_first, seed):
    """Play one batched game per entry of seat_of_first; returns the first agent's scores."""
    n = len(seat_of_first)
    state = game.init(n, seed)
    rng = np.random.default_rng(seed)
    while not state.done.all():
        legal = game.legal_mask(state)
        actions = np.zeros(n, dtype=np.int64)
        first_to_move = state.to_play == seat_of_first
        for agent, turn in ((first, first_to_move), (second, ~first_to_move)):
            idx = np.flatnonzero(~state.done & turn)
            if idx.size:
                actions[idx] = agent.act(game, state.take(idx), legal[idx], rng)
        game.step(state, actions)
    return np.where(state.winner == seat_of_first, 1.0, np.where(state.winner < 0, 0.5, 0.0))


@pytest.mark.parametrize("kwargs", [{"sims": 0}, {"sims": -3}, {"c": 0.0}, {"c": -1.0}])
def test_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError, match="sims|c "):
        MCTSAgent(C4, **kwargs)


def test_spec_builds_the_agent():
    agent = agents.make("mcts:sims=30,c=2.5", C4)
    assert isinstance(agent, MCTSAgent)
    assert (agent.name, agent.sims, agent.c) == ("mcts:sims=30,c=2.5", 30, 2.5)


def random_positions(game, n, seed):
    """n positions of uniformly random games cut at uniformly random plies (some finished)."""
    state = game.init(n, seed)
    rng_state = np.arange(n, dtype=np.int64) + seed
    history = []
    while not state.done.all():
        actions = game.random_legal(game.legal_mask(state), rng_state)  # -1 once over
        history.append(actions)
        game.step(state, actions)
    cut = np.random.default_rng(seed).integers(0, game.max_plies + 1, size=n)
    sequences = [
        [a for a in h[:k] if a >= 0] for h, k in zip(np.array(history).T, cut, strict=True)
    ]
    return game.play_sequences(sequences)


def test_act_and_evaluate_contract():
    state = random_positions(C4, 40, seed=3)
    assert state.done.any() and not state.done.all()
    legal = C4.legal_mask(state)
    agent = MCTSAgent(C4, sims=60)
    actions = agent.act(C4, state, legal, np.random.default_rng(0))
    live = ~state.done
    assert actions.dtype == np.int64 and actions.shape == (40,)
    assert legal[live, actions[live]].all()
    notes = agent.last_annotations
    assert notes["value"].dtype == np.float32 and notes["policy_entropy"].dtype == np.float32
    assert notes["visits"].dtype == np.int32
    assert (notes["visits"] == np.where(live, 60, 0)).all()
    assert (np.abs(notes["value"]) <= 1).all() and (notes["value"][~live] == 0).all()
    max_entropy = np.log(np.maximum(legal.sum(axis=1), 1))
    assert (notes["policy_entropy"] >= 0).all()
    assert (notes["policy_entropy"] <= max_entropy + 1e-5).all()

    policy, value = agent.evaluate(C4, state, legal)
    assert policy.dtype == np.float32 and policy.shape == (40, 7) and value.dtype == np.float32
    assert np.allclose(policy[live].sum(axis=1), 1.0) and (policy[~legal] == 0).all()
    assert (policy[~live] == 0).all()
    # The played move is a most visited one.
    assert (policy[live, actions[live]] == policy[live].max(axis=1)).all()


def test_root_legal_mask_is_respected():
    state = C4.init(3)
    legal = C4.legal_mask(state)
    legal[:2, :3] = False
    legal[2] = False  # nothing allowed: no search rather than an endless one
    agent = MCTSAgent(C4, sims=50)
    actions = agent.act(C4, state, legal, np.random.default_rng(0))
    assert (actions[:2] >= 3).all()
    assert agent.last_annotations["visits"].tolist() == [50, 50, 0]


def test_reproducible_whatever_the_tree_reuse_threads_and_chunks(monkeypatch):
    state = C4.play_sequences([[3, 3, 2], [], [0, 1, 0, 1], [6]])
    legal = C4.legal_mask(state)
    fresh = MCTSAgent(C4, sims=300)
    expected = fresh.act(C4, state, legal, np.random.default_rng(7))
    notes = fresh.last_annotations

    def check(agent):
        assert (agent.act(C4, state, legal, np.random.default_rng(7)) == expected).all()
        for key, value in notes.items():
            assert (agent.last_annotations[key] == value).all(), key

    reused = MCTSAgent(C4, sims=300)
    big = C4.init(9)
    reused.act(C4, big, C4.legal_mask(big), np.random.default_rng(1))  # leaves larger trees
    monkeypatch.setattr(mcts, "PARALLEL_MIN_SIMS", 0)  # the parallel build when threads > 1
    for n in (1, 2):
        games.set_threads(n)
        try:
            check(reused)
        finally:
            games.set_threads(1)
    monkeypatch.setattr(mcts, "TREE_BYTES", 1)  # one tree: the batch is searched game by game
    chunked = MCTSAgent(C4, sims=300)
    check(chunked)
    assert chunked._arrays(C4, 4)[0].shape[0] == 1


def test_terminal_values_are_exact():
    """With one cell left, the only move ends the game: the value is its exact reward."""
    x_wins_at_8 = [0, 2, 4, 3, 1, 6, 5, 7]
    draw_at_8 = [0, 1, 2, 4, 3, 5, 7, 6]
    state = TTT.play_sequences([x_wins_at_8, draw_at_8])
    policy, value = MCTSAgent(TTT, sims=25).evaluate(TTT, state, TTT.legal_mask(state))
    assert value.tolist() == [1.0, 0.0]
    assert policy[:, 8].tolist() == [1.0, 1.0]


@pytest.mark.parametrize("sims", [100, 400])
def test_finds_wins_and_blocks_in_connect_four(sims):
    positions = [
        ([0, 1, 0, 1, 0, 1], 0),  # player 0 wins vertically in column 0
        ([0, 0, 1, 1, 2, 2], 3),  # player 0 wins on the bottom row with column 3
        ([6, 0, 1, 0, 1, 0, 1], 0),  # player 1 wins vertically in column 0
        ([0, 1, 0, 1, 0], 0),  # player 1 must block column 0
        ([0, 0, 1, 1, 2], 3),  # player 1 must block the bottom row at column 3
        ([6, 0, 5, 1, 6, 2], 3),  # player 0 must block the bottom row at column 3
    ]
    state = C4.play_sequences([seq for seq, _ in positions])
    agent = MCTSAgent(C4, sims=sims)
    actions = agent.act(C4, state, C4.legal_mask(state), np.random.default_rng(sims))
    assert actions.tolist() == [best for _, best in positions]
    # Wins are seen from the mover's side, whichever player that is.
    assert (agent.last_annotations["value"][:3] > 0.5).all()


def test_never_loses_tic_tac_toe_as_first_player_against_random():
    scores = play(TTT, MCTSAgent(TTT, sims=400), RandomAgent(), np.zeros(200, np.int64), 5)
    assert scores.min() >= 0.5
    assert scores.mean() > 0.9


def test_more_simulations_play_stronger_connect_four():
    strong, weak = MCTSAgent(C4, name="strong", sims=200), MCTSAgent(C4, name="weak", sims=20)
    scores = play(C4, strong, weak, np.arange(200) % 2, seed=11)
    assert scores.mean() > 0.8
    assert scores[0::2].mean() > 0.6 and scores[1::2].mean() > 0.6  # from either seat


def test_bench_reports_simulation_rates():
    games.set_threads(2)
    try:
        result = bench_mcts("tic_tac_toe", sims=20, batch=4, seconds=0.2)
        assert games.get_threads() == 2  # restored after the one-thread measurement
    finally:
        games.set_threads(1)
    for part in (result, result["initial"], result["openings"]):
        assert part["simulations"] > 0 and part["sims_per_second"] > 0
    assert result["initial"]["simulations"] == result["initial"]["calls"] * 4 * 20
