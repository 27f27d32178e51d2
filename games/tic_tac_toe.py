"""Tic-tac-toe on two 9-bit boards. Cells 0-8 row by row, as in OpenSpiel; x (player 0) first."""

import numpy as np
from numba import njit

from games.layout import DONE, HEADER, LAST_ACTION, PLY, RNG, TO_PLAY, WINNER

NAME = "tic_tac_toe"
COLUMNS = 3
ROWS = 3
NUM_ACTIONS = 9
NUM_PLAYERS = 2
MAX_PLIES = 9
OBS_SHAPE = (2, ROWS, COLUMNS)
STONES = HEADER
WIDTH = HEADER + 2

LINES = np.array([0o007, 0o070, 0o700, 0o111, 0o222, 0o444, 0o421, 0o124], dtype=np.int64)


@njit(cache=True, inline="always")
def has_line(b):
    for line in LINES:
        if b & line == line:
            return True
    return False


@njit(cache=True)
def init_row(row, seed):
    row[:] = 0
    row[WINNER] = -1
    row[LAST_ACTION] = -1
    row[RNG] = seed


@njit(cache=True, inline="always")
def is_legal(row, action):
    if action < 0 or action >= NUM_ACTIONS:
        return False
    return (row[STONES] | row[STONES + 1]) >> action & 1 == 0


@njit(cache=True)
def legal_row(row, out):
    if row[DONE]:
        out[:] = False
        return 0
    occupied = row[STONES] | row[STONES + 1]
    n = 0
    for a in range(NUM_ACTIONS):
        ok = occupied >> a & 1 == 0
        out[a] = ok
        n += ok
    return n


@njit(cache=True)
def apply_row(row, action, rewards):
    player = row[TO_PLAY]
    stones = row[STONES + player] | (np.int64(1) << action)
    row[STONES + player] = stones
    row[PLY] += 1
    row[LAST_ACTION] = action
    rewards[:] = 0.0
    if has_line(stones):
        row[DONE] = 1
        row[WINNER] = player
        rewards[player] = 1.0
        rewards[1 - player] = -1.0
    elif row[PLY] == MAX_PLIES:
        row[DONE] = 1
    row[TO_PLAY] = 1 - player


@njit(cache=True)
def observe_row(row, out):
    """Planes from the mover's side: 0 = own marks, 1 = opponent's."""
    me = row[STONES + row[TO_PLAY]]
    them = row[STONES + 1 - row[TO_PLAY]]
    for a in range(NUM_ACTIONS):
        out[0, a // 3, a % 3] = 1.0 if me >> a & 1 else 0.0
        out[1, a // 3, a % 3] = 1.0 if them >> a & 1 else 0.0


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
