"""`arena bench engine` runs end to end as a real subprocess."""

import subprocess
import sys

import pytest
import torch


def arena(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "arena", *args], capture_output=True, text=True, timeout=600
    )


def quick_bench(game: str, *batches: int) -> subprocess.CompletedProcess:
    """`arena bench engine` on a game with short measurements and no fresh-process timing."""
    sizes = [arg for b in batches for arg in ("--batch", str(b))]
    return arena("bench", "engine", "--game", game, *sizes, "--seconds", "0.05", "--no-first-call")


def test_bench_engine_prints_rates_and_comparisons():
    out = quick_bench("tic_tac_toe", 1, 64)
    assert out.returncode == 0, out.stderr
    assert "steps/s" in out.stdout
    for line in ("OpenSpiel:", "arena PZ env:", "PettingZoo:"):
        assert line in out.stdout


def test_bench_engine_unknown_game_lists_names():
    out = arena("bench", "engine", "--game", "chess")
    assert out.returncode == 2
    import games

    assert ", ".join(games.names()) in out.stdout


def test_bench_engine_rejects_bad_batch_and_threads():
    assert "must be positive" in arena("bench", "engine", "--batch", "0").stdout
    assert "threads must be between" in arena("bench", "engine", "--threads", "0").stdout


def test_games_lists_every_game_with_its_parameters():
    import games
    from games.spec import format_value

    out = arena("games")
    assert out.returncode == 0, out.stderr
    for name in games.names():
        assert name in out.stdout
        for key, param in games.parameters(name).items():
            assert key in out.stdout and param.describe() in out.stdout
            assert format_value(param, param.default) in out.stdout


def test_bench_engine_takes_a_spec_and_rejects_bad_parameters():
    out = arena("bench", "engine", "--game", "connect_four:depth=3")
    assert out.returncode == 2
    assert "connect_four has no parameter 'depth'; its parameters: none" in out.stdout


def test_bench_engine_compares_with_pgx_or_says_it_is_missing():
    from arena.bench_engine import pgx_installed

    out = quick_bench("othello", 64)
    assert out.returncode == 0, out.stderr
    if pgx_installed():  # the optional extra: a Pgx column and its rate
        assert "x Pgx" in out.stdout
        assert "Pgx = pgx.make('othello'), batch 4,096" in out.stdout
    else:
        assert "Pgx: not installed, no Pgx column (pip install 'arena[pgx]')" in out.stdout
    out = quick_bench("hex:size=5", 1)
    assert out.returncode == 0, out.stderr
    assert "Pgx: no Pgx environment for hex:size=5,swap=false" in out.stdout
    assert "x Pgx" not in out.stdout


def test_bench_search_rates_every_forward_batch_size_then_searches_at_the_first():
    out = arena(
        "bench", "search", "--leaves", "16,64", "--blocks", "1", "--channels", "8",
        "--sims", "2", "--batch", "8", "--seconds", "0.05", "--device", "cpu",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    rates = [line for line in out.stdout.splitlines() if line.startswith("forward batch")]
    assert len(rates) == 2
    assert rates[0].startswith("forward batch     16:") and rates[1].startswith(
        "forward batch     64:"
    )
    assert all(" evals/s on cpu (" in line for line in rates)
    # The search breakdown follows, at the first size.
    assert "\nsims: 2\n" in out.stdout and "\nleaves_per_forward: 16\n" in out.stdout


def test_bench_search_rejects_bad_leaves_before_any_work():
    out = arena("bench", "search", "--leaves", "64,x")
    assert out.returncode == 2
    assert "--leaves takes comma-separated sizes from 1 to 65,536" in out.stdout
    assert "machine:" not in out.stdout


@pytest.mark.parametrize("device", ["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
def test_forward_rates_time_each_size_through_the_search_evaluator(device):
    from arena.bench_search import forward_rates, leaf_sizes

    assert leaf_sizes("64, 256,8192") == [64, 256, 8192]
    rates = forward_rates([3, 40], blocks=1, channels=8, device=device, seconds=0.01)
    assert [r["leaves"] for r in rates] == [3, 40]
    for r in rates:
        assert r["device"].startswith(device) and r["batches"] >= 3
        assert r["evals_per_second"] > 0 and 0 <= r["observe_share"] < 1
