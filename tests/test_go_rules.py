"""Go (games/go.py) against OpenSpiel's `go`, move by move, and its board symmetries.

The primitives are driven from Python on a 1-row state array, as the core's kernels drive
them on a batch row.
"""

from __future__ import annotations

import collections
from xml.etree import ElementTree

import numpy as np
import pyspiel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from games import go
from games.contract import transform_planes
from games.layout import DONE, PLY, WINNER

Params = collections.namedtuple("Params", list(go.PARAMS))


def params(size: int, komi: float = 7.5) -> Params:
    return Params(np.int64(size), np.float64(komi))


class Game:
    """One game of go on a 1-row state array, with its scratch arrays."""

    def __init__(self, g: Params) -> None:
        self.g = g
        shape = go.shape(g)
        self.data = np.zeros((1, shape.width), dtype=np.int64)
        self.mask = np.zeros((1, shape.num_actions), dtype=np.bool_)
        self.rewards = np.zeros((1, 2), dtype=np.float32)
        self.obs = np.zeros((1, *shape.obs_shape), dtype=np.float32)
        go.init_row(g, self.data, 0, 0)

    @property
    def row(self) -> np.ndarray:
        return self.data[0]

    def legal(self) -> np.ndarray:
        count = go.legal_row(self.g, self.data, 0, self.mask)
        assert count == self.mask[0].sum()
        return self.mask[0].copy()

    def play(self, action: int) -> np.ndarray:
        assert go.is_legal(self.g, self.data, 0, action)
        go.apply_row(self.g, self.data, 0, action, self.rewards)
        return self.rewards[0].copy()

    def observe(self, player: int) -> np.ndarray:
        go.observe_row(self.g, self.data, 0, player, self.obs)
        return self.obs[0].copy()


def check_observations(game: Game, state) -> None:
    """Own and opponent planes are OpenSpiel's black/white planes seen from each side."""
    n = int(game.g.size)
    theirs = np.asarray(state.observation_tensor(0), dtype=np.float32).reshape(4, n, n)
    for player in (0, 1):
        ours = game.observe(player)
        np.testing.assert_array_equal(ours[0], theirs[player])
        np.testing.assert_array_equal(ours[1], theirs[1 - player])
        assert (ours[3] == player).all()


def check_bit_sets(game: Game) -> None:
    """The bit sets kept move by move agree with the points and the chain records, and
    is_legal agrees with legal_row."""
    g, row = game.g, game.row
    n, w = int(g.size), int(g.size) + 2

    def bit(words: int, v: int) -> int:
        return int(row[words + (v >> 6)]) >> (v & 63) & 1

    for v in ((r + 1) * w + c + 1 for r in range(n) for c in range(n)):
        word = int(row[go.POINTS + 2 * v])
        colour = word & go.COLOUR_MASK
        assert bit(go.EMPTY_BITS, v) == (colour == go.EMPTY)
        for player in (0, 1):
            assert bit(go.STONE_BITS + player * go.WORDS, v) == (colour == player + 1)
        head = word >> go.HEAD_SHIFT & go.POINT_MASK
        in_atari = colour != go.EMPTY and go.in_atari(row[go.POINTS + 2 * head + 1])
        assert bit(go.ATARI_BITS, v) == in_atari
    legal = game.legal()
    assert [go.is_legal(g, game.data, 0, a) for a in range(n * n + 1)] == legal.tolist()


def play_random_games(size: int, num_games: int, seed: int, komi: float = 7.5) -> dict:
    """Random games in OpenSpiel and in ours side by side; returns counts of rule events."""
    g = params(size, komi)
    n2 = size * size
    spiel = pyspiel.load_game("go", {"board_size": size, "komi": komi})
    assert spiel.max_game_length() == go.shape(g).max_plies
    assert spiel.num_distinct_actions() == go.shape(g).num_actions
    rng = np.random.default_rng(seed)
    events = collections.Counter()
    for k in range(num_games):
        # Every other game passes only one time in 50 when it has another move: those
        # games run to the move limit and repeat whole-board positions more often.
        rarely_pass = k % 2 == 1
        state, game = spiel.new_initial_state(), Game(g)
        while True:
            legal = game.legal()
            assert np.flatnonzero(legal).tolist() == state.legal_actions()
            assert bool(game.row[DONE]) == state.is_terminal()
            if state.is_terminal():
                break
            check_observations(game, state)
            if state.move_number() % 4 == 0:
                check_bit_sets(game)
            ko = game.row[go.KO]
            if ko >= 0:
                events["ko-forbidden point"] += 1
                assert not legal[(ko // (size + 2) - 1) * size + ko % (size + 2) - 1]
            empty = go.stones(g, game.row).ravel() < 0
            suicides = empty & ~legal[:n2]
            events["suicide-forbidden point"] += int(suicides.sum()) - int(ko >= 0)
            moves = state.legal_actions()
            if rarely_pass and len(moves) > 1:
                moves = moves[:-1] if rng.random() >= 0.02 else moves[-1:]
            action = int(rng.choice(moves))
            captured = game.row[go.CAPTURED]
            rewards = game.play(action)
            state.apply_action(action)
            events["pass"] += action == n2
            events["capture"] += game.row[go.CAPTURED] > captured
            np.testing.assert_array_equal(rewards, state.rewards())
        returns = state.returns()
        assert game.rewards[0].tolist() == returns
        assert game.row[WINNER] == (0 if returns[0] > 0 else 1 if returns[0] < 0 else -1)
        if game.row[go.REPEATED]:
            events["ended on a repeated position"] += 1
            assert returns == [0.0, 0.0]
        elif game.row[PLY] == spiel.max_game_length():
            events["ended at the move limit"] += 1
        else:
            events["ended on two passes"] += 1
            assert game.row[go.LAST_ACTION] == n2
        events[f"winner {game.row[WINNER]}"] += 1
    return events


RULE_EVENTS = (
    "capture",
    "ko-forbidden point",
    "suicide-forbidden point",
    "pass",
    "ended on a repeated position",
    "ended at the move limit",
    "ended on two passes",
    "winner 0",
    "winner 1",
)


@pytest.mark.parametrize("size, num_games, seed", [(9, 500, 9), (5, 1000, 5)])
def test_random_games_match_openspiel(size: int, num_games: int, seed: int) -> None:
    events = play_random_games(size, num_games, seed)
    print(dict(events))
    missing = [e for e in RULE_EVENTS if events[e] == 0]
    assert not missing, f"never happened in {num_games} games of {size}x{size}: {missing}"


@pytest.mark.parametrize("size", [6, 7, 8, 10, 11, 12, 13])
def test_every_board_size_matches_openspiel(size: int) -> None:
    events = play_random_games(size, 6, size)
    assert events["capture"]


def test_a_whole_number_komi_allows_draws_on_points() -> None:
    events = play_random_games(5, 300, 1, komi=1.0)
    assert events["winner -1"] > events["ended on a repeated position"]


def row_col(size: int, *points: tuple[int, int]) -> list[int]:
    return [r * size + c for r, c in points]


def test_bad_actions_are_not_legal() -> None:
    g = params(5)
    game = Game(g)
    assert not go.is_legal(g, game.data, 0, -1)
    assert not go.is_legal(g, game.data, 0, 26)
    # black a2, b1: white's a1 would be suicide
    for action in row_col(5, (1, 0), (4, 4), (0, 1)):
        game.play(action)
    assert not go.is_legal(g, game.data, 0, 0)
    assert not go.is_legal(g, game.data, 0, 5)  # occupied
    assert go.is_legal(g, game.data, 0, 25)  # pass
    game.play(25)
    game.play(25)
    assert game.row[DONE]
    assert not any(go.is_legal(g, game.data, 0, a) for a in range(26))
    assert not game.legal().any()


def test_simple_ko_forbids_the_immediate_recapture_only() -> None:
    g = params(5)
    game = Game(g)
    state = pyspiel.load_game("go", {"board_size": 5, "komi": 7.5}).new_initial_state()
    # black b1, a2, b3 around white's b2; white c1, c3, d2 around black's c2 capture
    moves = row_col(5, (0, 1), (0, 2), (1, 0), (2, 2), (2, 1), (1, 3), (4, 4), (1, 1), (1, 2))
    for action in moves:
        game.play(action)
        state.apply_action(action)
    recapture = 1 * 5 + 1
    assert game.row[go.CAPTURED] == 1
    assert not go.is_legal(g, game.data, 0, recapture)
    assert recapture not in state.legal_actions()
    assert game.observe(1)[2, 1, 1] == 1.0
    for action in (4 * 5 + 0, 4 * 5 + 1):  # a ko threat elsewhere and its answer
        game.play(action)
    assert go.is_legal(g, game.data, 0, recapture)


def test_a_repeated_whole_board_position_ends_the_game_as_a_draw() -> None:
    # From a random game: white's d5 (move 26) takes black's b5 and c5, and black's c5
    # (move 27, legal: no ko) recreates the position after move 24.
    moves = [24, 5, 14, 17, 9, 2, 25, 11, 25, 8, 7, 10, 18, 25]
    moves += [15, 25, 6, 4, 25, 16, 25, 13, 22, 20, 21, 23, 22]
    g = params(5)
    game = Game(g)
    state = pyspiel.load_game("go", {"board_size": 5, "komi": 7.5}).new_initial_state()
    for action in moves:
        assert not game.row[DONE] and not state.is_terminal()
        rewards = game.play(action)
        state.apply_action(action)
    assert state.is_terminal() and state.returns() == [0.0, 0.0]
    assert game.row[DONE] and game.row[go.REPEATED] and game.row[WINNER] == -1
    assert rewards.tolist() == [0.0, 0.0]
    assert "draw: a whole-board position repeated" in go.text(g, game.row)


@settings(max_examples=40, deadline=None)
@given(
    size=st.sampled_from([5, 6, 7]),
    choices=st.lists(st.integers(0, 1 << 30), min_size=1, max_size=120),
    symmetry=st.integers(0, 7),
)
def test_a_symmetry_maps_legal_moves_observations_and_outcome(
    size: int, choices: list[int], symmetry: int
) -> None:
    g = params(size)
    name, perm = go.symmetries(g)[symmetry]
    assert go.symmetries(g)[0][0] == "identity"
    game, image = Game(g), Game(g)
    for choice in choices:
        legal, legal_image = game.legal(), image.legal()
        np.testing.assert_array_equal(legal_image[perm], legal)
        for player in (0, 1):
            np.testing.assert_array_equal(
                transform_planes(game.observe(player), name), image.observe(player)
            )
        if game.row[DONE]:
            break
        action = int(np.flatnonzero(legal)[choice % legal.sum()])
        np.testing.assert_array_equal(game.play(action), image.play(int(perm[action])))
    assert image.row[DONE] == game.row[DONE]
    assert image.row[WINNER] == game.row[WINNER]


def test_pictures_show_the_board_turn_and_last_move() -> None:
    g = params(9)
    game = Game(g)
    game.play(2 * 9 + 3)  # black d3
    text = go.text(g, game.row)
    assert " 3 +++x+++++" in text.splitlines()
    assert "last move: B d3" in text and "white (player 1) to play" in text
    svg = go.svg(g, game.row)
    ElementTree.fromstring(svg)  # well-formed
    assert svg.count('data-owner="0"') == 1 and 'class="last-move"' in svg
    image = go.rgb(g, game.row)
    assert image.shape == (9 * go.RGB_CELL, 9 * go.RGB_CELL, 3) and image.dtype == np.uint8
    centre = (9 - 1 - 2) * go.RGB_CELL + go.RGB_CELL // 2, 3 * go.RGB_CELL + go.RGB_CELL // 2
    assert image[centre].tolist() == [245, 245, 245]  # the last-move dot on the black stone
    game.play(81)
    game.play(81)
    assert "wins by" in go.text(g, game.row) or "draw" in go.text(g, game.row)
