"""Row layout shared by every game: one int64 row per game in a batch.

The first HEADER columns are common to all games; each game stores its own fields after them.
Keeping a whole game in one row lets the generic kernels (batching, MCTS, solvers) copy,
save and restore a state as a plain int64 vector.
"""

from numba import njit

DONE = 0  # 1 once the game is over
TO_PLAY = 1  # player index to move; CHANCE or SIMULTANEOUS at those nodes
PLY = 2  # moves played so far
WINNER = 3  # player index, -1 for a draw or an unfinished game
LAST_ACTION = 4  # last action played, -1 before the first move
RNG = 5  # per-game random state (chance events, hidden information)
HEADER = 6

# OpenSpiel's player ids for the nodes where no single player moves: `to_play` holds them.
CHANCE = -1  # a chance node: the legal "actions" are its outcomes
SIMULTANEOUS = -2  # a simultaneous node: every player acts, one joint step

# The decorator of compiled helpers that only other kernels call: Numba then builds no
# CPython or C entry point for them, which halves their compile time (a game's first call
# in a fresh process compiles dozens). Called from Python such a function crashes the
# interpreter (numba issue 2541), so whatever Python calls keeps plain njit. They are not
# cached on their own: the kernels that call them are, with their code inside.
inner_njit = njit(no_cpython_wrapper=True, no_cfunc_wrapper=True)


@njit(cache=True, inline="always")
def start_row(data, i, seed):
    """A new game in row i: everything zero but the seed, no winner, no last move."""
    data[i, :] = 0
    data[i, WINNER] = -1
    data[i, LAST_ACTION] = -1
    data[i, RNG] = seed


@njit(cache=True, inline="always")
def finish_move(data, i, player, action, won, max_plies, rewards):
    """Bookkeeping after `player` played `action` in a two-player zero-sum game: the ply,
    the last move, the turn, and the outcome with its rewards (+1 / -1 for a win)."""
    data[i, PLY] += 1
    data[i, LAST_ACTION] = action
    data[i, TO_PLAY] = 1 - player
    rewards[i, 0] = 0.0
    rewards[i, 1] = 0.0
    if won:
        data[i, DONE] = 1
        data[i, WINNER] = player
        rewards[i, player] = 1.0
        rewards[i, 1 - player] = -1.0
    elif data[i, PLY] == max_plies:
        data[i, DONE] = 1
