"""Careless or hostile input to the `arena` CLI: plain text for user strings, one-line
errors with exit status 2 instead of tracebacks, and `--debug` for the traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import replays
from arena import results
from arena.cli import app
from arena.terminal import ArenaGroup

MARKUP_NAMES = ["x[/]=random", "[red]evil=random", "greedy"]


def arena(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def error_line(result, code: int = 2) -> str:
    """The one `error:` line of a run that failed cleanly with `code`."""
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    return errors[0]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A small tournament whose agent names hold rich markup; one part file per match."""
    out = tmp_path_factory.mktemp("hardening") / "run"
    done = arena(
        "tournament", "--game", "tic_tac_toe", "--agents", *MARKUP_NAMES,
        "--games-per-pair", 4, "--out", out, "--no-progress", "--flush-seconds", 0,
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    return out


@pytest.fixture
def run_copy(run, tmp_path):
    return shutil.copytree(run, tmp_path / "run")


def test_agent_names_with_markup_are_stored_rated_and_printed_literally(run):
    rated = arena("ratings", run)
    assert rated.exit_code == 0, rated.output
    rows = [line for line in rated.output.splitlines() if "│" in line]
    assert any(" x[/] " in row for row in rows)
    assert any(" [red]evil " in row for row in rows)
    pair = arena("sprt", run, "x[/]", "[red]evil")
    assert pair.exit_code == 0, pair.output
    assert pair.output.startswith("x[/] vs [red]evil: ")


def test_markup_in_a_bad_spec_is_a_one_line_error(tmp_path):
    result = arena(
        "tournament", "--game", "tic_tac_toe", "--agents", "foo[/]", "random",
        "--out", tmp_path / "run", "--no-progress",
    )  # fmt: skip
    assert "unknown agent spec 'foo[/]'" in error_line(result)


def test_out_under_a_file_is_a_one_line_error(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    result = arena(
        "tournament", "--game", "tic_tac_toe", "--agents", "random", "greedy",
        "--out", tmp_path / "file" / "run", "--no-progress",
    )  # fmt: skip
    assert "Not a directory" in error_line(result)


def test_a_directory_as_benchmark_set_is_a_one_line_error(tmp_path):
    result = arena("eval", "positions", "--agent", "random", "--set", tmp_path)
    assert str(tmp_path) in error_line(result)


def corrupt_data_pages(path, columns=("agents", "winner")) -> None:
    """Scramble the data pages of some columns in place, leaving the footer intact."""
    meta = pq.ParquetFile(path).metadata
    names = [meta.row_group(0).column(i).path_in_schema for i in range(meta.num_columns)]
    data = bytearray(path.read_bytes())
    for i, name in enumerate(names):
        if name.split(".")[0] in columns:
            chunk = meta.row_group(0).column(i)
            start = chunk.data_page_offset + 8  # past the page header's first bytes
            for k in range(start, chunk.data_page_offset + chunk.total_compressed_size - 2):
                data[k] ^= 0x5A
    path.write_bytes(bytes(data))


def test_a_part_file_corrupted_in_the_middle_is_named_in_one_line(run_copy):
    bad = replays.open(run_copy).files[0]
    corrupt_data_pages(bad)
    assert pq.ParquetFile(bad).metadata.num_rows > 0  # the footer still reads
    for args in (["ratings", run_copy], ["sprt", run_copy, "x[/]", "greedy"]):
        line = error_line(arena(*args))
        assert str(bad) in line and "unreadable replay file" in line


def test_a_query_lists_the_files_again_after_a_compaction(run_copy):
    """The race of `arena ratings` (and a tournament's closing ratings) with a compaction,
    made certain: the compaction runs between the listing and the read."""
    listed = []

    def read(dataset):
        listed.append(len(dataset.files))
        if len(listed) == 1:
            replays.compact(run_copy)  # merges and deletes every file just listed
        return results.query_dataset(dataset, "SELECT count(*) AS n FROM games")

    counted = replays.read_retrying(run_copy, read)
    assert listed == [3, 1]
    assert counted["n"].to_pylist() == [12]


def test_a_file_deleted_after_listing_is_reported_as_such(run_copy):
    dataset = replays.open(run_copy)
    replays.compact(run_copy)
    with pytest.raises(FileNotFoundError, match="disappeared while reading"):
        results.query_dataset(dataset, "SELECT count(*) FROM games")


def test_a_toml_config_that_is_not_utf8_is_named(tmp_path):
    config = tmp_path / "latin1.toml"
    config.write_bytes('game = "tic_tac_toe"\nagents = ["random", "gr\xe9edy"]\n'.encode("latin-1"))
    line = error_line(arena("tournament", config, "--out", tmp_path / "run", "--no-progress"))
    assert str(config) in line and "UTF-8" in line


def test_a_user_class_given_wrong_parameters_is_named(tmp_path):
    spec = "tests.agents_for_tests:Crashing,depth=3"
    result = arena(
        "tournament", "--game", "tic_tac_toe", "--agents", spec, "random",
        "--out", tmp_path / "run", "--no-progress",
    )  # fmt: skip
    line = error_line(result)
    assert "tests.agents_for_tests:Crashing" in line and "depth=3" in line


def test_a_game_index_beyond_the_int32_column_is_a_usage_error(run):
    result = arena("replays", "show", run, "m", 10**20)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "game_index" in result.output


def test_a_league_config_with_a_huge_network_is_refused_before_the_run_exists(tmp_path):
    out = tmp_path / "league"
    config = tmp_path / "big.toml"
    config.write_text(f'game = "tic_tac_toe"\nout = "{out}"\n[learner]\nchannels = 100000\n')
    line = error_line(arena("league", "run", config))
    assert "'channels' must be <=" in line
    assert not out.exists()


def test_an_unexpected_exception_is_one_line_with_status_1():
    """A bug (not a data error) still surfaces: its type, message and --debug."""
    import typer

    buggy = typer.Typer(cls=ArenaGroup)

    @buggy.callback()
    def main(debug: bool = typer.Option(False, "--debug")) -> None:
        pass

    @buggy.command()
    def crash() -> None:
        raise RuntimeError("an invariant broke")

    result = CliRunner().invoke(buggy, ["crash"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    line = result.output.strip()
    assert line.startswith("unexpected error: RuntimeError: an invariant broke")
    assert "--debug" in line and "\n" not in line
    debugged = CliRunner().invoke(buggy, ["--debug", "crash"])
    assert isinstance(debugged.exception, RuntimeError)


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_shows_the_traceback_instead(tmp_path, how):
    missing = tmp_path / "missing"
    args = [sys.executable, "-m", "arena", "replays", "show", str(missing), "m", "0"]
    env = {k: v for k, v in os.environ.items() if k != "ARENA_DEBUG"}
    plain = subprocess.run(args, capture_output=True, text=True, env=env)
    assert plain.returncode == 2
    assert plain.stdout.startswith(f"error: no run directory at {missing}")
    assert "Traceback" not in plain.stdout + plain.stderr
    if how == "flag":
        args.insert(3, "--debug")
    else:
        env["ARENA_DEBUG"] = "1"
    debugged = subprocess.run(args, capture_output=True, text=True, env=env)
    assert debugged.returncode == 1
    assert "Traceback" in debugged.stderr and "FileNotFoundError" in debugged.stderr


@pytest.mark.parametrize(
    "command, status, out, err",
    [
        ("print('done')", 0, "done\nexit handler\n", ""),
        ("sys.exit(3)", 3, "exit handler\n", ""),
        ("sys.exit('bad')", 1, "exit handler\n", "bad\n"),
    ],
)
def test_the_entry_point_keeps_status_output_and_exit_handlers(command, status, out, err):
    # exit_after ends the process with os._exit (Arrow's threads can abort the interpreter's
    # teardown); what a normal exit gives must survive that: the status, buffered output
    # (stdout is a pipe here, so block-buffered) and the atexit handlers.
    code = (
        "import atexit, sys\n"
        "from arena.terminal import exit_after\n"
        "atexit.register(print, 'exit handler')\n"
        f"exit_after(lambda: {command})\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (status, out, err)


def test_python_m_arena_reports_a_usage_error_with_status_2(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "arena", "ratings", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and done.stdout.startswith("error:")
