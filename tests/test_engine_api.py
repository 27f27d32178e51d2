"""The engine's public contract: registry, shapes, rendering and clear errors for bad input."""

import numpy as np
import pytest

import games
from games.kernels import RNG


def test_names_and_make():
    assert {"connect_four", "tic_tac_toe"} <= set(games.names())
    game = games.make("connect_four")
    assert (game.num_players, game.num_actions, game.obs_shape, game.max_plies) == (
        2,
        7,
        (2, 6, 7),
        42,
    )
    ttt = games.make("tic_tac_toe")
    assert (ttt.num_actions, ttt.obs_shape, ttt.max_plies) == (9, (2, 3, 3), 9)


def test_unknown_game_lists_available_names():
    with pytest.raises(ValueError, match=", ".join(games.names())):
        games.make("chess")


def test_initial_state():
    game = games.make("connect_four")
    state = game.init(5, seed=3)
    assert len(state) == 5
    assert not state.done.any()
    assert (state.to_play == 0).all() and (state.ply == 0).all() and (state.winner == -1).all()
    assert game.legal_mask(state).all()


@pytest.mark.parametrize("size", [0, -3])
def test_non_positive_batch_size(size):
    with pytest.raises(ValueError, match="batch_size must be positive"):
        games.make("tic_tac_toe").init(size)


def test_non_integer_batch_size():
    with pytest.raises(TypeError, match="batch_size must be an int"):
        games.make("tic_tac_toe").init(2.5)


def test_step_rejects_illegal_and_out_of_range_actions_without_changing_anything():
    game = games.make("connect_four")
    state = game.play_sequences([[3] * 6, [], [1]])
    before = state.data.copy()
    with pytest.raises(ValueError, match=r"game 0: action 3.*game 2: action 7"):
        game.step(state, np.array([3, 0, 7]))
    np.testing.assert_array_equal(state.data, before)
    with pytest.raises(ValueError, match="game 1: action -1"):
        game.step(state, np.array([0, -1, 0]))
    np.testing.assert_array_equal(state.data, before)


def test_step_rejects_wrong_shape_or_dtype():
    game = games.make("tic_tac_toe")
    state = game.init(2)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        game.step(state, np.array([0]))
    with pytest.raises(ValueError, match="integers"):
        game.step(state, np.array([0.0, 1.0]))


def test_finished_games_ignore_their_action():
    game = games.make("tic_tac_toe")
    state = game.play_sequences([[0, 3, 1, 4, 2], [0]])
    assert state.done.tolist() == [True, False]
    before = state.data[0].copy()
    rewards = game.step(state, np.array([99, 4]))
    np.testing.assert_array_equal(state.data[0], before)
    assert rewards[0].tolist() == [0.0, 0.0]


def test_step_rewards_and_winner():
    game = games.make("connect_four")
    state = game.play_sequences([[0, 1, 0, 1, 0, 1]])
    rewards = game.step(state, np.array([0]))
    assert rewards.tolist() == [[1.0, -1.0]]
    assert state.done[0] and state.winner[0] == 0
    state = game.play_sequences([[0, 1, 0, 1, 0, 1, 2]])
    rewards = game.step(state, np.array([1]))
    assert rewards.tolist() == [[-1.0, 1.0]] and state.winner[0] == 1


def test_full_board_draw():
    game = games.make("tic_tac_toe")
    state = game.play_sequences([[0, 1, 2, 4, 3, 5, 7, 6, 8]])
    assert state.done[0] and state.winner[0] == -1


@pytest.mark.parametrize(
    ("sequences", "message"),
    [
        ([[0, 1], [3, 3, 3, 3, 3, 3, 3]], "sequence 1, ply 6: action 3 is illegal"),
        ([[0, 9]], "sequence 0, ply 1: action 9 is out of range 0..6"),
        ([[0, 1, 0, 1, 0, 1, 0, 2]], "sequence 0, ply 7: action 2 comes after the game ended"),
        ([[0, "a"]], "sequence 0 must hold integer actions"),
        ([], "at least one action list"),
    ],
)
def test_play_sequences_errors_name_sequence_and_ply(sequences, message):
    with pytest.raises(ValueError, match=message):
        games.make("connect_four").play_sequences(sequences)


def test_state_of_another_game_is_refused():
    state = games.make("tic_tac_toe").init(1)
    with pytest.raises(ValueError, match="expected a connect_four State"):
        games.make("connect_four").legal_mask(state)


def test_render_text_marks_last_move():
    game = games.make("connect_four")
    state = game.play_sequences([[3, 3, 4]])
    text = game.render_text(state, 0)
    lines = text.splitlines()
    assert lines[0] == "0 1 2 3 4 5 6"
    assert lines[-2] == ". . . x X . ."
    assert lines[-3] == ". . . o . . ."
    assert lines[-1] == "o (player 1) to play"
    ttt = games.make("tic_tac_toe")
    assert ttt.render_text(ttt.play_sequences([[4]]), 0).splitlines()[1] == ". X ."


def test_render_svg_shows_last_move():
    game = games.make("connect_four")
    svg = game.render_svg(game.play_sequences([[3, 2]]), 0)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count('class="last-move"') == 1
    assert 'data-cell="5,2" data-owner="1"' in svg
    assert 'data-cell="5,3" data-owner="0"' in svg
    empty = game.render_svg(game.init(1), 0)
    assert "last-move" not in empty
    with pytest.raises(IndexError):
        game.render_svg(game.init(1), 3)


def test_random_legal_picks_only_legal_moves_and_is_reproducible():
    game = games.make("connect_four")
    state = game.play_sequences([[0] * 6 + [6] * 6, [1, 2, 1, 2, 1, 2, 1]])
    mask = game.legal_mask(state)
    rng = np.array([1, 2], dtype=np.int64)
    picks = {int(a) for _ in range(200) for a in game.random_legal(mask[:1], rng[:1])}
    assert picks == {1, 2, 3, 4, 5}
    assert game.random_legal(mask, np.array([5, 5]))[1] == -1
    a = game.random_legal(mask[:1].repeat(3, 0), np.array([9, 9, 9]))
    assert a[0] == a[1] == a[2]


def test_parallel_kernels_give_the_same_games_as_serial_ones():
    game = games.make("connect_four")
    runs = []
    for threads in (1, 2):
        games.set_threads(threads)
        try:
            state = game.init(4096, seed=11)
            rng = np.arange(4096, dtype=np.int64)
            total = np.zeros((4096, 2), dtype=np.float32)
            for k in range(60):
                total += game.step(state, game.random_legal(game.legal_mask(state), rng))
                game.reset_done(state, k)
            runs.append((state.data.copy(), total, game.observe(state)))
        finally:
            games.set_threads(1)
    for serial, parallel in zip(runs[0], runs[1], strict=True):
        np.testing.assert_array_equal(serial, parallel)
    with pytest.raises(ValueError, match="threads must be between"):
        games.set_threads(0)


def test_init_from_seeds_and_seeded_play_sequences():
    game = games.make("connect_four")
    state = game.init_from_seeds(np.array([5, 9]))
    assert state.data[:, RNG].tolist() == [5, 9]
    played = game.play_sequences([[0], [1, 2]], seeds=[5, 9])
    assert played.data[:, RNG].tolist() == [5, 9]
    with pytest.raises(ValueError, match="2 seeds for 1 sequences"):
        game.play_sequences([[0]], seeds=[1, 2])
    with pytest.raises(ValueError, match="non-empty 1-D integer array"):
        game.init_from_seeds(np.array([]))
