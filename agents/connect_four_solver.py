"""Exact Connect Four solver (Numba): negamax with alpha-beta on bitboards.

Scores follow the public benchmark (Pascal Pons, "Solving Connect 4"): from the view of
the player to move, positive = win, 0 = draw, negative = loss, and |score| = 22 - the
number of stones the winner has played when the game ends under perfect play.

The search narrows the score with null-window probes; each probe is a negamax that
prunes moves losing at once, orders moves center-first and by the threats they create,
and keeps upper and lower bounds in a transposition table. The table holds exact facts
about positions, so one table is shared by every call (see `default_solver`).

The table has a prime number of slots, indexed by key % size, and stores only the low 32
bits of each key: keys are below 2**49 and size > 2**17, so slot and stored bits together
identify the key (Chinese remainder theorem) and a hit is never a false one.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from agents.base import require_perfect_information, sample_legal
from games import Game, State, make
from games.kernels import DONE, PLY, TO_PLAY, WINNER

# The solver reads Connect Four's own row layout (its bitboards): the one game-specific
# view it needs, taken from the registered game rather than by importing the module.
_RULES = make("connect_four").module
NAME, COLUMNS, ROWS, MAX_PLIES = _RULES.NAME, _RULES.COLUMNS, _RULES.ROWS, _RULES.MAX_PLIES
STONES, WIDTH = _RULES.STONES, _RULES.WIDTH

CELLS = MAX_PLIES  # 42
BOTTOM_ROW = sum(1 << (7 * c) for c in range(COLUMNS))  # same layout as games.connect_four
BOARD_MASK = BOTTOM_ROW * ((1 << ROWS) - 1)
MIN_SCORE = -(CELLS // 2) + 3  # the fastest possible loss: the opponent's fourth stone
MAX_SCORE = (CELLS + 1) // 2 - 3  # the fastest possible win: the mover's fourth stone
INVALID = -1000  # score of a full column, as in the benchmark's .moves files
COLUMN_ORDER = np.array([3, 2, 4, 1, 5, 0, 6], dtype=np.int64)  # center first
DEFAULT_TT_SIZE = 1 << 24  # ~84 MB (uint32 key + uint8 value per slot)

# Table values: 0 = empty, 1..37 = upper bound, 38..74 = lower bound (see _clamp).
_UPPER_OFFSET = 1 - MIN_SCORE
_LOWER_OFFSET = MAX_SCORE - 2 * MIN_SCORE + 2
_KEY_BITS = 0xFFFFFFFF


@njit(cache=True, inline="always")
def _popcount(x):
    x = x - ((x >> 1) & 0x5555555555555555)
    x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333)
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0F
    return (x * 0x0101010101010101) >> 56 & 0xFF


@njit(cache=True, inline="always")
def _winning_cells(stones, mask):
    """Empty cells (reachable or not) that would complete four for the owner of `stones`."""
    r = (stones << 1) & (stones << 2) & (stones << 3)  # vertical: three below
    for shift in (7, 6, 8):  # horizontal, diagonal \, diagonal /
        p = (stones << shift) & (stones << 2 * shift)
        r |= p & (stones << 3 * shift)
        r |= p & (stones >> shift)
        p = (stones >> shift) & (stones >> 2 * shift)
        r |= p & (stones << shift)
        r |= p & (stones >> 3 * shift)
    return r & (BOARD_MASK ^ mask)


@njit(cache=True, inline="always")
def _playable(mask):
    """The lowest empty cell of every column that is not full."""
    return (mask + BOTTOM_ROW) & BOARD_MASK


@njit(cache=True, inline="always")
def _clamp(bound):
    """A bound moved into [MIN_SCORE, MAX_SCORE], where every score of a position that
    cannot be won at once lies: it stays true and keeps the table's two ranges apart."""
    return min(max(bound, MIN_SCORE), MAX_SCORE)


@njit(cache=True, inline="always")
def _can_win_now(cur, mask):
    return _winning_cells(cur, mask) & _playable(mask) != 0


# Columns of a search-stack row (one row per ply below the root of a probe).
_CUR, _MASK, _ALPHA, _BETA, _KEY, _SLOT, _LEFT, _MOVES = 0, 1, 2, 3, 4, 5, 6, 7
STACK_COLUMNS = _MOVES + COLUMNS


@njit(cache=True)
def _negamax(cur, mask, moves, alpha, beta, tt_keys, tt_vals, stack):
    """Score of a position where the mover cannot win at once, if inside (alpha, beta);
    else a bound on the score on the side of the window it fell (fail-soft).

    cur = the mover's stones, mask = all stones, moves = stones on the board. The search
    runs on an explicit stack (stack[d] holds the node d plies below this one): Numba's
    recursive calls would pay a reference count on every array argument at every node.
    """
    depth = 0
    while True:
        # Enter the node (cur, mask, alpha, beta) at `depth`: settle it at once, or push it.
        ply = moves + depth
        result = key = slot = 0
        settled = True
        playable = _playable(mask)
        threats = _winning_cells(cur ^ mask, mask)  # where the opponent would win
        forced = playable & threats
        if forced:
            if forced & (forced - 1):  # two immediate threats: cannot block both
                playable = 0
            else:
                playable = forced
        playable &= ~(threats >> 1)  # never play right below an opponent's winning cell
        if playable == 0:
            result = -((CELLS - ply) // 2)
        elif ply >= CELLS - 2:  # neither side can win any more
            result = 0
        else:
            low = -((CELLS - 2 - ply) // 2)  # the opponent cannot win on their next move
            high = (CELLS - 1 - ply) // 2  # we cannot win on this move
            key = cur + mask
            slot = key % tt_keys.shape[0]
            if tt_keys[slot] == key & _KEY_BITS:
                val = np.int64(tt_vals[slot])
                if val > _UPPER_OFFSET + MAX_SCORE:
                    low = max(low, val - _LOWER_OFFSET)
                elif val > 0:
                    high = min(high, val - _UPPER_OFFSET)
            if low >= beta or low == high:  # fail high, or the score is known
                result = low
            elif high <= alpha:  # fail low
                result = high
            else:
                alpha = max(alpha, low)
                beta = min(beta, high)
                settled = False

        if not settled:
            # Order the moves by how many winning cells they give us (insertion sort).
            # Candidates are added edge first and taken from the end, so among equal
            # counts the center comes out first.
            frame = stack[depth]
            n = 0
            for i in range(COLUMNS - 1, -1, -1):
                move = playable & (np.int64(0x3F) << (7 * COLUMN_ORDER[i]))
                if move:
                    score = _popcount(_winning_cells(cur | move, mask | move))
                    pos = n
                    while pos > 0 and frame[_MOVES + pos - 1] & 0xFF > score:
                        frame[_MOVES + pos] = frame[_MOVES + pos - 1]
                        pos -= 1
                    frame[_MOVES + pos] = (move << 8) | score  # score < 256
                    n += 1
            frame[_CUR] = cur
            frame[_MASK] = mask
            frame[_ALPHA] = alpha
            frame[_BETA] = beta
            frame[_KEY] = key
            frame[_SLOT] = slot
            frame[_LEFT] = n - 1
            move = frame[_MOVES + n - 1] >> 8
            cur, mask, alpha, beta = cur ^ mask, mask | move, -beta, -alpha
            depth += 1
            continue

        # Return `result` up the stack until a node has another child to explore.
        while depth > 0:
            depth -= 1
            frame = stack[depth]
            score = -result
            if score >= frame[_BETA]:
                tt_keys[frame[_SLOT]] = frame[_KEY] & _KEY_BITS
                tt_vals[frame[_SLOT]] = _clamp(score) + _LOWER_OFFSET
                result = score
                continue
            if score > frame[_ALPHA]:
                frame[_ALPHA] = score
            left = frame[_LEFT]
            if left == 0:
                tt_keys[frame[_SLOT]] = frame[_KEY] & _KEY_BITS
                tt_vals[frame[_SLOT]] = _clamp(frame[_ALPHA]) + _UPPER_OFFSET
                result = frame[_ALPHA]
                continue
            left -= 1
            frame[_LEFT] = left
            move = frame[_MOVES + left] >> 8
            cur, mask = frame[_CUR] ^ frame[_MASK], frame[_MASK] | move
            alpha, beta = -frame[_BETA], -frame[_ALPHA]
            depth += 1
            break
        else:
            return result


@njit(cache=True)
def _solve(cur, mask, moves, tt_keys, tt_vals, buf):
    """Exact score of a live position, by null-window probes that halve the score range."""
    if _can_win_now(cur, mask):
        return (CELLS + 1 - moves) // 2
    low = -((CELLS - moves) // 2)
    high = (CELLS + 1 - moves) // 2
    while low < high:
        med = low + (high - low) // 2
        # Probe near zero first: most positions are close to a draw, and sign-level probes
        # are the cheapest (truncating division, as in Pons' solver).
        if med <= 0 and -((-low) // 2) < med:
            med = -((-low) // 2)
        elif med >= 0 and high // 2 > med:
            med = high // 2
        r = _negamax(cur, mask, moves, med, med + 1, tt_keys, tt_vals, buf)
        if r <= med:
            high = r
        else:
            low = r
    return low


@njit(cache=True)
def _move_scores(cur, mask, moves, out, tt_keys, tt_vals, buf):
    wins = _winning_cells(cur, mask)
    for c in range(COLUMNS):
        column = np.int64(0x3F) << (7 * c)
        move = (mask + (np.int64(1) << (7 * c))) & column
        if move == 0:
            out[c] = INVALID
        elif move & wins:
            out[c] = (CELLS + 1 - moves) // 2
        else:
            out[c] = -_solve(cur ^ mask, mask | move, moves + 1, tt_keys, tt_vals, buf)


@njit(cache=True, inline="always")
def _unpack(row):
    mask = row[STONES] | row[STONES + 1]
    return row[STONES + row[TO_PLAY]], mask, row[PLY]


@njit(cache=True)
def _solve_rows(data, out, tt_keys, tt_vals, buf):
    for i in range(data.shape[0]):
        cur, mask, moves = _unpack(data[i])
        out[i] = _solve(cur, mask, moves, tt_keys, tt_vals, buf)


@njit(cache=True)
def _move_scores_rows(data, out, tt_keys, tt_vals, buf):
    """Per-column scores of each live row; finished rows get INVALID everywhere."""
    for i in range(data.shape[0]):
        if data[i, DONE]:
            out[i, :] = INVALID
        else:
            cur, mask, moves = _unpack(data[i])
            _move_scores(cur, mask, moves, out[i], tt_keys, tt_vals, buf)


def _next_prime(n: int) -> int:
    def is_prime(k: int) -> bool:
        return k > 1 and all(k % d for d in range(2, int(k**0.5) + 1))

    while not is_prime(n):
        n += 1
    return n


def _as_rows(data: np.ndarray, ndim: int) -> np.ndarray:
    data = np.asarray(data)
    if data.ndim != ndim or data.shape[-1] != WIDTH or data.dtype != np.int64:
        shape = "(WIDTH,)" if ndim == 1 else "(B, WIDTH)"
        raise ValueError(
            f"expected connect_four state rows: int64 of shape {shape} with WIDTH={WIDTH}, "
            f"got {data.dtype} {data.shape}"
        )
    return np.ascontiguousarray(data).reshape(-1, WIDTH)


def _check_live(rows: np.ndarray) -> None:
    over = np.flatnonzero(rows[:, DONE] != 0)
    if over.size:
        shown = ", ".join(str(i) for i in over[:10])
        raise ValueError(f"cannot solve a finished game (rows {shown})")


class Solver:
    """An exact solver with its own transposition table of `tt_size` slots (rounded up to
    a prime; at least 2**17 + 1 so that 32-bit stored keys stay exact)."""

    def __init__(self, tt_size: int = DEFAULT_TT_SIZE):
        size = _next_prime(max(int(tt_size), (1 << 17) + 1))
        self.tt_keys = np.zeros(size, dtype=np.uint32)
        self.tt_vals = np.zeros(size, dtype=np.uint8)
        self._buf = np.zeros((CELLS + 1, STACK_COLUMNS), dtype=np.int64)

    @property
    def tt_size(self) -> int:
        return self.tt_keys.shape[0]

    def reset(self) -> None:
        """Forget everything stored (only needed to time the search from scratch)."""
        self.tt_keys[:] = 0
        self.tt_vals[:] = 0

    def solve_batch(self, data: np.ndarray) -> np.ndarray:
        """int64[B] exact scores of live games (ValueError if any game is over)."""
        rows = _as_rows(data, 2)
        _check_live(rows)
        out = np.empty(rows.shape[0], dtype=np.int64)
        _solve_rows(rows, out, self.tt_keys, self.tt_vals, self._buf)
        return out

    def move_scores_batch(self, data: np.ndarray) -> np.ndarray:
        """int64[B, 7]: each column's score from the mover's view; INVALID for full
        columns and for every column of a finished game."""
        rows = _as_rows(data, 2)
        out = np.empty((rows.shape[0], COLUMNS), dtype=np.int64)
        _move_scores_rows(rows, out, self.tt_keys, self.tt_vals, self._buf)
        return out


_default: Solver | None = None


def default_solver() -> Solver:
    """The shared solver, created on first use with a table of DEFAULT_TT_SIZE slots."""
    global _default
    if _default is None:
        _default = Solver()
    return _default


def configure(tt_size: int) -> Solver:
    """Replace the shared solver with one whose table has about `tt_size` slots."""
    global _default
    _default = Solver(tt_size)
    return _default


def solve(row: np.ndarray) -> int:
    """Exact score of one live connect_four state row (ValueError for a finished game)."""
    return int(default_solver().solve_batch(_as_rows(row, 1))[0])


def solve_batch(data: np.ndarray) -> np.ndarray:
    """int64[B] exact scores of live connect_four state rows."""
    return default_solver().solve_batch(data)


def move_scores(row: np.ndarray) -> np.ndarray:
    """int64[7]: score of playing each column, from the mover's view (INVALID if full)."""
    rows = _as_rows(row, 1)
    _check_live(rows)
    return default_solver().move_scores_batch(rows)[0]


def best_moves(scores: np.ndarray) -> np.ndarray:
    """bool[B, 7]: the columns with the highest score (none for rows without a legal one)."""
    # INVALID is below every real score, so the row maximum is the best legal score.
    return (scores != INVALID) & (scores == scores.max(axis=1, keepdims=True))


class SolverAgent:
    """Plays exactly optimal Connect Four: the fastest win, else a draw, else the slowest
    loss; ties are broken at random."""

    def __init__(self, game: Game, name: str = "solver"):
        if isinstance(game, Game):
            require_perfect_information(game, "solver")
        if getattr(game, "name", None) != NAME:
            raise ValueError(
                f"the solver agent plays only {NAME}, not {getattr(game, 'name', game)!r}"
            )
        self.name = name
        self.last_annotations: dict[str, np.ndarray] = {}

    def _scores(self, game: Game, state: State) -> np.ndarray:
        if game.name != NAME or state.game != NAME:
            raise ValueError(f"the solver agent plays only {NAME}, got {state.game!r}")
        return default_solver().move_scores_batch(state.data)

    def act(
        self, game: Game, state: State, legal_mask: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        scores = self._scores(game, state)
        best = best_moves(scores)
        self.last_annotations = {"value": _values(state, scores)}
        return sample_legal(best, rng)

    def evaluate(
        self, game: Game, state: State, legal_mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Policy uniform over the optimal moves; value = sign of the exact score (a
        finished game has an all-zero policy and the value of its outcome)."""
        scores = self._scores(game, state)
        best = best_moves(scores)
        count = best.sum(axis=1, keepdims=True)
        policy = (best / np.maximum(count, 1)).astype(np.float32)
        return policy, _values(state, scores)


def _values(state: State, scores: np.ndarray) -> np.ndarray:
    value = np.sign(scores.max(axis=1)).astype(np.float32)
    done = state.data[:, DONE] != 0
    # The player to move in a finished game lost if anyone won (the winner moved last).
    value[done] = np.where(state.data[done, WINNER] >= 0, -1.0, 0.0)
    return value
