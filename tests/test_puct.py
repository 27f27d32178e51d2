"""PUCT and Gumbel search: perfect play with exact value oracles, bookkeeping, the agent."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

import agents
import games
from agents.alphazero import AlphaZeroAgent
from agents.checkpoint import save_checkpoint
from agents.evaluation import load_positions
from agents.network import NetConfig, build_network
from agents.puct import SearchConfig, considered_visits_table, search
from games import State
from games.layout import DONE, TO_PLAY
from games.tic_tac_toe import LINES, STONES

TTT = games.make("tic_tac_toe")
C4 = games.make("connect_four")


def uniform_priors(game, rows):
    legal = game.legal_mask(State(game.name, rows)).astype(np.float32)
    return legal / legal.sum(axis=1, keepdims=True)


# --- tic-tac-toe: an exact minimax oracle -------------------------------------------------


def _has_line(stones: int) -> bool:
    return any(stones & int(line) == int(line) for line in LINES)


@functools.cache
def ttt_value(me: int, them: int) -> int:
    """Minimax value for the player to move, who owns `me` (live position)."""
    best = -1
    for a in range(9):
        if (me | them) >> a & 1:
            continue
        mine = me | 1 << a
        if _has_line(mine):
            return 1
        if mine | them == 0o777:
            best = max(best, 0)
        else:
            best = max(best, -ttt_value(them, mine))
    return best


def ttt_sides(row):
    player = int(row[TO_PLAY])
    return int(row[STONES + player]), int(row[STONES + 1 - player])


def ttt_oracle(rows):
    values = [ttt_value(*ttt_sides(row)) for row in rows]
    return uniform_priors(TTT, rows), np.array(values, np.float32)


def ttt_move_value(row, a) -> int:
    """Value of playing a, for the mover."""
    me, them = ttt_sides(row)
    mine = me | 1 << a
    if _has_line(mine):
        return 1
    return 0 if mine | them == 0o777 else -ttt_value(them, mine)


@functools.cache
def ttt_positions() -> np.ndarray:
    """Every reachable live tic-tac-toe position, once each."""
    seen, sequences, stack = set(), [], [()]
    while stack:
        seq = stack.pop()
        state = TTT.play_sequences([list(seq)])
        key = tuple(state.data[0, STONES : STONES + 2])
        if state.done[0] or key in seen:
            continue
        seen.add(key)
        sequences.append(list(seq))
        stack.extend(seq + (a,) for a in np.flatnonzero(TTT.legal_mask(state)[0]))
    return TTT.play_sequences(sequences).data


def ttt_mistakes(rows, actions) -> int:
    return sum(
        ttt_move_value(row, a) != ttt_value(*ttt_sides(row))
        for row, a in zip(rows, actions, strict=True)
    )


@pytest.mark.parametrize(
    "config",
    [
        SearchConfig(sims=24),
        SearchConfig(sims=24, leaves_per_forward=100_000, max_leaves_per_game=4),
        SearchConfig(sims=64, leaves_per_forward=100_000, max_leaves_per_game=8),
    ],
    ids=["puct", "virtual-loss-4", "virtual-loss-8"],
)
def test_tic_tac_toe_perfect_play_with_exact_oracle(config):
    rows = ttt_positions()
    assert len(rows) == 4520
    result = search(TTT, rows, ttt_oracle, config, np.random.default_rng(0))
    assert ttt_mistakes(rows, result.action) == 0
    assert (result.visits.sum(axis=1) == config.sims).all()


def test_uninformed_search_blunders_so_the_oracle_test_can_fail():
    # Same search, values all zero: only finished games carry information, so a shallow
    # search misses deep wins; the perfect-play test above is not trivially satisfied.
    rows = ttt_positions()

    def blind(rows):
        return uniform_priors(TTT, rows), np.zeros(len(rows), np.float32)

    result = search(TTT, rows, blind, SearchConfig(sims=24), np.random.default_rng(0))
    assert ttt_mistakes(rows, result.action) > 100


@pytest.mark.parametrize("leaves_per_game", [1, 4])
def test_gumbel_finds_single_winning_moves_with_sixteen_simulations(leaves_per_game):
    # Uniform priors: only the values can find the win, so every legal move (at most 8
    # here) must be considered, which takes 16 simulations (two visits each).
    rows = ttt_positions()
    legal = TTT.legal_mask(State(TTT.name, rows))
    wins = np.array(
        [[legal[i, a] and ttt_move_value(r, a) == 1 for a in range(9)] for i, r in enumerate(rows)]
    )
    forced = rows[(wins.sum(axis=1) == 1) & (legal.sum(axis=1) <= 8)]
    assert len(forced) > 100
    config = SearchConfig(
        sims=16, gumbel=True, leaves_per_forward=100_000, max_leaves_per_game=leaves_per_game
    )
    result = search(TTT, forced, ttt_oracle, config, np.random.default_rng(1), temperature=1.0)
    assert ttt_mistakes(forced, result.action) == 0


# --- Connect Four: the exact solver as oracle ----------------------------------------------


def c4_oracle(rows):
    from agents.connect_four_solver import solve_batch

    return uniform_priors(C4, rows), np.sign(solve_batch(rows)).astype(np.float32)


def c4_solver_signs(rows) -> np.ndarray:
    """Sign of each column's exact score for the mover (-2 for a full column)."""
    from agents.connect_four_solver import INVALID, move_scores

    scores = np.stack([move_scores(row) for row in rows])
    return np.where(scores == INVALID, -2, np.sign(scores))


def c4_late_positions(count: int, seed: int) -> np.ndarray:
    """Live positions after 26-34 random moves (late enough to solve quickly)."""
    rng = np.random.default_rng(seed)
    found = []
    while len(found) < count:
        state = C4.init(1)
        for _ in range(rng.integers(26, 35)):
            legal = np.flatnonzero(C4.legal_mask(state)[0])
            C4.step(state, np.array([rng.choice(legal)]))
            if state.done[0]:
                break
        if not state.done[0]:
            found.append(state.data[0])
    return np.stack(found)


def c4_benchmark_positions(count: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, per-column score signs) of the first `count` public L3_R1 positions."""
    pos = load_positions("L3_R1.moves", count)
    rows = C4.play_sequences(pos.sequences).data
    return rows, np.where(pos.column_scores == -1000, -2, np.sign(pos.column_scores))


def c4_positions(source: str) -> tuple[np.ndarray, np.ndarray]:
    if source == "benchmark":
        return c4_benchmark_positions(100)
    rows = c4_late_positions(60, seed=3)
    return rows, c4_solver_signs(rows)


@pytest.mark.parametrize("source", ["benchmark", "random"])
def test_connect_four_puct_plays_optimally_with_solver_oracle(source):
    rows, signs = c4_positions(source)
    result = search(C4, rows, c4_oracle, SearchConfig(sims=24), np.random.default_rng(2))
    chosen = signs[np.arange(len(rows)), result.action]
    assert (chosen == signs.max(axis=1)).all()


@pytest.mark.parametrize("source", ["benchmark", "random"])
def test_connect_four_gumbel_wins_won_positions_with_sixteen_simulations(source):
    rows, signs = c4_positions(source)
    won = signs.max(axis=1) == 1
    assert won.sum() >= 20
    rows, signs = rows[won], signs[won]
    # Temperature 1 = full Gumbel root noise: the search, not the tie-breaking, must find it.
    # Uniform priors: all 7 columns must be considered, which takes 16 simulations.
    config = SearchConfig(sims=16, gumbel=True)
    result = search(C4, rows, c4_oracle, config, np.random.default_rng(2), temperature=1.0)
    assert (signs[np.arange(len(rows)), result.action] == 1).all()


# --- bookkeeping ---------------------------------------------------------------------------


def test_finished_games_are_skipped_and_visits_add_up():
    state = TTT.play_sequences([[0, 3, 1, 4, 2], [4], [], [0, 1, 2, 4, 3, 5, 7, 6, 8]])
    assert state.done.tolist() == [True, False, False, True]
    result = search(TTT, state.data, ttt_oracle, SearchConfig(sims=30), np.random.default_rng(0))
    assert result.visits[[0, 3]].sum() == 0 and result.action[[0, 3]].tolist() == [0, 0]
    assert (result.visits[[1, 2]].sum(axis=1) == 30).all()
    np.testing.assert_allclose(result.policy[[1, 2]].sum(axis=1), 1.0, rtol=1e-6)
    legal = TTT.legal_mask(state)
    assert legal[[1, 2], result.action[[1, 2]]].all()
    assert not result.visits[~legal].any()
    assert result.value[1] == pytest.approx(0.0, abs=0.2)  # both positions are draws
    assert result.forwards >= 1 and result.leaves <= 2 + 2 * 30


def test_gumbel_root_visits_follow_sequential_halving():
    # 4 legal moves, 8 simulations: all four once, then the best two three more times each.
    state = TTT.play_sequences([[0, 1, 2, 4, 3]])
    result = search(
        TTT, state.data, ttt_oracle, SearchConfig(sims=8, gumbel=True), np.random.default_rng(0)
    )
    assert sorted(result.visits[0][TTT.legal_mask(state)[0]]) == [1, 1, 3, 3]
    assert considered_visits_table(4, 8)[4].tolist() == [0, 0, 0, 0, 1, 1, 2, 2]
    np.testing.assert_allclose(result.policy.sum(), 1.0, rtol=1e-6)


def test_gumbel_considers_at_most_half_the_simulations_as_moves():
    # Connect Four's opening: 7 legal moves. With 4 simulations only the 2 moves of highest
    # logits + Gumbel noise are searched, twice each, not 4 moves once each.
    def flat(rows):
        return uniform_priors(C4, rows), np.zeros(len(rows), np.float32)

    state = C4.init(3)
    result = search(
        C4, state.data, flat, SearchConfig(sims=4, gumbel=True), np.random.default_rng(0)
    )
    for visits in result.visits:
        assert sorted(visits[visits > 0]) == [2, 2]
    assert [SearchConfig(sims=s, gumbel=True).considered_moves() for s in (1, 4, 16, 64)] == [
        1,
        2,
        8,
        16,
    ]


def test_root_noise_changes_visits_but_not_legality():
    rows = c4_late_positions(8, seed=5)
    quiet = search(C4, rows, c4_oracle, SearchConfig(sims=32), np.random.default_rng(0))
    noisy_config = SearchConfig(sims=32, noise_fraction=0.5, dirichlet_alpha=0.3)
    noisy = search(C4, rows, c4_oracle, noisy_config, np.random.default_rng(0))
    assert not np.array_equal(quiet.visits, noisy.visits)
    legal = C4.legal_mask(State(C4.name, rows))
    assert legal[np.arange(len(rows)), noisy.action].all()
    assert not noisy.visits[~legal].any()


def test_evaluator_with_wrong_shapes_is_reported():
    def broken(rows):
        return np.zeros((len(rows), 3), np.float32), np.zeros(len(rows), np.float32)

    with pytest.raises(ValueError, match="evaluator returned"):
        search(TTT, TTT.init(2).data, broken, SearchConfig(sims=4))


# --- the AlphaZero agent with a network ----------------------------------------------------


def immediate_win_positions(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Connect Four positions where the mover can win at once; (rows, winning-move mask)."""
    rng = np.random.default_rng(seed)
    rows, masks = [], []
    while len(rows) < count:
        state = C4.init(1)
        while not state.done[0]:
            legal = np.flatnonzero(C4.legal_mask(state)[0])
            wins = np.zeros(7, bool)
            for a in legal:
                after = state.copy()
                C4.step(after, np.array([a]))
                wins[a] = after.data[0, DONE] and after.winner[0] == state.to_play[0]
            if wins.any():
                rows.append(state.data[0].copy())
                masks.append(wins)
                break
            C4.step(state, np.array([rng.choice(legal)]))
    return np.stack(rows), np.stack(masks)


def small_net(seed: int = 0):
    torch.manual_seed(seed)
    return build_network(NetConfig.for_game(C4, blocks=1, channels=16))


@pytest.mark.parametrize("gumbel", [False, True])
def test_more_simulations_buy_strength(gumbel):
    rows, wins = immediate_win_positions(48, seed=7)
    state = State(C4.name, rows)
    rate = {}
    for sims in (1, 16):
        agent = AlphaZeroAgent(C4, small_net(), sims=sims, gumbel=gumbel, device="cpu")
        actions = agent.act(C4, state, C4.legal_mask(state), np.random.default_rng(0))
        rate[sims] = wins[np.arange(len(rows)), actions].mean()
    assert rate[16] >= 0.95
    assert rate[16] > rate[1] + 0.3


def test_agent_annotations_evaluate_and_spec(tmp_path):
    model = small_net()
    save_checkpoint(tmp_path / "net", model, model.config, C4.name)
    agent = agents.make(f"az:{tmp_path / 'net'},sims=12,gumbel=true", C4)
    assert isinstance(agent, AlphaZeroAgent) and agent.config.gumbel and agent.config.sims == 12
    state = C4.play_sequences([[3, 3, 2], [], [0, 0, 1, 1, 2, 2, 3]])
    assert state.done.tolist() == [False, False, True]
    legal = C4.legal_mask(state)
    actions = agent.act(C4, state, legal, np.random.default_rng(0))
    assert legal[[0, 1], actions[:2]].all()
    notes = agent.last_annotations
    assert notes["visits"].tolist() == [12, 12, 0]
    assert notes["value"].dtype == np.float32 and notes["policy_entropy"].shape == (3,)
    policy, value = agent.evaluate(C4, state, legal)
    assert policy.shape == (3, 7) and value.shape == (3,)
    np.testing.assert_allclose(policy[:2].sum(axis=1), 1.0, rtol=1e-5)
    assert not policy[~legal].any()
    with pytest.raises(ValueError, match="plays connect_four"):
        agent.act(TTT, TTT.init(1), TTT.legal_mask(TTT.init(1)), np.random.default_rng(0))
