"""A study's training: one self-play AlphaZero learner per network size, snapshots at fixed
points of training time, and the compute each snapshot cost.

Each network trains on its own, one after the other, in rounds as a league's learner does
(agents.az_learner through the project's Backend: self-play matches, then gradient steps),
until it passes the study's last training point. At each point of `train_minutes` it is
frozen as a snapshot: its checkpoint under `snapshots/<net>/<id>/`, its full learner state
(buffer, optimiser) under `train/<net>/<id>/` for resuming, then one row of
`tables/snapshots.parquet`, replaced atomically (arena.study.tables). That row is the
commit: a study killed at any moment resumes each network from its last row's learner
state, and a point past it is trained again and written once.

Compute is counted in seconds of wall-clock time and in FLOPs of the network, forward and
backward: torch's FlopCounterMode counts one forward per state and one training step per
batch (convolutions and matrix products cost linearly in the batch, so one count per shape
multiplies exactly). Training steps are read from the learner. The self-play searches'
forward passes are counted from the root visit counts the games record (the same on every
backend): a searched move evaluates its root and at most one new leaf per simulation, so
visits + 1 states per move bounds them from above; simulations that end in a finished game
evaluate nothing and are counted all the same.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch
from torch.utils.flop_counter import FlopCounterMode

import games
from agents.checkpoint import save_checkpoint
from agents.network import NetConfig, build_network
from arena.backends import Backend, LearnerRef, RolloutJob
from arena.config import ConfigError, check
from arena.league import LEAGUE_SCHEMA, LEARNER_SCHEMA, default_config
from arena.match import MatchGames
from arena.study.grid import StudyGrid, net_size, snapshot_id
from arena.study.tables import SNAPSHOTS, read_table, write_table

SCHEMA = pa.schema(
    [
        ("net", pa.string()),
        ("snapshot", pa.string()),
        ("train_seconds", pa.float64()),
        ("train_flops", pa.float64()),
        ("steps", pa.int64()),
        ("games", pa.int64()),
        ("checkpoint", pa.string()),  # the checkpoint's stem, relative to the study folder
    ]
)


def learner_config(grid: StudyGrid, net: str, device: str) -> dict:
    """The league-style config a backend builds `net`'s learner from: the game's default
    league learner (arena/league_configs) at this network's size."""
    blocks, channels = net_size(net)
    base = default_config(grid.game)
    learner = {**base.get("learner", {}), "algorithm": "alphazero"}
    learner.update(blocks=blocks, channels=channels)
    return {
        "game": grid.game,
        "device": device,
        "learner": check(learner, LEARNER_SCHEMA, f"study network {net}"),
        "league": check(base.get("league", {}), LEAGUE_SCHEMA, f"study network {net}"),
    }


class FlopCount:
    """FLOPs of one network shape, counted by torch once per batch shape and cached."""

    def __init__(self, net_config: NetConfig):
        # A copy of the architecture: counting must not move the learner's BatchNorm stats.
        self.model = build_network(net_config)
        self.obs_shape = net_config.obs_shape
        self._counted: dict[tuple[str, int], float] = {}

    def forward(self, batch: int) -> float:
        """One inference forward pass over `batch` states."""
        return self._count("forward", batch)

    def train_step(self, batch: int) -> float:
        """One training step: a forward and a backward pass over `batch` states."""
        return self._count("train", batch)

    def _count(self, kind: str, batch: int) -> float:
        if (kind, batch) not in self._counted:
            obs = torch.zeros((batch, *self.obs_shape))
            counter = FlopCounterMode(display=False)
            if kind == "forward":
                self.model.eval()
                with counter, torch.inference_mode():
                    self.model(obs)
            else:
                self.model.train()
                with counter:
                    logits, value = self.model(obs)
                    (logits.sum() + value.sum()).backward()
            self._counted[kind, batch] = float(counter.get_total_flops())
        return self._counted[kind, batch]


@dataclass
class Progress:
    """How far one network's training has come (a snapshot row's counters)."""

    seconds: float = 0.0
    flops: float = 0.0
    steps: int = 0
    games: int = 0


def read_snapshots(study_dir: Path) -> pa.Table:
    """The snapshots table of a study (empty before its first snapshot)."""
    table = read_table(study_dir, SNAPSHOTS)
    return SCHEMA.empty_table() if table is None else table


def trained_seconds(study_dir: Path) -> float:
    """Training time the study's snapshots have recorded so far (last row of each net)."""
    rows = read_snapshots(study_dir).to_pylist()
    last = {row["net"]: row["train_seconds"] for row in rows}  # rows are in training order
    return float(sum(last.values()))


def _append_row(study_dir: Path, row: dict) -> None:
    table = pa.concat_tables([read_snapshots(study_dir), pa.Table.from_pylist([row], SCHEMA)])
    write_table(study_dir, SNAPSHOTS, table)


def searched_states(columns: dict) -> int:
    """States a match's searches evaluated, at most: visits + 1 per searched move."""
    total = 0
    for moves in columns.get("visits") or []:
        if moves is not None:
            visits = np.asarray(moves, np.int64)
            searched = visits[visits >= 0]
            total += int(searched.sum() + searched.size)
    return total


class NetTrainer:
    """Trains one network of a study to its last training point, snapshotting on the way,
    from its rows of the snapshots table (its last row's learner state, if any)."""

    def __init__(
        self,
        study_dir: Path,
        grid: StudyGrid,
        net: str,
        rows: list[dict],
        backend: Backend,
        device: str = "auto",
        log: Callable[[str], None] = print,
    ):
        self.study_dir, self.grid, self.net = Path(study_dir), grid, net
        self.backend, self.log = backend, log
        self.index = grid.nets.index(net)
        self.config = learner_config(grid, net, device)
        self.game = games.make(grid.game)
        self.done = len(rows)  # points already snapshotted, in order
        if rows:
            last = rows[-1]
            state = self.study_dir / "train" / net / last["snapshot"]
            if not state.is_dir():
                raise ConfigError(f"--resume: {state} is missing (the learner state of {net})")
            self.learner = backend.load_learner(self.config, net, state)
            self.progress = Progress(
                last["train_seconds"], last["train_flops"], last["steps"], last["games"]
            )
        else:
            seed = int(np.random.default_rng([grid.seed, self.index]).integers(2**62))
            self.learner = backend.new_learner(self.config, net, seed)
            self.progress = Progress()
        self.flops = FlopCount(self.learner.net_config)

    @property
    def finished(self) -> bool:
        return self.done >= len(self.grid.train_minutes)

    def run(self) -> None:
        """Train until every point of the grid has its snapshot."""
        while not self.finished:
            start = time.perf_counter()
            self.play_round()
            self.progress.seconds += time.perf_counter() - start
            # One snapshot per point passed (rounds longer than the gap between two points
            # give those points the same weights: every point of the grid gets its row).
            while not self.finished and (
                self.progress.seconds >= 60 * self.grid.train_minutes[self.done]
            ):
                self.snapshot(self.grid.train_minutes[self.done])

    def play_round(self) -> None:
        """Self-play matches (one per backend worker), then gradient steps."""
        settings, league = self.config["learner"], self.config["league"]
        rng = np.random.default_rng([self.grid.seed, self.index, self.progress.games])
        ref = LearnerRef(self.config, self.net)
        jobs = []
        workers = max(1, self.backend.workers)
        for k in range(workers):
            n = max(2, league["games_per_round"] // workers)
            plan = MatchGames(
                seeds=rng.integers(0, 2**62, n, dtype=np.int64),
                seat_agent=np.zeros((n, self.game.num_players), np.int64),  # both seats
                openings=[[] for _ in range(n)],
            )
            match_id = f"{self.net}-{self.progress.games}-{k}"  # training games are not stored
            jobs.append(RolloutJob(match_id, ref, self.net, None, plan, int(rng.integers(2**62))))
        finished = {}
        states = 0
        for job, columns, moves in self.backend.play_rollouts(
            self.game.spec, jobs, {self.net: self.learner}
        ):
            finished[job.match_id] = (np.asarray(columns["returns"]), moves)
            states += searched_states(columns)
        for job in jobs:  # in schedule order, so the samples are the same on every backend
            returns, moves = finished[job.match_id]
            self.learner.put_recorded(moves)
            self.learner.end_games(returns)
        before = self.learner.steps
        self.backend.train_learners([self.learner], settings["train_steps"], [rng])
        steps = self.learner.steps - before
        self.progress.flops += states * self.flops.forward(1)
        self.progress.flops += steps * self.flops.train_step(settings["batch_size"])
        self.progress.steps += steps
        self.progress.games += sum(job.games for job in jobs)

    def snapshot(self, minutes: float) -> None:
        """Checkpoint and learner state first, then the table row that commits them."""
        name = snapshot_id(self.net, minutes)
        checkpoint = Path("snapshots") / self.net / name / "model"
        save_checkpoint(
            self.study_dir / checkpoint,
            self.learner.model,
            self.learner.net_config,
            self.game.spec,
            {"study_snapshot": name, "train_minutes": minutes},
            self.net,
            self.learner.steps,
        )
        states = self.study_dir / "train" / self.net
        self.learner.save(states / name, parent=self.net)
        p = self.progress
        row = {
            "net": self.net,
            "snapshot": name,
            "train_seconds": p.seconds,
            "train_flops": p.flops,
            "steps": p.steps,
            "games": p.games,
            "checkpoint": checkpoint.as_posix(),
        }
        _append_row(self.study_dir, row)
        self.done += 1
        for old in states.iterdir():  # only the newest state is ever resumed from
            if old.name != name:
                shutil.rmtree(old, ignore_errors=True)
        self.log(
            f"snapshot {name}: {p.seconds / 60:.2f} min, {p.flops:.3g} FLOPs, "
            f"{p.steps:,} steps, {p.games:,} games"
        )


def train_study(
    study_dir: Path,
    grid: StudyGrid,
    backend: Backend,
    device: str = "auto",
    log: Callable[[str], None] = print,
) -> pa.Table:
    """Train every network of `grid` to its last point (resuming where the snapshots table
    ends); returns the snapshots table."""
    rows = read_snapshots(study_dir).to_pylist()
    for net in grid.nets:
        own = [r for r in rows if r["net"] == net]
        if len(own) == len(grid.train_minutes):
            continue  # trained before a resume: no learner is built
        if own:
            log(f"{net}: resumed after snapshot {len(own)} of {len(grid.train_minutes)}")
        NetTrainer(study_dir, grid, net, own, backend, device, log).run()
    return read_snapshots(study_dir)
