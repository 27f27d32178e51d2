"""Every page at a phone's width (390 CSS px) in headless Chromium: nothing wider than the
screen, and the replay board shrunk to fit rather than cut off (issue 17, part 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from arena.tournament import run_tournament
from dashboards.ui import PAGES
from tests.test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS, IDLE, WAIT_MS, serving

PHONE = {"width": 390, "height": 844}
GAME = "hex:size=11"  # a board wider than a phone (about 640 px)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")


@pytest.fixture
def dashboard(tmp_path):
    """The URL of the dashboard serving a folder with a few games of 11x11 Hex."""
    config = {"game": GAME, "agents": ["random", "greedy"], "games_per_pair": 2}
    run_tournament(config | {"concurrency": 2, "out": str(tmp_path / "runs" / "hex")})
    with serving(tmp_path / "runs") as url:
        yield url


@pytest.mark.slow
def test_every_page_fits_a_phone(dashboard):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=PHONE, device_scale_factor=1, is_mobile=True)
            page.set_default_timeout(WAIT_MS)
            for script, label, _ in PAGES:
                page.goto(f"{dashboard}/{Path(script).stem}")
                page.locator('[data-testid="stMainBlockContainer"]').wait_for()
                page.locator(IDLE).wait_for()
                wide = page.evaluate("document.documentElement.scrollWidth")
                assert wide <= PHONE["width"], f"{label}: {wide} px wide on a phone"
            page.goto(f"{dashboard}/replays")
            svg = page.locator(".arena-board svg")
            svg.wait_for()
            box = svg.bounding_box()
            natural = float(svg.get_attribute("width"))
            assert natural > PHONE["width"]  # so it must have shrunk, not been cut off
            assert 200 < box["width"] <= PHONE["width"] and box["x"] >= 0
        finally:
            browser.close()
