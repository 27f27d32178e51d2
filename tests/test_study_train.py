"""`arena study run`: the grid's checks, a tiny study trained end to end on tic-tac-toe,
FLOPs counted by torch, and a study killed after its first snapshot resuming from it."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

import agents
import games
from agents.checkpoint import checkpoint_paths
from agents.network import NetConfig
from arena.cli import app
from arena.config import ConfigError
from arena.rundir import read_run
from arena.study.grid import StudyGrid, net_size, snapshot_id
from arena.study.rate import ANCHORS
from arena.study.run import run_study
from arena.study.tables import read_table
from arena.study.train import SCHEMA, FlopCount, learner_config, read_snapshots, searched_states
from tests.killing import kill_when

GRID = {
    "game": "tic_tac_toe",
    "nets": "1x8,1x16",
    "train_minutes": "0.02,0.04",
    "sims": "1,2",
    "budget_minutes": 0.75,
}


def options(**values) -> list[str]:
    """`arena study run` options for GRID with `values` replaced."""
    args = []
    for key, value in {**GRID, **values}.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    return args


def error_line(*args) -> str:
    """The one `error:` line of an `arena` command that must fail cleanly."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    return errors[0]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A whole study, trained, rated and reported: about 45 s (its budget), so the tests
    that use it are marked slow."""
    out = tmp_path_factory.mktemp("study") / "study"
    grid = StudyGrid.make(**GRID)
    lines: list[str] = []
    run_study(grid, out, log=lines.append)
    return out, grid, lines


@pytest.mark.slow
def test_every_network_has_a_snapshot_at_every_point_in_order(study):
    out, grid, _ = study
    table = read_snapshots(out)
    assert table.schema == SCHEMA
    rows = table.to_pylist()
    assert [r["snapshot"] for r in rows] == [
        snapshot_id(net, m) for net in grid.nets for m in grid.train_minutes
    ]
    assert [r["net"] for r in rows] == ["1x8", "1x8", "1x16", "1x16"]
    for net in grid.nets:
        own = [r for r in rows if r["net"] == net]
        for row, minutes in zip(own, grid.train_minutes, strict=True):
            assert row["train_seconds"] >= 60 * minutes
        for key in ("train_seconds", "train_flops", "steps", "games"):
            assert own[0][key] > 0
            # Equal when one round passed both points (a loaded machine): same weights.
            assert own[1][key] >= own[0][key]
        # Only the newest learner state is kept for resuming.
        assert [p.name for p in (out / "train" / net).iterdir()] == [own[-1]["snapshot"]]
    assert StudyGrid.load(out) == grid
    assert read_run(out)["kind"] == "study"
    assert read_run(out)["identity"] == grid.to_dict()


@pytest.mark.slow
def test_each_snapshot_is_a_checkpoint_that_plays_with_search(study):
    out, _, _ = study
    game = games.make("tic_tac_toe")
    for row in read_snapshots(out).to_pylist():
        meta = json.loads(checkpoint_paths(out / row["checkpoint"])[1].read_text())
        assert (meta["step"], meta["parent"]) == (row["steps"], row["net"])
        shape = meta["architecture"]
        assert (shape["blocks"], shape["channels"]) == net_size(row["net"])
        agent = agents.make(f"az:{out / row['checkpoint']},sims=2", game)
        state = game.init(3)
        action = agent.act(game, state, game.legal_mask(state), np.random.default_rng(0))
        assert action.shape == (3,)
        assert game.legal_mask(state)[np.arange(3), action].all()


def test_flops_are_counted_by_torch_once_per_batch_shape():
    game = games.make("tic_tac_toe")
    count = FlopCount(NetConfig.for_game(game, blocks=1, channels=8))
    assert count.forward(1) > 0
    assert count.forward(4) == 4 * count.forward(1)  # convolutions: linear in the batch
    assert 2 * count.forward(4) < count.train_step(4) <= 3 * count.forward(4)


@pytest.mark.slow
def test_training_flops_hold_the_steps_and_the_self_play_searches(study):
    out, grid, _ = study
    game = games.make(grid.game)
    for row in read_snapshots(out).to_pylist():
        config = learner_config(grid, row["net"], "cpu")
        settings = config["learner"]
        blocks, channels = net_size(row["net"])
        count = FlopCount(NetConfig.for_game(game, blocks=blocks, channels=channels))
        search = row["train_flops"] - row["steps"] * count.train_step(settings["batch_size"])
        states = search / count.forward(1)
        assert states == pytest.approx(round(states))  # whole states
        # Tic-tac-toe games last 5 to 9 moves, each searched with fast_sims or sims
        # simulations and its root.
        least = row["games"] * 5 * (settings["fast_sims"] + 1)
        most = row["games"] * 9 * (settings["sims"] + 1)
        assert least <= states <= most


def test_searched_states_count_the_root_and_each_simulation():
    assert searched_states({"visits": [[3, -1, 4], None, [0]]}) == (3 + 1) + (4 + 1) + 1
    assert searched_states({"visits": None}) == 0


@pytest.mark.slow
def test_the_log_states_the_plan_each_snapshot_and_the_report(study):
    out, _, lines = study
    assert lines[0].startswith("plan: training 2 network(s) x 0.04 min = 0.08 min")
    assert f"rating {4 * 2 + len(ANCHORS)} players in the remaining 0.67 of 0.75 min" in lines[0]
    assert sum(line.startswith("snapshot ") for line in lines) == 4
    rated = [line for line in lines if line.startswith("rated ")]  # in what was left
    assert len(rated) == 1
    assert lines[-1] == (out / "report.md").read_text()  # the report, written last


@pytest.mark.slow
def test_the_study_is_rated_after_training(study):
    out, grid, _ = study
    ratings = read_table(out, "ratings").to_pylist()
    snapshots = {r["snapshot"] for r in read_snapshots(out).to_pylist()}
    assert ratings
    for row in ratings:
        assert row["kind"] == "anchor" or (
            row["snapshot"] in snapshots and row["sims"] in grid.sims
        )


@pytest.mark.parametrize(
    "values, expected",
    [
        ({"sims": "0,4"}, "--sims: simulations must be at least 1, got 0"),
        ({"sims": "4,x"}, "--sims: 'x' is not an integer"),
        ({"nets": "2by32"}, "--nets: '2by32' is not BLOCKSxCHANNELS"),
        ({"nets": "1x8,1x8"}, "--nets: each value once"),
        ({"train_minutes": "0,1"}, "--train-minutes must be positive"),
        ({"train_minutes": "1,8", "budget_minutes": 1.5}, "shorter than one snapshot"),
        ({"train_minutes": "0.1,1", "budget_minutes": 2}, "the grid cannot fit"),
        ({"budget_minutes": "nan"}, "--budget-minutes must be positive"),
        ({"game": "kuhn_poker"}, "--game: "),
        ({"game": "no_such_game"}, "--game: "),
        ({"device": "tpu"}, "unknown device 'tpu'"),
    ],
)
def test_bad_grids_are_refused_in_one_line_before_anything_is_written(tmp_path, values, expected):
    out = tmp_path / "study"
    assert expected in error_line("study", "run", *options(out=out, **values))
    assert not out.exists()


@pytest.mark.slow
def test_bad_folders_are_refused_before_anything_trains(study, tmp_path):
    out, _, _ = study
    table = (out / "tables" / "snapshots.parquet").read_bytes()
    assert "already holds a study run" in error_line("study", "run", *options(out=out))
    changed = error_line("study", "run", "--resume", *options(out=out, sims="1,4"))
    assert "--resume with settings that differ" in changed and "sims" in changed
    other_game = error_line("study", "run", "--resume", *options(out=out, game="connect_four"))
    assert "holds a run of tic_tac_toe, not of connect_four" in other_game
    assert (out / "tables" / "snapshots.parquet").read_bytes() == table
    missing = tmp_path / "none"
    assert "no run to resume" in error_line("study", "run", "--resume", *options(out=missing))
    comma = tmp_path / "a,b"
    assert "may not contain ','" in error_line("study", "run", *options(out=comma))
    assert not comma.exists()


@pytest.mark.slow
def test_a_study_killed_after_its_first_snapshot_resumes_from_it(tmp_path):
    out = tmp_path / "study"
    # Rating is not the point here: little time is left for it.
    grid = options(nets="1x8", train_minutes="0.02,0.04,0.06", budget_minutes=0.15, out=out)
    command = [sys.executable, "-m", "arena", "study", "run", *grid]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # The table appears with the first row (written whole, then renamed into place).
    kill_when(proc, (out / "tables" / "snapshots.parquet").exists)
    before = read_snapshots(out).to_pylist()
    assert 1 <= len(before) < 3
    resumed = subprocess.run(command + ["--resume"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"1x8: resumed after snapshot {len(before)} of 3" in resumed.stdout
    after = read_snapshots(out).to_pylist()
    assert [r["snapshot"] for r in after] == ["1x8@t0.02m", "1x8@t0.04m", "1x8@t0.06m"]
    assert after[: len(before)] == before  # kept as written, never written again
    for key in ("train_seconds", "train_flops", "steps", "games"):
        assert all(a[key] <= b[key] for a, b in zip(after, after[1:], strict=False))
        # Counted on from the last row: the resumed learner played a round before its row.
        assert after[len(before)][key] > before[-1][key]


@pytest.mark.parametrize("text", ["{", "[1, 2]", '{"game": "tic_tac_toe", "extra": 1}'])
def test_a_damaged_grid_file_is_bad_input(tmp_path, text):
    (tmp_path / "study.json").write_text(text)
    with pytest.raises(ConfigError, match="not a study grid"):
        StudyGrid.load(tmp_path)
