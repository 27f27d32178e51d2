"""The replay format: schema validation, atomic writer, reader, re-simulation, transitions
and crash-safe compaction, all on real Parquet files."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import games
import replays
from games.layout import RNG
from replays import compaction
from replays.files import part_paths, replays_dir, scan
from replays.lock import RunLockedError, run_lock
from tests.killing import kill_when

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
KEY = [("match_id", "ascending"), ("game_index", "ascending")]


def random_games(
    name: str,
    n: int,
    seed: int = 0,
    match_id: str = "m0",
    agents: tuple[str, str] = ("a", "b"),
    annotate: bool = False,
) -> dict:
    """Columns of n random games really played by the engine, padded 2-D like a runner's."""
    game = games.make(name)
    state = game.init(n, seed)
    rng_state = np.random.default_rng(seed).integers(0, 2**62, n)
    actions = np.full((n, game.max_plies), -1, dtype=np.int64)
    while not state.done.all():
        live = ~state.done
        chosen = game.random_legal(game.legal_mask(state), rng_state)
        actions[live, state.ply[live]] = chosen[live]
        game.step(state, np.where(live, chosen, 0))
    winner = state.winner.copy()
    returns = np.zeros((n, 2), dtype=np.float32)
    won = winner >= 0
    returns[won, winner[won]] = 1.0
    returns[won, 1 - winner[won]] = -1.0
    columns = {
        "run_id": "run",
        "match_id": match_id,
        "game_index": np.arange(n),
        "game": name,
        "agents": np.array([agents] * n),
        "seed": np.arange(n) + seed,
        "actions": actions,
        "winner": winner,
        "returns": returns,
        "plies": state.ply.copy(),
        "termination": "normal",
        "started_at": T0,
        "ended_at": T0 + dt.timedelta(seconds=1),
    }
    if annotate:
        values = np.random.default_rng(seed).random((n, game.max_plies), dtype=np.float32)
        values[:, 1::2] = np.nan  # the second player gives no values
        columns["values"] = values
        columns["visits"] = np.where(np.isnan(values), -1, 100).astype(np.int32)
    return columns


def write_run(run_dir: Path, batches: list[dict], **writer_options) -> None:
    with replays.ReplayWriter(run_dir, **writer_options) as writer:
        for batch in batches:
            writer.write(batch)


def league_run(run_dir: Path) -> None:
    """A small run: three matches between three agents, plus one forfeited game."""
    batches = [
        random_games("tic_tac_toe", 40, seed=1, match_id="m1", agents=("random", "greedy")),
        random_games("tic_tac_toe", 40, seed=2, match_id="m2", agents=("greedy", "random")),
        random_games("tic_tac_toe", 40, seed=3, match_id="m3", agents=("mcts", "greedy")),
    ]
    forfeit = {
        **single_game([4], winner=0, returns=[1.0, -1.0]),
        "match_id": "m4",
        "agents": [["mcts", "random"]],
        "termination": "forfeit",
        "reason": "illegal move 4 by seat 1",
    }
    write_run(run_dir, batches + [forfeit], flush_rows=50)


def single_game(actions, winner, returns, game="tic_tac_toe", **extra) -> dict:
    return {
        "run_id": "run",
        "match_id": "hand",
        "game_index": 0,
        "game": game,
        "agents": [["x", "o"]],
        "seed": 7,
        "actions": [actions],
        "winner": winner,
        "returns": [returns],
        "termination": "normal",
        "started_at": T0,
        "ended_at": T0,
        **extra,
    }


def sorted_rows(table: pa.Table) -> pa.Table:
    return table.sort_by(KEY).replace_schema_metadata(None)


# ---- schema and validation ---------------------------------------------------------------


def test_padded_and_list_inputs_build_the_same_table():
    padded = random_games("connect_four", 30, annotate=True)
    lists = dict(padded)
    lengths = padded["plies"]
    for name in ("actions", "values", "visits"):
        lists[name] = [list(row[:k]) for row, k in zip(padded[name], lengths, strict=True)]
    lists["agents"] = [list(a) for a in padded["agents"]]
    lists["returns"] = padded["returns"].tolist()
    del lists["plies"]  # derived from the action lists
    a, b = replays.build_table(padded), replays.build_table(lists)
    assert a.drop_columns(["values"]).equals(b.drop_columns(["values"]))
    # NaN marks moves without a value; assert_array_equal counts NaN == NaN
    np.testing.assert_array_equal(*(pc.list_flatten(t["values"]).to_numpy() for t in (a, b)))
    assert a.schema.equals(replays.SCHEMA, check_metadata=True)
    assert a.schema.metadata[b"arena.schema_version"] == b"2"
    assert a["plies"].to_pylist() == [int(k) for k in lengths]
    first = a.slice(0, 1).to_pylist()[0]
    assert first["actions"] == padded["actions"][0, : lengths[0]].tolist()
    assert np.isnan(first["values"][1]) and first["visits"][1] == -1
    assert a["policy_entropy"].null_count == 30


def test_annotations_may_be_null_per_game():
    table = replays.build_table(
        {
            **single_game([0, 3, 1, 4, 2], 0, [1.0, -1.0]),
            "game_index": [0, 1],
            "agents": [["x", "o"]] * 2,
            "actions": [[0, 3, 1, 4, 2]] * 2,
            "returns": [[1.0, -1.0]] * 2,
            "values": [None, [0.1, float("nan"), 0.3, float("nan"), 0.9]],
        }
    )
    assert table["values"].to_pylist()[0] is None
    assert len(table["values"].to_pylist()[1]) == 5


BAD_COLUMNS = [
    ({"seed": None}, "seed", "required"),
    ({"colour": "red"}, "colour", "unknown"),
    ({"actions": [[0, 3, 1, 4, 9]]}, "actions", "0..8"),
    ({"actions": [[0, 3, 1, 4, 40000]]}, "actions", "int16"),
    ({"winner": 2}, "winner", "seat"),
    ({"winner": 1.5}, "winner", "int8"),
    ({"seed": "seven"}, "seed", "int64"),
    ({"agents": [["x"]]}, "agents", "one entry per player"),
    ({"returns": [[1.0, -1.0, 0.0]]}, "returns", "one entry per player"),
    ({"plies": 4}, "actions", "as many as plies"),
    ({"values": [[0.5, 0.5]]}, "values", "as many as plies"),
    ({"visits": [[1, None, 3, 4, 5]]}, "visits", "missing entries"),
    ({"game": "chess"}, "game", "unknown game"),
    ({"game_index": [0, 1]}, "game_index", "expected 1"),
    ({"game_index": -1}, "game_index", "negative"),
    ({"termination": "resigned"}, "termination", "one of"),
    ({"termination": "forfeit"}, "reason", "required for forfeited"),
    ({"ended_at": T0 - dt.timedelta(seconds=1)}, "ended_at", "before started_at"),
    ({"match_id": [None]}, "match_id", "missing values"),
    ({"agents": [None]}, "agents", "missing lists"),
]


@pytest.mark.parametrize("change, column, message", BAD_COLUMNS)
def test_bad_columns_raise_errors_naming_the_column(change, column, message):
    columns = {**single_game([0, 3, 1, 4, 2], 0, [1.0, -1.0]), **change}
    with pytest.raises(ValueError, match=rf"'{column}'.*{message}"):
        replays.build_table(columns)


def test_padded_actions_need_plies():
    columns = random_games("tic_tac_toe", 3)
    del columns["plies"]
    with pytest.raises(ValueError, match="'plies'"):
        replays.build_table(columns)


# ---- writer -----------------------------------------------------------------------------

PART_NAME = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{32}\.parquet$")


def test_writer_flushes_in_batches_to_unique_complete_files(tmp_path):
    batches = [random_games("tic_tac_toe", 7, seed=s, match_id=f"m{s}") for s in range(6)]
    with replays.ReplayWriter(tmp_path, flush_rows=20) as writer:
        for batch in batches[:3]:
            writer.write(batch)  # 21 rows: one flush
        assert len(writer.written) == 1 and writer.buffered_rows == 0
        for batch in batches[3:]:
            writer.write(batch)  # 21 more: a second flush
        assert len(writer.written) == 2 and writer.buffered_rows == 0
    names = sorted(os.listdir(replays_dir(tmp_path)))
    assert len(names) == 2 and all(PART_NAME.match(n) for n in names)
    for name in names:
        table = pq.read_table(replays_dir(tmp_path) / name)
        meta = table.schema.metadata
        assert meta[b"arena.schema_version"] == b"2" and meta[b"arena.game"] == b"tic_tac_toe"
        assert meta[b"arena.num_actions"] == b"9" and meta[b"arena.obs_shape"] == b"[2, 3, 3]"
    expected = pa.concat_tables(replays.build_table(b) for b in batches)
    assert sorted_rows(replays.open(tmp_path).to_table()).equals(sorted_rows(expected))


def test_writer_never_touches_existing_files(tmp_path):
    write_run(tmp_path, [random_games("tic_tac_toe", 10, seed=1, match_id="first")])
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in part_paths(replays_dir(tmp_path))}
    write_run(tmp_path, [random_games("tic_tac_toe", 10, seed=2, match_id="second")])
    after = part_paths(replays_dir(tmp_path))
    assert len(after) == 2
    for path, (mtime, content) in before.items():
        assert path.stat().st_mtime_ns == mtime and path.read_bytes() == content


def test_writer_splits_games_into_their_own_files(tmp_path):
    mixed = pa.concat_tables(
        [
            replays.build_table(random_games("tic_tac_toe", 5)),
            replays.build_table(random_games("connect_four", 4, match_id="c")),
        ]
    )
    write_run(tmp_path, [mixed])
    parts = scan(replays_dir(tmp_path))[0]
    assert sorted((p.game, p.num_rows) for p in parts) == [("connect_four", 4), ("tic_tac_toe", 5)]


def test_failed_flush_leaves_no_file_and_keeps_the_games(tmp_path, monkeypatch):
    writer = replays.ReplayWriter(tmp_path, flush_rows=1000)
    writer.write(random_games("tic_tac_toe", 5))

    def half_written(table, where, **options):
        where.write(b"PAR1 partial")
        raise OSError("disk full")

    monkeypatch.setattr(replays.files.pq, "write_table", half_written)
    with pytest.raises(OSError, match="disk full"):
        writer.flush()
    assert os.listdir(replays_dir(tmp_path)) == []  # no temporary file left either
    monkeypatch.undo()
    writer.close()
    assert replays.open(tmp_path).count() == 5
    with pytest.raises(ValueError, match="closed"):
        writer.write(random_games("tic_tac_toe", 1))


def test_games_buffered_before_an_exception_are_kept(tmp_path):
    with pytest.raises(RuntimeError):
        with replays.ReplayWriter(tmp_path) as writer:
            writer.write(random_games("tic_tac_toe", 5))
            raise RuntimeError("the match runner crashed")
    assert replays.open(tmp_path).count() == 5


def test_writer_flushes_old_buffers(tmp_path):
    with replays.ReplayWriter(tmp_path, flush_seconds=0.0) as writer:
        writer.write(random_games("tic_tac_toe", 2))
        assert writer.buffered_rows == 0 and len(writer.written) == 1


def test_temporary_files_are_invisible_to_every_reader(tmp_path):
    league_run(tmp_path)
    count = replays.open(tmp_path).count()
    final = replays_dir(tmp_path) / "20990101T000000000000Z-0123.parquet"
    temp = replays.files.temp_path(final)
    assert not temp.name.endswith(".parquet")
    temp.write_bytes(b"half a file")
    assert replays.open(tmp_path).count() == count
    glob = str(replays_dir(tmp_path) / "*.parquet")
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{glob}')").fetchall() == [(count,)]


# ---- reader -----------------------------------------------------------------------------


def test_filters_match_a_plain_python_filter(tmp_path):
    league_run(tmp_path)
    data = replays.open(tmp_path)
    rows = data.to_table().to_pylist()
    assert data.count() == len(rows) == 121

    def keys(table):
        return sorted(
            zip(table["match_id"].to_pylist(), table["game_index"].to_pylist(), strict=True)
        )

    def expect(pred):
        return sorted((r["match_id"], r["game_index"]) for r in rows if pred(r))

    assert keys(data.filter(agent="greedy")) == expect(lambda r: "greedy" in r["agents"])
    assert keys(data.filter(agent="mcts", winner=-1)) == expect(
        lambda r: "mcts" in r["agents"] and r["winner"] == -1
    )
    assert keys(data.filter(min_plies=6, max_plies=7)) == expect(lambda r: 6 <= r["plies"] <= 7)
    assert keys(data.filter(termination="forfeit")) == [("m4", 0)]
    assert keys(data.filter(termination=["normal", "forfeit"], game="tic_tac_toe")) == expect(
        lambda r: True
    )
    assert data.filter(game="connect_four").num_rows == 0
    assert data.filter(agent="nobody").num_rows == 0
    projected = data.filter(agent="random", winner=1, columns=["match_id", "plies"])
    assert projected.column_names == ["match_id", "plies"]
    assert projected.num_rows == len(expect(lambda r: "random" in r["agents"] and r["winner"] == 1))
    with pytest.raises(TypeError, match="winner"):
        data.filter(winner="greedy")


def test_missing_run_and_empty_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="no run directory"):
        replays.open(tmp_path / "nope")
    empty = replays.open(tmp_path)
    assert empty.count() == 0 and empty.to_table().num_rows == 0
    assert empty.to_table().schema.equals(replays.SCHEMA)


def _foreign_files(tmp_path):
    """(name, bytes-writer, expected message) for files that are not readable replays."""
    good = replays.build_table(single_game([0, 3, 1, 4, 2], 0, [1.0, -1.0]))
    meta = replays.schema.file_metadata("tic_tac_toe")
    newer = {**meta, b"arena.schema_version": str(replays.SCHEMA_VERSION + 1).encode()}
    return [
        ("garbage", lambda p: p.write_bytes(b"definitely not parquet"), "not a readable"),
        ("foreign", lambda p: pq.write_table(pa.table({"x": [1, 2]}), p), "not an arena replay"),
        ("newer", lambda p: pq.write_table(good.replace_schema_metadata(newer), p), "newer"),
        (
            "missing-column",
            lambda p: pq.write_table(good.drop_columns(["seed"]).replace_schema_metadata(meta), p),
            "missing column 'seed'",
        ),
        (
            "wrong-type",
            lambda p: pq.write_table(
                good.set_column(5, "seed", pa.array(["7"])).replace_schema_metadata(meta), p
            ),
            "column 'seed' has type string",
        ),
    ]


@pytest.mark.parametrize("case", range(5))
def test_bad_files_raise_errors_naming_the_file(tmp_path, case):
    league_run(tmp_path)
    name, write, message = _foreign_files(tmp_path)[case]
    path = replays_dir(tmp_path) / f"{name}.parquet"
    write(path)
    with pytest.raises(replays.ReplayFormatError, match=re.escape(str(path)) + ".*" + message):
        replays.open(tmp_path)


def test_truncated_and_corrupted_files_are_named(tmp_path):
    write_run(tmp_path, [random_games("connect_four", 3000)])
    (path,) = part_paths(replays_dir(tmp_path))
    content = path.read_bytes()
    # garbage in the data pages: the footer is intact, so the error comes while reading
    corrupt = bytearray(content)
    corrupt[100 : len(content) // 2] = os.urandom(len(content) // 2 - 100)
    path.write_bytes(bytes(corrupt))
    data = replays.open(tmp_path)
    with pytest.raises(replays.ReplayFormatError, match=re.escape(str(path))):
        data.to_table()
    path.write_bytes(content[: len(content) // 2])
    with pytest.raises(replays.ReplayFormatError, match=re.escape(str(path))):
        replays.open(tmp_path)


# ---- load_game --------------------------------------------------------------------------


def test_load_game_resimulates_with_the_engine(tmp_path):
    columns = random_games("connect_four", 20, seed=5, match_id="c4", annotate=True)
    write_run(tmp_path, [columns])
    game = games.make("connect_four")
    for index in (0, 7, 19):
        replay = replays.load_game(tmp_path, "c4", index)
        plies = int(columns["plies"][index])
        assert replay.plies == plies and len(replay.states) == plies + 1
        assert replay.actions.tolist() == columns["actions"][index, :plies].tolist()
        assert replay.agents == ["a", "b"] and replay.winner == columns["winner"][index]
        assert replay.returns.dtype == np.float32 and replay.visits.dtype == np.int32
        assert replay.started_at == T0 and replay.seed == 5 + index
        prefixes = game.play_sequences([replay.actions[:p].tolist() for p in range(plies + 1)])
        prefixes.data[:, RNG] = replay.seed  # each position carries the game's own seed
        assert np.array_equal(replay.states.data, prefixes.data)
        assert replay.states.done[-1] and not replay.states.done[:-1].any()


def test_load_game_errors(tmp_path):
    write_run(tmp_path, [random_games("tic_tac_toe", 3, match_id="m")])
    with pytest.raises(replays.GameNotFoundError, match="no game 3 of match 'm'"):
        replays.load_game(tmp_path, "m", 3)
    with pytest.raises(replays.GameNotFoundError):
        replays.load_game(tmp_path, "other", 0)
    # Game 0 twice in one file (a file that only repeats stored games is left out when
    # the run is opened: tests/test_run_lock.py).
    twice = [
        random_games("tic_tac_toe", 3, match_id="m"),
        random_games("tic_tac_toe", 1, match_id="m"),
    ]
    write_run(tmp_path / "twice", twice)
    with pytest.raises(replays.ReplayFormatError, match="stored 2 times"):
        replays.load_game(tmp_path / "twice", "m", 0)


@pytest.mark.parametrize(
    "actions, winner, returns, message",
    [
        ([0, 0], -1, [0.0, 0.0], "action 0 at ply 1 is illegal"),
        ([0, 3, 1, 4, 2], 1, [-1.0, 1.0], "differs from the engine"),
        ([0, 3, 1, 4, 2], 0, [0.5, -1.0], "differs from the engine"),
        ([0, 3, 1, 4], 0, [1.0, -1.0], "differs from the engine"),
    ],
)
def test_stored_games_the_engine_disagrees_with(tmp_path, actions, winner, returns, message):
    write_run(tmp_path, [single_game(actions, winner, returns)])
    with pytest.raises(replays.ReplayFormatError, match=f"match 'hand' game 0.*{message}"):
        replays.load_game(tmp_path, "hand", 0)


def test_out_of_range_stored_action_is_reported(tmp_path):
    """A file the writer did not check (another tool) may hold any int16 action."""
    game = single_game([0, 3], -1, [0.0, 0.0], termination="truncated", reason="ply limit")
    good = replays.build_table(game)
    field = good.schema.field("actions")
    bad = good.set_column(6, field, pa.array([[0, 30]], field.type))
    directory = replays_dir(tmp_path)
    directory.mkdir()
    meta = replays.schema.file_metadata("tic_tac_toe")
    replays.files.write_atomic(bad.replace_schema_metadata(meta), directory / "x.parquet")
    with pytest.raises(replays.ReplayFormatError, match="stored action 30 at ply 1"):
        replays.load_game(tmp_path, "hand", 0)


# ---- transitions ------------------------------------------------------------------------


def test_transitions_of_a_hand_checked_game(tmp_path):
    x_wins = single_game([0, 3, 1, 4, 2], 0, [1.0, -1.0])  # x: top row; o: 3, 4
    draw = {
        **single_game([4, 0, 8, 2, 1, 7, 6, 3, 5], -1, [0.0, 0.0]),
        "game_index": 1,
    }
    forfeit = {
        **single_game([4], 0, [1.0, -1.0]),
        "game_index": 2,
        "termination": "forfeit",
        "reason": "o timed out",
    }
    write_run(tmp_path, [x_wins, draw, forfeit])
    t = replays.transitions(tmp_path)
    assert {k: v.dtype.name for k, v in t.items()} == {
        "observations": "float32",
        "legal_masks": "bool",
        "actions": "int64",
        "rewards": "float32",
        "dones": "bool",
        "players": "int64",
        "game_ids": "int64",
        "plies": "int64",
    }
    # one flush, one file: the rows are in the order written, and game_ids index them
    assert replays.open(tmp_path).to_table()["game_index"].to_pylist() == [0, 1, 2]
    assert t["observations"].shape == (15, 2, 3, 3) and t["legal_masks"].shape == (15, 9)
    assert t["game_ids"].tolist() == [0] * 5 + [1] * 9 + [2]
    first = t["game_ids"] == 0
    assert t["actions"][first].tolist() == [0, 3, 1, 4, 2]
    assert t["players"][first].tolist() == [0, 1, 0, 1, 0]
    assert t["plies"][first].tolist() == [0, 1, 2, 3, 4]
    assert t["rewards"][first].tolist() == [0, 0, 0, -1, 1]
    assert t["dones"][first].tolist() == [False, False, False, True, True]
    obs = t["observations"][first]
    assert not obs[0].any()  # empty board
    assert obs[1][1, 0, 0] == 1 and obs[1][0].sum() == 0  # o sees x's mark as the opponent's
    assert obs[4][0].sum() == 2 and obs[4][1].sum() == 2  # x to move: two marks each
    assert obs[4][0, 0, :2].tolist() == [1, 1] and obs[4][1, 1, :2].tolist() == [1, 1]
    assert t["legal_masks"][first][1].tolist() == [False] + [True] * 8
    drawn = t["game_ids"] == 1
    assert t["rewards"][drawn].tolist() == [0.0] * 9
    assert t["dones"][drawn].tolist() == [False] * 7 + [True, True]
    forfeited = t["game_ids"] == 2
    assert t["rewards"][forfeited].tolist() == [1.0] and t["dones"][forfeited].all()
    assert len(replays.transitions(tmp_path, skip_forfeits=True)["actions"]) == 14


def test_transitions_match_the_engine_on_random_games(tmp_path):
    columns = random_games("connect_four", 200, seed=9)
    write_run(tmp_path, [columns])
    table = replays.open(tmp_path).filter(min_plies=10)
    t = replays.transitions(table)
    lengths = table["plies"].to_numpy()
    assert len(t["actions"]) == lengths.sum()
    game = games.make("connect_four")
    for g in (0, len(table) // 2, len(table) - 1):
        actions = table["actions"][g].as_py()
        rows = np.flatnonzero(t["game_ids"] == g)
        before = game.play_sequences([actions[:p] for p in range(len(actions))])
        assert np.array_equal(t["observations"][rows], game.observe(before))
        assert np.array_equal(t["legal_masks"][rows], game.legal_mask(before))
        assert np.array_equal(t["players"][rows], before.to_play)
        winner = table["winner"][g].as_py()
        last = {p: rows[t["players"][rows] == p][-1] for p in (0, 1)}
        for p, row in last.items():
            assert t["rewards"][row] == (0 if winner < 0 else (1 if p == winner else -1))
    assert t["dones"].sum() == 2 * len(table)
    assert np.count_nonzero(t["rewards"]) == 2 * np.count_nonzero(table["winner"].to_numpy() >= 0)


def test_transitions_need_a_single_game(tmp_path):
    write_run(
        tmp_path,
        [random_games("tic_tac_toe", 3), random_games("connect_four", 3, match_id="c")],
    )
    with pytest.raises(ValueError, match="one game"):
        replays.transitions(tmp_path)
    assert len(replays.transitions(replays.open(tmp_path).filter(game="connect_four"))["dones"])


# ---- compaction -------------------------------------------------------------------------


def many_parts(run_dir: Path, files: int, rows: int) -> pa.Table:
    """A run of `files` part files of `rows` games each; returns all rows, sorted."""
    base = random_games("tic_tac_toe", rows * files, seed=11)
    table = replays.build_table(base)
    for i in range(files):
        chunk = table.slice(i * rows, rows)
        chunk = chunk.set_column(1, "match_id", pa.array([f"m{i:04d}"] * rows))
        write_run(run_dir, [chunk])
    return sorted_rows(replays.open(run_dir).to_table())


def assert_same_games(run_dir: Path, expected: pa.Table) -> None:
    got = sorted_rows(replays.open(run_dir).to_table())
    assert got.num_rows == expected.num_rows
    assert got.equals(expected)


def test_compaction_merges_small_files_and_keeps_every_game(tmp_path):
    many_parts(tmp_path, files=12, rows=10)
    write_run(tmp_path, [random_games("connect_four", 5, match_id="c4")])
    expected = sorted_rows(replays.open(tmp_path).to_table())
    report = replays.compact(tmp_path, target_rows=35)
    parts = scan(replays_dir(tmp_path))[0]
    assert sorted(p.num_rows for p in parts if p.game == "tic_tac_toe") == [30, 30, 30, 30]
    assert len(report.created) == 4 and len(report.removed) == 12
    assert all(PART_NAME.match(p.path.name) for p in parts)
    assert_same_games(tmp_path, expected)
    again = replays.compact(tmp_path, target_rows=1000)  # now merges the merged files
    assert [p.num_rows for p in scan(replays_dir(tmp_path))[0] if p.game == "tic_tac_toe"] == [120]
    assert len(again.removed) == 4
    # No temporary file is left (the lock is the run's, outside replays/).
    assert all(name.endswith(".parquet") for name in os.listdir(replays_dir(tmp_path)))


def test_every_crash_window_of_a_compaction(tmp_path):
    expected = many_parts(tmp_path, files=6, rows=5)
    directory = replays_dir(tmp_path)
    live = scan(directory)[0]

    # killed while writing the merged file: a temporary file, ignored, then cleaned up
    leftover = replays.files.temp_path(directory / "x.parquet", compaction.TAG)
    leftover.write_bytes(b"half a merged file")
    assert_same_games(tmp_path, expected)

    # killed after the rename, before deleting any source: sources are ignored
    merged = compaction.merge(directory, live[:3])
    assert len(part_paths(directory)) == 7
    assert_same_games(tmp_path, expected)
    # ... and after deleting some of them
    live[0].path.unlink()
    assert_same_games(tmp_path, expected)

    # a second compaction merging that merged file, killed before cleaning up either level
    second = compaction.merge(directory, [replays.files.read_part(merged), live[3]])
    covered = {p.path for p in scan(directory)[1]}
    assert covered == {live[1].path, live[2].path, merged, live[3].path}
    assert_same_games(tmp_path, expected)

    report = replays.compact(tmp_path, target_rows=1000)
    assert leftover in report.removed and merged in report.removed and second in report.removed
    assert [p.name for p in part_paths(directory)] == [report.created[0].name]
    assert [n for n in os.listdir(directory) if n.endswith(".tmp")] == []
    assert_same_games(tmp_path, expected)


def test_compaction_removes_only_stale_writer_temporaries(tmp_path):
    many_parts(tmp_path, files=2, rows=3)
    directory = replays_dir(tmp_path)
    stale = replays.files.temp_path(directory / "old.parquet")
    fresh = replays.files.temp_path(directory / "new.parquet")
    for path in (stale, fresh):
        path.write_bytes(b"...")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    replays.compact(tmp_path)
    assert not stale.exists() and fresh.exists()


def test_a_second_compaction_at_once_is_refused(tmp_path):
    # Compaction takes the run's lock, the one every writer holds (tests/test_run_lock.py).
    many_parts(tmp_path, files=2, rows=3)
    with run_lock(tmp_path, "compaction"):
        with pytest.raises(RunLockedError, match=f"pid {os.getpid()} \\(compaction: "):
            replays.compact(tmp_path)
        assert len(part_paths(replays_dir(tmp_path))) == 2
    assert len(replays.compact(tmp_path).created) == 1


def test_missing_run_cannot_be_compacted(tmp_path):
    with pytest.raises(FileNotFoundError):
        replays.compact(tmp_path / "nope")
    assert replays.compact(tmp_path).created == []


@pytest.mark.slow
def test_compaction_killed_again_and_again_never_loses_or_duplicates(tmp_path):
    # 200 part files of 100 games merge into 40 files of 500, each a write/rename/delete
    # cycle: every kill comes a few merged files in, with most of the cycles still to go.
    run_dir = tmp_path / "run"
    expected = many_parts(run_dir, files=200, rows=100)
    directory = replays_dir(run_dir)
    sources = set(part_paths(directory))
    command = [sys.executable, "-m", "arena", "replays", "compact", str(run_dir)]
    command += ["--target-rows", "500"]

    def merged() -> int:
        return len(set(part_paths(directory)) - sources)

    def merged_at_least(count: int):
        return lambda: merged() >= count

    merged_at_kills = [0]
    for more in (1, 2, 3, 4):  # each kill further into the work
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        kill_when(child, merged_at_least(merged() + more))
        merged_at_kills.append(merged())
        assert_same_games(run_dir, expected)
    # Every kill landed mid-compaction: after new merged files, before the last one.
    assert merged_at_kills == sorted(set(merged_at_kills)) and merged_at_kills[-1] < 40
    replays.compact(run_dir, target_rows=500)
    assert_same_games(run_dir, expected)
    live, covered = scan(replays_dir(run_dir))
    assert covered == [] and len(live) == 40
    assert [n for n in os.listdir(replays_dir(run_dir)) if n.endswith(".tmp")] == []
