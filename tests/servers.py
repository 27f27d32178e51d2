"""Helpers for tests that start a real dashboard server."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request

WAIT_SECONDS = 90  # generous: a busy CI machine starts Streamlit slowly


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(url: str, server: subprocess.Popen) -> None:
    """Return once the Streamlit server at `url` answers its health check."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the dashboard exited with status {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as reply:
                if reply.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"the dashboard did not answer at {url}")
