"""Connect Four, 7 columns x 6 rows, on bitboards.

Bit layout (as in Pascal Pons' solver): bit ``col * 7 + row``, row 0 at the bottom; the
seventh bit of each column stays empty so that shifts never wrap between columns.
Actions are columns 0-6, left to right, as in OpenSpiel; player 0 moves first.
"""

import numpy as np
from numba import njit

from games.layout import DONE, HEADER, LAST_ACTION, PLY, RNG, TO_PLAY, WINNER

NAME = "connect_four"
COLUMNS = 7
ROWS = 6
NUM_ACTIONS = COLUMNS
NUM_PLAYERS = 2
MAX_PLIES = COLUMNS * ROWS
OBS_SHAPE = (2, ROWS, COLUMNS)
STONES = HEADER  # bitboard of each player's stones: columns STONES and STONES + 1
WIDTH = HEADER + 2

BOTTOM_ROW = sum(1 << (c * 7) for c in range(COLUMNS))
BOARD_MASK = BOTTOM_ROW * ((1 << ROWS) - 1)


@njit(cache=True, inline="always")
def top_bit(col):
    return np.int64(1) << (col * 7 + ROWS - 1)


@njit(cache=True, inline="always")
def bottom_bit(col):
    return np.int64(1) << (col * 7)


@njit(cache=True, inline="always")
def column_bits(col):
    return np.int64((1 << ROWS) - 1) << (col * 7)


@njit(cache=True, inline="always")
def has_four(b):
    """True when the bitboard b holds four in a row in any direction."""
    for shift in (1, 6, 7, 8):  # vertical, diagonal /, horizontal, diagonal \
        m = b & (b >> shift)
        if m & (m >> (2 * shift)):
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
    if action < 0 or action >= COLUMNS:
        return False
    return (row[STONES] | row[STONES + 1]) & top_bit(action) == 0


@njit(cache=True)
def legal_row(row, out):
    n = 0
    if row[DONE]:
        out[:] = False
        return 0
    occupied = row[STONES] | row[STONES + 1]
    for c in range(COLUMNS):
        ok = occupied & top_bit(c) == 0
        out[c] = ok
        n += ok
    return n


@njit(cache=True)
def apply_row(row, action, rewards):
    """Play a legal action; fill rewards (one per player) for this step."""
    player = row[TO_PLAY]
    occupied = row[STONES] | row[STONES + 1]
    stones = row[STONES + player] | ((occupied + bottom_bit(action)) & column_bits(action))
    row[STONES + player] = stones
    row[PLY] += 1
    row[LAST_ACTION] = action
    rewards[:] = 0.0
    if has_four(stones):
        row[DONE] = 1
        row[WINNER] = player
        rewards[player] = 1.0
        rewards[1 - player] = -1.0
    elif row[PLY] == MAX_PLIES:
        row[DONE] = 1
    row[TO_PLAY] = 1 - player


@njit(cache=True)
def observe_row(row, out):
    """Planes from the mover's side: 0 = own stones, 1 = opponent's; image row 0 is the top."""
    me = row[STONES + row[TO_PLAY]]
    them = row[STONES + 1 - row[TO_PLAY]]
    for c in range(COLUMNS):
        for r in range(ROWS):
            bit = np.int64(1) << (c * 7 + r)
            out[0, ROWS - 1 - r, c] = 1.0 if me & bit else 0.0
            out[1, ROWS - 1 - r, c] = 1.0 if them & bit else 0.0


def cells(row: np.ndarray) -> np.ndarray:
    """int8[ROWS, COLUMNS] board, image row 0 at the top: -1 empty, else the owner's index."""
    board = np.full((ROWS, COLUMNS), -1, dtype=np.int8)
    for player in range(2):
        bits = int(row[STONES + player])
        for c in range(COLUMNS):
            for r in range(ROWS):
                if bits >> (c * 7 + r) & 1:
                    board[ROWS - 1 - r, c] = player
    return board


def last_cell(row: np.ndarray) -> tuple[int, int] | None:
    """(image row, column) of the last stone played, or None before the first move."""
    col = int(row[LAST_ACTION])
    if col < 0:
        return None
    board = cells(row)
    top = int(np.flatnonzero(board[:, col] >= 0)[0])
    return top, col
