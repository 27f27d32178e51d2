"""How fast the dashboard's replay browser lists games on a large run.

`bench_listing` times, without any cache, the query path a filter change takes on the
replay page (`dashboards.queries`): count the matching games and fetch the first page,
newest first, for each kind of filter; plus opening the run (reading every part file's
footer) and the summary that fills the filter widgets, which a first visit also waits
for. `generate_run` makes a large run to measure on.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import replays
from arena.tournament import run_tournament
from dashboards import queries
from dashboards.queries import GameFilter

PAGE_SIZE = 100  # rows per page of the replay browser


def generate_run(out: str | os.PathLike, games: int = 1_000_000, concurrency: int = 4096) -> Path:
    """A Connect Four tournament of `games` games between random and greedy at `out`."""
    report = run_tournament(
        {
            "game": "connect_four",
            "agents": ["random", "greedy"],
            "games_per_pair": games,
            "concurrency": concurrency,
            "out": str(out),
        }
    )
    return report.run_dir


def _timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def bench_listing(run_dir: str | os.PathLike) -> dict:
    """Seconds per step of the filtered listing on `run_dir` (which must hold games).

    Returns `games`, `files`, `open_seconds`, `summary_seconds`, and per filter
    (`none`, `agent`, `winner`, `length`, `termination`, `time`, `combined`):
    `listing_seconds[name]` (count + first page) and `matches[name]`; `worst_listing_seconds`
    is the slowest filter, `first_view_seconds` opening + summary + the unfiltered listing.
    """
    dataset, open_seconds = _timed(replays.open, run_dir)
    files = [str(p) for p in dataset.files]
    summary, summary_seconds = _timed(queries.summary, files)
    if summary.games == 0:
        raise ValueError(f"{run_dir} holds no games to list")
    middle = summary.first_start + (summary.last_end - summary.first_start) / 2
    short = (summary.min_plies + summary.max_plies) // 2
    filters = {
        "none": GameFilter(),
        "agent": GameFilter(agents=(summary.agents[0],)),
        "winner": GameFilter(winner=summary.agents[-1]),
        "length": GameFilter(min_plies=summary.min_plies + 2, max_plies=short),
        "termination": GameFilter(terminations=(summary.terminations[0],)),
        "time": GameFilter(start=middle),
        "combined": GameFilter(
            agents=(summary.agents[0],), winner=summary.agents[-1], max_plies=short, start=middle
        ),
    }
    listing_seconds, matches = {}, {}
    for name, flt in filters.items():
        start = time.perf_counter()
        matches[name] = queries.count_games(files, flt)
        queries.list_games(files, flt, PAGE_SIZE)
        listing_seconds[name] = time.perf_counter() - start
    return {
        "games": summary.games,
        "files": len(files),
        "open_seconds": open_seconds,
        "summary_seconds": summary_seconds,
        "listing_seconds": listing_seconds,
        "matches": matches,
        "worst_listing_seconds": max(listing_seconds.values()),
        "first_view_seconds": open_seconds + summary_seconds + listing_seconds["none"],
    }
