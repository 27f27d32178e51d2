"""What the feature primitives do in a game without that feature (games.registry): the
generic kernels call every primitive, so each game needs one of each to compile, and a game
gets these when it lacks the feature. The registry makes sure a game with the feature
brings its own (a chance game its `chance_row`, and so on), so none of these ever stands in
for a real rule.
"""

from numba import njit

from games.layout import TO_PLAY


@njit(cache=True, inline="always")
def chance_row(g, data, i, probs):
    """No chance nodes: no outcomes."""
    probs[i, :] = 0.0
    return 0


@njit(cache=True, inline="always")
def legal_player_row(g, data, i, player, mask):
    """No simultaneous nodes: nobody acts at one."""
    mask[i, :] = False
    return 0


@njit(cache=True, inline="always")
def actor_row(g, data, i):
    """Sequential moves: the next action is the player's to move (or chance's)."""
    return data[i, TO_PLAY]


@njit(cache=True, inline="always")
def info_key_row(g, data, i, player):
    """Perfect information: no information states to key."""
    return -1


@njit(cache=True, inline="always")
def null_move_row(g, data, i):
    """No turn to hand over without a move (games of chance or hidden information)."""
    return None
