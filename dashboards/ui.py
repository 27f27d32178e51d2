"""Page furniture shared by every page: the sidebar, the run picker, friendly errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pyarrow as pa
import streamlit as st

import replays
from dashboards import data

CHOSEN_RUN = "chosen_run"  # kept across pages (a widget's own state is per page)
PAGES = (
    ("pages/overview.py", "Overview", ":material/leaderboard:"),
    ("pages/replays.py", "Replays", ":material/replay:"),
    ("pages/agent.py", "Agent", ":material/smart_toy:"),
    ("pages/population.py", "Population", ":material/hub:"),
    ("pages/study.py", "Study", ":material/science:"),
    ("pages/play.py", "Play", ":material/sports_esports:"),
)


def setup(title: str) -> None:
    """Page configuration and the sidebar: links to the pages and the run picker."""
    st.set_page_config(page_title=f"{title} · arena", layout="wide")
    for page, label, icon in PAGES:
        st.sidebar.page_link(page, label=label, icon=icon)
    folder = data.runs_dir()
    st.sidebar.divider()
    st.sidebar.caption(f"Runs folder: {code(folder)}")
    found = data.find_runs(str(folder))
    if not found:
        return
    labels = {run.path: run.label for run in found}
    chosen = st.session_state.get(CHOSEN_RUN)
    st.sidebar.selectbox(
        "Run",
        list(labels),
        index=list(labels).index(chosen) if chosen in labels else 0,
        format_func=labels.__getitem__,
        key="run",
        on_change=lambda: st.session_state.update({CHOSEN_RUN: st.session_state.run}),
    )


def current_run() -> data.Run:
    """The run picked in the sidebar; without one, explain why and stop the page."""
    folder = data.runs_dir()
    found = {run.path: run for run in data.find_runs(str(folder))}
    if not folder.is_dir():
        st.info(
            f"The runs folder {code(folder)} does not exist. Start the dashboard with "
            "`arena dashboard RUNS_DIR` (or set `ARENA_RUNS`), or create a run there with "
            + code(
                f"arena tournament --game connect_four --agents random greedy --out {folder}/demo"
            )
            + "."
        )
        st.stop()
    if not found:
        st.info(
            f"No runs in {code(folder)} yet: a run is a folder with a `run.json`, made by "
            f"{code(f'arena tournament ... --out {folder}/NAME')} or by a league."
        )
        st.stop()
    return found.get(st.session_state.get(CHOSEN_RUN)) or next(iter(found.values()))


def run_caption(run: data.Run) -> None:
    # Every part comes from the run's files, which may come from anyone: data, not markup.
    st.caption(
        f"{plain(run.kind)} of {plain(run.game)} · run id {code(run.run_id)} · created "
        f"{plain(run.created_at[:19])} UTC · {code(run.path)}"
    )


def pick_game(run: data.Run) -> str | None:
    """The game whose results the page rates, picked in a selectbox when the run holds
    several (the human games' run); None for a run of one game. Ratings are per game."""
    names = data.game_names(run)
    if len(names) < 2:
        return None
    return st.selectbox(
        "Game", names, key="rated_game", help="This run holds several games; each is rated apart."
    )


@contextmanager
def guard(what: str) -> Iterator[None]:
    """Show a failure inside the block as a message instead of a traceback.

    The block stops at the failure; the rest of the page still renders, so one unreadable
    table does not hide the others.
    """
    try:
        yield
    except replays.ReplayFormatError as err:
        st.error(f"{what}: the replay files cannot be read. {plain(err)}")
    except FileNotFoundError as err:
        st.warning(
            f"{what}: a file is missing ({plain(err)}). It may have been moved or compacted."
        )
    except replays.GameNotFoundError as err:
        st.warning(f"{what}: {plain(err)}")
    except (duckdb.Error, pa.ArrowException, OSError, ValueError) as err:
        st.error(f"{what} failed: {plain(err)}")


def plain(text: str) -> str:
    """`text` (data: an agent id, a folder name) escaped for Streamlit markdown, so it
    shows as written and never as formatting, a link or a picture."""
    return re.sub(r"([\\`*_{}\[\]()<>#+\-.!|~$:])", r"\\\1", str(text))


def code(text: object) -> str:
    """`text` (data: a path, a spec) as a markdown code span, shown as written: the fence
    is longer than any run of backticks inside it (CommonMark code spans)."""
    text = str(text)
    fence = "`" * (max(map(len, re.findall(r"`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}"
