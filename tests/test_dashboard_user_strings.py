"""Names are data on every dashboard page: a run folder and an agent whose names are
markdown, HTML, a link and TeX show as written, never as formatting.

Every text element a page draws (markdown, captions, titles, notices, expander labels) is
checked: outside code spans, none holds a name's markup unescaped, and where a page names
the run or the agent it holds the name escaped (`ui.plain`) or as a code span (`ui.code`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from arena.tournament import run_tournament
from dashboards.ui import code, plain
from tests.test_dashboard_apptest import APP, TIMEOUT

AGENT = "**bold** <b>x</b> [link](x) $x$ _u_ `t`"
RUN = "**run** <i>y [l](x) $y$"  # a folder name: no slash, so no closing tag
MARKUP = ("**bold**", "<b>", "[link](x)", "$x$", "_u_", "**run**", "<i>", "[l](x)", "$y$")
TEXT_ELEMENTS = (
    "markdown", "caption", "title", "header", "subheader", "info", "warning", "error", "success",
)  # fmt: skip
PAGES = (
    "pages/overview.py",
    "pages/replays.py",
    "pages/agent.py",
    "pages/population.py",
    "pages/study.py",
    "pages/play.py",
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("runs")
    run_tournament(
        {
            "game": "tic_tac_toe",
            "agents": [f"{AGENT}=random", "greedy"],
            "games_per_pair": 4,
            "seed": 1,
            "out": str(folder / RUN),
        }
    )
    return folder


def texts(at: AppTest) -> list[str]:
    """Every markdown string the page drew, expander labels included."""
    found = [e.value for kind in TEXT_ELEMENTS for e in getattr(at, kind)]
    return found + [e.label for e in at.expander]


def outside_code(text: str) -> str:
    """`text` without its code spans (shown as written whatever they hold)."""
    return re.sub(r"(`+) .*? \1", "", text)


def open_page(runs: Path, monkeypatch, page: str) -> AppTest:
    monkeypatch.setenv("ARENA_RUNS", str(runs))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page(page)
    at.run()
    if page == "pages/agent.py":
        at.selectbox(key="agent").set_value(AGENT).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("page", PAGES)
def test_names_show_as_written_on_every_page(runs, monkeypatch, page):
    at = open_page(runs, monkeypatch, page)
    shown = texts(at)
    assert shown
    leaks = [(m, t) for t in shown for m in MARKUP if m in outside_code(t)]
    assert not leaks
    if page != "pages/play.py":  # every run page names its run in its caption
        path = str((runs / RUN).resolve())
        assert any(code(path) in t for t in shown), shown


def test_each_page_names_the_run_and_agent_escaped(runs, monkeypatch):
    overview = open_page(runs, monkeypatch, "pages/overview.py")
    assert overview.title[0].value == plain(RUN)
    replays = open_page(runs, monkeypatch, "pages/replays.py")
    (heading,) = [t for t in texts(replays) if " vs " in t]
    assert plain(AGENT) in heading
    agent = open_page(runs, monkeypatch, "pages/agent.py")
    assert any(plain(AGENT) in t for t in texts(agent))  # "... is not in the population"


def test_plain_and_code_keep_every_character():
    """The escapes only add backslashes (plain) or fences (code) around the text."""
    assert re.sub(r"\\(.)", r"\1", plain(AGENT)) == AGENT
    fenced = code(AGENT)
    assert fenced == f"`` {AGENT} ``" and outside_code(fenced) == ""
