"""The replay format: one Arrow/Parquet row per game, written atomically, read as a dataset.

>>> import replays
>>> with replays.ReplayWriter("runs/demo") as writer:
...     writer.write(columns)                      # finished games, one entry per game
>>> data = replays.open("runs/demo")
>>> data.filter(agent="mcts:sims=400", min_plies=10)
>>> replays.load_game("runs/demo", "match-0", 3).states
>>> replays.transitions("runs/demo")["observations"]

See docs/replays.md for the schema and examples with DuckDB, Polars and pyarrow.
"""

from replays.compaction import CompactionReport, compact
from replays.errors import (
    DuplicateGamesWarning,
    GameNotFoundError,
    ReplayError,
    ReplayFormatError,
)
from replays.lock import RunLockedError, run_lock
from replays.reader import ReplayDataset, load_game, read_retrying
from replays.reader import open_replays as open
from replays.record import Replay
from replays.schema import SCHEMA, SCHEMA_VERSION, TERMINATIONS, build_table
from replays.transitions import transitions
from replays.writer import ReplayWriter

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "TERMINATIONS",
    "CompactionReport",
    "DuplicateGamesWarning",
    "GameNotFoundError",
    "Replay",
    "ReplayDataset",
    "ReplayError",
    "ReplayFormatError",
    "ReplayWriter",
    "RunLockedError",
    "build_table",
    "compact",
    "load_game",
    "open",
    "read_retrying",
    "run_lock",
    "transitions",
]
