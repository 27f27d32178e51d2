"""The grid of a study: which networks, which training points, which search budgets.

`StudyGrid` is the study's identity: it is written once as `DIR/study.json`, and a
`--resume` with another grid (or in a folder of another game) is refused before anything
trains. Every bad value is refused with a one-line `ConfigError` naming the option.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import games
from agents.base import require_perfect_information
from agents.network import MAX_BLOCKS, MAX_CHANNELS
from arena.config import ConfigError
from arena.rundir import atomic_write

GRID_FILE = "study.json"
_NET = re.compile(r"(\d+)x(\d+)")


@dataclass(frozen=True)
class StudyGrid:
    game: str  # canonical spec
    nets: tuple[str, ...]  # "BLOCKSxCHANNELS", in the order given
    train_minutes: tuple[float, ...]  # the snapshot points, ascending
    sims: tuple[int, ...]  # search budgets at play time, ascending
    budget_minutes: float  # the whole study: training and rating
    seed: int = 0

    @classmethod
    def make(
        cls,
        game: str,
        nets: str | tuple[str, ...],
        train_minutes: str | tuple[float, ...],
        sims: str | tuple[int, ...],
        budget_minutes: float,
        seed: int = 0,
    ) -> StudyGrid:
        """A checked grid from option values (comma-separated strings or tuples)."""
        try:
            rules = games.make(game)
            require_perfect_information(rules, "a study's AlphaZero learner")
        except ValueError as err:
            raise ConfigError(f"--game: {err}") from None
        grid = cls(
            game=rules.spec,
            nets=tuple(_net(n) for n in _items(nets, "--nets")),
            train_minutes=tuple(
                sorted(
                    _number(m, "--train-minutes", float)
                    for m in _items(train_minutes, "--train-minutes")
                )
            ),
            sims=tuple(sorted(_number(s, "--sims", int) for s in _items(sims, "--sims"))),
            budget_minutes=float(budget_minutes),
            seed=int(seed),
        )
        grid.check()
        return grid

    def check(self) -> None:
        """Refuse a grid that cannot run: repeats, non-positive values, or a budget too
        small for the training it asks for (`training_minutes`)."""
        for option, values in (
            ("--nets", self.nets),
            ("--train-minutes", self.train_minutes),
            ("--sims", self.sims),
        ):
            if len(set(values)) != len(values):
                raise ConfigError(f"{option}: each value once, got {','.join(map(str, values))}")
        if self.train_minutes[0] <= 0:
            raise ConfigError(f"--train-minutes must be positive, got {self.train_minutes[0]:g}")
        if self.sims[0] < 1:
            raise ConfigError(f"--sims: simulations must be at least 1, got {self.sims[0]}")
        if not 0 < self.budget_minutes < float("inf"):
            raise ConfigError(f"--budget-minutes must be positive, got {self.budget_minutes:g}")
        if self.seed < 0:
            raise ConfigError(f"--seed must be >= 0, got {self.seed}")
        count = len(self.nets)
        first = count * self.train_minutes[0]
        if self.budget_minutes < first:
            raise ConfigError(
                f"--budget-minutes {self.budget_minutes:g} is shorter than one snapshot: "
                f"{count} network(s) x {self.train_minutes[0]:g} minutes = {first:g} minutes"
            )
        if self.budget_minutes <= self.training_minutes:
            raise ConfigError(
                f"the grid cannot fit --budget-minutes {self.budget_minutes:g}: training "
                f"{count} network(s) x {self.train_minutes[-1]:g} minutes = "
                f"{self.training_minutes:g} minutes leaves no time to rate; lower "
                "--train-minutes or raise --budget-minutes"
            )

    @property
    def training_minutes(self) -> float:
        """Planned training: every network up to the last snapshot point, one at a time."""
        return len(self.nets) * self.train_minutes[-1]

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict) -> StudyGrid:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})

    def write(self, study_dir: Path) -> None:
        atomic_write(Path(study_dir) / GRID_FILE, json.dumps(self.to_dict(), indent=2).encode())

    @classmethod
    def load(cls, study_dir: Path) -> StudyGrid:
        """The grid of the study in `study_dir`."""
        path = Path(study_dir) / GRID_FILE
        if not path.is_file():
            raise ConfigError(f"{study_dir} is not a study folder (no {GRID_FILE})")
        try:  # a folder may come from elsewhere: a damaged file is bad input, not a bug
            return cls.from_dict(json.loads(path.read_text()))
        except (TypeError, AttributeError, ValueError) as err:
            raise ConfigError(f"{path}: not a study grid ({err})") from None


def net_size(net: str) -> tuple[int, int]:
    """(blocks, channels) of a network name "BLOCKSxCHANNELS"."""
    blocks, channels = _NET.fullmatch(net).groups()
    return int(blocks), int(channels)


def snapshot_id(net: str, minutes: float) -> str:
    """The id of `net`'s snapshot at training point `minutes`: "2x32@t0008m" ("2x32@t0.5m"
    for a point between whole minutes)."""
    return f"{net}@t{int(minutes):04d}m" if minutes == int(minutes) else f"{net}@t{minutes:g}m"


def _items(values: str | tuple, option: str) -> list:
    items = [v.strip() for v in values.split(",")] if isinstance(values, str) else list(values)
    if not items or any(item == "" for item in items):
        raise ConfigError(f"{option}: a comma-separated list of values, got {values!r}")
    return items


def _number(value, option: str, kind: type):
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{option}: {value!r} is not a{'n integer' if kind is int else ' number'}"
        ) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ConfigError(f"{option}: {value!r} is not a finite number")
    return number


def _net(value: str) -> str:
    match = _NET.fullmatch(str(value))
    if match is None:
        raise ConfigError(f"--nets: {value!r} is not BLOCKSxCHANNELS (e.g. 2x32)")
    blocks, channels = int(match[1]), int(match[2])
    if blocks > MAX_BLOCKS or not 1 <= channels <= MAX_CHANNELS:
        raise ConfigError(
            f"--nets: {value!r}: at most {MAX_BLOCKS} blocks and 1 to {MAX_CHANNELS} channels"
        )
    return f"{blocks}x{channels}"
