"""Code only from the command line, bounded checkpoint loading, checkpoint identity (issue 12).

A run folder may come from anyone: resuming it never imports a module it names, and a
folder is proved a run before anything else of it is read. A checkpoint's sidecar cannot
make loading build a huge network. A run remembers the weights its agents came from, and
refuses to resume with other ones.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
import torch

import agents
import games
from agents import checkpoint
from agents.checkpoint import CheckpointError, load_checkpoint, save_checkpoint, weights_sha256
from agents.network import MAX_BLOCKS, MAX_CHANNELS, NetConfig, build_network, state_shapes
from agents.spec import UntrustedCode
from arena.config import ConfigError, dumps, load_toml
from arena.league import League, resolve, run_league
from arena.tournament import run_tournament

TTT = games.make("tic_tac_toe")
EVIL = "evilpkg.evil:Boom"
LEAGUE = {
    "game": "tic_tac_toe",
    "minutes": 0.0,
    "rounds": 1,
    "learner": {"sims": 4, "fast_sims": 2, "train_steps": 2, "batch_size": 16, "eval_sims": 4},
    "league": {"games_per_round": 8, "anchors": ["random", "greedy"], "main_exploiters": 0},
    "evaluation": {"games_per_pair": 2, "probe_positions": 4, "max_snapshots": 1},
}


def arena(*args: str, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "arena", *args], capture_output=True, text=True, env=env, timeout=600
    )


@pytest.fixture
def evil(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """(directory to put on sys.path, marker file): importing evilpkg.evil writes the marker."""
    root, marker = tmp_path / "code", tmp_path / "IMPORTED"
    (root / "evilpkg").mkdir(parents=True)
    (root / "evilpkg" / "__init__.py").write_text("")
    (root / "evilpkg" / "evil.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\n\n\n"
        "class Boom:\n"
        "    def __init__(self, game, name='boom'):\n"
        "        self.name = name\n\n"
        "    def act(self, game, state, legal_mask, rng):\n"
        "        return legal_mask.argmax(axis=1)\n"
    )
    monkeypatch.syspath_prepend(str(root))
    yield root, marker
    for name in [m for m in sys.modules if m.split(".")[0] == "evilpkg"]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def base_league(tmp_path_factory) -> Path:
    """A finished one-round league with the built-in anchors (copied by each test)."""
    out = tmp_path_factory.mktemp("base") / "league"
    return run_league({**LEAGUE, "out": str(out)}, log=lambda _: None)


def copy_run(run: Path, to: Path) -> Path:
    return Path(shutil.copytree(run, to))


def name_anchor_in_stored_files(run: Path, spec: str) -> None:
    """What a hostile run folder looks like: config.toml and run.json agree on the anchor."""
    config = load_toml(run / "config.toml")
    config["league"]["anchors"].append(spec)
    (run / "config.toml").write_text(dumps(config))
    record = json.loads((run / "run.json").read_text())
    record["identity"]["league"]["anchors"].append(spec)
    (run / "run.json").write_text(json.dumps(record))


# --------------------------------------------------------------------- code only from the user


def test_resume_never_imports_a_module_named_by_the_run_folder(base_league, evil, tmp_path):
    code, marker = evil
    run = copy_run(base_league, tmp_path / "downloaded")
    name_anchor_in_stored_files(run, EVIL)
    resume = ("league", "run", "--resume", "--out", str(run), "--rounds", "1")
    refused = arena(*resume, pythonpath=code)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    lines = refused.stdout.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in refused.stderr, refused.stdout + refused.stderr
    assert EVIL in lines[0] and "--trust-run-code" in lines[0]
    assert not marker.exists()

    trusted = arena(*resume, "--trust-run-code", pythonpath=code)
    assert trusted.returncode == 0, trusted.stdout + trusted.stderr
    assert marker.exists()


def test_a_config_the_user_passes_may_name_the_module(base_league, evil, tmp_path):
    code, marker = evil
    run = copy_run(base_league, tmp_path / "mine")
    name_anchor_in_stored_files(run, EVIL)
    mine = tmp_path / "mine.toml"
    mine.write_text((run / "config.toml").read_text())
    done = arena("league", "run", str(mine), "--resume", "--out", str(run), pythonpath=code)
    assert done.returncode == 0, done.stdout + done.stderr
    assert marker.exists()


def test_a_spec_only_in_league_json_never_imports(base_league, evil, tmp_path):
    _, marker = evil
    run = copy_run(base_league, tmp_path / "tampered")
    state = json.loads((run / "league.json").read_text())
    state["population"].append(
        {"agent": "boom", "role": "anchor", "parent": None, "created_round": 0, "spec": EVIL}
    )
    (run / "league.json").write_text(json.dumps(state))
    with pytest.raises(ConfigError, match=r"league\.json.*evilpkg\.evil"):
        # The user's own config (it may import), but it does not name the module.
        run_league({**LEAGUE, "out": str(run)}, resume=True, log=print, allow_import=True)
    assert not marker.exists()


@pytest.mark.parametrize("record", [None, {"kind": "tournament"}, ["not", "a", "run"]])
def test_a_folder_that_is_no_league_is_refused_before_its_config_is_read(evil, tmp_path, record):
    code, marker = evil
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "config.toml").write_text(dumps({**LEAGUE, "out": str(folder)}).replace(
        'anchors = [\n    "random",', f'anchors = [\n    "{EVIL}",\n    "random",'
    ))  # fmt: skip
    assert EVIL in (folder / "config.toml").read_text()
    if record is not None:
        (folder / "run.json").write_text(json.dumps(record))
    before = sorted(p.name for p in folder.iterdir())
    resume = ("league", "run", "--resume", "--out", str(folder), "--trust-run-code")
    refused = arena(*resume, pythonpath=code)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert len(refused.stdout.strip().splitlines()) == 1
    assert "run" in refused.stdout and str(folder) in refused.stdout
    assert not marker.exists()
    assert sorted(p.name for p in folder.iterdir()) == before


def test_make_imports_a_module_only_when_allowed(evil):
    _, marker = evil
    with pytest.raises(UntrustedCode, match="evilpkg.evil"):
        agents.make(EVIL, TTT)
    assert not marker.exists()
    with pytest.raises(ConfigError, match="would import and run module"):
        resolve({**LEAGUE, "out": "unused", "league": {"anchors": ["random", EVIL]}})
    assert not marker.exists()
    assert agents.make(EVIL, TTT, allow_import=True).name == EVIL
    assert marker.exists()


# --------------------------------------------------------------------------- bounded loading


def small_checkpoint(stem: Path, seed: int = 0, game=TTT) -> Path:
    torch.manual_seed(seed)
    config = NetConfig.for_game(game, blocks=1, channels=8)
    save_checkpoint(stem, build_network(config), config, game.name)
    return stem


def rewrite_architecture(stem: Path, **changes) -> None:
    sidecar = Path(f"{stem}.json")
    meta = json.loads(sidecar.read_text())
    meta["architecture"].update(changes)
    sidecar.write_text(json.dumps(meta))


@pytest.fixture
def builds(monkeypatch) -> list:
    """Every network checkpoint loading builds (the real function, watched)."""
    calls = []

    def watched(config):
        calls.append(config)
        return build_network(config)

    monkeypatch.setattr(checkpoint, "build_network", watched)
    return calls


def test_a_huge_sidecar_is_rejected_before_any_network_is_built(tmp_path, builds):
    stem = small_checkpoint(tmp_path / "model")
    load_checkpoint(stem, game=TTT)  # the untouched checkpoint loads: the spy sees it
    assert len(builds) == 1
    rewrite_architecture(stem, blocks=20000)
    tracemalloc.start()
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(stem, game=TTT)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "\n" not in str(err.value) and "20000" in str(err.value)
    assert f"at most {MAX_BLOCKS}" in str(err.value)
    assert len(builds) == 1  # nothing built for the forged sidecar
    assert peak < 4 * 2**20  # bytes: the old code's meta-device network took 0.5-0.9 GB


@pytest.mark.parametrize(
    "changes", [{"blocks": MAX_BLOCKS}, {"channels": MAX_CHANNELS}, {"value_hidden": 3}]
)
def test_a_sidecar_that_does_not_describe_the_weights_is_rejected_from_the_header(
    tmp_path, builds, changes
):
    stem = small_checkpoint(tmp_path / "model")
    rewrite_architecture(stem, **changes)
    with pytest.raises(CheckpointError, match="architecture mismatch") as err:
        load_checkpoint(stem, game=TTT)
    assert "\n" not in str(err.value)
    assert builds == []


@pytest.mark.parametrize("changes", [{"blocks": MAX_BLOCKS + 1}, {"channels": MAX_CHANNELS + 1}])
def test_network_configs_are_bounded(changes):
    with pytest.raises(ValueError, match="at most"):
        NetConfig.for_game(TTT, **changes)


@pytest.mark.parametrize(
    "config",
    [
        NetConfig("resnet", (2, 6, 7), 7, blocks=0, channels=3, value_hidden=5),
        NetConfig("resnet", (3, 3, 3), 9, blocks=3, channels=8, value_hidden=1),
        NetConfig("mlp", (11,), 4, blocks=1, channels=2, value_hidden=6),
        NetConfig("mlp", (2, 3, 4), 5, blocks=3, channels=7, value_hidden=2),
    ],
)
def test_state_shapes_are_those_of_the_built_network(config):
    built = {k: tuple(v.shape) for k, v in build_network(config).state_dict().items()}
    assert state_shapes(config) == built


# ------------------------------------------------------------------------ checkpoint identity


def files_state(run: Path) -> dict[str, tuple[int, int]]:
    """Size and mtime of every file of the run but hidden ones (the run's lock file)."""
    return {
        str(p.relative_to(run)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(run.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def swap_weights(stem: Path) -> tuple[dict[Path, bytes], str, str]:
    """Replace the checkpoint with another network; returns (original files, old, new sha)."""
    original = {p: p.read_bytes() for p in checkpoint.checkpoint_paths(stem)}
    old = weights_sha256(stem)
    small_checkpoint(stem, seed=1)
    return original, old, weights_sha256(stem)


def restore(files: dict[Path, bytes]) -> None:
    for path, data in files.items():
        path.write_bytes(data)


def test_a_tournament_resumes_only_with_the_checkpoint_it_began_with(tmp_path):
    stem = small_checkpoint(tmp_path / "net" / "model")
    spec = f"net=checkpoint:{stem}"
    values = {"game": "tic_tac_toe", "agents": ["random", spec], "games_per_pair": 4}
    run = run_tournament({**values, "out": str(tmp_path / "run")}).run_dir
    record = json.loads((run / "run.json").read_text())
    assert record["checkpoints"] == {str(stem): weights_sha256(stem)}
    original, old, new = swap_weights(stem)
    assert old != new
    before = files_state(run)
    refused = arena(
        "tournament", "--game", "tic_tac_toe", "--agents", "random", spec,
        "--games-per-pair", "4", "--out", str(run), "--resume",
    )  # fmt: skip
    assert refused.returncode == 2, refused.stdout + refused.stderr
    line = refused.stdout.strip()
    assert "\n" not in line and str(stem) in line and old in line and new in line
    assert files_state(run) == before  # nothing written
    restore(original)
    report = run_tournament({**values, "out": str(run)}, resume=True)
    assert report.games_played == 0  # accepted: a finished run resumes to nothing to do


def test_a_league_resumes_only_with_the_anchor_checkpoint_it_began_with(tmp_path):
    stem = small_checkpoint(tmp_path / "anchor" / "model")
    values = {**LEAGUE, "out": str(tmp_path / "league")}
    values["league"] = {**LEAGUE["league"], "anchors": ["random", f"checkpoint:{stem}"]}
    run = run_league(values, log=lambda _: None)
    record = json.loads((run / "run.json").read_text())
    assert record["checkpoints"] == {str(stem): weights_sha256(stem)}  # not its snapshots
    original, old, new = swap_weights(stem)
    before = files_state(run)
    with pytest.raises(ConfigError) as err:
        League(resolve(values), resume=True, log=lambda _: None)
    assert str(stem) in str(err.value) and old in str(err.value) and new in str(err.value)
    assert files_state(run) == before
    restore(original)
    league = League(resolve(values), resume=True, log=lambda _: None)
    assert league.round == 1
