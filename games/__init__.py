"""Rules of the games: batched Numba kernels, PettingZoo adapters, text and SVG rendering.

>>> import numpy as np, games
>>> game = games.make("connect_four")
>>> state = game.init(1024, seed=0)
>>> rng = np.arange(1024)  # one random state per game, advanced in place
>>> rewards = game.step(state, game.random_legal(game.legal_mask(state), rng))
"""

from games.dispatch import MODULES
from games.game import Game, State, get_threads, set_threads

_GAMES = {module.NAME: Game(gid, module) for gid, module in enumerate(MODULES)}


def names() -> list[str]:
    """Names accepted by `make`, sorted."""
    return sorted(_GAMES)


def make(name: str) -> Game:
    """The game called `name`; an unknown name raises ValueError listing the known ones."""
    try:
        return _GAMES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown game {name!r}; available games: {', '.join(names())}") from None


def pettingzoo_env(name: str, render_mode: str | None = None):
    """A PettingZoo AECEnv for the game `name` (render modes: None, 'ansi', 'rgb_array')."""
    from games.pettingzoo import ArenaAECEnv

    return ArenaAECEnv(make(name), render_mode=render_mode)


__all__ = [
    "Game",
    "State",
    "get_threads",
    "make",
    "names",
    "pettingzoo_env",
    "set_threads",
]
