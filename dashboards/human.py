"""The dashboard's own run: `RUNS/human/`, the games people played on the play page.

It is written like any run: one replay row per finished game through `replays`, holding
the run lock (replays/lock.py) only while writing, so a tab writing one game blocks
another tab for the instant it takes and never blocks readers. Its `run.json` has kind
`human`; it holds games of every game played from the page (each part file one game), and
its agents are people (`human:NAME`) and their opponents, rated like any others by
`arena ratings RUNS/human`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import uuid
from pathlib import Path

import replays
from arena.rundir import RUN_FILE, atomic_write, read_run
from dashboards.playing import Game

RUN_NAME = "human"
KIND = "human"
PREFIX = "human:"
NAME_RULE = r"[A-Za-z0-9_.-]{1,32}"
LOCK_WAIT_SECONDS = 10.0  # another tab's write takes milliseconds; longer means a stuck writer


def human_id(name: str) -> str:
    """`human:NAME`, the agent id of a person; ValueError with the rule for a bad name."""
    if not re.fullmatch(NAME_RULE, name or ""):
        raise ValueError(f"a player name is 1 to 32 letters, digits, '_', '.' or '-', got {name!r}")
    return PREFIX + name


def run_dir(runs_dir: str | Path) -> Path:
    return Path(runs_dir) / RUN_NAME


def ensure_run(runs_dir: str | Path) -> tuple[Path, str]:
    """(the human-games run directory, its run id), creating it on first use. Call it
    holding the run's lock. A folder of that name holding another kind of run is refused."""
    path = run_dir(runs_dir)
    record = read_run(path)
    if record is not None:
        if record.get("kind") != KIND:
            raise ValueError(f"{path} holds a {record.get('kind')} run, not the human games")
        return path, str(record["run_id"])
    run_id = uuid.uuid4().hex[:16]
    record = {
        "run_id": run_id,
        "kind": KIND,
        "game": "any",  # each part file names its game; people play all of them here
        "identity": {},
        "checkpoints": {},
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(),
    }
    atomic_write(path / RUN_FILE, json.dumps(record, indent=2).encode())
    return path, run_id


def save(runs_dir: str | Path, game: Game) -> str:
    """Write a finished game into the human-games run; returns its match id.

    The lock is taken only for the write; while another writer holds it (another tab
    saving its game) this waits, up to LOCK_WAIT_SECONDS, then raises RunLockedError."""
    path = run_dir(runs_dir)
    path.mkdir(parents=True, exist_ok=True)
    match_id = f"play-{uuid.uuid4().hex[:12]}"
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            with replays.run_lock(path, "dashboard play page"):
                _, run_id = ensure_run(runs_dir)
                with replays.ReplayWriter(path, flush_seconds=None) as writer:
                    writer.write(game.row(run_id, match_id))
                return match_id
        except replays.RunLockedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # the holder writes one small file
