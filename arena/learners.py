"""League learners: built from a resolved league config, saved and moved as plain bytes.

A learner saves itself into a directory (agents.learner.Learner.save). To move that state
between processes or machines, which need not share a filesystem (a learner on a Ray
actor, a driver that writes the run directory), the directory's files travel as a dict of
relative path -> bytes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import games
from arena.rundir import atomic_write

# The AlphaZero settings a league config passes through to AlphaZeroConfig.
_ALPHAZERO_KEYS = (
    "blocks",
    "channels",
    "sims",
    "fast_sims",
    "full_search_share",
    "gumbel",
    "lr",
    "batch_size",
    "buffer_size",
    "eval_sims",
    "rollout_mix",
    "leaf_rollouts",
    "rollout_policy",
)


def make_learner(config: dict, name: str, seed: int):
    """A fresh learner for slot `name` of the league `config` (its initial weights: `seed`)."""
    game = games.make(config["game"])
    settings = config["learner"]
    if settings["algorithm"] == "ppo":
        from agents.network import NetConfig
        from agents.ppo import PPOLearner

        net = NetConfig.for_game(game, blocks=settings["blocks"], channels=settings["channels"])
        return PPOLearner(
            game, name, net=net, lr=settings["lr"], device=config["device"], seed=seed
        )
    from agents.az_learner import AlphaZeroLearner

    az = alphazero_config(settings)
    return AlphaZeroLearner(game, name, az, device=config["device"], seed=seed)


def alphazero_config(settings: dict):
    """The AlphaZeroConfig of a checked league `[learner]` table."""
    from agents.az_learner import AlphaZeroConfig

    return AlphaZeroConfig(**{k: settings[k] for k in _ALPHAZERO_KEYS})


def load_learner(config: dict, name: str, directory: Path):
    """The learner `save`d in `directory`."""
    game = games.make(config["game"])
    if config["learner"]["algorithm"] == "ppo":
        from agents.ppo import PPOLearner

        return PPOLearner.load(directory, game, name, device=config["device"])
    from agents.az_learner import AlphaZeroLearner

    return AlphaZeroLearner.load(directory, game, name, device=config["device"])


def read_files(directory: Path) -> dict[str, bytes]:
    """Every file under `directory` (hidden temporaries left out) by relative path."""
    directory = Path(directory)
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and not path.name.startswith(".")
    }


def write_files(files: dict[str, bytes], directory: Path) -> None:
    """Write `read_files` output into `directory`, each file atomically.

    The files are not written as one transaction: whoever points at `directory` must do so
    only after this returns (the league writes league.json last)."""
    directory = Path(directory)
    for relative, data in files.items():
        target = (directory / relative).resolve()
        if not target.is_relative_to(directory.resolve()):
            raise ValueError(f"learner file {relative!r} would land outside {directory}")
        atomic_write(target, data)


def learner_files(learner, parent: str | None = None) -> dict[str, bytes]:
    """What `learner.save(directory, parent)` writes, as bytes by relative path."""
    with tempfile.TemporaryDirectory() as scratch:
        learner.save(Path(scratch), parent=parent)
        return read_files(Path(scratch))


def learner_from_files(config: dict, name: str, files: dict[str, bytes]):
    """The learner whose `learner_files` these are."""
    with tempfile.TemporaryDirectory() as scratch:
        write_files(files, Path(scratch))
        return load_learner(config, name, Path(scratch))
