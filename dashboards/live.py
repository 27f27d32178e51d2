"""Live pages: a page's body redrawn every few seconds while its run is being written.

A run is being written while a process holds its run lock (`replays.lock.writer`, a
read-only check that never takes the lock). The body is a Streamlit fragment with a
timer only then; its cached reads (`dashboards.data`) read only the files that appeared
since the last refresh. Once the writer finishes or dies (the kernel frees its lock even
after SIGKILL), the next refresh redraws the whole page once without the timer.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from dashboards import data
from dashboards.ui import plain
from replays.lock import writer

REFRESH_SECONDS = 2.0
LIVE_MARK = "Live:"  # starts the caption shown while the page refreshes itself


def live(run: data.Run, body: Callable[[data.Run], None]) -> None:
    """Draw `body(run)`, and again every REFRESH_SECONDS while the run is being written."""
    writing = writer(run.path) is not None

    def refreshed() -> None:
        pid = writer(run.path)
        if writing and pid is None:
            st.rerun(scope="app")  # the writer is gone: redraw once, without the timer
        if pid is not None:
            st.caption(
                f"{LIVE_MARK} process {pid} is writing this {plain(run.kind)}; the page refreshes "
                f"every {REFRESH_SECONDS:g} s, reading only the new files."
            )
        body(run)

    st.fragment(refreshed, run_every=REFRESH_SECONDS if writing else None)()
