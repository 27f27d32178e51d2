"""PSRO as a league mode (`arena league run --mode psro`, arena/psro.py) through the real CLI
on real files: the mixture against OpenSpiel's policy_aggregator and exploitability, the
payoff tables against OpenSpiel's expected returns, the NashConv curve against OpenSpiel's
psro_v2, a run killed with SIGKILL and resumed, bad input."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import games
import replays
from agents.tabular.checkpoint import load_policy
from agents.tabular.openspiel_json import to_openspiel
from agents.tabular.tree import build_tree
from arena import bench_psro, metrics, psro
from tests.killing import kill_when
from tests.test_solve_cli import arena, error_line, openspiel_nash_conv

pyspiel = pytest.importorskip("pyspiel")


def run(out: Path, game: str, meta_solver: str, rounds: int, *extra, check: bool = True):
    """`arena league run --mode psro` (a CompletedProcess)."""
    return arena(
        "league", "run", "--mode", "psro", "--game", game, "--meta-solver", meta_solver,
        "--rounds", rounds, "--out", out, *extra, check=check,
    )  # fmt: skip


def nash_conv_curve(run_dir: Path) -> list[float]:
    return metrics.read_table(run_dir, psro.EXACT_TABLE).column("nash_conv").to_pylist()


def meta_strategies(run_dir: Path, iteration: int) -> list[np.ndarray]:
    table = metrics.read_table(run_dir, psro.META_TABLE).to_pylist()
    rows = [r for r in table if r["round"] == iteration]
    players = sorted({r["player"] for r in rows})
    return [np.array([r["probability"] for r in rows if r["player"] == p]) for p in players]


def openspiel_members(run_dir: Path, spec: str, name: str) -> list:
    """The run's members as OpenSpiel TabularPolicies, in population order."""
    from open_spiel.python import policy as os_policy

    game, state = games.make(spec), json.loads((run_dir / psro.STATE_FILE).read_text())
    tree = build_tree(game)
    members = []
    for record in state["members"]:
        ours, _ = load_policy(run_dir / record["path"], game, tree)
        data = to_openspiel(ours, tree)
        theirs = os_policy.TabularPolicy(pyspiel.load_game(name))
        for key, row in theirs.state_lookup.items():
            legal = np.flatnonzero(theirs.legal_actions_mask[row])
            theirs.action_probability_array[row] = 0.0
            theirs.action_probability_array[row, legal] = data[key]
        members.append(theirs)
    return members


@pytest.fixture(scope="module")
def leduc_uniform(tmp_path_factory) -> Path:
    """Leduc, 3 iterations of the uniform meta-solver: every member mixed in."""
    out = tmp_path_factory.mktemp("psro") / "leduc"
    done = run(out, "leduc_poker", "uniform", 3)
    assert "PSRO iteration 3: NashConv" in done.stdout and "policy:" in done.stdout
    return out


def test_a_psro_run_holds_its_members_curve_meta_strategies_and_payoffs(leduc_uniform, tmp_path):
    state = json.loads((leduc_uniform / psro.STATE_FILE).read_text())
    assert [m["agent"] for m in state["members"]] == ["uniform", "br1", "br2", "br3"]
    assert metrics.read_table(leduc_uniform, psro.EXACT_TABLE)["iteration"].to_pylist() == [
        0, 1, 2, 3
    ]  # fmt: skip
    for mix in meta_strategies(leduc_uniform, 3):
        assert mix == pytest.approx([0.25] * 4)
    # Each round adds the entries with its new member in a seat: 1, 3, 5, 7 per player.
    payoffs = metrics.read_table(leduc_uniform, psro.PAYOFF_TABLE).to_pylist()
    assert [sum(r["round"] == k for r in payoffs) for k in range(4)] == [2, 6, 10, 14]
    assert len({(r["player"], tuple(r["profile"])) for r in payoffs}) == 2 * 16
    # A member, and the mixture, are policy checkpoints that play as agents.
    out = tmp_path / "tournament"
    arena(
        "tournament", "--game", "leduc_poker", "--agents", f"policy:{leduc_uniform}/members/br2",
        f"policy:{leduc_uniform}/policy", "--games-per-pair", 20, "--out", out, "--no-progress",
    )  # fmt: skip
    table = replays.open(out).to_table(columns=["termination"])
    assert set(table.column("termination").to_pylist()) == {"normal"}


def test_payoff_tables_are_openspiel_expected_returns(tmp_path):
    """Exact payoffs by one contraction over the terminal nodes, for 2 and 3 players."""
    from open_spiel.python.algorithms import expected_game_score

    for spec, name, rounds in [("kuhn_poker", "kuhn_poker", 3), ("kuhn_poker:players=3",
                               "kuhn_poker(players=3)", 2)]:  # fmt: skip
        out = tmp_path / name
        run(out, spec, "uniform" if "3" in spec else "nash", rounds)
        members = openspiel_members(out, spec, name)
        game = pyspiel.load_game(name)
        tables = metrics.read_table(out, psro.PAYOFF_TABLE).to_pylist()
        names = [m["agent"] for m in json.loads((out / psro.STATE_FILE).read_text())["members"]]
        assert len(tables) == game.num_players() * len(names) ** game.num_players()
        for row in tables:
            profile = [members[names.index(agent)] for agent in row["profile"]]
            value = expected_game_score.policy_value(game.new_initial_state(), profile)
            assert row["payoff"] == pytest.approx(value[row["player"]], abs=1e-12)


def test_the_mixture_is_openspiels_policy_aggregator_and_its_nash_conv(leduc_uniform, tmp_path):
    """The exported mixture: OpenSpiel's NashConv of it is ours, and it is what OpenSpiel's
    policy_aggregator makes of the same members and meta-strategy."""
    from open_spiel.python.algorithms import exploitability, policy_aggregator

    exported = tmp_path / "mixture.json"
    arena("policy", "export", leduc_uniform, "--format", "openspiel", "--out", exported)
    ours = nash_conv_curve(leduc_uniform)[-1]
    assert openspiel_nash_conv("leduc_poker", exported) == pytest.approx(ours, abs=1e-6)
    game = pyspiel.load_game("leduc_poker")
    members = openspiel_members(leduc_uniform, "leduc_poker", "leduc_poker")
    meta = meta_strategies(leduc_uniform, 3)
    aggregated = policy_aggregator.PolicyAggregator(game).aggregate(
        range(2), [members, members], meta
    )
    assert exploitability.nash_conv(game, aggregated) == pytest.approx(ours, abs=1e-6)
    data = json.loads(exported.read_text())
    worst_plain = 0.0
    for table in aggregated.policy:
        for key, probs in table.items():
            theirs = [probs[a] for a in sorted(probs)]
            assert data[key] == pytest.approx(theirs, abs=1e-9)
            plain = np.mean([[m.policy_for_key(key)[a] for a in sorted(probs)] for m in members], 0)
            worst_plain = max(worst_plain, float(np.abs(plain - theirs).max()))
    # A plain per-state average of the members is another policy: the weighting matters.
    assert worst_plain > 0.1


def test_kuhn_curve_agrees_with_openspiel_psro_v2():
    """Same game, meta-solver, exact best responses and exact payoffs: the curves are equal
    while both pick the same best responses and meta-strategies. They part where a best
    response has tied actions (OpenSpiel sums in another order, so its float ties break
    otherwise: uniform from iteration 8) or the meta-game has several equilibria (the LPs
    pick different ones: nash from iteration 3); both reach NashConv 0 by iteration 15."""
    agree = {"uniform": 8, "nash": 3}
    for meta_solver, same in agree.items():
        ours = bench_psro.ours("kuhn_poker", meta_solver, 15)
        with contextlib.redirect_stdout(io.StringIO()):
            theirs = bench_psro.openspiel("kuhn_poker", meta_solver, 15)
        assert ours.nash_conv[:same] == pytest.approx(theirs.nash_conv[:same], abs=1e-6)
    assert max(ours.nash_conv[-1], theirs.nash_conv[-1]) < 0.01  # nash, iteration 15


# `arena league run` that stops just before it writes iteration 4's psro.json (its metrics
# written), says so, and waits: the kill then lands there however fast an iteration is
# (about 35 ms on Leduc here, less than a loaded machine may take to poll a file).
STOPS_BEFORE_STATE_4 = (
    "import json, time\n"
    "import arena.psro as p\n"
    "from arena.cli import app\n"
    "write = p.atomic_write\n"
    "def stopping(path, data):\n"
    "    if path.name == p.STATE_FILE and json.loads(data)['iteration'] == 4:\n"
    "        print('before state 4', flush=True); time.sleep(3600)\n"
    "    write(path, data)\n"
    "p.atomic_write = stopping\n"
    "app(prog_name='arena')\n"
)


def test_a_killed_run_resumes_to_the_uninterrupted_result(tmp_path):
    """Killed after iteration 4's metrics, before its psro.json: the resumed run writes that
    iteration again (not twice) and ends as a run never killed."""
    args = ["--mode", "psro", "--game", "leduc_poker", "--meta-solver", "nash", "--rounds", 8]
    arena("league", "run", *args, "--out", tmp_path / "whole")
    cut = tmp_path / "cut"
    child = subprocess.Popen(
        [sys.executable, "-c", STOPS_BEFORE_STATE_4, "league", "run", *map(str, args)]
        + ["--out", str(cut)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def stopped() -> bool:  # reads the child's next line; "" once it has ended
        return child.stdout.readline() == "before state 4\n"

    kill_when(child, stopped)
    marker = metrics.metrics_dir(cut, psro.EXACT_TABLE) / "round-000004.parquet"
    assert marker.is_file()  # iteration 4's metrics are written, its state is not
    assert json.loads((cut / psro.STATE_FILE).read_text())["iteration"] == 3
    resumed = arena("league", "run", "--resume", "--out", cut)  # settings from the run folder
    assert "resumed after iteration" in resumed.stdout
    assert "iteration 0:" not in resumed.stdout  # nothing done twice from the start
    for table in (psro.EXACT_TABLE, psro.META_TABLE, psro.PAYOFF_TABLE):
        whole, again = (metrics.read_table(tmp_path / r, table) for r in ("whole", "cut"))
        assert again.drop_columns(["elapsed_seconds"] if table == psro.EXACT_TABLE else []).equals(
            whole.drop_columns(["elapsed_seconds"] if table == psro.EXACT_TABLE else [])
        )
    assert nash_conv_curve(cut) == nash_conv_curve(tmp_path / "whole")
    assert metrics.rounds(cut, psro.EXACT_TABLE) == list(range(9))
    stems = [f"{psro.MEMBERS_DIR}/{psro.member_name(k)}" for k in range(9)] + [psro.POLICY]
    for stem in stems:
        whole, again = (pq.read_table(tmp_path / r / f"{stem}.parquet") for r in ("whole", "cut"))
        assert again.equals(whole)
    # Going on: a resumed run that is done does nothing more; --rounds takes it further.
    arena("league", "run", "--resume", "--out", cut, "--rounds", 9)
    assert metrics.rounds(cut, psro.EXACT_TABLE) == list(range(10))


def test_the_ppo_oracle_adds_pure_trained_best_responses(tmp_path):
    """The ppo oracle: a PPO exploiter trained against the mixture, read as a greedy tabular
    policy; payoffs and NashConv stay exact."""
    config = tmp_path / "psro.toml"
    config.write_text(
        'mode = "psro"\ngame = "kuhn_poker"\nrounds = 2\n'
        '[psro]\noracle = "ppo"\nmeta_solver = "uniform"\noracle_minutes = 0.05\n'
    )
    done = arena("league", "run", config, "--out", tmp_path / "run", "--device", "cpu")
    assert done.stdout.count("PPO best response trained") == 2
    game = games.make("kuhn_poker")
    tree = build_tree(game)
    for name in ("br1", "br2"):
        member, _ = load_policy(tmp_path / "run" / psro.MEMBERS_DIR / name, game, tree)
        assert set(np.unique(member.probs)) == {0.0, 1.0}
    assert len(nash_conv_curve(tmp_path / "run")) == 3


def test_a_resumed_run_keeps_its_meta_solver_and_members(tmp_path):
    run(tmp_path / "run", "kuhn_poker", "nash", 1)
    line = error_line(run(tmp_path / "run", "kuhn_poker", "uniform", 2, "--resume", check=False))
    assert "meta_solver" in line and "nash" in line and "uniform" in line
    # A member replaced by another valid policy (here: the mixture) is refused by its sha256.
    member = tmp_path / "run" / psro.MEMBERS_DIR / "br1"
    for suffix in (".parquet", ".json"):
        source = tmp_path / "run" / f"{psro.POLICY}{suffix}"
        Path(f"{member}{suffix}").write_bytes(source.read_bytes())
    line = error_line(run(tmp_path / "run", "kuhn_poker", "nash", 2, "--resume", check=False))
    assert "'br1' has changed" in line
    assert metrics.rounds(tmp_path / "run", psro.EXACT_TABLE) == [0, 1]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--mode", "psro", "--game", "kuhn_poker", "--meta-solver", "best"], "nash, alpharank"),
        (["--mode", "psro", "--game", "kuhn_poker", "--oracle", "dqn"], "exact, ppo, alphazero"),
        (["--mode", "psro", "--game", "kuhn_poker", "--oracle", "alphazero"], "(use --oracle ppo)"),
        (["--mode", "psro", "--game", "tic_tac_toe"], "use --oracle ppo or alphazero"),
        (["--mode", "psro", "--game", "kuhn_poker:players=3"], "nash applies to two-player"),
        (
            ["--mode", "psro", "--game", "kuhn_poker", "--backend", "ray"],
            "PSRO with exact payoffs plays no matches",
        ),
        (["--mode", "swiss", "--game", "kuhn_poker"], "league, psro"),
        (["--game", "kuhn_poker", "--meta-solver", "nash"], "apply to --mode psro"),
    ],
)
def test_bad_psro_settings_are_one_line_errors_and_write_nothing(args, expected, tmp_path):
    out = tmp_path / "run"
    line = error_line(arena("league", "run", *args, "--out", out, check=False))
    assert expected in line
    assert not out.exists()


def test_bench_psro_prints_both_curves():
    done = arena("bench", "psro", "--game", "kuhn_poker", "--iterations", 2)
    assert "OpenSpiel psro_v2" in done.stdout and "0.916667" in done.stdout
