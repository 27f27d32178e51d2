"""Tournaments end to end: schedule, seats, openings, forfeits, resume and bad input."""

import os
import subprocess
import sys

import numpy as np
import pytest

import replays
from arena import results
from arena.config import ConfigError
from arena.tournament import resolve, run_tournament, schedule
from replays.files import part_paths
from tests.killing import kill_when, parts_at_least


def config(tmp_path, **overrides):
    values = {
        "game": "connect_four",
        "agents": ["random", "greedy", "first=tests.agents_for_tests:Illegal"],
        "games_per_pair": 20,
        "concurrency": 8,
        "seed": 5,
        "out": str(tmp_path / "run"),
    }
    values.update(overrides)
    return values


def games_table(run):
    run_dir = getattr(run, "run_dir", run)  # a TournamentReport or a path
    return (
        replays.open(run_dir)
        .to_table()
        .sort_by([("match_id", "ascending"), ("game_index", "ascending")])
    )


def test_round_robin_plays_every_pair_with_fair_seats(tmp_path):
    run = run_tournament(config(tmp_path, agents=["random", "greedy", "mcts:sims=8"]))
    table = games_table(run)
    assert table.num_rows == 3 * 20
    seats = np.array(table["agents"].to_pylist())
    for a, b in [("random", "greedy"), ("random", "mcts:sims=8"), ("greedy", "mcts:sims=8")]:
        pair = ((seats[:, 0] == a) & (seats[:, 1] == b)) | ((seats[:, 0] == b) & (seats[:, 1] == a))
        assert pair.sum() == 20
        assert (seats[pair, 0] == a).sum() == 10  # each agent moves first in half the games
    keys = set(zip(table["match_id"].to_pylist(), table["game_index"].to_pylist(), strict=True))
    assert len(keys) == table.num_rows
    assert set(table["termination"].to_pylist()) == {"normal"}
    # mcts reports its search: values are stored for its moves only.
    row = table.filter(np.array([s[0] == "mcts:sims=8" for s in seats])).slice(0, 1).to_pylist()[0]
    assert row["values"] is not None and not np.isnan(row["values"][0])
    assert np.isnan(row["values"][1])
    # Ratings come from the dataset: greedy beats random.
    fitted = results.ratings(run.run_dir)
    by_name = dict(zip(fitted.agents, fitted.rating, strict=True))
    assert by_name["greedy"] > by_name["random"] == 0


def test_gauntlet_and_openings_from_both_seats(tmp_path):
    run = run_tournament(
        config(
            tmp_path, agents=["greedy", "random", "mcts:sims=4"], format="gauntlet", opening_plies=4
        )
    )
    table = games_table(run)
    assert table.num_rows == 2 * 20
    seats = table["agents"].to_pylist()
    assert all("greedy" in s for s in seats)
    actions = table["actions"].to_pylist()
    for k in range(0, table.num_rows, 2):
        assert actions[k][:4] == actions[k + 1][:4]
        assert seats[k] == seats[k + 1][::-1]
    assert len({tuple(a[:4]) for a in actions}) > 5  # openings differ


def test_same_seed_same_games_and_match_ids(tmp_path):
    first = games_table(run_tournament(config(tmp_path / "a", agents=["random", "greedy"])))
    second = games_table(run_tournament(config(tmp_path / "b", agents=["random", "greedy"])))
    for column in ("match_id", "game_index", "actions", "winner", "agents", "seed"):
        assert first[column].to_pylist() == second[column].to_pylist()
    other = games_table(run_tournament(config(tmp_path / "c", agents=["random", "greedy"], seed=6)))
    assert other["match_id"].to_pylist() != first["match_id"].to_pylist()


def test_crashing_and_illegal_agents_forfeit_only_their_games(tmp_path):
    run = run_tournament(
        config(
            tmp_path,
            agents=[
                "random",
                "bad=tests.agents_for_tests:Crashing",
                "first=tests.agents_for_tests:Illegal",
            ],
        )
    )
    table = games_table(run).to_pylist()
    assert len(table) == 60
    for row in table:
        seats = row["agents"]
        if "bad" in seats:
            assert row["termination"] == "forfeit"
            assert "bad raised RuntimeError: boom" in row["reason"]
            assert seats[row["winner"]] != "bad"
        elif row["termination"] == "forfeit":
            assert "first played illegal action" in row["reason"]
            assert seats[row["winner"]] == "random"
    normal = [r for r in table if r["termination"] == "normal"]
    assert normal, "games with a full column never reached become normal games"


def test_existing_run_is_refused_without_resume_and_kept_intact(tmp_path):
    run = run_tournament(config(tmp_path, agents=["random", "greedy"])).run_dir
    before = {p.name: p.read_bytes() for p in (run / "replays").iterdir()}
    with pytest.raises(ConfigError, match="already holds a tournament run"):
        run_tournament(config(tmp_path, agents=["random", "greedy"]))
    with pytest.raises(ConfigError, match="settings that differ.*games_per_pair"):
        run_tournament(
            config(tmp_path, agents=["random", "greedy"], games_per_pair=30), resume=True
        )
    with pytest.raises(ConfigError, match="run of connect_four, not of tic_tac_toe"):
        run_tournament(
            config(tmp_path, agents=["random", "greedy"], game="tic_tac_toe"), resume=True
        )
    run_tournament(config(tmp_path, agents=["random", "greedy"]), resume=True)  # nothing to do
    after = {p.name: p.read_bytes() for p in (run / "replays").iterdir()}
    assert before == after


def test_foreign_directory_is_refused(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not an arena run directory"):
        run_tournament(config(tmp_path))
    assert os.listdir(tmp_path / "run") == ["notes.txt"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "unknown key 'colour'; valid keys:"),
        ({"games_per_pair": "ten"}, "key 'games_per_pair' must be a integer, got str"),
        ({"format": "swiss"}, "key 'format' must be one of round-robin, gauntlet"),
        ({"game": "chess"}, "key 'game': unknown game 'chess'; available games: connect_four,"),
        ({"game": "connect_four:size=9"}, "key 'game': connect_four has no parameter 'size'"),
        ({"agents": ["random"]}, "at least 2 agents"),
        ({"agents": ["random", "random"]}, "given twice"),
        ({"opening_plies": 2, "games_per_pair": 3}, "must be even"),
        ({"concurrency": 0}, "key 'concurrency' must be >= 1"),
    ],
)
def test_config_errors_name_the_key(tmp_path, change, message):
    with pytest.raises(ConfigError, match=message):
        resolve(config(tmp_path, **change))


def test_unknown_agent_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown agent spec 'alphabeta'"):
        run_tournament(config(tmp_path, agents=["random", "alphabeta"]))
    assert not (tmp_path / "run").exists()


def test_toml_config_through_the_cli(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text(
        'game = "tic_tac_toe"\nagents = ["random", "strong=greedy"]\ngames_per_pair = 10\n'
        f'out = "{tmp_path / "run"}"\n'
    )
    out = subprocess.run(
        [sys.executable, "-m", "arena", "tournament", str(path), "--no-progress"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "strong" in out.stdout and "score rate" in out.stdout
    path.write_text('game = "tic_tac_toe"\nagents = "random"\n')
    out = subprocess.run(
        [sys.executable, "-m", "arena", "tournament", str(path)], capture_output=True, text=True
    )
    assert out.returncode == 2 and "key 'agents' must be a list" in out.stdout


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_keeps_exactly_the_schedule(tmp_path):
    # 90 matches of 4 games, one part file each: 30 quick ones (random v greedy) first, then
    # 60 with MCTS, so each kill below, made within the first 30 files, leaves most of the
    # run to play whatever the machine's speed.
    values = config(
        tmp_path, agents=["random", "greedy", "mcts:sims=64"], games_per_pair=120, concurrency=4
    )
    command = [
        sys.executable,
        "-m",
        "arena",
        "tournament",
        "--game",
        values["game"],
        "--agents",
        *values["agents"],
        "--games-per-pair",
        "120",
        "--concurrency",
        "4",
        "--seed",
        "5",
        "--out",
        values["out"],
        "--flush-seconds",
        "0",
        "--no-progress",
    ]
    parts = tmp_path / "run" / "replays"
    total = 3 * 120
    stored_at_kills = [0]
    for attempt, new_files in enumerate((1, 4, 9)):  # each kill further into the run
        proc = subprocess.Popen(
            command + (["--resume"] if attempt else []),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        kill_when(proc, parts_at_least(parts, len(part_paths(parts)) + new_files))
        stored_at_kills.append(replays.open(values["out"]).count())
    # Every kill landed mid-run: it came after new games were stored, before the last ones.
    assert stored_at_kills == sorted(set(stored_at_kills)) and stored_at_kills[-1] < total
    final = subprocess.run(command + ["--resume"], capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stdout + final.stderr
    table = games_table(values["out"])
    expected = {(m.match_id, i) for m in schedule(resolve(values)) for i in range(m.games)}
    stored = list(zip(table["match_id"].to_pylist(), table["game_index"].to_pylist(), strict=True))
    assert len(stored) == len(set(stored)) == len(expected)
    assert set(stored) == expected
    leftovers = [
        p for p in (tmp_path / "run" / "replays").iterdir() if not p.name.endswith(".parquet")
    ]
    assert leftovers == [] or all(p.name.startswith(".") for p in leftovers)
