"""The league end to end on Tic-tac-toe: roles, snapshots, metrics, resume after SIGKILL."""

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

import replays
from arena import ids, metrics
from arena.config import ConfigError
from arena.league import League, resolve, run_league
from replays.files import part_paths, replays_dir
from tests.killing import kill_when

TINY = {
    "game": "tic_tac_toe",
    "minutes": 0.0,
    "learner": {"sims": 8, "fast_sims": 4, "train_steps": 8, "batch_size": 32, "eval_sims": 8},
    "league": {
        "games_per_round": 16,
        "anchors": ["random", "greedy"],
        "snapshot_every": 2,
        "league_exploiters": 1,
    },
    "evaluation": {"every": 2, "games_per_pair": 4, "probe_positions": 8, "max_snapshots": 2},
}


def tiny(tmp_path, **overrides):
    return {**TINY, "out": str(tmp_path / "league"), **overrides}


def stored_keys(run_dir):
    table = replays.open(run_dir).to_table(columns=["match_id", "game_index"])
    return list(zip(table["match_id"].to_pylist(), table["game_index"].to_pylist(), strict=True))


def test_league_rounds_write_games_metrics_and_snapshots(tmp_path):
    run = run_league({**tiny(tmp_path), "rounds": 4}, log=lambda _: None)
    state = json.loads((run / "league.json").read_text())
    assert state["round"] == 4
    roles = {s["role"] for s in state["learners"]}
    assert roles == {"main", "main_exploiter", "league_exploiter"}
    snapshots = [m for m in state["population"] if m["role"] == "snapshot"]
    assert len(snapshots) >= 3  # every learner snapshots at least every 2 rounds
    assert {m["parent"] for m in snapshots} <= {"main", "main_exploiter", "league_exploiter"}
    keys = stored_keys(run)
    assert len(keys) == len(set(keys)) > 3 * 16 * 4
    assert metrics.rounds(run, "ratings") == [2, 4]
    assert metrics.rounds(run, "progress") == [1, 2, 3, 4]
    diversity = metrics.read_table(run, "diversity").to_pylist()
    names = {row["metric"] for row in diversity}
    assert {"effective_diversity", "nash_entropy", "mean_js_divergence", "dvd_logdet"} <= names
    ratings = metrics.read_table(run, "ratings").to_pylist()
    assert {"random", "greedy"} <= {row["agent"] for row in ratings}
    population = metrics.read_table(run, "population").to_pylist()
    assert {row["role"] for row in population} >= {"anchor", "snapshot", "main"}


def test_existing_league_needs_resume_and_matching_settings(tmp_path):
    run_league({**tiny(tmp_path), "rounds": 1}, log=lambda _: None)
    with pytest.raises(ConfigError, match="already holds a league run"):
        run_league({**tiny(tmp_path), "rounds": 1}, log=lambda _: None)
    changed = tiny(tmp_path, rounds=1, learner={**TINY["learner"], "channels": 8})
    with pytest.raises(ConfigError, match="settings that differ"):
        run_league(changed, resume=True, log=lambda _: None)
    other_game = {**tiny(tmp_path), "game": "connect_four", "rounds": 1}
    with pytest.raises(ConfigError, match="not of connect_four"):
        run_league(other_game, resume=True, log=lambda _: None)
    league = League(resolve({**tiny(tmp_path), "rounds": 1}), resume=True, log=lambda _: None)
    assert league.round == 1 and league.slots[0].learner.steps > 0


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"learner": {"sims": "many"}}, r"\[learner\]: key 'sims' must be a integer"),
        ({"league": {"pfsp": "easy"}}, r"key 'pfsp' must be one of hard, var"),
        ({"league": {"anchors": ["random", "nobody"]}}, "anchor 'nobody'"),
        ({"colour": 1}, "unknown key 'colour'"),
        ({"learner": {"algorithm": "dqn"}}, "must be one of alphazero, ppo"),
        ({"out": "runs/hex:size=7"}, "key 'out' 'runs/hex:size=7': .* may not contain ','"),
    ],
)
def test_config_errors_name_the_key(tmp_path, values, message):
    with pytest.raises(ConfigError, match=message):
        resolve({"game": "tic_tac_toe", "out": str(tmp_path), **values})


def stored_rounds(run_dir, seen: dict) -> dict[int, set[str]]:
    """Round -> kinds ('train', 'eval') of the games stored so far; `seen` caches what each
    part file holds, so that watching a running league reads every file once."""
    for path in part_paths(replays_dir(run_dir)):
        if path not in seen:
            stored = pq.read_table(path, columns=["match_id"])["match_id"].unique().to_pylist()
            seen[path] = {ids.parse_match_id(m) for m in stored}  # (round, kind)
    out: dict[int, set[str]] = {}
    for round_index, kind in set().union(*seen.values()):
        out.setdefault(round_index, set()).add(kind)
    return out


def committed_round(run_dir) -> int:
    """The last round league.json records (it is replaced atomically, never half-written)."""
    state = run_dir / "league.json"
    return json.loads(state.read_text())["round"] if state.exists() else 0


@pytest.mark.slow
def test_sigkill_then_resume_continues_consistently(tmp_path):
    run = tmp_path / "run"
    config = tmp_path / "league.toml"
    lines = ['game = "tic_tac_toe"', "minutes = 0.0", "rounds = 3", f'out = "{run}"']
    for section in ("learner", "league", "evaluation"):
        lines.append(f"[{section}]")
        for key, value in TINY[section].items():
            lines.append(f"{key} = {json.dumps(value)}")
    config.write_text("\n".join(lines) + "\n")
    command = [sys.executable, "-m", "arena", "league", "run", str(config)]
    seen: dict = {}

    def stored(kind: str, round_index: int = 2):
        return lambda: kind in stored_rounds(run, seen).get(round_index, set())

    # Round 2 plays and stores its training matches, then (every 2nd round does) plays and
    # stores its evaluation, then commits in league.json. Kill it after the training games
    # are stored, then (resumed) after the evaluation games are: both times with round 2
    # uncommitted, so that the replayed round meets games stored already.
    for attempt, kind in enumerate(("train", "eval")):
        proc = subprocess.Popen(
            command + (["--resume"] if attempt else []),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        kill_when(proc, stored(kind))
        assert committed_round(run) == 1
        assert stored_rounds(run, seen)[2] == {"train", kind}
    before = json.loads((run / "league.json").read_text())
    steps_before = {s["name"]: s["save_dir"] for s in before["learners"]}
    keys_before = set(stored_keys(run))
    resumed = subprocess.run(command + ["--resume"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "resumed after round 1" in resumed.stdout
    after = json.loads((run / "league.json").read_text())
    assert after["round"] == 1 + 3
    assert all(s["save_dir"] != steps_before[s["name"]] for s in after["learners"])
    keys = stored_keys(run)
    assert len(keys) == len(set(keys))
    assert keys_before <= set(keys)
    assert metrics.rounds(run, "progress") == [1, 2, 3, 4]


def test_ppo_learners_run_the_same_league(tmp_path):
    values = {
        **tiny(tmp_path),
        "rounds": 2,
        "learner": {"algorithm": "ppo", "blocks": 1, "channels": 8, "train_steps": 4},
    }
    run = run_league(values, log=lambda _: None)
    state = json.loads((run / "league.json").read_text())
    assert state["round"] == 2
    assert all(
        m["spec"].startswith("checkpoint:") for m in state["population"] if m["role"] == "snapshot"
    )
    assert metrics.rounds(run, "ratings") == [2]
