"""The league end to end on Tic-tac-toe: roles, snapshots, metrics, resume after SIGKILL."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import replays
from arena import metrics
from arena.config import ConfigError
from arena.league import League, resolve, run_league

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
    ],
)
def test_config_errors_name_the_key(tmp_path, values, message):
    with pytest.raises(ConfigError, match=message):
        resolve({"game": "tic_tac_toe", "out": str(tmp_path), **values})


def test_sigkill_then_resume_continues_consistently(tmp_path):
    config = tmp_path / "league.toml"
    lines = ['game = "tic_tac_toe"', "minutes = 0.0", "rounds = 8", f'out = "{tmp_path / "run"}"']
    for section in ("learner", "league", "evaluation"):
        lines.append(f"[{section}]")
        for key, value in TINY[section].items():
            lines.append(f"{key} = {json.dumps(value)}")
    config.write_text("\n".join(lines) + "\n")
    command = [sys.executable, "-m", "arena", "league", "run", str(config)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    state_file = tmp_path / "run" / "league.json"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if state_file.exists() and json.loads(state_file.read_text())["round"] >= 2:
            time.sleep(float(np.random.default_rng(1).uniform(0.5, 3.0)))
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = json.loads(state_file.read_text())
    steps_before = {s["name"]: s["save_dir"] for s in before["learners"]}
    keys_before = set(stored_keys(tmp_path / "run"))
    resumed = subprocess.run(command + ["--resume"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"resumed after round {before['round']}" in resumed.stdout
    after = json.loads(state_file.read_text())
    assert after["round"] == before["round"] + 8
    assert all(s["save_dir"] != steps_before[s["name"]] for s in after["learners"])
    keys = stored_keys(tmp_path / "run")
    assert len(keys) == len(set(keys))
    assert keys_before <= set(keys)
    rounds = metrics.rounds(tmp_path / "run", "progress")
    assert rounds == list(range(1, after["round"] + 1))


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
