"""Game-id dispatch over the single-game primitives.

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


@njit(cache=True)
def init_row(gid, row, seed):
    if gid == CONNECT_FOUR:
        connect_four.init_row(row, seed)
    else:
        tic_tac_toe.init_row(row, seed)


@njit(cache=True)
def is_legal(gid, row, action):
    if gid == CONNECT_FOUR:
        return connect_four.is_legal(row, action)
    return tic_tac_toe.is_legal(row, action)


@njit(cache=True)
def legal_row(gid, row, out):
    if gid == CONNECT_FOUR:
        return connect_four.legal_row(row, out)
    return tic_tac_toe.legal_row(row, out)


@njit(cache=True)
def apply_row(gid, row, action, rewards):
    if gid == CONNECT_FOUR:
        connect_four.apply_row(row, action, rewards)
    else:
        tic_tac_toe.apply_row(row, action, rewards)


@njit(cache=True)
def observe_row(gid, row, out):
    if gid == CONNECT_FOUR:
        connect_four.observe_row(row, out)
    else:
        tic_tac_toe.observe_row(row, out)
