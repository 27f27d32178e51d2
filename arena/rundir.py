"""Run directories: identity (`run.json`), resolved config (`config.toml`), atomic writes.

A run directory belongs to one run of one kind (tournament, league) and one game. Opening
one checks that, so a command can never mix its games into another run's data. A command
that writes into a run holds its lock (`lock_run`) from before its first read of the run
to its last write, so two writers never play the same games into one run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import games
from arena.config import ConfigError, dumps

# The lock primitive lives in `replays` because compaction takes the same lock and
# `replays` may not import `arena`; a run's writers reach it through `lock_run` here.
from replays.lock import LOCK_NAME, RunLockedError, run_lock

__all__ = ["RunLockedError", "lock_run", "open_run", "run_lock"]

RUN_FILE = "run.json"
CONFIG_FILE = "config.toml"


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary name, fsync, rename over `path`, fsync the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_run(path: Path) -> dict[str, Any] | None:
    """The run.json of a run directory, or None when there is none."""
    file = Path(path) / RUN_FILE
    if not file.is_file():
        return None
    try:
        record = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"{file}: unreadable run file ({err})") from None
    if not isinstance(record, dict):
        raise ConfigError(f"{file}: unreadable run file (not a JSON object)")
    return record


def require_run(path: str | Path, kind: str) -> dict[str, Any]:
    """The run.json of the `kind` run in `path`; ConfigError when `path` holds no such run.
    Called before anything else is read from a folder that may have come from elsewhere."""
    record = read_run(Path(path))
    if record is None:
        raise ConfigError(f"{path} is not an arena run directory (no {RUN_FILE})")
    if record.get("kind") != kind:
        raise ConfigError(f"{path} holds a {record.get('kind')} run, not a {kind}")
    return record


def _check_fresh_or_resumable(path: Path, existing: dict[str, Any] | None, resume: bool) -> None:
    """Refuse `path` when it holds no run and cannot become one (for `resume`: holds none)."""
    if existing is not None:
        return
    if path.exists() and (not path.is_dir() or any(p.name != LOCK_NAME for p in path.iterdir())):
        raise ConfigError(f"{path} exists and is not an arena run directory; choose another --out")
    if resume:
        raise ConfigError(f"--resume: no run to resume in {path}")


@contextmanager
def lock_run(path: str | Path, purpose: str, resume: bool) -> Iterator[Path]:
    """Hold the lock of the run directory `path` (created when new) inside the block.

    For a command that creates (or, with `resume`, continues) a run: take it before
    `open_run` and hold it until the last write. A directory that is not a run is refused
    before anything is created in it; a second writer gets `RunLockedError` naming the
    holder's pid.
    """
    path = Path(path)
    _check_fresh_or_resumable(path, read_run(path), resume)
    path.mkdir(parents=True, exist_ok=True)
    with run_lock(path, purpose):
        yield path


def open_run(
    path: str | Path,
    kind: str,
    game: str,
    identity: dict[str, Any],
    resume: bool,
    checkpoints: dict[str, str] | None = None,
) -> tuple[Path, str]:
    """Create a run directory, or reopen it for `--resume`; returns (path, run_id).

    `identity` holds the settings a resumed run must share with the original (the rest of
    the config may change, e.g. concurrency); `checkpoints` the sha256 of every checkpoint
    the user named (PATH -> hash), which must not have changed either. Refuses, touching
    nothing, when the directory belongs to another kind of run, another game or other
    settings, when it is a finished or started run and `resume` is False, or when it is not
    a run at all. Call it inside `lock_run`.
    """
    path = Path(path)
    existing = read_run(path)
    _check_fresh_or_resumable(path, existing, resume)
    if existing is None:
        games.store_run_files(game, path)  # e.g. a matrix game's table: the run keeps it
        run_id = uuid.uuid4().hex[:16]
        record = {
            "run_id": run_id,
            "kind": kind,
            "game": game,
            "identity": identity,
            "checkpoints": checkpoints or {},
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        }
        atomic_write(path / RUN_FILE, json.dumps(record, indent=2).encode())
        return path, run_id
    if existing.get("kind") != kind:
        raise ConfigError(f"{path} holds a {existing.get('kind')} run, not a {kind}")
    if existing.get("game") != game:
        raise ConfigError(f"{path} holds a run of {existing.get('game')}, not of {game}")
    if not resume:
        raise ConfigError(
            f"{path} already holds a {kind} run; pass --resume to continue it, or choose "
            "another --out (nothing was changed)"
        )
    stored = existing.get("identity", {})
    changed = sorted(k for k in set(stored) | set(identity) if stored.get(k) != identity.get(k))
    if changed:
        details = "; ".join(
            f"{k}: run has {stored.get(k)!r}, now {identity.get(k)!r}" for k in changed
        )
        raise ConfigError(f"--resume with settings that differ from the run in {path}: {details}")
    _check_checkpoints(path, existing.get("checkpoints", {}), checkpoints or {})
    return path, existing["run_id"]


def _check_checkpoints(path: Path, stored: dict[str, str], now: dict[str, str]) -> None:
    """A resumed run's agents must come from the same weights as the original's: the same
    spec with another file would put two networks' games under one agent id."""
    for file, sha in sorted(stored.items()):
        if now.get(file) != sha:
            raise ConfigError(
                f"--resume: checkpoint {file} has changed since the run in {path} began "
                f"(sha256 {sha}, now {now.get(file)}); restore it or start a new run "
                "(nothing was changed)"
            )


def write_config(path: Path, config: dict[str, Any]) -> None:
    atomic_write(Path(path) / CONFIG_FILE, dumps(config).encode())


def list_runs(runs_dir: str | Path) -> list[tuple[Path, dict[str, Any]]]:
    """Run directories directly under `runs_dir` with their run.json, newest first.

    Read-only: for the dashboard and other viewers. Unreadable run files are skipped.
    """
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    found = []
    for path in sorted(runs_dir.iterdir()):
        try:
            record = read_run(path) if path.is_dir() else None
        except ConfigError:
            continue
        if record is not None:
            found.append((path, record))
    return sorted(found, key=lambda item: item[1].get("created_at", ""), reverse=True)
