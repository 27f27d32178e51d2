"""Connect Four, 7 columns x 6 rows, on bitboards.

Bit layout (as in Pascal Pons' solver): bit ``col * 7 + row``, row 0 at the bottom; the
seventh bit of each column stays empty so that shifts never wrap between columns.
Actions are columns 0-6, left to right, as in OpenSpiel; player 0 moves first.

A game module of the v2 contract (docs/adding-a-game.md): primitives act on row i of
batch-first arrays (see games.kernels for why).
"""

import numpy as np
from numba import njit

from games import render
from games.contract import Param, Shape
from games.layout import DONE, HEADER, LAST_ACTION, TO_PLAY, finish_move, start_row

NAME = "connect_four"
PARAMS: dict[str, Param] = {}  # 7x6 only, as OpenSpiel
COLUMNS = 7
ROWS = 6
MAX_PLIES = COLUMNS * ROWS
STONES = HEADER  # bitboard of each player's stones: columns STONES and STONES + 1
WIDTH = HEADER + 2
MIRROR = np.arange(COLUMNS - 1, -1, -1)  # left-right mirror of the columns


def shape(g) -> Shape:
    return Shape(COLUMNS, 2, (2, ROWS, COLUMNS), MAX_PLIES, WIDTH)


def symmetries(g) -> list[tuple[str, np.ndarray]]:
    return [("identity", np.arange(COLUMNS)), ("fliplr", MIRROR)]


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


@njit(cache=True, inline="always")
def init_row(g, data, i, seed):
    start_row(data, i, seed)


@njit(cache=True, inline="always")
def is_legal(g, data, i, action):
    if action < 0 or action >= COLUMNS:
        return False
    return (data[i, STONES] | data[i, STONES + 1]) & top_bit(action) == 0


@njit(cache=True, inline="always")
def legal_row(g, data, i, mask):
    """Fill mask[i] with the legal columns (all False once the game is over); return the count."""
    if data[i, DONE]:
        mask[i, :] = False
        return 0
    occupied = data[i, STONES] | data[i, STONES + 1]
    n = 0
    for c in range(COLUMNS):
        ok = occupied & top_bit(c) == 0
        mask[i, c] = ok
        n += ok
    return n


@njit(cache=True, inline="always")
def apply_row(g, data, i, action, rewards):
    """Play a legal action in game i; write this step's rewards into rewards[i]."""
    player = data[i, TO_PLAY]
    occupied = data[i, STONES] | data[i, STONES + 1]
    stones = data[i, STONES + player] | ((occupied + bottom_bit(action)) & column_bits(action))
    data[i, STONES + player] = stones
    finish_move(data, i, player, action, has_four(stones), MAX_PLIES, rewards)


@njit(cache=True, inline="always")
def null_move_row(g, data, i):
    """Hand the move to the opponent without a move (for "had the opponent the move")."""
    data[i, TO_PLAY] = 1 - data[i, TO_PLAY]


@njit(cache=True, inline="always")
def observe_row(g, data, i, player, out):
    """Planes from `player`'s side: 0 = own stones, 1 = opponent's; image row 0 is the top."""
    me = data[i, STONES + player]
    them = data[i, STONES + 1 - player]
    for c in range(COLUMNS):
        for r in range(ROWS):
            bit = np.int64(1) << (c * 7 + r)
            out[i, 0, ROWS - 1 - r, c] = 1.0 if me & bit else 0.0
            out[i, 1, ROWS - 1 - r, c] = 1.0 if them & bit else 0.0


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


# The contract's pictures: text(g, row), svg(g, row), rgb(g, row); and where it draws cells.
text, svg, rgb, board = render.grid_pictures(ROWS, COLUMNS, cells, last_cell, connect_four=True)
