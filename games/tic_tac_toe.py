"""Tic-tac-toe on two 9-bit boards. Cells 0-8 row by row, as in OpenSpiel; x (player 0) first.

Primitives act on row i of batch-first arrays (see games.dispatch for why).
"""

import numpy as np
from numba import njit

from games.layout import DONE, HEADER, LAST_ACTION, TO_PLAY, finish_move, start_row

NAME = "tic_tac_toe"
COLUMNS = 3
ROWS = 3
NUM_ACTIONS = 9
NUM_PLAYERS = 2
MAX_PLIES = 9
OBS_SHAPE = (2, ROWS, COLUMNS)
STONES = HEADER
WIDTH = HEADER + 2
MIRROR_ACTIONS = (2, 1, 0, 5, 4, 3, 8, 7, 6)  # left-right mirror of the cells

LINES = np.array([0o007, 0o070, 0o700, 0o111, 0o222, 0o444, 0o421, 0o124], dtype=np.int64)


@njit(cache=True, inline="always")
def has_line(b):
    for line in LINES:
        if b & line == line:
            return True
    return False


@njit(cache=True, inline="always")
def init_row(data, i, seed):
    start_row(data, i, seed)


@njit(cache=True, inline="always")
def is_legal(data, i, action):
    if action < 0 or action >= NUM_ACTIONS:
        return False
    return (data[i, STONES] | data[i, STONES + 1]) >> action & 1 == 0


@njit(cache=True, inline="always")
def legal_row(data, i, mask):
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
def apply_row(data, i, action, rewards):
    player = data[i, TO_PLAY]
    stones = data[i, STONES + player] | (np.int64(1) << action)
    data[i, STONES + player] = stones
    finish_move(data, i, player, action, has_line(stones), MAX_PLIES, rewards)


@njit(cache=True, inline="always")
def observe_row(data, i, out):
    """Planes from the mover's side: 0 = own marks, 1 = opponent's."""
    me = data[i, STONES + data[i, TO_PLAY]]
    them = data[i, STONES + 1 - data[i, TO_PLAY]]
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
