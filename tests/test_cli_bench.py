"""`arena bench engine` runs end to end as a real subprocess."""

import subprocess
import sys


def arena(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "arena", *args], capture_output=True, text=True, timeout=600
    )


def test_bench_engine_prints_rates_and_comparisons():
    out = arena(
        "bench",
        "engine",
        "--game",
        "tic_tac_toe",
        "--batch",
        "1",
        "--batch",
        "64",
        "--seconds",
        "0.05",
        "--no-first-call",
    )
    assert out.returncode == 0, out.stderr
    assert "steps/s" in out.stdout
    for line in ("OpenSpiel:", "arena PZ env:", "PettingZoo:"):
        assert line in out.stdout


def test_bench_engine_unknown_game_lists_names():
    out = arena("bench", "engine", "--game", "chess")
    assert out.returncode == 2
    assert "connect_four, tic_tac_toe" in out.stdout


def test_bench_engine_rejects_bad_batch_and_threads():
    assert "must be positive" in arena("bench", "engine", "--batch", "0").stdout
    assert "threads must be between" in arena("bench", "engine", "--threads", "0").stdout
