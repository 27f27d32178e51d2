"""Hex (games/hex.py) against OpenSpiel's `hex`, through the module's own primitives.

Each game is played first in OpenSpiel with random legal moves, then replayed by a small
Numba loop over hex's primitives on a one-row array, which records every ply's legal mask,
header, observations and rewards for comparison. The primitives are only ever called from
that loop: called from Python with this file's parameter class, they would write Numba cache
entries naming `tests.test_hex_rules.Params`, which other processes cannot load.
"""

from __future__ import annotations

import collections
import xml.etree.ElementTree as ET

import numpy as np
import pyspiel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from games import hex as hexgame
from games.contract import PLANE_TRANSFORMS, transform_planes
from games.layout import DONE, HEADER, LAST_ACTION, PLY, TO_PLAY, WINNER

GAMES_PER_CONFIG = 1000
Params = collections.namedtuple("Params", list(hexgame.PARAMS))


def params(size: int, swap: bool) -> Params:
    """The parameter tuple as the core builds it: ints and bools as int64."""
    return Params(np.int64(size), np.int64(swap))


@njit  # not cached: Numba's cache would not notice a change in games/hex.py's primitives
def _replay(g, actions, width, num_actions):
    """Replay `actions` from a new game, recording before each ply (and after the last):
    the legal mask, legal_row's count, is_legal for every action and a few out of range,
    the header and both players' observations; and each ply's rewards."""
    n = g.size
    plies = actions.shape[0]
    data = np.zeros((1, width), np.int64)
    mask = np.zeros((1, num_actions), np.bool_)
    rewards = np.zeros((1, 2), np.float32)
    out = np.zeros((1, 3, n, n), np.float32)
    masks = np.zeros((plies + 1, num_actions), np.bool_)
    legal = np.zeros((plies + 1, num_actions + 3), np.bool_)
    counts = np.zeros(plies + 1, np.int64)
    headers = np.zeros((plies + 1, HEADER), np.int64)
    obs = np.zeros((plies + 1, 2, 3, n, n), np.float32)
    step_rewards = np.zeros((plies, 2), np.float32)
    hexgame.init_row(g, data, 0, 12345)
    for t in range(plies + 1):
        counts[t] = hexgame.legal_row(g, data, 0, mask)
        masks[t] = mask[0]
        for a in range(-1, num_actions + 2):
            legal[t, a + 1] = hexgame.is_legal(g, data, 0, a)
        headers[t] = data[0, :HEADER]
        for player in range(2):
            hexgame.observe_row(g, data, 0, player, out)
            obs[t, player] = out[0]
        if t < plies:
            hexgame.apply_row(g, data, 0, actions[t], rewards)
            step_rewards[t] = rewards[0]
    return masks, legal, counts, headers, obs, step_rewards, data[0]


def replay(g: Params, actions) -> dict[str, np.ndarray]:
    """The records of _replay by name, and the final state row ("row")."""
    shape = hexgame.shape(g)
    arrays = _replay(g, np.asarray(actions, dtype=np.int64), shape.width, shape.num_actions)
    keys = ("masks", "legal", "counts", "headers", "obs", "rewards", "row")
    return dict(zip(keys, arrays, strict=True))


def openspiel_game(g: Params, rng: np.random.Generator):
    """A random OpenSpiel game (swapping half the time when it can): its actions, legal
    actions, boards ('x', 'o', '.' per cell) and current player before each ply, and returns."""
    game = pyspiel.load_game("hex", {"board_size": int(g.size), "swap": bool(g.swap)})
    swap_action = int(g.size) ** 2
    state = game.new_initial_state()
    actions, legal, boards, players = [], [], [], []
    while True:
        legal.append(state.legal_actions())
        boards.append("".join(str(state).split()))
        players.append(state.current_player())
        if state.is_terminal():
            return actions, legal, boards, players, state.returns()
        choices = legal[-1]
        if swap_action in choices and rng.random() < 0.5:
            action = swap_action
        else:
            action = int(choices[rng.integers(len(choices))])
        actions.append(action)
        state.apply_action(action)


@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize(
    ("size", "num_games"),
    [(3, GAMES_PER_CONFIG), (5, GAMES_PER_CONFIG), (7, GAMES_PER_CONFIG), (11, GAMES_PER_CONFIG)]
    + [(13, 200)],  # the largest board: its cells fill all three words of a bitboard
)
def test_random_games_match_openspiel(size, num_games, swap):
    g = params(size, swap)
    shape = hexgame.shape(g)
    rng = np.random.default_rng(size * 2 + swap)
    swaps, wins, longest = 0, [0, 0], 0
    for _ in range(num_games):
        actions, legal, boards, players, returns = openspiel_game(g, rng)
        ours = replay(g, actions)
        plies = len(actions)
        history = f"game {actions}"
        expected = np.zeros((plies + 1, shape.num_actions), dtype=bool)
        for t, moves in enumerate(legal):
            expected[t, moves] = True
        np.testing.assert_array_equal(ours["masks"], expected, err_msg=history)
        np.testing.assert_array_equal(ours["counts"], expected.sum(axis=1), err_msg=history)
        # is_legal agrees with the mask and rejects -1, num_actions and num_actions + 1.
        np.testing.assert_array_equal(ours["legal"][:, 1:-2], expected, err_msg=history)
        assert not ours["legal"][:, [0, -2, -1]].any()
        headers = ours["headers"]
        np.testing.assert_array_equal(headers[:, PLY], np.arange(plies + 1))
        np.testing.assert_array_equal(headers[:, DONE], np.arange(plies + 1) == plies)
        np.testing.assert_array_equal(headers[:-1, TO_PLAY], players[:-1], err_msg=history)
        np.testing.assert_array_equal(headers[:-1, WINNER], -1)
        stones = np.array([[".xo".index(ch) - 1 for ch in board] for board in boards])
        stones = stones.reshape(plies + 1, size, size)
        for player in range(2):
            planes = ours["obs"][:, player]
            np.testing.assert_array_equal(planes[:, 0], stones == player, err_msg=history)
            np.testing.assert_array_equal(planes[:, 1], stones == 1 - player, err_msg=history)
        np.testing.assert_array_equal(ours["rewards"][:-1], 0.0)
        np.testing.assert_array_equal(ours["rewards"][-1], returns)
        winner = ours["headers"][-1][WINNER]
        assert returns[winner] == 1.0 and returns[1 - winner] == -1.0  # no draws
        assert ours["headers"][-1][LAST_ACTION] == actions[-1]
        swaps += swap and len(actions) > 1 and actions[1] == size * size
        wins[winner] += 1
        longest = max(longest, plies)
    assert longest <= shape.max_plies == size * size + swap
    assert min(wins) > 0
    if swap:
        assert swaps > num_games // 4  # the swap was exercised, and what followed it


def test_shape_depends_on_size_and_swap():
    assert hexgame.shape(params(11, False)).num_actions == 121
    assert hexgame.shape(params(11, True)).num_actions == 122
    assert hexgame.shape(params(11, True)).max_plies == 122
    assert hexgame.shape(params(3, False)).obs_shape == (3, 3, 3)
    assert hexgame.shape(params(13, True)).obs_shape == (3, 13, 13)
    assert list(hexgame.PARAMS) == ["size", "swap"]
    assert (hexgame.PARAMS["size"].default, hexgame.PARAMS["swap"].default) == (11, False)
    assert (hexgame.PARAMS["size"].low, hexgame.PARAMS["size"].high) == (3, 13)


def test_sides_and_a_full_length_game():
    # Player 0 fills column 0 top to bottom and wins; player 1 answers in column 2.
    g = params(3, False)
    ours = replay(g, [0, 2, 3, 5, 6])
    assert ours["headers"][-1][WINNER] == 0
    np.testing.assert_array_equal(ours["rewards"][-1], [1.0, -1.0])
    # Player 1's column 0 touches only one of her edges: no win.
    assert replay(g, [1, 0, 5, 3, 7, 6])["headers"][-1][DONE] == 0
    # Player 1 joins left and right along row 1.
    ours = replay(g, [0, 3, 1, 4, 8, 5])
    assert ours["headers"][-1][WINNER] == 1
    np.testing.assert_array_equal(ours["rewards"][-1], [-1.0, 1.0])
    # The (r+1, c-1) neighbour links; (r+1, c+1) does not.
    assert replay(g, [2, 0, 4, 1, 6])["headers"][-1][WINNER] == 0
    assert replay(g, [0, 1, 4, 5, 8, 6])["headers"][-1][DONE] == 0


def test_swap_mirrors_the_first_stone_and_hands_it_over():
    g = params(5, True)
    ours = replay(g, [3, 25])  # player 0 at (0, 3); swapped to a player-1 stone at (3, 0)
    header, obs = ours["headers"][-1], ours["obs"][-1]
    assert (header[TO_PLAY], header[PLY], header[LAST_ACTION]) == (0, 2, 25)
    assert obs[1, 0, 3, 0] == 1.0 and obs[1, 0].sum() == 1.0
    assert obs[0, 0].sum() == 0.0 and obs[0, 1, 3, 0] == 1.0
    assert ours["masks"][-1, 3] and not ours["masks"][-1, 15] and not ours["masks"][-1, 25]
    # The swapped stone counts for player 1: (3, 0) touches the left edge.
    assert replay(g, [3, 25, 0, 16, 1, 17, 2, 18, 4, 19])["headers"][-1][WINNER] == 1


def test_observation_marks_the_viewers_edges():
    g = params(4, False)
    obs = replay(g, [])["obs"][0]
    rows = np.zeros((4, 4))
    rows[[0, -1], :] = 1
    np.testing.assert_array_equal(obs[0, 2], rows)
    np.testing.assert_array_equal(obs[1, 2], rows.T)


@pytest.mark.parametrize("swap", [False, True])
def test_bad_actions_are_rejected(swap):
    g = params(5, swap)
    ours = replay(g, [7])
    legal = ours["legal"]  # is_legal for actions -1 .. num_actions + 1, before and after
    assert not legal[0, 0] and not legal[0, 26 + swap] and not legal[0, 27 + swap]
    assert not legal[0, 26]  # the swap is never the first move; without swap, out of range
    assert not legal[1, 8]  # an occupied cell
    assert legal[1, 26] == swap  # the swap as the second move, only with swap=true
    later = replay(g, [7, 8])["legal"][-1]
    assert not later[26]  # nor as the third
    finished = replay(g, [0, 1, 5, 2, 10, 3, 15, 4, 20])
    assert finished["headers"][-1][DONE] and not finished["legal"][-1].any()


def test_symmetries_are_identity_then_the_half_turn():
    for swap in (False, True):
        syms = hexgame.symmetries(params(5, swap))
        assert [name for name, _ in syms] == ["identity", "rot180"]
        assert all(name in PLANE_TRANSFORMS for name, _ in syms)
        np.testing.assert_array_equal(syms[0][1], np.arange(25 + swap))
        turn = syms[1][1]
        assert turn[0] == 24 and turn[7] == 17
        if swap:
            assert turn[25] == 25


@settings(max_examples=60, deadline=None)
@given(st.integers(3, 13), st.booleans(), st.data())
def test_half_turn_maps_games_onto_games(size, swap, data):
    g = params(size, swap)
    actions: list[int] = []
    while True:
        ours = replay(g, actions)
        legal = np.flatnonzero(ours["masks"][-1])
        if not len(legal):
            break
        actions.append(int(legal[data.draw(st.integers(0, len(legal) - 1))]))
    _, turn = hexgame.symmetries(g)[1]
    turned = replay(g, turn[actions])
    # mask_turned[turn[a]] == mask[a]: the legal moves of the turned game are the turned moves.
    np.testing.assert_array_equal(turned["masks"][:, turn], ours["masks"])
    np.testing.assert_array_equal(turned["obs"], transform_planes(ours["obs"], "rot180"))
    np.testing.assert_array_equal(turned["rewards"], ours["rewards"])
    np.testing.assert_array_equal(turned["headers"][:, WINNER], ours["headers"][:, WINNER])


def test_pictures():
    g = params(5, True)
    row = replay(g, [3, 25, 12])["row"]  # a swap, then player 0 in the centre
    text = hexgame.text(g, row).splitlines()
    assert text[1].split()[1:] == [".", ".", ".", ".", "."]
    assert text[3].split()[1:] == [".", ".", "X", ".", "."]
    assert text[4].split()[1:] == ["o", ".", ".", ".", "."]
    assert text[-1] == "o (player 1) to play"
    root = ET.fromstring(hexgame.svg(g, row))
    polygons = root.findall("{http://www.w3.org/2000/svg}polygon")
    cells = {p.get("data-cell"): p.get("data-owner") for p in polygons if p.get("data-cell")}
    assert len(cells) == 25 and cells["2,2"] == "0" and cells["3,0"] == "1"
    assert [p.get("data-owner") for p in polygons if p.get("class") == "edge"] == list("0101")
    assert len(root.findall("{http://www.w3.org/2000/svg}circle")) == 1
    image = hexgame.rgb(g, row)
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    geo = hexgame.Geometry(5, hexgame.RGB_R)
    assert image.shape[:2] == (geo.height, geo.width)
    x, y = geo.centre(geo.lo + 0.2, 2)  # in the frame above the middle of the top row
    top = image[int(y), int(x)]
    x, y = geo.centre(2, geo.lo + 0.2)  # left of the middle of the left column
    left = image[int(y), int(x)]
    np.testing.assert_array_equal(top, hexgame.RGB_COLOURS[0])  # player 0 joins top and bottom
    np.testing.assert_array_equal(left, hexgame.RGB_COLOURS[1])
