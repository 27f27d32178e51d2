"""PSRO with sampled payoffs (arena/psro_sampled.py) through the real CLI: AlphaZero oracles
on tic-tac-toe with budgets of seconds, the payoff tables against the stored games, and a
run killed with SIGKILL in the middle of an iteration's matches, then resumed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

import replays
from agents.checkpoint import checkpoint_paths
from agents.spec import checkpoint_path
from arena import ids, metrics, psro, psro_sampled
from arena.backends import LocalBackend, MatchJob
from arena.config import ConfigError
from replays.files import part_paths, replays_dir
from tests.killing import kill_when, parts_at_least
from tests.test_solve_cli import arena, error_line

GAMES_PER_PAIR = 4


def write_config(
    path: Path, rounds: int, meta_solver: str = "nash", games_per_pair: int = GAMES_PER_PAIR
) -> Path:
    """Tiny budgets: an oracle of about a second, few evaluation games."""
    path.write_text(
        f'mode = "psro"\ngame = "tic_tac_toe"\nrounds = {rounds}\ndevice = "cpu"\n'
        f'[psro]\noracle = "alphazero"\nmeta_solver = "{meta_solver}"\n'
        f"oracle_minutes = 0.01\noracle_eval_games = 4\ngames_per_pair = {games_per_pair}\n"
    )
    return path


def sampled_values(out: Path, rounds: int) -> dict:
    """write_config's settings as the values run_psro takes."""
    psro_section = {"oracle": "alphazero", "meta_solver": "nash", "oracle_minutes": 0.01}
    psro_section.update(oracle_eval_games=4, games_per_pair=GAMES_PER_PAIR)
    return {"mode": "psro", "game": "tic_tac_toe", "rounds": rounds, "device": "cpu",
            "out": str(out), "psro": psro_section}  # fmt: skip


class ReversedBackend(LocalBackend):
    """Plays a call's matches last first: a backend may finish them in any order."""

    name = "reversed"

    def play(self, game: str, jobs: Sequence[MatchJob], learners=None) -> Iterator:
        yield from super().play(game, list(reversed(jobs)), learners)


class LostBackend(LocalBackend):
    """Plays the matches of its first call, then fails as a lost cluster would."""

    name = "lost"

    def __init__(self):
        super().__init__()
        self.calls = 0

    def play(self, game: str, jobs: Sequence[MatchJob], learners=None) -> Iterator:
        self.calls += 1
        if self.calls > 1:
            raise ConnectionError("the cluster is gone")
        yield from super().play(game, jobs, learners)


def pending_run(out: Path) -> Path:
    """A run stopped by its backend before iteration 2's matches: iteration 1 complete, the
    trained member br2 pending, its two matches (against uniform and br1) still to play.
    Resuming it plays games that depend only on the stored members and the seeds."""
    with pytest.raises(ConnectionError):
        psro.run_psro(sampled_values(out, rounds=2), log=lambda _: None, backend=LostBackend())
    state = json.loads((out / psro.STATE_FILE).read_text())
    assert state["iteration"] == 1 and state["pending"]["agent"] == "br2"
    return out


def stored_games(run_dir: Path):
    columns = ["match_id", "game_index", "agents", "returns"]
    return replays.open(run_dir).to_table(columns=columns).to_pandas()


def recomputed_payoffs(run_dir: Path, names: list[str]) -> np.ndarray:
    """P[i, j] from the stored games, computed here: i's mean return against j in each
    seating (i first, j first), the two means averaged; 0 against itself (zero-sum)."""
    frame = stored_games(run_dir)
    p = np.zeros((len(names), len(names)))
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if i == j:
                continue
            means = []
            for seats in ([a, b], [b, a]):
                rows = frame[[list(agents) == seats for agents in frame["agents"]]]
                assert len(rows) == GAMES_PER_PAIR // 2, (seats, len(rows))
                means.append(np.mean([r[seats.index(a)] for r in rows["returns"]]))
            p[i, j] = np.mean(means)
    return p


def payoffs_from_metrics(run_dir: Path, names: list[str]) -> list[np.ndarray]:
    tables = [np.full((len(names),) * 2, np.nan) for _ in range(2)]
    for row in metrics.read_table(run_dir, psro.PAYOFF_TABLE).to_pylist():
        i, j = (names.index(agent) for agent in row["profile"])
        assert np.isnan(tables[row["player"]][i, j]), "an entry written twice"
        tables[row["player"]][i, j] = row["payoff"]
    return tables


def check_run(run_dir: Path, iterations: int) -> dict:
    """What every complete sampled run holds; returns its psro.json."""
    state = json.loads((run_dir / psro.STATE_FILE).read_text())
    names = [psro.member_name(k) for k in range(iterations + 1)]
    assert [m["agent"] for m in state["members"]] == names and state["pending"] is None
    assert all(m["spec"].startswith("az:") for m in state["members"][1:])
    # Every new member met every earlier one in one match of its iteration, each game once.
    frame = stored_games(run_dir)
    expected = {
        ids.match_id(k, "eval", names[k], names[j]) for k in range(1, iterations + 1)
        for j in range(k)
    }  # fmt: skip
    assert set(frame["match_id"]) == expected
    assert not frame.duplicated(["match_id", "game_index"]).any()
    assert (frame.groupby("match_id").size() == GAMES_PER_PAIR).all()
    # The payoff tables the run wrote are the stored games' (and the game is zero-sum).
    p = recomputed_payoffs(run_dir, names)
    ours = payoffs_from_metrics(run_dir, names)
    np.testing.assert_allclose(ours[0], p, atol=1e-12)
    np.testing.assert_allclose(ours[1], p.T, atol=1e-12)
    assert metrics.rounds(run_dir, psro.META_TABLE) == list(range(iterations + 1))
    for k in range(iterations + 1):
        rows = metrics.read_table(run_dir, psro.META_TABLE).to_pylist()
        mix = [r["probability"] for r in rows if r["round"] == k and r["player"] == 0]
        assert len(mix) == k + 1 and sum(mix) == pytest.approx(1.0)
    # No NashConv without the tree; each oracle's bound is about the mixture it faced.
    assert metrics.rounds(run_dir, psro.EXACT_TABLE) == []
    bounds = metrics.read_table(run_dir, psro_sampled.BOUND_TABLE).to_pylist()
    assert [(b["round"], b["agent"], b["exploiter"]) for b in bounds] == [
        (k - 1, psro_sampled.BOUND_AGENT, names[k]) for k in range(1, iterations + 1)
    ]
    assert all(b["ci_low"] <= b["bound"] <= b["ci_high"] for b in bounds)
    return state


def test_alphazero_psro_on_tic_tac_toe(tmp_path):
    config = write_config(tmp_path / "psro.toml", rounds=2)
    done = arena("league", "run", config, "--out", tmp_path / "run")
    assert done.stdout.count("alphazero best response") == 2
    assert "NashConv not available" in done.stdout
    check_run(tmp_path / "run", 2)
    # The first best response beats the random member in every game, and the nash mixture
    # then drops the random member for good.
    p = recomputed_payoffs(tmp_path / "run", ["uniform", "br1"])
    assert p[1, 0] > 0
    rows = metrics.read_table(tmp_path / "run", psro.META_TABLE).to_pylist()
    mix = [r["probability"] for r in rows if r["round"] == 1 and r["player"] == 0]
    assert mix == pytest.approx([0, 1], abs=1e-9)
    # Network members: no tabular policy to export, and the command says why.
    export = arena("policy", "export", tmp_path / "run", "--out", tmp_path / "p.json", check=False)
    assert "sampled payoffs" in error_line(export)


def test_a_run_killed_among_its_matches_resumes_with_its_member_and_games(tmp_path):
    """Killed after iteration 2's first match is stored, before its second: the resumed run
    keeps the trained member (no new training), plays only the missing match, and loses or
    repeats no game."""
    config = write_config(tmp_path / "psro.toml", rounds=2)
    run_dir = tmp_path / "run"
    child = subprocess.Popen(
        [sys.executable, "-m", "arena", "league", "run", str(config), "--out", str(run_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    kill_when(child, parts_at_least(replays_dir(run_dir), 2))  # iteration 1 made one part
    state = json.loads((run_dir / psro.STATE_FILE).read_text())
    assert state["iteration"] == 1 and state["pending"]["agent"] == "br2"
    before = stored_games(run_dir)
    assert len(part_paths(replays_dir(run_dir))) == 2
    resumed = arena("league", "run", "--resume", "--out", run_dir)
    assert "resumed after iteration 1" in resumed.stdout
    assert "the stored member br2" in resumed.stdout
    assert "best response" not in resumed.stdout  # nothing trained again
    final = check_run(run_dir, 2)
    assert final["members"][2]["sha256"] == state["pending"]["sha256"]
    after = stored_games(run_dir)
    kept = after.merge(before, on=["match_id", "game_index"], suffixes=("", "_before"))
    assert len(kept) == len(before)  # every game stored before the kill is still there, once
    # Going on: a finished run resumed with more rounds adds one iteration.
    arena("league", "run", "--resume", "--out", run_dir, "--rounds", 3)
    check_run(run_dir, 3)


@pytest.mark.parametrize(
    ("game", "oracle", "expected"),
    [
        ("connect_four", "exact", "use --oracle ppo or alphazero"),
        ("kuhn_poker:players=3", "alphazero", "perfect information"),
        ("matrix:name=pd", "ppo", "needs a two-player zero-sum game"),
    ],
)
def test_bad_sampled_settings_are_one_line_errors(game, oracle, expected, tmp_path):
    args = ["--mode", "psro", "--game", game, "--oracle", oracle, "--meta-solver", "prd"]
    line = error_line(arena("league", "run", *args, "--out", tmp_path / "run", check=False))
    assert expected in line
    assert not (tmp_path / "run").exists()


def test_matches_through_any_backend_play_the_same_games_in_a_copied_run(tmp_path):
    """The pending run copied twice elsewhere, the original deleted: each copy resumes (its
    members' paths are relative to the run), one on the local backend and one on a backend
    that finishes the matches in the other order, and both store the same games."""
    original = pending_run(tmp_path / "run")
    state = json.loads((original / psro.STATE_FILE).read_text())
    paths = [checkpoint_path(m["spec"]) for m in [*state["members"][1:], state["pending"]]]
    assert paths == ["members/br1/model", "members/br2/model"]
    assert [list(m["sha256"]) for m in state["members"][1:]] == [["members/br1/model"]]
    copies = {tmp_path / "moved" / "a": LocalBackend(), tmp_path / "b": ReversedBackend()}
    for copy in copies:
        shutil.copytree(original, copy)
    shutil.rmtree(original)
    for copy, backend in copies.items():
        lines: list[str] = []
        psro.run_psro(sampled_values(copy, 2), resume=True, log=lines.append, backend=backend)
        assert "the stored member br2" in lines[1]
        check_run(copy, 2)
    columns = ["match_id", "game_index", "agents", "seed", "actions", "returns"]
    a, b = (
        replays.open(copy)
        .to_table(columns=columns)
        .sort_by([(c, "ascending") for c in columns[:2]])
        for copy in copies
    )
    assert a.num_rows == 3 * GAMES_PER_PAIR and a.to_pydict() == b.to_pydict()
    # A member whose network changed in the copy is refused, naming it.
    weights, _ = checkpoint_paths(tmp_path / "b" / "members" / "br1" / "model")
    weights.write_bytes(weights.read_bytes() + b"\0")
    with pytest.raises(ConfigError, match="member 'br1' has changed"):
        psro.run_psro(sampled_values(tmp_path / "b", 3), resume=True, log=lambda _: None)


def test_games_per_pair_is_part_of_a_sampled_runs_identity(tmp_path):
    run_dir = tmp_path / "run"
    psro.run_psro(sampled_values(run_dir, rounds=1), log=lambda _: None)
    changed = write_config(tmp_path / "more.toml", rounds=2, games_per_pair=GAMES_PER_PAIR + 2)
    done = arena("league", "run", changed, "--out", run_dir, "--resume", check=False)
    assert "games_per_pair: run has 4, now 6" in error_line(done)
    assert json.loads((run_dir / psro.STATE_FILE).read_text())["iteration"] == 1
