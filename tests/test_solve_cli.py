"""`arena solve`, `arena policy export/import`, `arena eval exploitability`, `arena bench cfr`
and the `policy:PATH` agent, through the real CLI in subprocesses on real files: results
against OpenSpiel's own exploitability, a solve killed with SIGKILL and resumed, bad input."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import games
import replays
from agents.checkpoint import write_with_sidecar
from agents.tabular.agent import PolicyAgent
from agents.tabular.checkpoint import information_strings, policy_paths
from agents.tabular.policy import TabularPolicy
from agents.tabular.tree import build_tree
from arena import metrics
from tests.killing import kill_when

pyspiel = pytest.importorskip("pyspiel")


def arena(*args, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "arena", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def error_line(done: subprocess.CompletedProcess) -> str:
    """The one `error:` line of a command that failed cleanly with status 2."""
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stdout
    return lines[0]


def nash_conv_printed(output: str) -> float:
    return float(re.search(r"NashConv (\S+);", output).group(1))


def openspiel_nash_conv(name: str, exported: Path) -> float:
    """NashConv of an exported JSON policy as OpenSpiel computes it: the JSON set into an
    OpenSpiel TabularPolicy's action_probability_array."""
    from open_spiel.python import policy as os_policy
    from open_spiel.python.algorithms import exploitability

    game = pyspiel.load_game(name)
    tabular = os_policy.TabularPolicy(game)
    data = json.loads(exported.read_text())
    assert set(data) == set(tabular.state_lookup)
    for state, row in tabular.state_lookup.items():
        legal = np.flatnonzero(tabular.legal_actions_mask[row])
        tabular.action_probability_array[row] = 0.0
        tabular.action_probability_array[row, legal] = data[state]
    return exploitability.nash_conv(game, tabular)


@pytest.fixture(scope="module")
def kuhn_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("solve") / "kuhn"
    done = arena(
        "solve", "--game", "kuhn_poker", "--algorithm", "cfr+", "--iterations", 250,
        "--eval-every", 100, "--out", out, "--no-progress",
    )  # fmt: skip
    assert "policy:" in done.stdout
    return out


def test_a_solve_run_holds_its_curve_and_policy(kuhn_run):
    curve = metrics.read_table(kuhn_run, "exploitability").to_pydict()
    assert curve["iteration"] == [100, 200, 250]  # every 100 and the end
    assert curve["exploitability"][-1] < curve["exploitability"][0]
    assert np.allclose(curve["nash_conv"], np.array(curve["exploitability"]) * 2)
    assert json.loads((kuhn_run / "run.json").read_text())["kind"] == "solve"
    meta = json.loads(policy_paths(kuhn_run / "policy")[1].read_text())
    assert (meta["algorithm"], meta["iterations"]) == ("cfr+", 250)
    table = pq.read_table(policy_paths(kuhn_run / "policy")[0])
    tree = build_tree(games.make("kuhn_poker"))
    assert table.column("info_state").to_pylist() == information_strings(tree)


@pytest.mark.parametrize(
    "spec, name",
    [
        ("kuhn_poker", "kuhn_poker"),
        ("kuhn_poker:players=3", "kuhn_poker(players=3)"),
        ("leduc_poker", "leduc_poker"),
    ],
)
def test_export_gives_openspiel_our_exploitability(spec, name, kuhn_run, tmp_path):
    if spec == "kuhn_poker":
        run = kuhn_run
    else:
        run = tmp_path / "run"
        arena("solve", "--game", spec, "--iterations", 30, "--out", run, "--no-progress")
    exported = tmp_path / "policy.json"
    arena("policy", "export", run, "--format", "openspiel", "--out", exported)
    ours = metrics.read_table(run, "exploitability").column("nash_conv").to_pylist()[-1]
    theirs = openspiel_nash_conv(name, exported)
    assert theirs == pytest.approx(ours, abs=1e-9)


def test_import_of_an_export_measures_the_same(kuhn_run, tmp_path):
    exported = tmp_path / "kuhn.json"
    arena("policy", "export", kuhn_run / "policy", "--out", exported)
    arena("policy", "import", exported, "--game", "kuhn_poker", "--out", tmp_path / "imported")
    measured = arena(
        "eval", "exploitability", "--game", "kuhn_poker", "--agent", f"policy:{tmp_path}/imported"
    )
    ours = metrics.read_table(kuhn_run, "exploitability").column("nash_conv").to_pylist()[-1]
    assert nash_conv_printed(measured.stdout) == pytest.approx(ours, rel=1e-5)
    assert "(strategy)" in measured.stdout


def test_eval_exploitability_of_an_agent_that_only_acts():
    agent = "tests.agents_for_tests:RandomActOnly"
    done = arena(
        "eval", "exploitability", "--game", "kuhn_poker", "--agent", agent, "--samples", 4000
    )
    assert "act, 4,000 samples" in done.stdout
    # Uniform random Kuhn play: NashConv 11/12 exactly; sampling it moves that a little.
    assert nash_conv_printed(done.stdout) == pytest.approx(11 / 12, abs=0.05)
    stated = arena("eval", "exploitability", "--game", "kuhn_poker", "--agent", "random")
    assert "(strategy)" in stated.stdout
    assert nash_conv_printed(stated.stdout) == pytest.approx(11 / 12, abs=1e-6)  # as printed


def test_a_policy_plays_a_tournament(kuhn_run, tmp_path):
    out = tmp_path / "tournament"
    arena(
        "tournament", "--game", "kuhn_poker", "--agents", f"policy:{kuhn_run}/policy", "random",
        "--games-per-pair", 40, "--out", out, "--no-progress",
    )  # fmt: skip
    table = replays.open(out).to_table(columns=["termination"])
    assert set(table.column("termination").to_pylist()) == {"normal"}
    run = json.loads((out / "run.json").read_text())
    assert list(run["checkpoints"]) == [f"{kuhn_run}/policy"]


def test_a_policy_plays_simultaneous_moves_in_a_tournament(tmp_path):
    """Goofspiel's turns are simultaneous nodes: the runner asks each seat (player=seat)."""
    solved, out = tmp_path / "solved", tmp_path / "tournament"
    spec = "goofspiel:cards=3"
    arena("solve", "--game", spec, "--iterations", 50, "--out", solved, "--no-progress")
    arena(
        "tournament", "--game", spec, "--agents", f"policy:{solved}/policy", "random",
        "--games-per-pair", 20, "--out", out, "--no-progress",
    )  # fmt: skip
    table = replays.open(out).to_table(columns=["termination", "reason"])
    assert set(table.column("termination").to_pylist()) == {"normal"}, table.to_pylist()


def test_the_agent_names_an_information_state_its_policy_lacks():
    game = games.make("kuhn_poker")
    tree = build_tree(game)
    keep = tree.info_player == 0  # player 1's states are missing
    policy = TabularPolicy(
        tree.spec, tree.info_player[keep], tree.info_key[keep], tree.info_legal[keep] / 2.0
    )
    state = game.init(4, seed=0)
    game.sample_chance(state)
    game.step(state, np.zeros(4, dtype=np.int64))  # player 0 passes: player 1 to move
    agent = PolicyAgent(policy, "half")
    with pytest.raises(ValueError, match=r"half has no strategy for player 1 .*'\dp'"):
        agent.act(game, state, game.legal_mask(state), np.random.default_rng(0))


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ["cfr", "cfr+", "mccfr"])
def test_a_killed_solve_resumes_to_the_uninterrupted_result(algorithm, tmp_path):
    args = ["--game", "leduc_poker", "--algorithm", algorithm, "--eval-every", 500]
    iterations = 6000 if algorithm != "mccfr" else 60000
    args += ["--iterations", iterations, "--no-progress"]
    arena("solve", *args, "--out", tmp_path / "whole")
    cut = tmp_path / "cut"
    child = subprocess.Popen(
        [sys.executable, "-m", "arena", "solve", *map(str, args), "--out", str(cut)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    kill_when(child, lambda: (cut / "solver.safetensors").is_file())
    assert not policy_paths(cut / "policy")[0].exists()
    resumed = arena("solve", *args, "--out", cut, "--resume")
    run_now = int(re.match(r"([\d,]+) iterations", resumed.stdout).group(1).replace(",", ""))
    assert 0 < run_now < iterations  # from the last save, not from the start
    for table in ("whole", "cut"):
        assert (tmp_path / table / "policy.parquet").is_file()
    whole = pq.read_table(tmp_path / "whole" / "policy.parquet")
    assert pq.read_table(cut / "policy.parquet").equals(whole)
    curves = [
        metrics.read_table(tmp_path / run, "exploitability").select(["iteration", "nash_conv"])
        for run in ("whole", "cut")
    ]
    assert curves[0].equals(curves[1])


def test_bench_cfr_compares_with_openspiel():
    done = arena("bench", "cfr", "--game", "kuhn_poker", "--iterations", 200)
    assert "arena CFR+:" in done.stdout and "OpenSpiel CFRPlusSolver:" in done.stdout
    assert "x as fast" in done.stdout


def test_a_game_without_information_states_is_refused_before_a_run(tmp_path):
    out = tmp_path / "run"
    line = error_line(
        arena("solve", "--game", "tic_tac_toe", "--iterations", 5, "--out", out, check=False)
    )
    assert "perfect information" in line and "tic_tac_toe" in line
    assert not out.exists()
    line = error_line(
        arena("solve", "--game", "kuhn_poker", "--algorithm", "xcfr", "--iterations", 5,
              "--out", out, check=False)
    )  # fmt: skip
    assert "xcfr" in line and "cfr+" in line
    assert not out.exists()


def test_a_policy_of_another_game_is_refused(kuhn_run):
    done = arena(
        "eval", "exploitability", "--game", "leduc_poker", "--agent", f"policy:{kuhn_run}/policy",
        check=False,
    )  # fmt: skip
    line = error_line(done)
    assert "kuhn_poker:players=2" in line and "not 'leduc_poker'" in line


def test_a_checkpoint_missing_an_information_state_names_it(kuhn_run, tmp_path):
    table = pq.read_table(policy_paths(kuhn_run / "policy")[0])
    dropped = table.column("info_state")[5].as_py()
    short = pa.concat_tables([table.slice(0, 5), table.slice(6)])
    sink = io.BytesIO()
    pq.write_table(short, sink)
    meta = json.loads(policy_paths(kuhn_run / "policy")[1].read_text())
    table_path, meta_path = policy_paths(tmp_path / "short")
    write_with_sidecar(table_path, sink.getvalue(), meta_path, meta, "table", "metadata")
    done = arena(
        "eval", "exploitability", "--game", "kuhn_poker", "--agent", f"policy:{tmp_path}/short",
        check=False,
    )  # fmt: skip
    line = error_line(done)
    assert "no strategy for player" in line and repr(dropped) in line
    assert "short.parquet" in line


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"0": [0.5, 0.5],\n "1": [0.5 0.5]}', r"not valid JSON at line 2, column"),
        ("[1, 2]", r"expected an object"),
        ('{"nonsense": [1.0, 0.0]}', r"'nonsense' is not an information state of kuhn_poker"),
        ('{"0": [0.5, 0.5]}', r"lacks information state '1' of kuhn_poker"),
        ('{"0": [1.0]}', r"'0' needs a list of 2 probabilities"),
        ('{"0": [0.7, 0.7]}', r"not a probability distribution"),
    ],
)
def test_a_bad_openspiel_json_is_named_and_writes_nothing(text, expected, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    out = tmp_path / "policy"
    line = error_line(
        arena("policy", "import", bad, "--game", "kuhn_poker", "--out", out, check=False)
    )
    assert re.search(expected, line), line
    assert str(bad) in line
    assert not any(p.exists() for p in policy_paths(out))
