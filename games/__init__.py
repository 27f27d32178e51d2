"""Rules of the games: batched Numba kernels, PettingZoo adapters, text and SVG rendering.

>>> import numpy as np, games
>>> game = games.make("connect_four")  # a spec: NAME[:key=value,...], e.g. "hex:size=7"
>>> state = game.init(1024, seed=0)
>>> rng = np.arange(1024)  # one random state per game, advanced in place
>>> rewards = game.step(state, game.random_legal(game.legal_mask(state), rng))
"""

import os

from games import spec as _spec
from games.contract import Param
from games.game import Game, State, get_threads, set_threads
from games.kernels import MODULES
from games.render import Board

_GAMES: dict[str, Game] = {}  # canonical spec -> Game


def names() -> list[str]:
    """Base names of the registered games, sorted (see `parameters` for their specs)."""
    return sorted(MODULES)


def parameters(name: str) -> dict[str, Param]:
    """The parameters of the game `name`, in spec order (kind, default, help and range)."""
    base, _ = _spec.split(name, names())  # an unknown name: the error lists the games
    return dict(MODULES[base].PARAMS)


def make(spec: str) -> Game:
    """The game of a spec `NAME[:key=value,...]` (e.g. "connect_four", "hex:size=7"); an
    unknown game, an unknown parameter or a value out of range raises ValueError listing
    the games, the game's parameters or the accepted values."""
    if isinstance(spec, str) and spec in _GAMES:
        return _GAMES[spec]
    module, canonical, values = _spec.resolve(spec, MODULES)
    if canonical not in _GAMES:
        _GAMES[canonical] = Game(module, canonical, values)
    return _GAMES[canonical]


def canonical(spec: str) -> str:
    """The canonical spec of `spec`: the game's name and every parameter, defaults filled in."""
    return make(spec).spec


def store_run_files(spec: str, run_dir: str | os.PathLike) -> None:
    """Copy the files a game spec reads (a matrix game's payoff table) into the run folder
    `run_dir`, so that the run never depends on a file outside it."""
    game = make(spec)
    if hasattr(game.module, "store_files"):
        game.module.store_files(game.values, run_dir)


def use_run_files(run_dir: str | os.PathLike) -> None:
    """Let `make` find the files of specs whose originals have gone among the copies that
    `store_run_files` made in the run folder `run_dir` (for reading a run's replays)."""
    for module in MODULES.values():
        if hasattr(module, "use_files"):
            module.use_files(run_dir)


def board(game: Game) -> Board | None:
    """Where `game.render_svg` draws each cell, in the picture's own units (click targets,
    overlays, move numbers: see `games.render.Board`); None for a game without a board."""
    of = getattr(game.module, "board", None)
    return None if of is None else of(game.params)


def pettingzoo_env(spec: str, render_mode: str | None = None, parallel: bool = False):
    """A PettingZoo AECEnv for the game `spec` (render modes: None, 'ansi', 'rgb_array'), or
    with `parallel` a ParallelEnv (games with simultaneous moves only)."""
    from games.pettingzoo import ArenaAECEnv, ArenaParallelEnv

    env_class = ArenaParallelEnv if parallel else ArenaAECEnv
    return env_class(make(spec), render_mode=render_mode)


__all__ = [
    "Board",
    "Game",
    "Param",
    "State",
    "board",
    "canonical",
    "get_threads",
    "make",
    "names",
    "parameters",
    "pettingzoo_env",
    "set_threads",
    "store_run_files",
    "use_run_files",
]
