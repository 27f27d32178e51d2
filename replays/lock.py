"""One writer per run: an exclusive lock on a run directory, released by the OS on death.

Every command that writes into a run (tournament, league, compaction, and later writers:
solvers, studies, the dashboard's human-games run) holds `run_lock(run_dir, purpose)` for
as long as it writes; a second writer is refused at once with a one-line error naming the
holder's pid. Readers never take it: files are renamed into place whole, so they need no
lock.

The lock is an `fcntl.flock` on `LOCK_NAME` inside the run directory. The kernel ties it
to the open file, so it vanishes with its holder however that dies (SIGKILL included):
there is never a stale lock to clean up, and the file's content (who holds it) is only
information, never the lock itself.

It lives in `replays` rather than in `arena` (which owns run directories) because
compaction, here, must take the very same lock and imports point down only
(`replays` <- `arena`); `arena.rundir` builds on it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from replays.errors import ReplayError

LOCK_NAME = ".run.lock"
PROC_LOCKS = "/proc/locks"  # Linux: every lock held, with its holder and file


class RunLockedError(ReplayError):
    """Another process holds the run's lock (its pid and purpose are in the message)."""


def lock_path(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / LOCK_NAME


@contextmanager
def run_lock(run_dir: str | os.PathLike, purpose: str) -> Iterator[Path]:
    """Hold the exclusive write lock of `run_dir` (an existing directory) inside the block.

    `purpose` (e.g. "tournament") is recorded with this process's pid and command line in
    the lock file, for the error a second writer gets. Not re-entrant: a second
    `run_lock` on the same run in the same process is refused like any other.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"no run directory at {run_dir}")
    # "a+": create if missing, never truncate what the current holder wrote.
    with open(lock_path(run_dir), "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            raise RunLockedError(
                f"{run_dir} is being written by {_describe(f.read())}; one writer per run: "
                "wait for it to finish or stop it"
            ) from None
        try:
            f.truncate(0)
            holder = {"pid": os.getpid(), "purpose": purpose, "command": _command()}
            f.write(json.dumps(holder) + "\n")
            f.flush()
            yield lock_path(run_dir)
        finally:
            f.truncate(0)  # a clean exit leaves no holder behind; a killed one is overwritten
            fcntl.flock(f, fcntl.LOCK_UN)


def writer(run_dir: str | os.PathLike) -> int | None:
    """The pid of the process holding `run_dir`'s lock (writing it now), or None.

    Read-only: it never takes the lock, not even for an instant, so it cannot make a
    writer starting at that moment fail. Linux lists every flock in /proc/locks (by device
    and inode), which is exact; elsewhere the holder's pid written in the lock file is
    checked for being alive (a clean exit empties the file).
    """
    path = lock_path(run_dir)
    try:
        info = path.stat()
    except FileNotFoundError:
        return None  # never written
    try:
        listing = Path(PROC_LOCKS).read_text()
    except OSError:
        return _living_holder(path)
    wanted = (os.major(info.st_dev), os.minor(info.st_dev), info.st_ino)
    for line in listing.splitlines():
        # "1: FLOCK  ADVISORY  WRITE 18755 fe:00:3794155 0 EOF"; "1: -> FLOCK ..." waits.
        fields = line.split()
        if len(fields) < 6 or fields[1] != "FLOCK":
            continue
        major, minor, inode = fields[5].split(":")
        if (int(major, 16), int(minor, 16), int(inode)) == wanted:
            return int(fields[4])
    return None


def _living_holder(path: Path) -> int | None:
    try:
        pid = json.loads(path.read_text())["pid"]
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except PermissionError:
        pass  # it exists, run by another user
    except (OSError, ValueError, KeyError, TypeError):
        return None  # empty (a clean exit), unreadable, or its writer is gone
    return pid


def _describe(content: str) -> str:
    try:
        record = json.loads(content)
        return f"pid {record['pid']} ({record['purpose']}: {record['command']})"
    except (ValueError, KeyError, TypeError):  # the holder has not written its pid yet
        return "another process"


def _command() -> str:
    return shlex.join(getattr(sys, "orig_argv", sys.argv))
