"""Live pages (issue 17, part 3): incremental reads, the read-only writer check, and the
overview refreshing itself while a real league subprocess writes, until it is killed.

Real part files, real metrics rounds, real processes killed with SIGKILL; the tests wait
for files and lock holders, never for a length of time.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import replays
from arena import metrics
from arena.tournament import run_tournament
from dashboards import data, queries
from dashboards.live import LIVE_MARK
from replays import lock
from replays.files import part_paths, replays_dir
from tests.killing import POLL_SECONDS
from tests.test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS, IDLE, WAIT_MS, serving
from tests.test_population_eval import RPS_LEAGUE

APP = str(Path(__file__).parents[1] / "dashboards" / "app.py")
TIMEOUT = 120  # seconds per script run: generous for a busy CI machine
WAIT = 300  # seconds a child may take to reach a point we wait for
# Holds a run's lock and says so on stdout, then waits for its stdin (or a SIGKILL).
HOLDER = (
    "import sys; from replays.lock import run_lock\n"
    "with run_lock(sys.argv[1], 'test'):\n"
    "    print('locked', flush=True); sys.stdin.readline()\n"
)


def wait_for(reached, proc: subprocess.Popen | None = None, what: str = "") -> None:
    deadline = time.monotonic() + WAIT
    while not reached():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the child ended ({proc.returncode}) before {what}")
        assert time.monotonic() < deadline, f"never reached: {what}"
        time.sleep(POLL_SECONDS)


def run_of(path: Path) -> data.Run:
    return data.Run(str(path.resolve()), "tournament", "connect_four", "t", "")


@pytest.fixture(scope="module")
def tournament(tmp_path_factory) -> Path:
    """A finished tournament with one part file per match (six matches)."""
    out = tmp_path_factory.mktemp("live") / "t"
    config = {"game": "connect_four", "agents": ["random", "greedy", "fixed:action=3"]}
    config |= {"games_per_pair": 4, "concurrency": 4, "seed": 1, "out": str(out)}
    run_tournament(config, flush_seconds=0)
    assert len(part_paths(replays_dir(out))) >= 3
    return out


@pytest.mark.parametrize("proc_locks", [True, False], ids=["proc-locks", "pid-in-file"])
def test_writer_names_the_holder_until_it_is_killed(tmp_path, monkeypatch, proc_locks):
    if not proc_locks:  # the fallback of systems without /proc/locks
        monkeypatch.setattr(lock, "PROC_LOCKS", str(tmp_path / "no-such-file"))
    assert lock.writer(tmp_path) is None  # no lock file yet
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        assert lock.writer(tmp_path) == holder.pid
        # Asking took no lock: a writer may start at any moment (here: is refused, as
        # the holder really holds it).
        with pytest.raises(replays.RunLockedError), lock.run_lock(tmp_path, "second"):
            pass
        assert lock.writer(tmp_path) == holder.pid
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert lock.writer(tmp_path) is None
    with lock.run_lock(tmp_path, "after"):  # free again: the kernel dropped it
        pass


def test_summary_and_dataset_read_each_new_part_once(tournament, tmp_path):
    parts = part_paths(replays_dir(tournament))
    run_dir = tmp_path / "growing"
    (run_dir / "replays").mkdir(parents=True)
    shutil.copy(tournament / "run.json", run_dir)
    run = run_of(run_dir)
    for k, part in enumerate(parts, start=1):
        shutil.copy(part, run_dir / "replays" / part.name)  # the writer adds a part
        got = data.summary(run)
        assert got == queries.summary([str(p) for p in part_paths(replays_dir(run_dir))])
        assert data.summary(run) == got  # nothing new: nothing read
        assert data.summary_fold(run.path).files_read == k
        assert data.growing_dataset(run.path).footers_read == k
    assert got.games == replays.open(tournament).count()
    # A compaction merges the parts into one that replaces them: read afresh, still right.
    replays.compact(run_dir)
    assert len(part_paths(replays_dir(run_dir))) == 1
    assert data.summary(run) == got
    assert data.summary_fold(run.path).files_read == len(parts) + 1


def test_metrics_tables_read_each_new_round_once(tmp_path):
    run_dir = tmp_path / "metrics-run"
    run_dir.mkdir()
    run = run_of(run_dir)
    assert data.metrics_table(run, "diversity").num_rows == 0
    for r in range(4):
        metrics.write_round(run_dir, "diversity", r, {"metric": ["m", "n"], "value": [r, -r]})
        assert data.metrics_table(run, "diversity").equals(metrics.read_table(run_dir, "diversity"))
        assert data.metrics_fold(run.path, "diversity").files_read == r + 1
    assert data.metrics_table(run, "diversity")["round"].to_pylist() == [0, 0, 1, 1, 2, 2, 3, 3]


@pytest.mark.parametrize("page", ["overview", "agent", "population"])
def test_live_pages_say_who_writes_until_the_writer_is_killed(tournament, monkeypatch, page):
    monkeypatch.setenv("ARENA_RUNS", str(tournament))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception
    assert not any(text.startswith(LIVE_MARK) for text in caption_texts(at))  # finished
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tournament)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout.readline() == b"locked\n"
        at.run()
        assert not at.exception
        live = [text for text in caption_texts(at) if text.startswith(LIVE_MARK)]
        assert len(live) == 1 and f"process {holder.pid} " in live[0]
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    at.run()
    assert not at.exception
    assert not any(text.startswith(LIVE_MARK) for text in caption_texts(at))


def league_config(folder: Path) -> Path:
    """A league on rock-paper-scissors that goes on until it is killed."""
    values = {**RPS_LEAGUE, "rounds": 100_000}
    lines = [f"game = {values['game']!r}", f"minutes = {values['minutes']}"]
    lines += [f"rounds = {values['rounds']}"]
    for section in ("learner", "league", "evaluation"):
        lines.append(f"[{section}]")
        lines += [f"{key} = {value!r}" for key, value in values[section].items()]
    path = folder / "league.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def caption_texts(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def rounds_shown(at: AppTest) -> int:
    return int(next(m.value for m in at.metric if m.label == "Rounds"))


@pytest.mark.slow
def test_overview_refreshes_while_a_league_writes_and_stops_when_it_is_killed(
    tmp_path, monkeypatch
):
    runs = tmp_path / "runs"
    out = runs / "live-league"
    league = start_league(tmp_path, out)
    try:
        wait_for(lambda: len(metrics.rounds(out, "progress")) >= 1, league, "round 1")
        monkeypatch.setenv("ARENA_RUNS", str(runs))
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.switch_page("pages/overview.py").run()
        assert not at.exception
        assert any(text.startswith(LIVE_MARK) for text in caption_texts(at))
        first = rounds_shown(at)
        # The next refresh (a fragment rerun, here run by hand) shows the new rounds,
        # reading only the files written since.
        wait_for(lambda: max(metrics.rounds(out, "progress")) > first, league, "a new round")
        at.run()
        assert rounds_shown(at) > first
        # Two page runs read each part file once: at most as many as there are now.
        read = data.summary_fold(str(out.resolve())).files_read
        assert 0 < read <= len(part_paths(replays_dir(out)))
    finally:
        league.send_signal(signal.SIGKILL)
        league.wait()
    assert league.returncode == -signal.SIGKILL, league.stderr.read()
    at.run()
    assert not at.exception
    assert not any(text.startswith(LIVE_MARK) for text in caption_texts(at))


def start_league(folder: Path, out: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "arena", "league", "run", str(league_config(folder))]
    return subprocess.Popen(
        [*command, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


# The value of the overview's "Rounds" metric, as the browser shows it now.
ROUNDS_JS = """() => {
    for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
        if (m.innerText.startsWith("Rounds"))
            return parseInt(m.querySelector('[data-testid="stMetricValue"]').innerText);
    }
    return null;
}"""


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_browser_page_follows_the_league_without_reloading_until_it_is_killed(tmp_path):
    from playwright.sync_api import sync_playwright

    runs = tmp_path / "runs"
    out = runs / "live-league"
    league = start_league(tmp_path, out)
    try:
        wait_for(lambda: len(metrics.rounds(out, "progress")) >= 1, league, "round 1")
        with serving(runs) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.set_default_timeout(WAIT_MS)
                page.goto(f"{url}/overview")
                page.get_by_text(LIVE_MARK).wait_for()
                page.wait_for_function(f"() => ({ROUNDS_JS})() !== null")
                first = page.evaluate(ROUNDS_JS)
                assert first is not None and first >= 1
                # No reload: the page itself shows a round the league wrote since.
                page.wait_for_function(f"() => ({ROUNDS_JS})() > {first}")
                league.send_signal(signal.SIGKILL)
                league.wait()
                page.get_by_text(LIVE_MARK).wait_for(state="detached")
                page.locator(IDLE).wait_for()
                shown = page.evaluate(ROUNDS_JS)
                assert shown == max(metrics.rounds(out, "progress"))  # the last round written
            finally:
                browser.close()
    finally:
        league.kill()
        league.wait()
    assert league.returncode == -signal.SIGKILL, league.stderr.read()
