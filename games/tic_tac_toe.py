"""Tic-tac-toe on two 9-bit boards. Cells 0-8 row by row, as in OpenSpiel; x (player 0) first.

The worked example of docs/adding-a-game.md: a game module of the v2 contract, whose
primitives act on row i of batch-first arrays (see games.kernels for why).
"""

import numpy as np
from numba import njit

from games import render
from games.contract import PLANE_TRANSFORMS, Param, Shape, cell_permutation
from games.layout import DONE, HEADER, LAST_ACTION, TO_PLAY, finish_move, start_row

NAME = "tic_tac_toe"
PARAMS: dict[str, Param] = {}  # no parameters: the spec is just the name
COLUMNS = 3
ROWS = 3
NUM_ACTIONS = 9
MAX_PLIES = 9
STONES = HEADER  # a 9-bit board per player: columns STONES and STONES + 1
WIDTH = HEADER + 2

LINES = np.array([0o007, 0o070, 0o700, 0o111, 0o222, 0o444, 0o421, 0o124], dtype=np.int64)


def shape(g) -> Shape:
    return Shape(NUM_ACTIONS, 2, (2, ROWS, COLUMNS), MAX_PLIES, WIDTH)


def symmetries(g) -> list[tuple[str, np.ndarray]]:
    """The 8 symmetries of the square; actions are cells, numbered as the planes."""
    return [(name, cell_permutation(name, ROWS, COLUMNS)) for name in PLANE_TRANSFORMS]


@njit(cache=True, inline="always")
def has_line(b):
    for line in LINES:
        if b & line == line:
            return True
    return False


@njit(cache=True, inline="always")
def init_row(g, data, i, seed):
    start_row(data, i, seed)


@njit(cache=True, inline="always")
def is_legal(g, data, i, action):
    if action < 0 or action >= NUM_ACTIONS:
        return False
    return (data[i, STONES] | data[i, STONES + 1]) >> action & 1 == 0


@njit(cache=True, inline="always")
def legal_row(g, data, i, mask):
    if data[i, DONE]:
        mask[i, :] = False
        return 0
    occupied = data[i, STONES] | data[i, STONES + 1]
    n = 0
    for a in range(NUM_ACTIONS):
        ok = occupied >> a & 1 == 0
        mask[i, a] = ok
        n += ok
    return n


@njit(cache=True, inline="always")
def apply_row(g, data, i, action, rewards):
    player = data[i, TO_PLAY]
    stones = data[i, STONES + player] | (np.int64(1) << action)
    data[i, STONES + player] = stones
    finish_move(data, i, player, action, has_line(stones), MAX_PLIES, rewards)


@njit(cache=True, inline="always")
def null_move_row(g, data, i):
    """Hand the move to the opponent without a move (for "had the opponent the move")."""
    data[i, TO_PLAY] = 1 - data[i, TO_PLAY]


@njit(cache=True, inline="always")
def observe_row(g, data, i, player, out):
    """Planes from `player`'s side: 0 = own marks, 1 = opponent's."""
    me = data[i, STONES + player]
    them = data[i, STONES + 1 - player]
    for a in range(NUM_ACTIONS):
        out[i, 0, a // 3, a % 3] = 1.0 if me >> a & 1 else 0.0
        out[i, 1, a // 3, a % 3] = 1.0 if them >> a & 1 else 0.0


def cells(row: np.ndarray) -> np.ndarray:
    """int8[3, 3] board: -1 empty, else the owner's index."""
    board = np.full(NUM_ACTIONS, -1, dtype=np.int8)
    for player in range(2):
        for a in range(NUM_ACTIONS):
            if int(row[STONES + player]) >> a & 1:
                board[a] = player
    return board.reshape(ROWS, COLUMNS)


def last_cell(row: np.ndarray) -> tuple[int, int] | None:
    a = int(row[LAST_ACTION])
    return None if a < 0 else (a // 3, a % 3)


# The contract's pictures: text(g, row), svg(g, row), rgb(g, row); and where it draws cells.
text, svg, rgb, board = render.grid_pictures(ROWS, COLUMNS, cells, last_cell, connect_four=False)
