"""The typed contract of a game module: its parameters, its shape, its board symmetries.

A game module (games/<name>.py) declares `NAME`, `PARAMS` (a dict of `Param`, in the order
of the game's spec), `shape(g) -> Shape` and `symmetries(g)`, the Numba primitives (see
docs/adding-a-game.md) and its pictures. `g` is the game's parameter tuple: a namedtuple
with one field per parameter, ints and bools as int64 and floats as float64, so that one
compiled kernel serves every board size and the primitives read `g.size`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Param:
    """One spec parameter: `kind` is int, float, bool or str; `low`/`high` bound numbers,
    `choices` lists the allowed strings."""

    kind: type
    default: object
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()

    def describe(self) -> str:
        """The parameter's accepted values, e.g. 'int 3..13' or 'one of descending, random'."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.kind is bool:
            return "true or false"
        if self.low is not None and self.high is not None:
            return f"{self.kind.__name__} {self.low:g}..{self.high:g}"
        return self.kind.__name__


@dataclass(frozen=True)
class Shape:
    """What a game's parameters fix: sizes of the action space, players, observation and row."""

    num_actions: int
    num_players: int
    obs_shape: tuple[int, ...]
    max_plies: int
    width: int  # int64 columns of a state row, header included
    # Game classes beyond deterministic perfect information (DESIGN.md, the engine). Each
    # asks for primitives of its own (games.registry.FEATURE_PRIMITIVES).
    chance: bool = False  # chance nodes (to_play == CHANCE) with explicit outcome odds
    simultaneous: bool = False  # simultaneous nodes (to_play == SIMULTANEOUS)
    hidden: bool = False  # players hold private information (information-state keys)
    zero_sum: bool = True  # returns sum to 0 in every outcome
    # The rules treat every seat alike (simultaneous moves, the same payoff for the same
    # play whichever seat makes it): an agent's seat does not change its results, so a
    # population needs no separate population per seat (arena.population.seats_differ).
    seat_symmetric: bool = False

    @property
    def perfect_information(self) -> bool:
        """Deterministic, sequential and fully observed: what search and solvers assume."""
        return not (self.chance or self.simultaneous or self.hidden)


# The eight symmetries of a square (D4), as transforms of the last two axes of an array of
# planes [..., H, W]. Non-square boards use the subset that keeps their shape.
PLANE_TRANSFORMS = {
    "identity": lambda x: x,
    "rot90": lambda x: np.rot90(x, 1, axes=(-2, -1)),
    "rot180": lambda x: np.rot90(x, 2, axes=(-2, -1)),
    "rot270": lambda x: np.rot90(x, 3, axes=(-2, -1)),
    "fliplr": lambda x: x[..., :, ::-1],
    "flipud": lambda x: x[..., ::-1, :],
    "transpose": lambda x: np.swapaxes(x, -1, -2),
    "antitranspose": lambda x: np.rot90(np.swapaxes(x, -1, -2), 2, axes=(-2, -1)),
}


def transform_planes(planes: np.ndarray, name: str) -> np.ndarray:
    """`planes` [..., H, W] under the symmetry `name` (a key of PLANE_TRANSFORMS)."""
    return np.ascontiguousarray(PLANE_TRANSFORMS[name](planes))


def cell_permutation(name: str, rows: int, cols: int, extra: int = 0) -> np.ndarray:
    """Action permutation of a game whose actions are the cells of a rows x cols board, row
    by row (as the observation planes), followed by `extra` actions the symmetry fixes
    (pass, swap): perm[a] is the image of action a."""
    cells = np.arange(rows * cols).reshape(rows, cols)
    moved = transform_planes(cells, name)  # moved[r, c] = the cell that lands on (r, c)
    perm = np.empty(rows * cols + extra, dtype=np.int64)
    perm[moved.ravel()] = np.arange(rows * cols)
    perm[rows * cols :] = np.arange(rows * cols, rows * cols + extra)
    return perm
