"""Go on an N x N board (N from 5 to 13), as OpenSpiel's `go(board_size=N, komi=K)`.

Rules, each checked move by move against OpenSpiel in tests/test_go_rules.py:
- Black is player 0 and moves first; white is player 1 and receives the komi.
- Actions: point (row, col) is `row * N + col`, where row 0 is the row OpenSpiel prints at
  the bottom as "1" and col 0 is column "A"; `N * N` is pass, always legal.
- Suicide is illegal (a stone needs a liberty after its captures). Simple ko: a stone
  played into an eye of the opponent that captures exactly one stone forbids the
  opponent, on the next move only, to play at the point of that stone.
- The game ends after two consecutive passes, or once 2 * N * N moves (passes included)
  have been played (OpenSpiel's default `max_game_length`); it is then counted by area
  (Tromp-Taylor: stones plus the empty regions bordered only by one colour), and black
  wins when that count minus komi is above zero, white when below, else a draw. OpenSpiel
  counts in float32, so the komi is taken as a float32 here too.
- Whole-board repetition: OpenSpiel does not forbid a move that recreates an earlier
  position of the stones (any earlier one, whoever was to move, passes excluded); it plays
  it and ends the game at once as a draw, returns (0, 0), even on the last allowed move.
  We do the same: the game ends, WINNER stays -1 and the REPEATED column is 1. Positions
  are compared by a 64-bit Zobrist hash of the stones, as OpenSpiel does.

Row layout after the common header: a few fields; bit sets over the padded board of
(N + 2)^2 points, where point (row, col) is `(row + 1) * (N + 2) + col + 1` and a ring of
EDGE points spares the bounds checks; two columns per padded point; a table of positions
seen.
- Bit sets of the empty points, of each player's stones and of the stones whose chain is
  in atari, kept move by move. A point is legal when it is empty, not the ko point, and
  next to an empty point, an own stone not in atari or an enemy stone in atari (which it
  takes): OpenSpiel's rule, which legal_row applies to the whole board at once with a few
  shifts, without reading the points (random play at large batches is bound by memory).
- The point word packs the colour (EMPTY, BLACK, WHITE or EDGE) and, for a stone, the head
  of its chain and the next stone of the chain (a circular list, so that a chain is
  relabelled or removed by walking it).
- The chain record, at a chain's head, packs in one int64 the number of pseudo-liberties
  (each liberty counted once per adjacent stone), their sum, their sum of squares (the
  chain is in atari exactly when count * squares == sum ** 2) and the stone count, so that
  adding or removing a liberty and merging two chains are single additions.
- The table of positions seen holds the hash after every stone played (a pass repeats
  its position by definition), open addressing with at least twice the slots needed.

Observation (4 planes N x N, from `player`'s side; plane cell (r, c) is action r * N + c,
as the symmetries need, so plane row 0 is the board's row "1", which OpenSpiel prints at
the bottom; the rules do not change under that flip): 0 = the player's stones, 1 = the opponent's,
2 = the point the mover may not play because of ko (the only rule of the position the
stones do not show, short of the repetition history), 3 = all ones when `player` is
white: the komi makes the colours unequal, and planes 0-1 alone do not say which is
whose.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from games import render
from games.contract import PLANE_TRANSFORMS, Param, Shape, cell_permutation
from games.layout import (
    DONE,
    HEADER,
    LAST_ACTION,
    PLY,
    TO_PLAY,
    WINNER,
    inner_njit,
    start_row,
)

NAME = "go"
PARAMS = {
    "size": Param(int, 9, "board side", low=5, high=13),
    "komi": Param(float, 7.5, "points added to white's count", low=-200.0, high=200.0),
}
MAX_SIZE = 13

KO = HEADER  # padded point the mover may not play because of ko, -1 for none
HASH = HEADER + 1  # Zobrist hash of the stones on the board
CAPTURED = HEADER + 2  # stones captured so far in this game
REPEATED = HEADER + 3  # 1 when the game ended on a repeated whole-board position
WORDS = 4  # 64-bit words of a bit set over the padded points of the largest board
# Bit sets over the padded points, WORDS words each: bit v of word v >> 6 is point v.
# The bit-set columns are int64 scalars, not Python ints: Numba types a global int as a
# literal and compiles a helper once per literal argument (bit(data, i, EMPTY_BITS, v) and
# bit(data, i, ATARI_BITS, v) were two more compilations of each bit helper).
EMPTY_BITS = np.int64(HEADER + 4)  # the empty points of the board
STONE_BITS = EMPTY_BITS + WORDS  # player 0's stones, then player 1's
ATARI_BITS = STONE_BITS + 2 * WORDS  # the stones of chains in atari (one liberty)
POINTS = int(ATARI_BITS) + WORDS  # 2 columns per padded point: the point word, the chain record
# The point word: bit fields [0, 3) colour, [3, 11) head of the chain, [11, 19) next stone.
COLOUR_MASK = 7
HEAD_SHIFT, NEXT_SHIFT = 3, 11
POINT_MASK = 255

EMPTY, BLACK, WHITE, EDGE = 0, 1, 2, 3  # a player's stones are colour player + 1

# The packed chain record: bit fields [0, 10) pseudo-liberties (<= 4 * 169), [10, 28)
# their sum, [28, 54) their sum of squares (padded points are < 225), [54, 62) stones.
COUNT_MASK = (1 << 10) - 1
SUM_SHIFT, SUM_MASK = 10, (1 << 18) - 1
SQUARES_SHIFT, SQUARES_MASK = 28, (1 << 26) - 1
ONE_STONE = 1 << 54


def bit_words(points: list[int]) -> np.ndarray:
    """The bit set of some padded points as WORDS int64 words."""
    words = np.zeros(WORDS, dtype=np.uint64)
    for v in points:
        words[v >> 6] |= np.uint64(1) << np.uint64(v & 63)
    return words.view(np.int64)


# ON_BOARD[n]: the points of the n x n board.
ON_BOARD = np.stack(
    [
        bit_words([(r + 1) * (n + 2) + c + 1 for r in range(n) for c in range(n)])
        for n in range(MAX_SIZE + 1)
    ]
)
# SEEN_SLOTS[n]: slots of the table of positions seen, a power of two at least twice the
# positions a game can hold (one per move), so that probes stay short.
SEEN_SLOTS = np.array([1 << (4 * n * n - 1).bit_length() for n in range(MAX_SIZE + 1)])

# One Zobrist key per padded point of the largest board and colour; fixed so that hashes
# are reproducible across processes.
ZOBRIST = np.random.default_rng(20261130).integers(
    np.iinfo(np.int64).min, np.iinfo(np.int64).max, size=((MAX_SIZE + 2) ** 2, 2), dtype=np.int64
)


def shape(g) -> Shape:
    n = int(g.size)
    return Shape(
        num_actions=n * n + 1,
        num_players=2,
        obs_shape=(4, n, n),
        max_plies=2 * n * n,
        width=POINTS + 2 * (n + 2) ** 2 + int(SEEN_SLOTS[n]),
    )


def symmetries(g) -> list[tuple[str, np.ndarray]]:
    """The 8 symmetries of the square; pass stays pass."""
    n = int(g.size)
    return [(name, cell_permutation(name, n, n, extra=1)) for name in PLANE_TRANSFORMS]


@inner_njit
def liberty(v):
    """The chain record of one pseudo-liberty at padded point v."""
    return 1 + (v << SUM_SHIFT) + ((v * v) << SQUARES_SHIFT)


@njit(cache=True)  # with a Python entry point: the rules tests read chain records with it
def in_atari(record):
    """True when all the pseudo-liberties of a chain are one point."""
    count = record & COUNT_MASK
    total = (record >> SUM_SHIFT) & SUM_MASK
    squares = (record >> SQUARES_SHIFT) & SQUARES_MASK
    return count * squares == total * total


@inner_njit
def at(v):
    """The column of the point word of padded point v; its chain record (if v is the head
    of a chain) is the next column."""
    return POINTS + 2 * v


@inner_njit
def colour_at(data, i, v):
    return data[i, at(v)] & COLOUR_MASK


@inner_njit
def head_of(data, i, v):
    return (data[i, at(v)] >> HEAD_SHIFT) & POINT_MASK


@inner_njit
def next_of(data, i, v):
    return data[i, at(v)] >> NEXT_SHIFT


@inner_njit
def set_next(data, i, v, s):
    data[i, at(v)] = (data[i, at(v)] & ((1 << NEXT_SHIFT) - 1)) | (s << NEXT_SHIFT)


@inner_njit
def bit(data, i, words, v):
    """Bit v of the bit set at column `words`, as 0 or 1."""
    return (data[i, words + (v >> 6)] >> (v & 63)) & 1


@inner_njit
def set_bit(data, i, words, v):
    data[i, words + (v >> 6)] |= np.int64(1) << (v & 63)


@inner_njit
def clear_bit(data, i, words, v):
    data[i, words + (v >> 6)] &= ~(np.int64(1) << (v & 63))


@inner_njit
def point(g, action):
    """The padded point of a board action."""
    return (action // g.size + 1) * (g.size + 2) + action % g.size + 1


@inner_njit
def seen_table(g):
    """(first column, slot count) of the table of positions seen."""
    w = g.size + 2
    return at(w * w), SEEN_SLOTS[g.size]


@njit(cache=True, inline="always")
def init_row(g, data, i, seed):
    start_row(data, i, seed)
    data[i, KO] = -1
    for k in range(WORDS):
        data[i, EMPTY_BITS + k] = ON_BOARD[g.size, k]
    w = g.size + 2
    for k in range(w):  # the ring of EDGE points
        data[i, at(k)] = EDGE
        data[i, at((w - 1) * w + k)] = EDGE
        data[i, at(k * w)] = EDGE
        data[i, at(k * w + w - 1)] = EDGE


@inner_njit
def supports(data, i, player, m):
    """1 when a stone of `player` at a point next to m would have a liberty through m: m is
    empty, one of the player's stones not in atari, or an enemy stone in atari (taken)."""
    own = bit(data, i, STONE_BITS + player * WORDS, m)
    enemy = bit(data, i, STONE_BITS + (1 - player) * WORDS, m)
    atari = bit(data, i, ATARI_BITS, m)
    return bit(data, i, EMPTY_BITS, m) | (own & (1 - atari)) | (enemy & atari)


@inner_njit
def point_legal(g, data, i, v, player):
    """The rule of legal_row for one padded point v: empty, not the ko point, and with a
    neighbour that supports the stone (so no suicide)."""
    if not bit(data, i, EMPTY_BITS, v) or v == data[i, KO]:
        return False
    w = g.size + 2
    return (
        supports(data, i, player, v - w)
        | supports(data, i, player, v - 1)
        | supports(data, i, player, v + 1)
        | supports(data, i, player, v + w)
    ) != 0


@njit(cache=True, inline="always")
def is_legal(g, data, i, action):
    n = g.size
    if action < 0 or action > n * n or data[i, DONE]:
        return False
    if action == n * n:
        return True
    return point_legal(g, data, i, point(g, action), data[i, TO_PLAY])


@inner_njit
def spread(e0, e1, e2, e3, s):
    """The bit set (as uint64 words) of the points s bits away from a point of e0..e3."""
    t = np.uint64(64) - s
    return (
        (e0 << s) | (e0 >> s) | (e1 << t),
        (e1 << s) | (e0 >> t) | (e1 >> s) | (e2 << t),
        (e2 << s) | (e1 >> t) | (e2 >> s) | (e3 << t),
        (e3 << s) | (e2 >> t) | (e3 >> s),
    )


@inner_njit
def run_of(words, v, n):
    """Bits v .. v + n - 1 (n < 64) of a bit set held as a tuple of uint64 words."""
    k = v >> 6
    b = np.uint64(v & 63)
    run = words[k] >> b
    if b + np.uint64(n) > np.uint64(64):
        run |= words[k + 1] << (np.uint64(64) - b)
    return run & ((np.uint64(1) << np.uint64(n)) - np.uint64(1))


@inner_njit
def ko_cleared(l0, l1, l2, l3, ko):
    """The four words with the ko point's bit cleared (none when ko < 0)."""
    if ko >= 0:
        off = ~(np.uint64(1) << np.uint64(ko & 63))
        k = ko >> 6
        if k == 0:
            l0 &= off
        elif k == 1:
            l1 &= off
        elif k == 2:
            l2 &= off
        else:
            l3 &= off
    return (l0, l1, l2, l3)


@inner_njit
def words_of(data, i, words):
    return (
        np.uint64(data[i, words]),
        np.uint64(data[i, words + 1]),
        np.uint64(data[i, words + 2]),
        np.uint64(data[i, words + 3]),
    )


@njit(cache=True, inline="always")
def legal_row(g, data, i, mask):
    """point_legal for the whole board at once on the bit sets, without a look at the
    points themselves (random play at large batches is bound by memory)."""
    n = g.size
    if data[i, DONE]:
        mask[i, : n * n + 1] = False
        return 0
    player = data[i, TO_PLAY]
    w = n + 2
    e0, e1, e2, e3 = words_of(data, i, EMPTY_BITS)
    o0, o1, o2, o3 = words_of(data, i, STONE_BITS + player * WORDS)
    x0, x1, x2, x3 = words_of(data, i, STONE_BITS + (1 - player) * WORDS)
    t0, t1, t2, t3 = words_of(data, i, ATARI_BITS)
    s0 = e0 | (o0 & ~t0) | (x0 & t0)  # the points that support a stone next to them
    s1 = e1 | (o1 & ~t1) | (x1 & t1)
    s2 = e2 | (o2 & ~t2) | (x2 & t2)
    s3 = e3 | (o3 & ~t3) | (x3 & t3)
    a0, a1, a2, a3 = spread(s0, s1, s2, s3, np.uint64(1))
    b0, b1, b2, b3 = spread(s0, s1, s2, s3, np.uint64(w))
    # The legal set stays in local words: asking for legal moves must not change the state.
    legal_words = ko_cleared(
        e0 & (a0 | b0), e1 & (a1 | b1), e2 & (a2 | b2), e3 & (a3 | b3), data[i, KO]
    )
    count = 1
    for r in range(n):
        legal = run_of(legal_words, (r + 1) * w + 1, n)  # board row r
        for c in range(n):
            ok = (legal >> np.uint64(c)) & np.uint64(1) != 0
            mask[i, r * n + c] = ok
            count += ok
    mask[i, n * n] = True
    return count


@inner_njit
def merge(data, i, a, b):
    """Merge the chains with heads a != b (the smaller into the larger); return the head."""
    if data[i, at(a) + 1] < data[i, at(b) + 1]:  # the stone count is the top field
        a, b = b, a
    s = b
    while True:
        data[i, at(s)] = (data[i, at(s)] & ~(POINT_MASK << HEAD_SHIFT)) | (a << HEAD_SHIFT)
        s = next_of(data, i, s)
        if s == b:
            break
    after_a = next_of(data, i, a)  # splice the two circular lists
    set_next(data, i, a, next_of(data, i, b))
    set_next(data, i, b, after_a)
    data[i, at(a) + 1] += data[i, at(b) + 1]
    return a


@inner_njit
def mark_atari(data, i, h, atari):
    """Set (atari true) or clear the ATARI_BITS of every stone of the chain of h."""
    s = h
    while True:
        if atari:
            set_bit(data, i, ATARI_BITS, s)
        else:
            clear_bit(data, i, ATARI_BITS, s)
        s = next_of(data, i, s)
        if s == h:
            break


@inner_njit
def refresh_atari(data, i, h):
    """Bring the ATARI_BITS of the chain with head h up to date after its record changed
    (its stones all carry the same bit, the chain's state before the change)."""
    atari = in_atari(data[i, at(h) + 1])
    if atari != bit(data, i, ATARI_BITS, h):
        mark_atari(data, i, h, atari)


@inner_njit
def remove_chain(g, data, i, h, enemy):
    """Take the chain with head h (of player `enemy`) off the board; return its stone count."""
    w = g.size + 2
    removed = 0
    s = h
    while True:
        after = next_of(data, i, s)
        data[i, at(s)] = EMPTY
        set_bit(data, i, EMPTY_BITS, s)
        clear_bit(data, i, STONE_BITS + enemy * WORDS, s)
        clear_bit(data, i, ATARI_BITS, s)
        data[i, HASH] ^= ZOBRIST[s, enemy]
        removed += 1
        lib = liberty(s)
        for m in (s - w, s - 1, s + 1, s + w):  # the capturer's chains gain a liberty
            c = colour_at(data, i, m)
            if (c == BLACK or c == WHITE) and head_of(data, i, m) != h:
                data[i, at(head_of(data, i, m)) + 1] += lib
                refresh_atari(data, i, head_of(data, i, m))
        s = after
        if s == h:
            return removed


@inner_njit
def play_stone(g, data, i, v, player):
    """Put the player's stone on padded point v (a legal move): join, capture, set the ko,
    keep the bit sets."""
    w = g.size + 2
    colour = player + 1
    enemy = 1 - player
    lib = liberty(v)
    in_eye = True  # every neighbour an enemy stone or the edge
    record = ONE_STONE
    for m in (v - w, v - 1, v + 1, v + w):
        c = colour_at(data, i, m)
        if c == EMPTY:
            in_eye = False
            record += liberty(m)
        elif c != EDGE:
            in_eye = in_eye and c != colour
            data[i, at(head_of(data, i, m)) + 1] -= lib
    data[i, at(v)] = colour | (v << HEAD_SHIFT) | (v << NEXT_SHIFT)  # a chain of its own
    data[i, at(v) + 1] = record
    clear_bit(data, i, EMPTY_BITS, v)
    set_bit(data, i, STONE_BITS + player * WORDS, v)
    data[i, HASH] ^= ZOBRIST[v, player]
    own = v
    for m in (v - w, v - 1, v + 1, v + w):
        if colour_at(data, i, m) == colour and head_of(data, i, m) != own:
            own = merge(data, i, own, head_of(data, i, m))
    # The joined chain's stones carry the bits of the chains they came from: relabel them
    # all when one of those differs from the joined chain's state.
    atari = in_atari(data[i, at(own) + 1])
    mixed = False
    for m in (v - w, v - 1, v + 1, v + w):
        mixed |= colour_at(data, i, m) == colour and bit(data, i, ATARI_BITS, m) != atari
    if mixed:
        mark_atari(data, i, own, atari)
    elif atari:
        set_bit(data, i, ATARI_BITS, v)
    else:
        clear_bit(data, i, ATARI_BITS, v)
    captured = 0
    last = -1
    for m in (v - w, v - 1, v + 1, v + w):
        if colour_at(data, i, m) == enemy + 1:
            h = head_of(data, i, m)
            if data[i, at(h) + 1] & COUNT_MASK == 0:
                captured += remove_chain(g, data, i, h, enemy)
                last = h
    for m in (v - w, v - 1, v + 1, v + w):  # the enemy chains left lost a liberty at v
        if colour_at(data, i, m) == enemy + 1:
            refresh_atari(data, i, head_of(data, i, m))
    data[i, KO] = last if in_eye and captured == 1 else -1
    data[i, CAPTURED] += captured


@inner_njit
def repeats(g, data, i):
    """Record the current position in the table of positions seen (open addressing with
    linear probes, 0 marking a free slot); True when it was there already."""
    table, slots = seen_table(g)
    key = data[i, HASH]
    if key == 0:  # the empty board's hash, which a position after a stone cannot have
        key = 1
    k = (key >> 32) & (slots - 1)
    while data[i, table + k]:
        if data[i, table + k] == key:
            return True
        k = (k + 1) & (slots - 1)
    data[i, table + k] = key
    return False


@njit(cache=True)  # with a Python entry point: status() counts a finished game
def area_difference(g, data, i):
    """Black's area minus white's (Tromp-Taylor). Run only once the game is over: the
    flood fill keeps its stack in the table of positions seen."""
    n = g.size
    w = n + 2
    stack, _ = seen_table(g)
    visited = EDGE + 1  # a temporary colour for counted empty points
    difference = 0
    for r in range(n):
        for c in range(n):
            v = (r + 1) * w + c + 1
            colour = colour_at(data, i, v)
            if colour == BLACK:
                difference += 1
            elif colour == WHITE:
                difference -= 1
            elif colour == EMPTY:
                data[i, at(v)] = visited
                data[i, stack] = v
                top = 1
                size = 0
                borders = 0  # bit 0: touches black, bit 1: touches white
                while top:
                    top -= 1
                    q = data[i, stack + top]
                    size += 1
                    for m in (q - w, q - 1, q + 1, q + w):
                        cm = colour_at(data, i, m)
                        if cm == EMPTY:
                            data[i, at(m)] = visited
                            data[i, stack + top] = m
                            top += 1
                        elif cm == BLACK or cm == WHITE:
                            borders |= cm
                if borders == 1:
                    difference += size
                elif borders == 2:
                    difference -= size
    for k in range(w * w):
        if data[i, at(k)] == visited:
            data[i, at(k)] = EMPTY
    return difference


@njit(cache=True, inline="always")
def apply_row(g, data, i, action, rewards):
    n = g.size
    player = data[i, TO_PLAY]
    over = False
    if action == n * n:
        data[i, KO] = -1
        over = data[i, LAST_ACTION] == n * n  # the second pass in a row
    else:
        play_stone(g, data, i, point(g, action), player)
        if repeats(g, data, i):
            data[i, REPEATED] = 1
            over = True
    data[i, PLY] += 1
    data[i, LAST_ACTION] = action
    data[i, TO_PLAY] = 1 - player
    rewards[i, 0] = 0.0
    rewards[i, 1] = 0.0
    if over or data[i, PLY] >= 2 * n * n:
        data[i, DONE] = 1
        if not data[i, REPEATED]:
            score = np.float32(area_difference(g, data, i)) - np.float32(g.komi)
            if score != 0:
                winner = 0 if score > 0 else 1
                data[i, WINNER] = winner
                rewards[i, winner] = 1.0
                rewards[i, 1 - winner] = -1.0


@njit(cache=True, inline="always")
def null_move_row(g, data, i):
    """Hand the move to the opponent without a move (for "had the opponent the move"): the
    ko point binds only the player it was set for."""
    data[i, TO_PLAY] = 1 - data[i, TO_PLAY]
    data[i, KO] = -1


@njit(cache=True, inline="always")
def observe_row(g, data, i, player, out):
    n = g.size
    w = n + 2
    own = player + 1
    ko = data[i, KO]
    white = 1.0 if player == 1 else 0.0
    for r in range(n):
        for c in range(n):
            v = (r + 1) * w + c + 1
            colour = colour_at(data, i, v)
            out[i, 0, r, c] = 1.0 if colour == own else 0.0
            out[i, 1, r, c] = 1.0 if colour == 3 - own else 0.0
            out[i, 2, r, c] = 1.0 if v == ko else 0.0
            out[i, 3, r, c] = white


# Pictures ---------------------------------------------------------------------------------

COLUMN_LABELS = "ABCDEFGHJKLMNOPQRST"  # Go skips I
STONE_NAMES = ("black", "white")


def stones(g, row: np.ndarray) -> np.ndarray:
    """int8[N, N] of the stones, indexed [row, col] as the actions: -1 empty, else player."""
    n = int(g.size)
    w = n + 2
    padded = (row[POINTS : POINTS + 2 * w * w : 2] & COLOUR_MASK).reshape(w, w)[1:-1, 1:-1]
    return (padded.astype(np.int8) - 1).clip(-1, 1)


def star_points(n: int) -> list[tuple[int, int]]:
    """The marked points (hoshi): 3-3 (4-4 from 12x12 up) corners from 7x7 up, the centre."""
    points = []
    if n >= 7:
        d = 2 if n < 12 else 3
        points += [(d, d), (d, n - 1 - d), (n - 1 - d, d), (n - 1 - d, n - 1 - d)]
    if n % 2:
        points.append((n // 2, n // 2))
    return points


def last_point(g, row: np.ndarray) -> tuple[int, int] | None:
    """(row, col) of the last stone played; None before any move or after a pass."""
    n = int(g.size)
    a = int(row[LAST_ACTION])
    return None if a < 0 or a == n * n else (a // n, a % n)


def move_name(g, action: int) -> str:
    """OpenSpiel's name of a point, e.g. 'c4', or 'pass'."""
    n = int(g.size)
    if action == n * n:
        return "pass"
    return f"{COLUMN_LABELS[action % n].lower()}{action // n + 1}"


def status(g, row: np.ndarray) -> str:
    if not row[DONE]:
        player = int(row[TO_PLAY])
        return f"{STONE_NAMES[player]} (player {player}) to play"
    if row[REPEATED]:
        return "draw: a whole-board position repeated"
    scratch = row[None, :].copy()  # the count overwrites the hashes of earlier positions
    margin = abs(area_difference(g, scratch, 0) - float(np.float32(g.komi)))
    if row[WINNER] < 0:
        return "draw on points"
    winner = int(row[WINNER])
    return f"{STONE_NAMES[winner]} (player {winner}) wins by {margin:g}"


def text(g, row: np.ndarray) -> str:
    """The board as OpenSpiel prints it (row 1 at the bottom, X black, O white, + empty),
    the last stone in lower case, then the last move and the status."""
    board = stones(g, row)
    n = board.shape[0]
    last = last_point(g, row)
    lines = []
    for r in range(n - 1, -1, -1):
        marks = "".join(
            "+" if board[r, c] < 0 else ("xo" if (r, c) == last else "XO")[board[r, c]]
            for c in range(n)
        )
        lines.append(f"{r + 1:2d} {marks}")
    lines.append("   " + COLUMN_LABELS[:n])
    if row[LAST_ACTION] >= 0:
        mover = 1 - int(row[TO_PLAY])
        lines.append(f"last move: {'BW'[mover]} {move_name(g, int(row[LAST_ACTION]))}")
    lines.append(status(g, row))
    return "\n".join(lines)


SVG_CELL = 36  # pixels between lines
SVG_MARGIN = 40  # room for the coordinates outside the edge stones
WOOD = "#dcb35c"


def svg(g, row: np.ndarray) -> str:
    """A standalone SVG Go board: lines, star points, coordinates, stones, the last stone
    marked with a ring, then the status."""
    points = stones(g, row)
    n = points.shape[0]
    side = 2 * SVG_MARGIN + (n - 1) * SVG_CELL

    def x(c: int) -> float:
        return SVG_MARGIN + c * SVG_CELL

    def y(r: int) -> float:  # row 1 at the bottom, as OpenSpiel prints it
        return SVG_MARGIN + (n - 1 - r) * SVG_CELL

    parts = [
        render.svg_open(side, side + 24),
        f'<rect width="{side}" height="{side}" fill="{WOOD}"/>',
    ]
    for k in range(n):
        parts.append(
            f'<line x1="{x(0)}" y1="{y(k)}" x2="{x(n - 1)}" y2="{y(k)}" stroke="#000"/>'
            f'<line x1="{x(k)}" y1="{y(0)}" x2="{x(k)}" y2="{y(n - 1)}" stroke="#000"/>'
            f'<text x="{x(k)}" y="15" font-family="sans-serif" '
            f'font-size="11" text-anchor="middle">{COLUMN_LABELS[k]}</text>'
            f'<text x="12" y="{y(k) + 4}" font-family="sans-serif" '
            f'font-size="11" text-anchor="middle">{k + 1}</text>'
        )
    for r, c in star_points(n):
        parts.append(f'<circle cx="{x(c)}" cy="{y(r)}" r="3.5" fill="#000"/>')
    radius = SVG_CELL * 0.47
    for r in range(n):
        for c in range(n):
            owner = int(points[r, c])
            if owner >= 0:
                fill, edge = ("#111", "#000") if owner == 0 else ("#f8f8f8", "#333")
                parts.append(
                    f'<circle cx="{x(c)}" cy="{y(r)}" r="{radius}" fill="{fill}" stroke="{edge}"'
                    f' data-cell="{r},{c}" data-owner="{owner}"/>'
                )
    last = last_point(g, row)
    if last is not None:
        r, c = last
        ring = "#fff" if points[r, c] == 0 else "#000"
        parts.append(
            f'<circle class="last-move" cx="{x(c)}" cy="{y(r)}" r="{radius * 0.5}" '
            f'fill="none" stroke="{ring}" stroke-width="2.5"/>'
        )
    parts.append(
        f'<text x="4" y="{side + 17}" font-family="sans-serif" font-size="14">'
        f"{status(g, row)}</text>"
    )
    parts.append(board(g).targets())
    parts.append("</svg>")
    return "".join(parts)


def board(g) -> render.Board:
    """Where `svg` draws each point (row 1 at the bottom, as the actions number them)."""
    n = int(g.size)
    r, c = np.mgrid[0:n, 0:n]
    centres = np.stack([SVG_MARGIN + c * SVG_CELL, SVG_MARGIN + (n - 1 - r) * SVG_CELL], axis=-1)
    return render.Board(centres.astype(float), float(SVG_CELL), lambda row: stones(g, row))


RGB_CELL = 32


def rgb(g, row: np.ndarray) -> np.ndarray:
    """uint8[H, W, 3] picture: a wooden board, its lines and star points, the stones, a dot
    of the other colour on the last stone; image row 0 is the board's top row."""
    board = stones(g, row)[::-1]  # image rows from the top, as OpenSpiel prints the board
    n = board.shape[0]
    image = np.empty((n * RGB_CELL, n * RGB_CELL, 3), dtype=np.uint8)
    image[:] = (220, 179, 92)
    centre = RGB_CELL // 2
    for k in range(n):  # lines from centre to centre of the edge cells
        lo, hi = centre, (n - 1) * RGB_CELL + centre + 1
        image[k * RGB_CELL + centre, lo:hi] = 0
        image[lo:hi, k * RGB_CELL + centre] = 0
    yy, xx = np.mgrid[0:RGB_CELL, 0:RGB_CELL]
    dist2 = (yy - centre) ** 2 + (xx - centre) ** 2
    disc = dist2 <= (RGB_CELL * 0.46) ** 2
    dot = dist2 <= (RGB_CELL * 0.15) ** 2
    last = last_point(g, row)
    for r, c in star_points(n):
        tile = image[(n - 1 - r) * RGB_CELL :, c * RGB_CELL :][:RGB_CELL, :RGB_CELL]
        tile[dist2 <= 9] = 0
    for r in range(n):
        for c in range(n):
            owner = int(board[r, c])
            if owner < 0:
                continue
            tile = image[r * RGB_CELL : (r + 1) * RGB_CELL, c * RGB_CELL : (c + 1) * RGB_CELL]
            tile[disc] = 20 if owner == 0 else 245
            if last == (n - 1 - r, c):
                tile[dot] = 245 if owner == 0 else 20
    return image
