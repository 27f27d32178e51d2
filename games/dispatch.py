"""Game-id dispatch over the single-game primitives.

Every primitive acts on game i of batch-first arrays: `data` int64[N, WIDTH] (rows in the
layout of games.layout), `mask` bool[N, A], `rewards` float32[N, P], `out` float32[N, *obs].
Indexing a 2-D array directly is about twice as fast in Numba as passing row views around,
and the same call serves a batch, an MCTS node table or a 1-row scratch array.

Generic kernels (batching here, MCTS and solvers in `agents`) take a game id and call these
functions. Numba caches a kernel only when it does not close over or receive other jitted
functions, so the choice of game is a runtime integer rather than a function argument. The
branch is the same for a whole batch, so it costs nothing measurable.

Adding a game: a module with the primitives, one id below, one branch in each function.
"""

from numba import njit

from games import connect_four, tic_tac_toe

MODULES = (connect_four, tic_tac_toe)  # index = game id
CONNECT_FOUR = 0
TIC_TAC_TOE = 1


@njit(cache=True, inline="always")
def init_row(gid, data, i, seed):
    """Start a new game in data[i] with its own random seed."""
    if gid == CONNECT_FOUR:
        connect_four.init_row(data, i, seed)
    else:
        tic_tac_toe.init_row(data, i, seed)


@njit(cache=True, inline="always")
def is_legal(gid, data, i, action):
    """True when `action` is in range and legal in game i (the game must be live)."""
    if gid == CONNECT_FOUR:
        return connect_four.is_legal(data, i, action)
    return tic_tac_toe.is_legal(data, i, action)


@njit(cache=True, inline="always")
def legal_row(gid, data, i, mask):
    """Fill mask[i] with game i's legal actions (all False when over); return their count."""
    if gid == CONNECT_FOUR:
        return connect_four.legal_row(data, i, mask)
    return tic_tac_toe.legal_row(data, i, mask)


@njit(cache=True, inline="always")
def apply_row(gid, data, i, action, rewards):
    """Play a legal action in live game i; write the step's rewards (per player) to rewards[i]."""
    if gid == CONNECT_FOUR:
        connect_four.apply_row(data, i, action, rewards)
    else:
        tic_tac_toe.apply_row(data, i, action, rewards)


@njit(cache=True, inline="always")
def observe_row(gid, data, i, out):
    """Write game i's observation planes, from the mover's point of view, into out[i]."""
    if gid == CONNECT_FOUR:
        connect_four.observe_row(data, i, out)
    else:
        tic_tac_toe.observe_row(data, i, out)
