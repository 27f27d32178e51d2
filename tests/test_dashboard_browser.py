"""End to end in a real headless browser: `dashboards.launch.launch` serves a real run, and
Chromium (Debian's, driven by Playwright) opens a replay and steps it forward."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

import replays
from arena.tournament import run_tournament
from dashboards import why
from dashboards.launch import launch
from tests.servers import free_port, wait_until_serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Streamlit marks its root element while a script run is in progress.
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
WAIT_MS = 90_000  # generous: a busy CI machine starts Streamlit and Chromium slowly
OPEN_ATTEMPTS, OPEN_WAIT_MS = 6, 10_000  # opening a selectbox's list: tries, wait per try

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
)


@contextmanager
def serving(runs: Path) -> Iterator[str]:
    """The URL of a dashboard serving the runs folder `runs`, stopped on exit."""
    port = free_port()
    server = launch(runs, port)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url, server)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def dashboard(tmp_path):
    """The URL of the dashboard serving a folder with one small tournament run."""
    run_tournament(
        {
            "game": "connect_four",
            "agents": ["random", "greedy"],
            "games_per_pair": 6,
            "concurrency": 6,
            "out": str(tmp_path / "runs" / "demo"),
        }
    )
    with serving(tmp_path / "runs") as url:
        yield url


def open_options(page, box):
    """The options of a Streamlit selectbox, its list opened. On a busy machine a key press
    or a click can land before the widget listens (then the list stays shut, or the click
    only focuses the box), so it tries the keyboard and the mouse in turn until it opens."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    options = page.get_by_role("option")
    for attempt in range(OPEN_ATTEMPTS):
        if attempt % 2:
            box.click()
        else:
            box.focus()
            box.press("ArrowDown")
        try:
            options.first.wait_for(timeout=OPEN_WAIT_MS)
            return options
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"the selectbox's list did not open in {OPEN_ATTEMPTS} attempts")


@contextmanager
def chromium_page() -> Iterator:
    """A page in headless Chromium, closed after the block."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(WAIT_MS)
            yield page
        finally:
            browser.close()


@contextmanager
def replay_page(url: str) -> Iterator:
    """Headless Chromium on the dashboard's replay page at `url`, its board drawn."""
    with chromium_page() as page:
        page.goto(f"{url}/replays")
        page.locator(".arena-board svg").wait_for()
        page.locator(IDLE).wait_for()
        yield page


def test_open_a_replay_and_step_forward(dashboard):
    with replay_page(dashboard) as page:
        # Open the second game of the listing from the "Game" box.
        option = open_options(page, page.get_by_role("combobox", name="Game")).nth(1)
        game = option.inner_text().split(":")[0]  # "<match id> #<game index>"
        option.click()
        page.locator(f'.arena-board[data-game="{game}"][data-ply="0"]').wait_for()
        page.locator(IDLE).wait_for()
        before = page.locator(".arena-board svg").inner_html()
        assert 'data-owner="0"' not in before  # the empty board

        page.get_by_role("button", name="Next").click()
        page.locator(f'.arena-board[data-game="{game}"][data-ply="1"]').wait_for()
        after = page.locator(".arena-board svg").inner_html()
        assert after != before
        assert after.count('data-owner="0"') == 1  # the first disc, ringed as last move
        assert 'class="last-move"' in after


def board_ply(page) -> int:
    return int(page.locator(".arena-play-board").get_attribute("data-ply"))


@pytest.mark.slow
def test_play_connect_four_against_random_by_clicking(dashboard):
    """A whole game played by clicking the board's columns, then found in the replay
    browser and in the ratings of the human-games run."""
    with chromium_page() as page:
        page.goto(f"{dashboard}/play")
        page.locator(IDLE).wait_for()
        box = page.get_by_role("combobox", name="Opponent")
        open_options(page, box).filter(has_text="random:").first.click()
        page.locator(IDLE).wait_for()
        page.get_by_role("button", name="Start").click()
        board = page.locator(".arena-play-board")
        board.wait_for()
        page.locator(IDLE).wait_for()
        result = page.get_by_text(re.compile(r"^(You won!|You lost\.|A draw\.)"))
        moves = 0
        while not result.count():
            ply = board_ply(page)
            # The leftmost column with room (its top hole empty): a legal move.
            top = board.locator('[data-cell^="0,"][data-owner="-1"]').first
            column = top.get_attribute("data-cell").split(",")[1]
            board.locator(f'[data-action="{column}"]').click()
            moves += 1
            # The board is redrawn after our move and the agent's reply.
            page.locator(f'.arena-play-board:not([data-ply="{ply}"])').wait_for()
            page.locator(IDLE).wait_for()
        assert moves >= 4  # nobody wins Connect Four in fewer
        saved = page.get_by_text("Saved as")
        saved.wait_for()
        match_id = re.search(r"play-[0-9a-f]+", saved.inner_text()).group()

        page.goto(f"{dashboard}/replays")
        page.locator(IDLE).wait_for()
        page.get_by_text("human of any").wait_for()  # the newest run is shown first
        # The newest game opens first: ours, with its players.
        page.locator(f'.arena-board[data-game="{match_id} #0"] svg').wait_for()
        page.get_by_text(re.compile(r"human:player vs random|random vs human:player")).wait_for()

        page.goto(f"{dashboard}/overview")
        page.locator(IDLE).wait_for()
        # The ratings table (the page's first table) is drawn on a canvas; its cells are
        # in the page too, hidden, for screen readers.
        ratings = page.locator('[data-testid="stDataFrame"]').first.locator("[role=row]")
        row = ratings.filter(has_text="human:player").first
        row.wait_for(state="attached")
        assert row.locator("[role=gridcell]").count() >= 4  # agent, Elo, ±, ...


@pytest.fixture
def searched_dashboard(tmp_path):
    """The dashboard serving a Connect Four tournament recorded with `--record-search`."""
    out = tmp_path / "runs" / "searched"
    command = "tournament --game connect_four --agents mcts:sims=16 random --games-per-pair 2"
    subprocess.run(
        [sys.executable, "-m", "arena", *command.split(), "--out", str(out), "--record-search"],
        check=True,
        capture_output=True,
    )
    with serving(tmp_path / "runs") as url:
        yield url, out


@pytest.mark.slow  # ~30 s here: the arena command, the server and Chromium
def test_a_game_recorded_with_search_shows_its_heat_map_and_solver_grades(searched_dashboard):
    url, run = searched_dashboard
    with replay_page(url) as page:
        game = page.locator(".arena-board").get_attribute("data-game")
        match_id, index = game.split(" #")
        replay = replays.load_game(run, match_id, int(index))
        # mcts moves first in game 0 and second in game 1: step to its first move.
        first = int(np.flatnonzero((replay.search_visits >= 0).all(axis=1))[0])
        for ply in range(first):
            page.get_by_role("button", name="Next").click()
            page.locator(f'.arena-board[data-ply="{ply + 1}"]').wait_for()
            page.locator(IDLE).wait_for()
        heat = page.locator(".arena-board svg g.visit-heat circle")
        heat.first.wait_for()
        drawn = {
            int(c.get_attribute("data-action")): int(c.get_attribute("data-visits"))
            for c in heat.all()
        }
        stored = replay.search_visits[first]
        assert drawn == {a: int(v) for a, v in enumerate(stored) if v > 0}
        assert sum(drawn.values()) == 16

        page.get_by_text("Grade the moves").click()
        page.get_by_text("Graded by the exact solver").wait_for()
        page.locator(IDLE).wait_for()
        # The grades table (the page's last) holds the solver's verdict on every move;
        # it is drawn on a canvas, its cells are in the page for screen readers.
        grades = page.locator('[data-testid="stDataFrame"]').last
        cells = grades.locator("[role=gridcell]")
        for grade in set(why.solver_grades(replay).moves["grade"]):
            cells.filter(has_text=re.compile(f"^{grade}$")).first.wait_for(state="attached")
