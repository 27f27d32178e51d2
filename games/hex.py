"""Hex on an N x N rhombus (N from 3 to 13), as OpenSpiel's `hex(board_size=N)`.

Cells are numbered row by row, cell = r * N + c, as in OpenSpiel; the neighbours of (r, c)
are (r-1, c), (r-1, c+1), (r, c+1), (r+1, c), (r+1, c-1) and (r, c-1), so each row is drawn
half a cell to the right of the one above. Player 0 (x, OpenSpiel's black) moves first and
joins the top row to the bottom row; player 1 (o, white) joins the left column to the right
column. A full board always has exactly one winner, so Hex has no draws.

With `swap=true` (OpenSpiel's `swap` parameter) action N*N is the swap (pie) rule, legal
only as the second move of the game: player 0's single stone, at (r, c), is replaced by a
player-1 stone on the mirrored cell (c, r), and player 0 moves next. The swap is a ply, so
a game lasts up to N*N + 1 plies (OpenSpiel's max_game_length() does not count it).

Row layout after the header: the stones as bitboards, three int64 words per player (bit k of
word w is cell 64 * w + k), then an incremental union-find over the cells plus four virtual
edge nodes (top, bottom, left, right), one byte per node, so that a move costs a few
near-constant finds and a row of an 11 x 11 game is 28 int64 words.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from games import render
from games.contract import Param, Shape, cell_permutation
from games.layout import (
    DONE,
    HEADER,
    LAST_ACTION,
    PLY,
    TO_PLAY,
    finish_move,
    inner_njit,
    start_row,
)

NAME = "hex"
PARAMS = {
    "size": Param(int, 11, "board side (cells per row and per column)", low=3, high=13),
    "swap": Param(bool, False, "allow the swap (pie) rule as the second move"),
}
WORDS = 3  # int64 words of one player's bitboard: 13 * 13 = 169 cells <= 192 bits
STONES = HEADER  # player p's bitboard: columns STONES + WORDS * p .. + WORDS - 1
# Union-find parents of the N*N cells, then of the four edge nodes, one byte each (at most
# 173 nodes), eight to a word: a batch of rows then stays small enough for the CPU caches.
PARENT = STONES + 2 * WORDS


def shape(g) -> Shape:
    n = int(g.size)
    actions = n * n + int(g.swap)
    return Shape(actions, 2, (3, n, n), actions, PARENT + (n * n + 4 + 7) // 8)


def symmetries(g) -> list[tuple[str, np.ndarray]]:
    """The identity and the half turn, the only symmetry of the board that keeps each
    player's pair of edges; the swap action is fixed (the turn commutes with the swap's
    mirror)."""
    n, extra = int(g.size), int(g.swap)
    return [(name, cell_permutation(name, n, n, extra)) for name in ("identity", "rot180")]


# The bit helpers are compiled once and called, not inlined into each caller's Numba IR
# (every inlined copy is typed again: 0.5 s of a cold first call); LLVM inlines them anyway,
# the engine runs as fast.


@inner_njit
def has_stone(data, i, player, cell):
    return (data[i, STONES + WORDS * player + (cell >> 6)] >> (cell & 63)) & 1 != 0


@inner_njit
def is_empty(data, i, cell):
    w = cell >> 6
    return ((data[i, STONES + w] | data[i, STONES + WORDS + w]) >> (cell & 63)) & 1 == 0


@inner_njit
def parent(data, i, x):
    return (data[i, PARENT + (x >> 3)] >> ((x & 7) << 3)) & 0xFF


@inner_njit
def set_parent(data, i, x, p):
    col = PARENT + (x >> 3)
    shift = (x & 7) << 3
    data[i, col] = (data[i, col] & ~(np.int64(0xFF) << shift)) | (np.int64(p) << shift)


# find, union and place are ordinary compiled functions, not inlined into every kernel:
# inlining them all (place holds seven unions of two finds each) made a kernel take minutes
# of CPU to compile, for a few ns per move.


@inner_njit
def find(data, i, x):
    """Root of node x, halving the path on the way."""
    while True:
        p = parent(data, i, x)
        if p == x:
            return x
        gp = parent(data, i, p)
        set_parent(data, i, x, gp)
        x = gp


@inner_njit
def union(data, i, a, b):
    """Join the sets of a and b under the larger root, so the edge nodes (the largest
    indices) stay roots and a joined pair of edges shows at once in their parents."""
    ra = find(data, i, a)
    rb = find(data, i, b)
    if ra < rb:
        set_parent(data, i, ra, rb)
    elif rb < ra:
        set_parent(data, i, rb, ra)


@njit(cache=True, inline="always")
def reset_edges(g, data, i):
    nn = g.size * g.size
    for e in range(4):
        set_parent(data, i, nn + e, nn + e)


@inner_njit
def place(n, data, i, player, cell):
    """Put player's stone on an empty cell of a board of side n and join it to its own
    neighbours and edges; returns True when this joins the player's two edges."""
    nn = n * n
    data[i, STONES + WORDS * player + (cell >> 6)] |= np.int64(1) << (cell & 63)
    set_parent(data, i, cell, cell)
    r = cell // n
    c = cell - r * n
    if r > 0:
        if has_stone(data, i, player, cell - n):
            union(data, i, cell, cell - n)
        if c < n - 1 and has_stone(data, i, player, cell - n + 1):
            union(data, i, cell, cell - n + 1)
    if c < n - 1 and has_stone(data, i, player, cell + 1):
        union(data, i, cell, cell + 1)
    if r < n - 1:
        if has_stone(data, i, player, cell + n):
            union(data, i, cell, cell + n)
        if c > 0 and has_stone(data, i, player, cell + n - 1):
            union(data, i, cell, cell + n - 1)
    if c > 0 and has_stone(data, i, player, cell - 1):
        union(data, i, cell, cell - 1)
    # Player 0's edges are nodes nn (top) and nn + 1 (bottom); player 1's nn + 2 (left)
    # and nn + 3 (right).
    along = r if player == 0 else c
    if along == 0:
        union(data, i, cell, nn + 2 * player)
    elif along == n - 1:
        union(data, i, cell, nn + 2 * player + 1)
    first_edge = nn + 2 * player
    return parent(data, i, first_edge) != first_edge


@njit(cache=True, inline="always")
def init_row(g, data, i, seed):
    start_row(data, i, seed)
    reset_edges(g, data, i)


@njit(cache=True, inline="always")
def is_legal(g, data, i, action):
    nn = g.size * g.size
    if data[i, DONE] or action < 0 or action > nn:
        return False
    if action == nn:
        return g.swap != 0 and data[i, PLY] == 1
    return is_empty(data, i, action)


@njit(cache=True, inline="always")
def legal_row(g, data, i, mask):
    """Fill mask[i, :num_actions] with the legal moves (all False once over); return the count."""
    nn = g.size * g.size
    if data[i, DONE]:
        mask[i, : nn + g.swap] = False
        return 0
    count = 0
    for w in range(WORDS):
        free = ~(data[i, STONES + w] | data[i, STONES + WORDS + w])
        for k in range(min(64, nn - 64 * w)):
            bit = (free >> k) & 1
            mask[i, 64 * w + k] = bit != 0
            count += bit
    if g.swap:
        can_swap = data[i, PLY] == 1
        mask[i, nn] = can_swap
        count += can_swap
    return count


@njit(cache=True, inline="always")
def apply_row(g, data, i, action, rewards):
    """Play a legal action in live game i; write this step's rewards into rewards[i]."""
    n = g.size
    nn = n * n
    max_plies = nn + g.swap
    player = data[i, TO_PLAY]
    cell = action
    if action == nn:  # swap: player 0's only stone, mirrored, becomes player 1's
        first = data[i, LAST_ACTION]
        for w in range(2 * WORDS):
            data[i, STONES + w] = 0
        reset_edges(g, data, i)
        r = first // n
        cell = (first - r * n) * n + r
    # One call site, with the mover (player 1 when swapping, the second move): a literal
    # player argument made Numba compile place a second time.
    won = place(n, data, i, player, cell)
    finish_move(data, i, player, action, won, max_plies, rewards)


@njit(cache=True, inline="always")
def null_move_row(g, data, i):
    """Hand the move to the opponent without a move (for "had the opponent the move")."""
    data[i, TO_PLAY] = 1 - data[i, TO_PLAY]


@njit(cache=True, inline="always")
def observe_row(g, data, i, player, out):
    """Planes from `player`'s side: 0 = own stones, 1 = opponent's, 2 = the cells along the
    two edges `player` must join (top and bottom rows for player 0, left and right columns
    for player 1). Without plane 2 one network playing both seats could not tell which way
    it is connecting; it is a constant of the seat, and the half turn keeps it."""
    n = g.size
    for r in range(n):
        for c in range(n):
            cell = r * n + c
            out[i, 0, r, c] = 1.0 if has_stone(data, i, player, cell) else 0.0
            out[i, 1, r, c] = 1.0 if has_stone(data, i, 1 - player, cell) else 0.0
            along = r if player == 0 else c
            out[i, 2, r, c] = 1.0 if along == 0 or along == n - 1 else 0.0


# Pictures (plain Python on one row).


def cells(g, row: np.ndarray) -> np.ndarray:
    """int8[N, N] board: -1 empty, else the owner's index."""
    n = int(g.size)
    board = np.full(n * n, -1, dtype=np.int8)
    for player in range(2):
        for cell in range(n * n):
            word = int(row[STONES + WORDS * player + (cell >> 6)])
            if (word >> (cell & 63)) & 1:
                board[cell] = player
    return board.reshape(n, n)


def last_cell(g, row: np.ndarray) -> tuple[int, int] | None:
    """(row, column) of the last stone placed (after a swap, the mirrored stone), or None."""
    n = int(g.size)
    action = int(row[LAST_ACTION])
    if action < 0:
        return None
    if action == n * n:
        r, c = np.argwhere(cells(g, row) == 1)[0]
        return int(r), int(c)
    return divmod(action, n)


def status(g, row: np.ndarray) -> str:
    swapped = " (after a swap)" if int(row[LAST_ACTION]) == int(g.size) ** 2 else ""
    return render.status(row) + swapped


def text(g, row: np.ndarray) -> str:
    """OpenSpiel's picture (each row half a cell right of the one above) with column letters
    and row numbers; x joins top and bottom, o left and right; the last stone in capitals."""
    board = cells(g, row)
    last = last_cell(g, row)
    n = board.shape[0]
    lines = ["   " + " ".join(chr(ord("a") + c) for c in range(n))]
    for r in range(n):
        marks = []
        for c in range(n):
            owner = int(board[r, c])
            mark = "." if owner < 0 else render.SYMBOLS[owner]
            marks.append(mark.upper() if (r, c) == last else mark)
        lines.append(" " * r + f"{r + 1:>2} " + " ".join(marks))
    lines.append(status(g, row))
    return "\n".join(lines)


SVG_R = 20.0  # circumradius of a cell (pointy-top hexagon) in SVG pixels
RGB_R = 12.0  # the same in rgb pixels
FRAME = 0.6  # width of the coloured frame around the board, in cells
PAD = 4.0  # pixels around the frame
# Red and blue, as Hex boards are coloured: player 0 joins the red edges (top and bottom).
COLOURS = ("#d62728", "#1f5fbf")
RGB_COLOURS = np.array([(214, 39, 40), (31, 95, 191)], dtype=np.uint8)
EMPTY = "#e8e8e8"
RGB_EMPTY = (232, 232, 232)
RGB_GRID = (85, 85, 85)


class Geometry:
    """Pixel positions of a board of side n whose cells have circumradius `radius`: cell
    (r, c) is centred at (x0 + (c + r / 2) * w, y0 + 1.5 * radius * r); fractional cells
    place the frame."""

    def __init__(self, n: int, radius: float) -> None:
        self.n, self.radius, self.w = n, radius, radius * 3**0.5
        self.lo, self.hi = -0.5 - FRAME, n - 0.5 + FRAME  # the frame's rhombus, in cells
        self.x0 = PAD - 1.5 * self.lo * self.w
        self.y0 = PAD - 1.5 * self.lo * radius
        self.width = int(np.ceil(2 * PAD + 1.5 * (self.hi - self.lo) * self.w))
        self.height = int(np.ceil(2 * PAD + 1.5 * (self.hi - self.lo) * radius))

    def centre(self, r: float, c: float) -> tuple[float, float]:
        return self.x0 + (c + r / 2) * self.w, self.y0 + 1.5 * self.radius * r

    def frame(self) -> list[tuple[int, list[tuple[float, float]]]]:
        """Four triangles (owner, corners) that cut the frame's rhombus along its diagonals:
        the triangle along a player's pair of edges takes that player's colour."""
        lo, hi, mid = self.lo, self.hi, (self.n - 1) / 2
        tl, tr, br, bl = (lo, lo), (lo, hi), (hi, hi), (hi, lo)
        sides = [(0, tl, tr), (1, tr, br), (0, br, bl), (1, bl, tl)]
        return [(p, [self.centre(*a), self.centre(*b), self.centre(mid, mid)]) for p, a, b in sides]


def board(g) -> render.Board:
    """Where `svg` draws each hexagon (each is its own click target, `data-action`)."""
    n = int(g.size)
    geo = Geometry(n, SVG_R)
    r, c = np.mgrid[0:n, 0:n]
    centres = np.stack(geo.centre(r, c), axis=-1).astype(float)
    return render.Board(centres, geo.w, lambda row: cells(g, row))


def svg(g, row: np.ndarray) -> str:
    """A standalone SVG: a rhombus of hexagons framed on each side in the colour of the
    player who must join it, the last stone ringed in black."""
    board = cells(g, row)
    last = last_cell(g, row)
    n = board.shape[0]
    geo = Geometry(n, SVG_R)
    width, height = geo.width, geo.height + 24
    parts = [
        render.svg_open(width, height),
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    for owner, corners in geo.frame():
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in corners)
        parts.append(
            f'<polygon class="edge" points="{points}" fill="{COLOURS[owner]}" '
            f'data-owner="{owner}"/>'
        )
    angles = np.radians(np.arange(30, 390, 60))
    offsets = [(SVG_R * np.cos(a), SVG_R * np.sin(a)) for a in angles]
    for r in range(n):
        for c in range(n):
            x, y = geo.centre(r, c)
            owner = int(board[r, c])
            points = " ".join(f"{x + dx:.1f},{y + dy:.1f}" for dx, dy in offsets)
            fill = COLOURS[owner] if owner >= 0 else EMPTY
            parts.append(
                f'<polygon points="{points}" fill="{fill}" stroke="#555" stroke-width="1" '
                f'data-cell="{r},{c}" data-owner="{owner}" data-action="{r * n + c}"/>'
            )
            if (r, c) == last:  # lets clicks through to its hexagon
                parts.append(
                    f'<circle class="last-move" cx="{x:.1f}" cy="{y:.1f}" '
                    f'r="{SVG_R * 0.4:.1f}" fill="none" stroke="#000" stroke-width="3" '
                    'pointer-events="none"/>'
                )
    parts.append(
        f'<text x="4" y="{height - 7}" font-family="sans-serif" font-size="14">'
        f"{status(g, row)}</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def rgb(g, row: np.ndarray) -> np.ndarray:
    """uint8[H, W, 3] picture with the SVG's geometry: each pixel is mapped back to
    fractional board coordinates, which put it in the frame or in a hexagon."""
    board = cells(g, row)
    last = last_cell(g, row)
    n = board.shape[0]
    geo = Geometry(n, RGB_R)
    y, x = np.mgrid[0 : geo.height, 0 : geo.width] + 0.5
    fr = (y - geo.y0) / (1.5 * RGB_R)  # fractional row and column (axial coordinates)
    fc = (x - geo.x0) / geo.w - fr / 2
    image = np.full((geo.height, geo.width, 3), 255, dtype=np.uint8)
    u, v = abs(fr - (n - 1) / 2), abs(fc - (n - 1) / 2)
    frame = np.maximum(u, v) <= (geo.hi - geo.lo) / 2
    image[frame & (u >= v)] = RGB_COLOURS[0]
    image[frame & (u < v)] = RGB_COLOURS[1]
    # Cube rounding finds the hexagon of each pixel.
    q, r, s = fc, fr, -fc - fr
    rq, rr, rs = np.round(q), np.round(r), np.round(s)
    dq, dr, ds = abs(rq - q), abs(rr - r), abs(rs - s)
    rq = np.where((dq > dr) & (dq > ds), -rr - rs, rq)
    rr = np.where((dr > dq) & (dr > ds), -rq - rs, rr)
    dq, dr = q - rq, r - rr
    ds = -dq - dr
    rim = np.maximum.reduce([abs(dq - dr), abs(dr - ds), abs(ds - dq)])  # 1 on the cell's rim
    on_board = (rr >= 0) & (rr < n) & (rq >= 0) & (rq < n)
    image[on_board] = RGB_GRID  # what shows between the cells
    inside = on_board & (rim < 0.9)
    ri, ci = rr[inside].astype(int), rq[inside].astype(int)
    colours = np.vstack([RGB_COLOURS, [RGB_EMPTY]]).astype(np.uint8)
    image[inside] = colours[board[ri, ci]]  # owner -1 (empty) picks the last colour
    if last is not None:
        cx, cy = geo.centre(*last)
        image[abs(np.hypot(x - cx, y - cy) - RGB_R * 0.4) < 1.2] = 0
    return image
