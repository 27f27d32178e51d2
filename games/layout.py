"""Row layout shared by every game: one int64 row per game in a batch.

The first HEADER columns are common to all games; each game stores its own fields after them.
Keeping a whole game in one row lets the generic kernels (batching, MCTS, solvers) copy,
save and restore a state as a plain int64 vector.
"""

DONE = 0  # 1 once the game is over
TO_PLAY = 1  # player index to move
PLY = 2  # moves played so far
WINNER = 3  # player index, -1 for a draw or an unfinished game
LAST_ACTION = 4  # last action played, -1 before the first move
RNG = 5  # per-game random state (chance events, hidden information)
HEADER = 6
