"""Othello (Reversi) 8x8 on bitboards, as OpenSpiel's `othello`.

Actions 0-63 are the cells row by row (bit r*8 + c, row 0 at the top, OpenSpiel's "a1" is
action 0); 64 = pass, legal exactly when the mover has no other move. Player 0 is black (x)
and moves first; the start is white on d4 and e5, black on e4 and d5. The game ends when
neither player can move; more discs wins (+1 / -1), equal counts draw (0, 0).

A bitboard is a uint64 held in an int64 column (the same 64 bits). All bit arithmetic is
on explicit np.uint64 values: Numba turns mixed int64/uint64 arithmetic into float64, and a
right shift of a negative int64 would drag its sign bit in.

The row caches the mover's legal moves: apply_row has to find them anyway to know whether
the opponent must pass or the game is over, so legal_row and is_legal only read them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from games import render
from games.contract import PLANE_TRANSFORMS, Param, Shape, cell_permutation
from games.layout import DONE, HEADER, LAST_ACTION, PLY, TO_PLAY, WINNER, start_row
from games.render import disc_masks

NAME = "othello"
PARAMS: dict[str, Param] = {}  # 8x8 only, as OpenSpiel
SIDE = 8
CELLS = SIDE * SIDE
PASS = CELLS
NUM_ACTIONS = CELLS + 1
# OpenSpiel's max_game_length(); a game never gets there (60 placements, and a pass is
# always followed by a placement), so no game is cut short.
MAX_PLIES = 2 * CELLS
DISCS = HEADER  # discs of player 0 (black) and player 1 (white): columns DISCS, DISCS + 1
LEGAL = HEADER + 2  # the mover's legal placements (empty when it must pass or the game is over)
WIDTH = HEADER + 3

U1 = np.uint64(1)
U0 = np.uint64(0)
# Cells off the left and right edges: a fill moving sideways must not wrap to the next row.
INNER_COLUMNS = np.uint64(0x7E7E7E7E7E7E7E7E)
# d4 = (3, 3) and e5 = (4, 4) white, e4 = (3, 4) and d5 = (4, 3) black.
START_BLACK = np.int64((1 << 28) | (1 << 35))
START_WHITE = np.int64((1 << 27) | (1 << 36))
START_LEGAL = np.int64((1 << 19) | (1 << 26) | (1 << 37) | (1 << 44))  # d3, c4, f5, e6
S1, S7, S8, S9 = np.uint64(1), np.uint64(7), np.uint64(8), np.uint64(9)
M1 = np.uint64(0x5555555555555555)
M2 = np.uint64(0x3333333333333333)
M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
H01 = np.uint64(0x0101010101010101)


def shape(g) -> Shape:
    """Othello's sizes: 65 actions, 2 players, planes (own discs, opponent's discs)."""
    return Shape(NUM_ACTIONS, 2, (2, SIDE, SIDE), MAX_PLIES, WIDTH)


def symmetries(g) -> list[tuple[str, np.ndarray]]:
    """The 8 symmetries of the square; pass maps to itself.

    The rules are those of the square, so all 8 map a position to an equivalent one (valid
    for augmenting training data). The start position is kept by identity, rot180,
    transpose and antitranspose; the other four swap its colours, so the image of a whole
    game under them is a game from that colour-swapped start."""
    return [(name, cell_permutation(name, SIDE, SIDE, extra=1)) for name in PLANE_TRANSFORMS]


@njit(cache=True, inline="always")
def popcount(x):
    """Set bits of a uint64 (LLVM turns this pattern into one popcnt instruction)."""
    x = x - ((x >> S1) & M1)
    x = (x & M2) + ((x >> np.uint64(2)) & M2)
    x = (x + (x >> np.uint64(4))) & M4
    return np.int64((x * H01) >> np.uint64(56))


# moves, flips and their directional fills are ordinary compiled functions, not inlined
# into every kernel: inlining them all (eight fills in each, moves three times into
# apply_row) made Othello's first use take over 10 s to compile. LLVM still inlines the
# small fills into moves and flips, which a step calls once each (a third moves() only when
# the opponent must pass): no slower. Their arguments are integers only, so their cache
# entries never name a parameter class.


@njit(cache=True)
def _run_up(start, through, s):
    """Cells of `through` reached from `start` by steps of +s (toward higher bits)."""
    x = (start << s) & through
    x |= (x << s) & through
    x |= (x << s) & through
    x |= (x << s) & through
    x |= (x << s) & through
    x |= (x << s) & through
    return x


@njit(cache=True)
def _run_down(start, through, s):
    """Cells of `through` reached from `start` by steps of -s (toward lower bits)."""
    x = (start >> s) & through
    x |= (x >> s) & through
    x |= (x >> s) & through
    x |= (x >> s) & through
    x |= (x >> s) & through
    x |= (x >> s) & through
    return x


@njit(cache=True)
def moves(me, them):
    """Empty cells where `me` would outflank a line of `them` (dumb7fill, 8 directions)."""
    side = them & INNER_COLUMNS  # for the directions with a sideways step
    reach = (
        (_run_up(me, side, S1) << S1)
        | (_run_down(me, side, S1) >> S1)
        | (_run_up(me, them, S8) << S8)
        | (_run_down(me, them, S8) >> S8)
        | (_run_up(me, side, S7) << S7)
        | (_run_down(me, side, S7) >> S7)
        | (_run_up(me, side, S9) << S9)
        | (_run_down(me, side, S9) >> S9)
    )
    return reach & ~(me | them)


@njit(cache=True)
def _turned_up(move, me, through, s):
    """The run of `through` from `move` by steps of +s, if a disc of `me` closes it."""
    x = _run_up(move, through, s)
    return x if (x << s) & me else U0


@njit(cache=True)
def _turned_down(move, me, through, s):
    """The run of `through` from `move` by steps of -s, if a disc of `me` closes it."""
    x = _run_down(move, through, s)
    return x if (x >> s) & me else U0


@njit(cache=True)
def flips(move, me, them):
    """Discs of `them` turned by `me` playing the single bit `move`."""
    side = them & INNER_COLUMNS
    return (
        _turned_up(move, me, side, S1)
        | _turned_down(move, me, side, S1)
        | _turned_up(move, me, them, S8)
        | _turned_down(move, me, them, S8)
        | _turned_up(move, me, side, S7)
        | _turned_down(move, me, side, S7)
        | _turned_up(move, me, side, S9)
        | _turned_down(move, me, side, S9)
    )


@njit(cache=True, inline="always")
def init_row(g, data, i, seed):
    start_row(data, i, seed)
    data[i, DISCS] = START_BLACK
    data[i, DISCS + 1] = START_WHITE
    data[i, LEGAL] = START_LEGAL


@njit(cache=True, inline="always")
def is_legal(g, data, i, action):
    if action < 0 or action > PASS:
        return False
    legal = np.uint64(data[i, LEGAL])
    if action == PASS:
        return legal == U0
    return (legal >> np.uint64(action)) & U1 != U0


@njit(cache=True, inline="always")
def legal_row(g, data, i, mask):
    """Fill mask[i, :65] with the mover's legal actions (all False once done); the count."""
    if data[i, DONE]:
        mask[i, :NUM_ACTIONS] = False
        return 0
    legal = np.uint64(data[i, LEGAL])
    for a in range(CELLS):
        mask[i, a] = (legal >> np.uint64(a)) & U1 != U0
    mask[i, PASS] = legal == U0
    return max(popcount(legal), 1)


@njit(cache=True, inline="always")
def apply_row(g, data, i, action, rewards):
    """Play a legal action in live game i; rewards[i] is nonzero only when the game ends."""
    player = data[i, TO_PLAY]
    me = np.uint64(data[i, DISCS + player])
    them = np.uint64(data[i, DISCS + 1 - player])
    rewards[i, 0] = 0.0
    rewards[i, 1] = 0.0
    data[i, PLY] += 1
    data[i, LAST_ACTION] = action
    data[i, TO_PLAY] = 1 - player
    if action == PASS:  # the opponent can move, or the game would have ended
        data[i, LEGAL] = np.int64(moves(them, me))
        return
    move = U1 << np.uint64(action)
    turned = flips(move, me, them)
    me |= move | turned
    them &= ~turned
    data[i, DISCS + player] = np.int64(me)
    data[i, DISCS + 1 - player] = np.int64(them)
    reply = moves(them, me)
    data[i, LEGAL] = np.int64(reply)
    if reply != U0 or moves(me, them) != U0:
        return  # the opponent moves, or passes and the player moves again
    data[i, DONE] = 1
    mine, theirs = popcount(me), popcount(them)
    if mine != theirs:
        winner = player if mine > theirs else 1 - player
        data[i, WINNER] = winner
        rewards[i, winner] = 1.0
        rewards[i, 1 - winner] = -1.0


@njit(cache=True, inline="always")
def null_move_row(g, data, i):
    """Hand the move to the opponent without a move (for "had the opponent the move"):
    the cached legal placements become the opponent's."""
    player = data[i, TO_PLAY]
    data[i, TO_PLAY] = 1 - player
    them = np.uint64(data[i, DISCS + 1 - player])
    data[i, LEGAL] = np.int64(moves(them, np.uint64(data[i, DISCS + player])))


@njit(cache=True, inline="always")
def observe_row(g, data, i, player, out):
    """Planes from `player`'s side: 0 = its discs, 1 = the opponent's; row 0 at the top."""
    mine = np.uint64(data[i, DISCS + player])
    theirs = np.uint64(data[i, DISCS + 1 - player])
    for a in range(CELLS):
        bit = np.uint64(a)
        out[i, 0, a // SIDE, a % SIDE] = np.float32((mine >> bit) & U1)
        out[i, 1, a // SIDE, a % SIDE] = np.float32((theirs >> bit) & U1)


# Pictures (plain Python on one row)

COLOUR_NAMES = ("black", "white")
SYMBOLS = "xo"  # as OpenSpiel's board string
FILES = "abcdefgh"


def cells(row: np.ndarray) -> np.ndarray:
    """int8[8, 8] board, row 0 at the top: -1 empty, 0 black, 1 white."""
    board = np.full(CELLS, -1, dtype=np.int8)
    for player in range(2):
        bits = int(row[DISCS + player]) & (2**64 - 1)
        board[[a for a in range(CELLS) if bits >> a & 1]] = player
    return board.reshape(SIDE, SIDE)


def last_cell(row: np.ndarray) -> tuple[int, int] | None:
    """(row, column) of the last disc placed, or None before the first move or after a pass."""
    action = int(row[LAST_ACTION])
    return None if action < 0 or action == PASS else divmod(action, SIDE)


def status(row: np.ndarray) -> str:
    """Whose turn or the result, with the disc count, and a pass just played."""
    board = cells(row)
    count = f"black {int((board == 0).sum())}, white {int((board == 1).sum())}"
    if row[DONE]:
        winner = int(row[WINNER])
        result = "draw" if winner < 0 else f"{COLOUR_NAMES[winner]} (player {winner}) wins"
        return f"{result}; {count}"
    player = int(row[TO_PLAY])
    passed = "; last move: pass" if row[LAST_ACTION] == PASS else ""
    return f"{COLOUR_NAMES[player]} (player {player}) to play; {count}{passed}"


def text(g, row: np.ndarray) -> str:
    """The board as text: x black, o white, the last disc placed in capitals."""
    board, last = cells(row), last_cell(row)
    lines = ["  " + " ".join(FILES)]
    for r in range(SIDE):
        marks = []
        for c in range(SIDE):
            mark = "." if board[r, c] < 0 else SYMBOLS[board[r, c]]
            marks.append(mark.upper() if (r, c) == last else mark)
        lines.append(f"{r + 1} " + " ".join(marks))
    lines.append(status(row))
    return "\n".join(lines)


SVG_CELL = 40
SVG_FILL = ("#111111", "#f5f5f5")
BOARD_GREEN = "#1e7b34"
MARK_RED = "#e0301e"


GEOMETRY = render.grid_board(SIDE, SIDE, cells, cell=SVG_CELL)


def board(g) -> render.Board:
    """Where `svg` draws each square."""
    return GEOMETRY


def svg(g, row: np.ndarray) -> str:
    """A standalone SVG: green board with its four marked points, black and white discs
    (shaded), a red dot on the last disc."""
    board, last = cells(row), last_cell(row)
    size = SIDE * SVG_CELL
    parts = [
        render.svg_open(size, size + 24),
        '<defs><radialGradient id="othello-shine" cx="35%" cy="35%" r="70%">'
        '<stop offset="0" stop-color="#fff" stop-opacity="0.35"/>'
        '<stop offset="1" stop-color="#fff" stop-opacity="0"/></radialGradient></defs>',
        f'<rect width="{size}" height="{size}" fill="{BOARD_GREEN}"/>',
    ]
    for k in range(SIDE + 1):
        at = k * SVG_CELL
        parts.append(f'<line x1="{at}" y1="0" x2="{at}" y2="{size}" stroke="#0b3d18"/>')
        parts.append(f'<line x1="0" y1="{at}" x2="{size}" y2="{at}" stroke="#0b3d18"/>')
    for x, y in ((2, 2), (2, 6), (6, 2), (6, 6)):  # the corners of the central 4x4
        parts.append(f'<circle cx="{x * SVG_CELL}" cy="{y * SVG_CELL}" r="3.5" fill="#0b3d18"/>')
    for r in range(SIDE):
        for c in range(SIDE):
            owner = int(board[r, c])
            if owner < 0:
                continue
            cx, cy = (c + 0.5) * SVG_CELL, (r + 0.5) * SVG_CELL
            parts.append(
                f'<circle cx="{cx}" cy="{cy}" r="{SVG_CELL * 0.42}" fill="{SVG_FILL[owner]}" '
                f'stroke="#000" data-cell="{r},{c}" data-owner="{owner}"/>'
                f'<circle cx="{cx}" cy="{cy}" r="{SVG_CELL * 0.42}" fill="url(#othello-shine)"/>'
            )
            if (r, c) == last:
                parts.append(
                    f'<circle class="last-move" cx="{cx}" cy="{cy}" r="{SVG_CELL * 0.1}" '
                    f'fill="{MARK_RED}"/>'
                )
    parts.append(
        f'<text x="4" y="{size + 17}" font-family="sans-serif" font-size="13">'
        f"{status(row)}</text>{GEOMETRY.targets()}</svg>"
    )
    return "".join(parts)


RGB_CELL = 32
RGB_GREEN = (30, 123, 52)
RGB_LINE = (11, 61, 24)
RGB_DISCS = ((17, 17, 17), (245, 245, 245))
RGB_MARK = (224, 48, 30)


def rgb(g, row: np.ndarray) -> np.ndarray:
    """uint8[256, 256, 3] picture: green board, grid lines, discs, a red dot on the last disc."""
    board, last = cells(row), last_cell(row)
    image = np.empty((SIDE * RGB_CELL, SIDE * RGB_CELL, 3), dtype=np.uint8)
    image[:] = RGB_GREEN
    image[::RGB_CELL, :] = RGB_LINE
    image[:, ::RGB_CELL] = RGB_LINE
    disc, dot = disc_masks(RGB_CELL, 0.42, 0.12)
    for r in range(SIDE):
        for c in range(SIDE):
            owner = int(board[r, c])
            if owner < 0:
                continue
            tile = image[r * RGB_CELL : (r + 1) * RGB_CELL, c * RGB_CELL : (c + 1) * RGB_CELL]
            tile[disc] = RGB_DISCS[owner]
            if (r, c) == last:
                tile[dot] = RGB_MARK
    return image
