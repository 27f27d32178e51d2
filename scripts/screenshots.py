"""Screenshots of every dashboard page at desktop (1280 px) and phone (390 px) widths, and
of each board game's picture, for docs/dashboard.md.

    .venv/bin/python scripts/screenshots.py [--out docs/img] [--runs DIR]

Without --runs it prepares a small runs folder first (a 4-round Connect Four league, about
a minute on 2 cores). It serves the folder with the real dashboard (`dashboards.launch`)
and has headless Chromium, driven by Playwright, open each page of `dashboards.ui.PAGES`
(the replay browser at a game's last move, its stones numbered; the play page after one
move) and save OUT/<page>-desktop.png and OUT/<page>-phone.png, then
OUT/board-<game>.png. Needs Debian's chromium at /usr/bin/chromium
(scripts/install-browser.sh).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import games  # noqa: E402
from arena.league import run_league  # noqa: E402
from dashboards.ui import PAGES  # noqa: E402
from tests.test_dashboard_browser import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    IDLE,
    WAIT_MS,
    serving,
)

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
LEAGUE = {
    "game": "connect_four",
    "minutes": 0.0,
    "rounds": 4,
    "learner": {"sims": 8, "fast_sims": 4, "train_steps": 8, "batch_size": 32, "eval_sims": 8},
    "league": {
        "games_per_round": 32,
        "anchors": ["random", "greedy"],
        "snapshot_every": 2,
        "league_exploiters": 1,
    },
    "evaluation": {"every": 2, "games_per_pair": 8, "probe_positions": 8, "max_snapshots": 2},
}
CLICK_ATTEMPTS, CLICK_WAIT_MS = 5, 5_000
MAX_PX = 8_000  # the tallest screenshot
SETTLE_MS = 1_000
BOARDS = {"connect_four": 9, "othello": 20, "hex:size=7": 14, "go:size=9": 24}  # plies shown


def prepare(runs: Path) -> None:
    run_league({**LEAGUE, "out": str(runs / "c4-league")}, log=print)


def act(page, script: str) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    """What a page shows beyond its first view: a game's last move, a move played."""
    if script.endswith("replays.py"):
        page.get_by_role("button", name="Last").click()
        page.locator(IDLE).wait_for()
        page.get_by_text("Move numbers").click()
        page.locator(".arena-board .move-number").first.wait_for()
    elif script.endswith("play.py"):
        page.get_by_role("button", name="Start").click()
        page.locator(IDLE).wait_for()
        played = page.locator('.arena-play-board [data-owner="0"]')
        for _ in range(CLICK_ATTEMPTS):  # the board may not listen yet when first drawn
            page.locator('.arena-play-board rect.target[data-action="3"]').click()
            try:
                played.first.wait_for(timeout=CLICK_WAIT_MS)
                break
            except PlaywrightTimeout:
                continue
    else:
        return
    page.locator(IDLE).wait_for()


def whole_page(page, viewport: dict) -> None:
    """Make the window as tall as the page: Streamlit scrolls inside its own container, so
    a full-page screenshot alone would stop at the window's height."""
    tall = page.evaluate(
        "(() => { window.scrollTo(0, 0);"  # clicks scroll: back to the top first
        " document.querySelectorAll('*').forEach(e => { if (e.scrollTop) e.scrollTop = 0; });"
        " const r = document.querySelector('[data-testid=stMainBlockContainer]')"
        ".getBoundingClientRect(); return Math.ceil(r.top + r.height) + 48; })()"
    )
    page.set_viewport_size({"width": viewport["width"], "height": min(max(tall, 400), MAX_PX)})
    page.wait_for_timeout(SETTLE_MS)  # charts redraw at the new size
    page.locator(IDLE).wait_for()


def shoot_pages(url: str, out: Path, browser) -> None:
    for name, viewport in WIDTHS.items():
        page = browser.new_page(viewport=viewport, is_mobile=name == "phone")
        page.set_default_timeout(WAIT_MS)
        for script, label, _ in PAGES:
            page.goto(f"{url}/{Path(script).stem}")
            page.locator('[data-testid="stMainBlockContainer"]').wait_for()
            page.locator(IDLE).wait_for()
            act(page, script)
            whole_page(page, viewport)
            path = out / f"{Path(script).stem}-{name}.png"
            page.screenshot(path=str(path), full_page=True)
            page.set_viewport_size(viewport)
            print(f"{label} ({name}): {path}")
        page.close()


def shoot_boards(out: Path, browser) -> None:
    """Each board game after some random moves, its stones numbered."""
    page = browser.new_page(viewport={"width": 800, "height": 800})
    for spec, plies in BOARDS.items():
        game = games.make(spec)
        rng = np.random.default_rng(1)
        actions: list[int] = []
        state = game.init(1)
        while len(actions) < plies and not state.done[0]:
            cells = [a for a in np.flatnonzero(game.legal_mask(state)[0])]
            actions.append(int(rng.choice(cells)))
            game.step(state, np.array(actions[-1:]))
        positions = game.play_sequences([actions[:k] for k in range(len(actions) + 1)])
        svg = games.board(game).numbered(game.render_svg(positions, len(actions)), positions.data)
        page.set_content(f'<body style="margin:0;display:inline-block">{svg}</body>')
        path = out / f"board-{game.name}.png"
        page.locator("svg").screenshot(path=str(path))
        print(f"{spec}: {path}")
    page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/img"), help="where the PNGs go")
    parser.add_argument("--runs", type=Path, help="a runs folder to serve (default: prepare one)")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"no Chromium at {CHROMIUM}: run scripts/install-browser.sh")
    if args.runs is not None and not args.runs.is_dir():
        sys.exit(f"no runs folder at {args.runs}")
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as scratch:
        runs = args.runs or Path(scratch) / "runs"
        if args.runs is None:
            prepare(runs)
        with serving(runs) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                shoot_pages(url, args.out, browser)
                shoot_boards(args.out, browser)
            finally:
                browser.close()


if __name__ == "__main__":
    main()
