"""Killing a child process at an observed point, for the crash-and-resume tests.

A kill timed by a clock misses on a machine faster or slower than the one it was tuned
on; these helpers wait for something the child has visibly done (a file, a state) and
kill it then, and say so if the child ended before that point was reached.
"""

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from replays.files import part_paths

# Between looks at the child's files: short next to any step the tests kill inside.
POLL_SECONDS = 0.002


def kill_when(proc: subprocess.Popen, reached: Callable[[], bool], timeout: float = 300) -> None:
    """SIGKILL `proc` as soon as `reached()` is true; fail if it exits or times out first."""
    deadline = time.monotonic() + timeout
    while not reached():
        if proc.poll() is not None:
            output = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(f"the child ended (code {proc.returncode}) first: {output}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"the child did not reach the kill point in {timeout} s")
        time.sleep(POLL_SECONDS)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # Killed, not finished: a child that ended on its own in the meantime exits with 0.
    assert proc.returncode == -signal.SIGKILL, f"the child exited with {proc.returncode}"


def parts_at_least(directory: Path, count: int) -> Callable[[], bool]:
    """Whether the replay directory `directory` holds at least `count` part files."""
    return lambda: len(part_paths(directory)) >= count
