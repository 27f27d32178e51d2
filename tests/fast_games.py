"""One small, fast spec per registered game, for tests that run every game end to end.

Derived from the game's parameters, so a new game needs no entry: every integer parameter
with a lower bound (a board size) at that bound, the rest at their defaults.
"""

from __future__ import annotations

import games


def fast_spec(name: str) -> str:
    """The canonical spec of the smallest setting of game `name`."""
    smallest = [
        f"{key}={int(param.low)}"
        for key, param in games.parameters(name).items()
        if param.kind is int and param.low is not None
    ]
    return games.canonical(f"{name}:{','.join(smallest)}" if smallest else name)


FAST_SPECS = [fast_spec(name) for name in games.names()]
# The games that tree search, greedy and AlphaZero can play: deterministic, sequential,
# fully observed (the others they refuse).
PERFECT_INFORMATION_SPECS = [s for s in FAST_SPECS if games.make(s).perfect_information]
