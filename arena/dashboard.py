"""`arena dashboard`: the Streamlit app over a folder of runs, as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dashboards

APP = Path(dashboards.__file__).parent / "app.py"
RUNS_ENV = "ARENA_RUNS"  # the runs folder, for dashboards.data


def command(port: int, headless: bool = True) -> list[str]:
    """The `streamlit run` command line of the dashboard."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
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
    runs_dir: str | os.PathLike, port: int = 8501, headless: bool = True
) -> subprocess.Popen:
    """Start the dashboard on `port` over `runs_dir`; returns the running process.

    The app only reads the runs folder. `headless=False` lets Streamlit open a browser.
    """
    env = {**os.environ, RUNS_ENV: str(Path(runs_dir).expanduser().resolve())}
    return subprocess.Popen(command(port, headless), env=env)
