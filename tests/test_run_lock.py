"""One writer per run (issue 12, case 1): the run lock, and games stored twice counted once.

Real processes, real SIGKILLs, real Parquet: a tournament killed mid-run and resumed twice
at once, copied part files, and every writer (tournament, league, compaction) refused while
another holds the run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.compute as pc
import pytest

import replays
from arena import results
from arena.config import ConfigError
from arena.league import run_league
from arena.tournament import run_tournament
from dashboards import queries
from replays.files import part_paths, replays_dir
from replays.lock import lock_path
from tests.killing import kill_when, parts_at_least
from tests.test_league import TINY

# The command, scaled down: 30 matches of 1,024 games (the default concurrency),
# so a resumed remainder takes a second or so while the kill still lands mid-run.
GAMES = 30_000
ARGS = ["tournament", "--game", "connect_four", "--agents", "random", "greedy"]
ARGS += ["--games-per-pair", str(GAMES), "--flush-seconds", "0", "--no-progress"]
# A resume that stops just inside the run lock, says so, and goes on (playing the rest of
# the run) only once a line arrives on its stdin: the other resume then meets a lock held
# for certain, however fast this machine plays the remainder.
HELD = (
    "import contextlib, sys\n"
    "import arena.tournament as t\n"
    "from arena.cli import app\n"
    "lock_run = t.lock_run\n"
    "@contextlib.contextmanager\n"
    "def held(*args):\n"
    "    with lock_run(*args) as path:\n"
    "        print('locked', flush=True); sys.stdin.readline()\n"
    "        yield path\n"
    "t.lock_run = held\n"
    "app(prog_name='arena')\n"
)


def arena(*args: str) -> list[str]:
    return [sys.executable, "-m", "arena", *args]


def holder_pid(run_dir: Path) -> int | None:
    """The pid the run's lock file names (its holder, or a dead one), if any yet."""
    try:
        return json.loads(lock_path(run_dir).read_text())["pid"]
    except (OSError, ValueError, KeyError):  # not written yet, or being written
        return None


def stored_keys(run_dir: Path) -> list[tuple[str, int]]:
    table = replays.open(run_dir).to_table(columns=["match_id", "game_index"])
    return list(zip(table["match_id"].to_pylist(), table["game_index"].to_pylist(), strict=True))


def test_two_resumes_at_once_one_refuses_naming_the_other(tmp_path):
    run = tmp_path / "R"
    first = subprocess.Popen(
        arena(*ARGS, "--out", str(run)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    kill_when(first, parts_at_least(replays_dir(run), 1))
    stored_at_kill = replays.open(run).count()
    assert 0 < stored_at_kill < GAMES  # killed mid-run, as in the issue
    assert holder_pid(run) == first.pid  # it died holding the lock

    resume = [*ARGS, "--out", str(run), "--resume"]
    holder = subprocess.Popen(
        [sys.executable, "-c", HELD, *resume],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline() == "locked\n", holder.communicate()
    assert holder_pid(run) == holder.pid  # the SIGKILLed holder left no stale lock behind
    refused = subprocess.run(arena(*resume), capture_output=True, text=True, timeout=300)
    out, err = holder.communicate("go\n", timeout=600)

    assert holder.returncode == 0, err
    assert refused.returncode == 2, refused.stderr
    lines = (refused.stdout + refused.stderr).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert f"is being written by pid {holder.pid} (tournament: " in lines[0]
    assert f"played {GAMES - stored_at_kill:,} games" in out
    assert "Duplicate" not in err
    keys = stored_keys(run)
    assert len(keys) == GAMES and len(set(keys)) == GAMES  # every scheduled game, once
    assert replays.open(run).count() == GAMES


def test_the_lock_is_free_once_its_holder_is_killed(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, replays\n"
            "with replays.run_lock(sys.argv[1], 'probe'):\n"
            "    print('held', flush=True); sys.stdin.read()",
            str(tmp_path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline() == "held\n"
    with pytest.raises(replays.RunLockedError, match=f"by pid {holder.pid} \\(probe: "):
        with replays.run_lock(tmp_path, "second"):
            pass
    kill_when(holder, lambda: True)
    with replays.run_lock(tmp_path, "after the kill"):
        assert holder_pid(tmp_path) == os.getpid()


def test_a_copied_part_file_counts_once_and_is_not_compacted(tmp_path):
    run = tmp_path / "R"
    config = {"game": "tic_tac_toe", "agents": ["random", "greedy"], "games_per_pair": 200}
    run_tournament({**config, "concurrency": 50, "out": str(run)}, flush_seconds=0)
    original = part_paths(replays_dir(run))[1]
    copy = original.with_name(original.stem + " (1).parquet")  # as a file manager copies
    shutil.copyfile(original, copy)
    files = sorted(part_paths(replays_dir(run)))
    named = f"{re.escape(copy.name)} holds only games already stored in {re.escape(original.name)}"

    with pytest.warns(replays.DuplicateGamesWarning, match=named):
        data = replays.open(run)
    assert data.count() == 200 and copy not in data.files
    assert len(data.to_table()) == 200
    with pytest.warns(replays.DuplicateGamesWarning):
        pairs = results.pair_table(run)  # DuckDB over the dataset: ratings, sprt, league
    games = sum(pc.sum(pairs[c]).as_py() for c in ("first_wins", "draws", "second_wins"))
    assert games == 200
    assert queries.summary([str(p) for p in data.files]).games == 200  # the dashboard's SQL

    ratings = subprocess.run(arena("ratings", str(run)), capture_output=True, text=True)
    assert ratings.returncode == 0, ratings.stderr
    assert copy.name in ratings.stderr  # the warning names the copy
    games_column = re.findall(r"│ (random|greedy) .*│ +(\d+) │$", ratings.stdout, re.M)
    assert sorted(games_column) == [("greedy", "200"), ("random", "200")]

    with pytest.raises(replays.ReplayError, match=f"{named}; nothing was compacted"):
        replays.compact(run)
    assert sorted(part_paths(replays_dir(run))) == files  # nothing merged, nothing deleted


def test_files_sharing_some_games_are_refused_naming_them(tmp_path):
    """Two files that each hold games of their own cannot be fixed by leaving one out."""
    run = tmp_path / "R"
    with replays.ReplayWriter(run, flush_seconds=0) as writer:
        for first in (0, 2):  # games 0-3, then games 2-5 of one match: 2 and 3 twice
            writer.write(few_games(range(first, first + 4)))
    names = "|".join(re.escape(p.name) for p in part_paths(replays_dir(run)))
    message = f"2 games are stored more than once .*match 'm'.*({names}), ({names})"
    with pytest.raises(replays.ReplayFormatError, match=message):
        replays.open(run)
    with pytest.raises(replays.ReplayError, match=message):
        replays.compact(run)


def few_games(indexes: range) -> dict:
    """Tic-tac-toe games 0-1-2 for the first seat, one per index, of match "m"."""
    now = dt.datetime.now(dt.timezone.utc)
    n = len(indexes)
    return {
        "run_id": "r",
        "match_id": "m",
        "game_index": list(indexes),
        "game": "tic_tac_toe",
        "agents": [["a", "b"]] * n,
        "seed": list(indexes),
        "actions": [[0, 3, 1, 4, 2]] * n,
        "winner": [0] * n,
        "returns": [[1.0, -1.0]] * n,
        "termination": "normal",
        "started_at": now,
        "ended_at": now,
    }


def tournament(run: Path, probe=None) -> None:
    config = {"game": "tic_tac_toe", "agents": ["random", "greedy"], "games_per_pair": 10}
    run_tournament({**config, "out": str(run)}, on_progress=probe and (lambda *_: probe()))


def league(run: Path, probe=None) -> None:
    run_league({**TINY, "rounds": 1, "out": str(run)}, log=lambda _: probe and probe())


@pytest.mark.parametrize("writer", [tournament, league])
def test_a_run_is_refused_while_another_process_holds_it(tmp_path, writer):
    # (compaction: tests/test_replays.py::test_a_second_compaction_at_once_is_refused)
    run = tmp_path / "R"
    run.mkdir()
    with replays.run_lock(run, "a test"):
        with pytest.raises(replays.RunLockedError, match=f"pid {os.getpid()} \\(a test: "):
            writer(run)
        assert [p.name for p in run.iterdir()] == [lock_path(run).name]  # nothing written


@pytest.mark.parametrize("writer", [tournament, league])
def test_runs_hold_the_lock_while_they_write(tmp_path, writer):
    """Probed from inside the run (progress and log callbacks): the run is locked."""
    run = tmp_path / "R"
    holders = []

    def probe() -> None:
        with pytest.raises(replays.RunLockedError):
            with replays.run_lock(run, "probe"):
                pass
        holders.append(holder_pid(run))

    writer(run, probe)
    assert holders and set(holders) == {os.getpid()}
    with replays.run_lock(run, "after the run"):  # released at the end
        pass


def test_a_folder_that_is_not_a_run_gets_no_lock_file(tmp_path):
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "todo.txt").write_text("x")
    with pytest.raises(ConfigError, match="not an arena run directory"):
        tournament(foreign)
    assert [p.name for p in foreign.iterdir()] == ["todo.txt"]
    config = {"game": "tic_tac_toe", "agents": ["random", "greedy"], "out": str(tmp_path / "no")}
    with pytest.raises(ConfigError, match="no run to resume"):
        run_tournament(config, resume=True)
    assert not (tmp_path / "no").exists()


def test_the_lock_is_not_reentrant_and_a_clean_exit_names_no_holder(tmp_path):
    with replays.run_lock(tmp_path, "outer"):
        with pytest.raises(replays.RunLockedError, match=f"pid {os.getpid()} \\(outer: "):
            with replays.run_lock(tmp_path, "inner"):
                pass
    assert lock_path(tmp_path).read_text() == ""
