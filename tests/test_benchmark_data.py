"""The Connect Four benchmark sets ship with the package and are found by short name."""

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from agents.evaluation import SHIPPED, load_positions, resolve_set, shipped_sets

REPO = Path(__file__).resolve().parents[1]
SETS = ["L1_R1", "L1_R2", "L1_R3", "L2_R1", "L2_R2", "L3_R1"]
MOVES = ["L2_R1.moves", "L2_R2.moves", "L3_R1.moves"]


def arena(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "arena", *args],
        capture_output=True,
        text=True,
        timeout=600,
        **kwargs,
    )


def without_benchmarks_env() -> dict:
    return {k: v for k, v in os.environ.items() if k != "ARENA_BENCHMARKS"}


def test_every_set_is_shipped_and_found_by_its_short_and_long_names(monkeypatch):
    monkeypatch.delenv("ARENA_BENCHMARKS", raising=False)
    assert shipped_sets() == sorted(SETS + MOVES)
    assert (SHIPPED / "README.md").is_file()
    for name in SETS + MOVES:
        path = resolve_set(name)
        assert path == SHIPPED / f"Test_{name}" and resolve_set(f"Test_{name}") == path
        positions = load_positions(name)
        assert len(positions) == 1000
        assert (positions.column_scores is not None) == name.endswith(".moves")


def test_arena_benchmarks_points_elsewhere(tmp_path, monkeypatch):
    (tmp_path / "connect4").mkdir()
    (tmp_path / "connect4" / "Test_L2_R2").write_text("44 1\n")
    monkeypatch.setenv("ARENA_BENCHMARKS", str(tmp_path))
    assert len(load_positions("L2_R2")) == 1  # the other folder's file, not the shipped one
    missing = tmp_path / "connect4" / "Test_L3_R1"
    with pytest.raises(FileNotFoundError, match=f"benchmark file {missing} not found"):
        resolve_set("L3_R1")


def test_a_file_path_is_still_a_file_path(tmp_path, monkeypatch):
    own = tmp_path / "Test_L2_R2"  # a set's name, but given with its folder
    own.write_text("44 1\n45 2\n")
    assert len(load_positions(own)) == 2
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.txt").write_text("44 1\n")
    assert resolve_set("mine.txt") == Path("mine.txt")  # a bare name of a file here
    with pytest.raises(FileNotFoundError, match=f"{tmp_path / 'nope' / 'x'} not found"):
        resolve_set(tmp_path / "nope" / "x")


@pytest.mark.parametrize(
    "args, message",
    [
        (["eval", "positions", "--agent", "solver", "--set", "L9_R9"], "no benchmark set 'L9_R9'"),
        (["eval", "positions", "--agent", "solver", "--set", "L2_R2", "--set", "."], "directory"),
        (["bench", "solver", "L2_R2", "nowhere/Test_L2_R2"], "nowhere/Test_L2_R2 not found"),
        (["bench", "solver", "agents"], "agents is a directory, not a benchmark file"),
    ],
)
def test_bad_sets_are_one_line_errors_before_any_work(args, message):
    out = arena(*args, cwd=REPO, env=without_benchmarks_env())
    assert out.returncode == 2, out.stderr
    text = " ".join(out.stdout.split())  # undo the console's line wrapping
    assert message in text
    assert "Traceback" not in out.stderr and "machine:" not in text
    if "L9_R9" in args:  # an unknown name lists what is shipped
        assert ", ".join(sorted(SETS + MOVES)) in text


def test_the_installed_package_carries_the_sets_with_nothing_beside_it(tmp_path):
    """Build a wheel from the repository's files alone, install it into a bare folder and
    evaluate a set by its short name there: no `../shared`, no ARENA_BENCHMARKS."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    source = tmp_path / "clone"
    for name in filter(None, files):
        if (REPO / name).is_file():  # skip files deleted in the working tree
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes((REPO / name).read_bytes())
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    wheels = tmp_path / "wheels"
    # The venv's own setuptools (torch depends on it): no index needed, and fast.
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", wheels, source],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("*.whl")
    with zipfile.ZipFile(wheel) as whl:
        shipped = {n: whl.read(n) for n in whl.namelist() if n.startswith("agents/benchmarks/")}
    assert shipped == {
        f"agents/benchmarks/connect4/{p.name}": p.read_bytes() for p in SHIPPED.iterdir()
    }

    site, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    subprocess.run(
        [*pip, "install", "--no-deps", "--target", site, wheel], check=True, capture_output=True
    )
    env = {**without_benchmarks_env(), "PYTHONPATH": str(site)}  # ahead of the editable install
    found = subprocess.run(
        [
            sys.executable,
            "-c",
            "from agents.evaluation import resolve_set; print(resolve_set('L2_R2'))",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert found == str(site / "agents" / "benchmarks" / "connect4" / "Test_L2_R2")
    out = arena(
        "eval",
        "positions",
        "--agent",
        "solver",
        "--set",
        "L2_R2",
        "--limit",
        "5",
        cwd=elsewhere,
        env=env,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    (row,) = [line for line in out.stdout.splitlines() if "L2_R2" in line]
    assert re.findall(r"[\w.%]+", row) == ["L2_R2", "5", "100.0%", "100.0%", "0"]
