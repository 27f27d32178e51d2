"""`arena dashboard` starts this: the Streamlit app over a folder of runs, as a subprocess.

The app has no authentication, so it listens on this machine only (127.0.0.1) unless told
otherwise.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

APP = Path(__file__).parent / "app.py"
RUNS_ENV = "ARENA_RUNS"  # the runs folder, for dashboards.data
LOCALHOST = "127.0.0.1"


def command(port: int, headless: bool = True, host: str = LOCALHOST) -> list[str]:
    """The `streamlit run` command line of the dashboard."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        str(headless).lower(),
        # A viewer, not a development server: no file watching (it would poll the tree),
        # no usage statistics sent anywhere, no developer menu.
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
        # The pages draw their own sidebar links, with titles and icons.
        "--client.showSidebarNavigation",
        "false",
    ]


def launch(
    runs_dir: str | os.PathLike, port: int = 8501, headless: bool = True, host: str = LOCALHOST
) -> subprocess.Popen:
    """Start the dashboard on `host`:`port` over `runs_dir`; returns the running process.

    The app only reads the runs folder. `headless=False` lets Streamlit open a browser.
    """
    return subprocess.Popen(command(port, headless, host), env=_env(runs_dir))


def serve(runs_dir: str | os.PathLike, port: int = 8501, host: str = LOCALHOST) -> NoReturn:
    """Replace this process with the dashboard server (what `arena dashboard` does).

    Signals sent to this process then reach the server itself: a SIGTERM or Ctrl-C stops
    it, and no server is left behind by a parent that was killed.
    """
    sys.stdout.flush()  # exec discards what is still buffered
    sys.stderr.flush()
    os.execve(sys.executable, command(port, True, host), _env(runs_dir))


def _env(runs_dir: str | os.PathLike) -> dict[str, str]:
    return {**os.environ, RUNS_ENV: str(Path(runs_dir).expanduser().resolve())}


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach an address (`localhost` counts)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def url(host: str, port: int) -> str:
    """The address of a server bound to `host` (IPv6 addresses in brackets)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
