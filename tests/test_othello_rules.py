"""Othello's primitives against OpenSpiel's `othello`, move by move, and its symmetries.

The primitives are driven from Python on a one-row data array, as the batched kernels
drive them on each row, so these tests need no registration of the game.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pyspiel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from games import othello
from games.contract import transform_planes
from games.layout import DONE, LAST_ACTION, PLY, TO_PLAY, WINNER

# Othello has no parameters and reads nothing from `g`. A plain empty tuple, not a namedtuple
# class of this module: Numba's cache index records the argument types and every process
# that loads these primitives unpickles it, so it must name no class of the tests.
g = ()
SPIEL = pyspiel.load_game("othello")


class Board:
    """One game on a one-row data array, stepped through the primitives."""

    def __init__(self) -> None:
        self.data = np.zeros((1, othello.WIDTH), dtype=np.int64)
        self.mask = np.zeros((1, othello.NUM_ACTIONS), dtype=np.bool_)
        self.rewards = np.zeros((1, 2), dtype=np.float32)
        self.obs = np.zeros((1, 2, 8, 8), dtype=np.float32)
        othello.init_row(g, self.data, 0, 0)

    @property
    def row(self) -> np.ndarray:
        return self.data[0]

    def legal(self) -> np.ndarray:
        count = othello.legal_row(g, self.data, 0, self.mask)
        actions = np.flatnonzero(self.mask[0])
        assert count == len(actions)
        return actions

    def play(self, action: int) -> np.ndarray:
        assert othello.is_legal(g, self.data, 0, action)
        othello.apply_row(g, self.data, 0, action, self.rewards)
        return self.rewards[0].copy()

    def observe(self, player: int) -> np.ndarray:
        othello.observe_row(g, self.data, 0, player, self.obs)
        return self.obs[0].copy()


def test_shape_matches_openspiel():
    shape = othello.shape(g)
    assert shape.num_actions == SPIEL.num_distinct_actions() == 65
    assert shape.num_players == SPIEL.num_players()
    assert shape.max_plies == SPIEL.max_game_length()
    assert shape.obs_shape == (2, 8, 8)
    assert shape.width == othello.WIDTH


def test_2000_random_games_match_openspiel_every_ply():
    rng = np.random.default_rng(2026)
    passes = draws = wins = 0
    for _ in range(2000):
        spiel, board = SPIEL.new_initial_state(), Board()
        while not spiel.is_terminal():
            assert not board.row[DONE]
            assert board.row[TO_PLAY] == spiel.current_player()
            assert board.row[PLY] == spiel.move_number()
            legal = board.legal()
            assert legal.tolist() == spiel.legal_actions()
            for player in range(2):
                # OpenSpiel's planes: empty, the player's discs, the opponent's.
                expected = np.array(spiel.observation_tensor(player)).reshape(3, 8, 8)[1:]
                np.testing.assert_array_equal(board.observe(player), expected)
            action = int(rng.choice(legal))
            passes += action == othello.PASS
            spiel.apply_action(action)
            np.testing.assert_array_equal(board.play(action), spiel.rewards())
            assert board.row[LAST_ACTION] == action
        assert board.row[DONE]
        assert board.legal().tolist() == []
        returns = spiel.returns()
        np.testing.assert_array_equal(board.rewards[0], returns)
        winner = int(np.argmax(returns)) if returns[0] != returns[1] else -1
        assert board.row[WINNER] == winner
        draws += winner < 0
        wins += winner >= 0
    # The comparison covered passes, draws and wins of both kinds of ending.
    assert passes > 0 and draws > 0 and wins > 0


def random_game(seed: int) -> list[int]:
    """The actions of one random game to its end."""
    rng = np.random.default_rng(seed)
    board, actions = Board(), []
    while not board.row[DONE]:
        actions.append(int(rng.choice(board.legal())))
        board.play(actions[-1])
    return actions


def test_symmetries_are_the_square_with_pass_fixed():
    names = [name for name, _ in othello.symmetries(g)]
    assert names[0] == "identity" and len(set(names)) == 8
    perms = {tuple(perm) for _, perm in othello.symmetries(g)}
    assert len(perms) == 8
    for _, perm in othello.symmetries(g):
        assert sorted(perm) == list(range(65)) and perm[othello.PASS] == othello.PASS


def transformed_start(name: str) -> Board:
    """The start position under a symmetry: the game the transformed moves are played in."""
    board = Board()
    moved = transform_planes(board.observe(0), name)  # plane 0 black, plane 1 white
    for player in range(2):
        bits = sum(1 << int(a) for a in np.flatnonzero(moved[player].ravel()))
        board.data[0, othello.DISCS + player] = np.uint64(bits).view(np.int64)
    black, white = board.row[othello.DISCS : othello.DISCS + 2].view(np.uint64)
    board.data[0, othello.LEGAL] = np.uint64(othello.moves(black, white)).view(np.int64)
    return board


def test_four_symmetries_keep_the_start_and_four_swap_its_colours():
    start = Board().row
    for name, _ in othello.symmetries(g):
        kept = np.array_equal(transformed_start(name).row, start)
        assert kept == (name in ("identity", "rot180", "transpose", "antitranspose")), name


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32), st.integers(0, 7))
def test_symmetric_game_has_symmetric_moves_and_outcome(seed, k):
    """The rules are those of the square: every symmetry maps a game, played from the
    transformed start, to one with the transformed legal moves, observations and outcome."""
    name, perm = othello.symmetries(g)[k]
    actions = random_game(seed)
    board, image = Board(), transformed_start(name)
    for action in actions:
        legal = board.legal()
        assert sorted(perm[legal].tolist()) == image.legal().tolist()
        for player in range(2):
            moved = transform_planes(board.observe(player), name)
            np.testing.assert_array_equal(moved, image.observe(player))
        np.testing.assert_array_equal(board.play(action), image.play(int(perm[action])))
    assert image.row[DONE] and image.row[WINNER] == board.row[WINNER]
    assert image.row[PLY] == board.row[PLY] == len(actions)


def test_bad_actions_are_rejected_by_is_legal():
    board = Board()
    legal = set(board.legal().tolist())
    assert legal == {19, 26, 37, 44}
    for action in (-1, 65, 1000, 27, 28, 0, 63, 20, othello.PASS):
        assert not othello.is_legal(g, board.data, 0, action), action
    assert all(othello.is_legal(g, board.data, 0, a) for a in legal)


def test_a_forced_pass_is_the_only_legal_action():
    for seed in range(200):
        board = Board()
        rng = np.random.default_rng(seed)
        while not board.row[DONE]:
            legal = board.legal()
            if legal.tolist() == [othello.PASS]:
                assert not any(othello.is_legal(g, board.data, 0, a) for a in range(64))
                assert othello.is_legal(g, board.data, 0, othello.PASS)
                board.play(othello.PASS)
                assert "last move: pass" in othello.text(g, board.row)
                assert othello.PASS not in board.legal()
                return
            board.play(int(rng.choice(legal)))
    pytest.fail("no forced pass in 200 random games")


def test_pictures_show_the_board_and_the_last_move():
    board = Board()
    board.play(19)  # d3: black flips d4
    text = othello.text(g, board.row)
    lines = text.splitlines()
    assert lines[3] == "3 . . . X . . . ."
    assert lines[4] == "4 . . . x x . . ."
    assert "white (player 1) to play" in lines[-1]

    root = ET.fromstring(othello.svg(g, board.row))
    discs = [e for e in root.iter() if e.get("data-owner") is not None]
    assert sorted(e.get("data-owner") for e in discs) == ["0", "0", "0", "0", "1"]
    classes = [e.get("class") for e in root.iter() if e.get("class")]
    assert classes == ["last-move"] + ["target"] * 64  # a click target on every square

    image = othello.rgb(g, board.row)
    assert image.shape == (256, 256, 3) and image.dtype == np.uint8
    cell = othello.RGB_CELL
    assert tuple(image[2 * cell + cell // 2, 3 * cell + cell // 2]) == othello.RGB_MARK
    assert tuple(image[3 * cell + cell // 2, 3 * cell + cell // 2]) == othello.RGB_DISCS[0]
    assert tuple(image[4 * cell + cell // 2, 4 * cell + cell // 2]) == othello.RGB_DISCS[1]
    assert tuple(image[cell // 2, cell // 2]) == othello.RGB_GREEN


def test_finished_game_reports_the_result():
    board = Board()
    for action in random_game(7):
        board.play(action)
    status = othello.text(g, board.row).splitlines()[-1]
    assert ("wins" in status) == (board.row[WINNER] >= 0)
    assert "draw" in status or "wins" in status
