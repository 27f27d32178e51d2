"""Per-move search statistics in replays: the schema's search columns, older datasets
without them, and a real tournament recording them only when asked."""

from __future__ import annotations

import io
import json

import numpy as np
import pyarrow.parquet as pq
import pytest

import games
import replays
from agents.puct import SearchConfig, search
from arena.league import resolve, run_league
from arena.tournament import run_tournament
from dashboards import queries
from dashboards.queries import GameFilter
from replays.files import new_part_name, part_paths, replays_dir
from replays.schema import file_metadata
from tests.test_league import tiny
from tests.test_replays import single_game

PRIOR = [[0.5] * 9, [], [0.25] * 9]  # tic-tac-toe: 9 actions; the second move unsearched
VISITS = [[1, 2, 3, 4, 5, 6, 7, 8, 9], [], [0, 0, 0, 0, 9, 0, 0, 0, 0]]


def searched_game(match_id: str = "new") -> dict:
    return {
        **single_game([0, 3, 1], 0, [1.0, -1.0], search_prior=[PRIOR], search_visits=[VISITS]),
        "match_id": match_id,
        "termination": "truncated",
        "reason": "test",
    }


def test_search_columns_round_trip(tmp_path):
    with replays.ReplayWriter(tmp_path) as writer:
        writer.write(searched_game())
    game = replays.load_game(tmp_path, "new", 0)
    assert game.search_prior.dtype == np.float32 and game.search_prior.shape == (3, 9)
    np.testing.assert_array_equal(game.search_prior[[0, 2]], [PRIOR[0], PRIOR[2]])
    assert np.isnan(game.search_prior[1]).all()
    np.testing.assert_array_equal(game.search_visits[0], VISITS[0])
    assert (game.search_visits[1] == -1).all()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"search_visits": [[[1, 2], [], []]]}, "needs 9 entries per move"),
        ({"search_prior": [[[0.5] * 9, []]]}, "one entry per move"),
        ({"search_visits": [[[1] * 9, [None] * 9, []]]}, "missing entries"),
    ],
)
def test_bad_search_columns_name_the_column(change, message):
    with pytest.raises(ValueError, match=f"{next(iter(change))}.*{message}"):
        replays.build_table({**searched_game(), **change})


def write_version_1(run_dir, match_id: str) -> None:
    """A part file as arena wrote it before the search columns (schema version 1)."""
    table = replays.build_table(
        {**searched_game(match_id), "search_prior": None, "search_visits": None}
    )
    old = table.drop_columns(["search_prior", "search_visits"])
    meta = {**file_metadata("tic_tac_toe"), b"arena.schema_version": b"1"}
    replays_dir(run_dir).mkdir(parents=True, exist_ok=True)
    pq.write_table(old.replace_schema_metadata(meta), replays_dir(run_dir) / new_part_name())


def test_version_1_files_read_beside_new_ones_and_compact(tmp_path):
    write_version_1(tmp_path, "old")
    with replays.ReplayWriter(tmp_path) as writer:
        writer.write(searched_game())
    data = replays.open(tmp_path)
    table = data.to_table(columns=["match_id", "search_visits"]).sort_by("match_id")
    assert table["match_id"].to_pylist() == ["new", "old"]
    assert table["search_visits"].to_pylist() == [VISITS, None]
    assert replays.load_game(tmp_path, "old", 0).search_prior is None
    files = [str(p) for p in part_paths(replays_dir(tmp_path))]
    assert queries.summary(files).games == 2  # DuckDB reads both versions
    # DuckDB takes the first file's columns unless told otherwise; the old file alone has
    # no search columns at all.
    old = [f for f in files if "search_prior" not in pq.read_schema(f).names]
    for order, expected in ((files, [VISITS, None]), (files[::-1], [VISITS, None]), (old, [None])):
        args = (order, GameFilter(), "parquet", 10, data.parts[0].schema)
        exported = pq.read_table(io.BytesIO(queries.export(*args)))
        assert exported.schema.equals(replays.SCHEMA)
        assert exported.sort_by("match_id")["search_visits"].to_pylist() == expected
        text = queries.export(order, GameFilter(), "csv", 10, data.parts[0].schema).decode()
        assert "search_visits" in text.splitlines()[0]
        assert (json.dumps(VISITS[0]).replace(" ", "") in text.replace(" ", "")) == (
            len(order) == 2
        )
    replays.compact(tmp_path)
    (merged,) = part_paths(replays_dir(tmp_path))
    assert pq.read_schema(merged).metadata[b"arena.schema_version"] == b"2"
    again = replays.open(tmp_path).to_table(columns=["match_id", "search_visits"])
    assert again.sort_by("match_id").equals(table)


@pytest.mark.parametrize("record", [True, False])
def test_tournament_records_search_only_when_asked(tmp_path, record):
    config = {
        "game": "connect_four",
        "agents": ["mcts:sims=16", "random"],
        "games_per_pair": 4,
        "out": str(tmp_path),
        "record_search": record,
    }
    run_tournament(config)
    table = replays.open(tmp_path).to_table()
    if not record:
        assert table["search_prior"].null_count == table["search_visits"].null_count == 4
        return
    for row in table.to_pylist():
        mcts_seat = row["agents"].index("mcts:sims=16")
        assert len(row["search_visits"]) == row["plies"] == len(row["search_prior"])
        for ply, (prior, visits) in enumerate(
            zip(row["search_prior"], row["search_visits"], strict=True)
        ):
            if ply % 2 != mcts_seat:  # random does not search
                assert prior == visits == []
                continue
            assert sum(visits) == 16 and len(visits) == 7
            assert visits[row["actions"][ply]] == max(visits)  # it plays its most visited
            legal = [p for p in prior if p > 0]  # mcts has no prior: uniform over legal moves
            assert sum(prior) == pytest.approx(1.0) and min(legal) == pytest.approx(max(legal))


def test_league_evaluation_records_search_when_configured(tmp_path):
    config = {**tiny(tmp_path), "rounds": 2}
    config["evaluation"] = {**config["evaluation"], "record_search": True}
    run = run_league(config, log=lambda _: None)
    rows = replays.open(run).to_table().to_pylist()
    searched = [r for r in rows if r["search_visits"] is not None]
    assert searched and all("-eval-" in r["match_id"] for r in searched)  # evaluation only
    assert any("-eval-" not in r["match_id"] for r in rows)  # training games were played
    for row in searched:
        opening = resolve(config)["evaluation"]["opening_plies"]  # random moves, no search
        for ply, visits in enumerate(row["search_visits"]):
            mover = row["agents"][ply % 2]
            if mover in ("random", "greedy") or ply < opening:  # the anchors do not search
                assert visits == row["search_prior"][ply] == []
            else:  # a learner's AlphaZero search: its priors and its visits over 9 cells
                assert len(visits) == 9 and sum(visits) > 0
                assert sum(row["search_prior"][ply]) == pytest.approx(1.0, abs=1e-5)


def test_puct_reports_the_evaluators_root_prior_before_noise():
    game = games.make("tic_tac_toe")
    state = game.play_sequences([[4], []])  # the centre taken in the first game
    weights = np.arange(1, 10, dtype=np.float32)

    def evaluate(rows):
        return np.tile(weights / weights.sum(), (len(rows), 1)), np.zeros(len(rows), np.float32)

    config = SearchConfig(sims=16, noise_fraction=0.5)
    result = search(game, state.data, evaluate, config, np.random.default_rng(0))
    legal = game.legal_mask(state)
    expected = np.where(legal, weights, 0) / np.where(legal, weights, 0).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(result.prior, expected, rtol=1e-6)
    assert (result.visits.sum(axis=1) > 0).all()
