"""Backends: where matches are played. The driver alone writes the run directory.

A job carries everything needed to play one match anywhere: agent recipes (spec strings, or
a league learner named by slot), the plan (seats, engine seeds, openings) and the seed of
the rng the agents draw from. A match's games are therefore a pure function of its job and
of the learners' weights when the call starts, whichever process plays it and in whatever
order jobs finish: the same schedule gives the same games on every backend.

`LocalBackend` (the default, nothing to install or start) plays jobs in this process, in
order, with the league's live learners. `RayBackend` plays match batches as Ray tasks
(several matches per task, so the per-task cost stays small next to the games) and a
league's training matches on rollout actors that keep learner replicas warm; learners'
weights go to the object store once per call. A task or actor call whose worker process
dies is retried by Ray; results reach the driver only when a call has finished, so a
retried call can neither lose nor duplicate a game.
"""

from __future__ import annotations

import json
import tempfile
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

import agents as agent_specs
import games
from agents.spec import KINDS, parse
from arena.match import MatchGames, play_games

BACKENDS = ("local", "ray")
# Ray: tasks per worker for one `play` call; more balances uneven matches, fewer saves overhead.
TASKS_PER_WORKER = 4
# Ray: retries of a task whose worker process died (not of an agent's own exception).
MAX_RETRIES = 5
# Agents a worker keeps built between tasks (networks load once, not once per match).
CACHED_AGENTS = 64
# What a learner records during a match and `end_games` turns into samples, by class. It
# travels from a rollout actor's replica to the driver's learner. (A public take/put pair
# on agents.learner.Learner would replace this table.)
RECORDED_MOVES = {"AlphaZeroLearner": "_pending", "PPOLearner": "moves"}


@dataclass(frozen=True)
class LearnerRef:
    """A league learner as it is when a backend call starts.

    In-process it is the live learner; elsewhere a replica, `league.make_learner(config,
    slot)` with the live learner's weights, which the Ray backend puts in the object store.
    """

    config: dict  # the resolved league config
    slot: str
    weights: Any = None  # set in transit only: an ObjectRef of the numpy state dict


@dataclass(frozen=True)
class AgentRecipe:
    """An agent: `agents.make(spec, game, name=name)`, or a learner's greedy agent."""

    name: str
    spec: str | None = None
    learner: LearnerRef | None = None
    # Set in transit only: an ObjectRef of the checkpoint files at the spec's PATH (bytes by
    # file name), so that no worker needs the driver's files (a snapshot lives in the run dir).
    files: Any = None


@dataclass(frozen=True)
class MatchJob:
    match_id: str
    agents: tuple[AgentRecipe, ...]  # seat_agent in the plan indexes this tuple
    plan: MatchGames
    seed: int  # of the rng the agents draw from while playing

    @property
    def games(self) -> int:
        return len(self.plan.seeds)


@dataclass(frozen=True)
class RolloutJob:
    """A training match: the learner's exploring agent (index 0 in the plan) records its
    moves; the opponent (index 1) is None for self-play."""

    match_id: str
    learner: LearnerRef
    version: str  # the learner's agent id in the replays
    opponent: AgentRecipe | None
    plan: MatchGames
    seed: int

    @property
    def games(self) -> int:
        return len(self.plan.seeds)


Learners = Mapping[str, Any]  # slot name -> live learner


def take_recorded(learner) -> list:
    """The moves `learner` recorded since the last call (it keeps none)."""
    attr = RECORDED_MOVES[type(learner).__name__]
    recorded = getattr(learner, attr)
    setattr(learner, attr, [])
    return recorded


def put_recorded(learner, recorded: list) -> None:
    """Give `learner` moves recorded elsewhere, for its next `end_games`."""
    getattr(learner, RECORDED_MOVES[type(learner).__name__]).extend(recorded)


def play_rollout(game: games.Game, job: RolloutJob, learner, opponent) -> tuple[dict, list]:
    """(replay columns, the learner's recorded moves) of one training match."""
    players, ids = [learner.agent()], [job.version]
    if job.opponent is not None:
        players.append(opponent)
        ids.append(job.opponent.name)

    def observer(k, idx, state, mask, actions):
        if k == 0:
            learner.record(idx, state, mask, actions)

    rng = np.random.default_rng(job.seed)
    columns = play_games(game, players, job.plan, rng, ids, observer=observer)
    return columns, take_recorded(learner)


def play_match(game: games.Game, job: MatchJob, players: list) -> dict[str, object]:
    """Replay columns of one match (all but run_id, match_id and game_index)."""
    ids = [r.name for r in job.agents]
    return play_games(game, players, job.plan, np.random.default_rng(job.seed), ids)


class Backend(Protocol):
    name: str
    workers: int

    def play(
        self, game: str, jobs: Sequence[MatchJob], learners: Learners | None = None
    ) -> Iterator[tuple[MatchJob, dict]]:
        """Play every job; yields (job, replay columns) for each, in any order."""
        ...

    def play_rollouts(
        self, game: str, jobs: Sequence[RolloutJob], learners: Learners
    ) -> Iterator[tuple[RolloutJob, dict, list]]:
        """Play every training match; yields (job, replay columns, recorded moves), in any
        order. Hand the moves to the learner with `put_recorded`, then call `end_games`."""
        ...

    def close(self) -> None: ...


class Cache:
    """Built agents (or learner replicas) by key, least recently used dropped first."""

    def __init__(self, size: int = CACHED_AGENTS):
        self.size = size
        self._agents: OrderedDict[tuple, Any] = OrderedDict()

    def get(self, key: tuple, build):
        if key not in self._agents:
            self._agents[key] = build()
            while len(self._agents) > self.size:
                self._agents.popitem(last=False)
        self._agents.move_to_end(key)
        return self._agents[key]


class LocalBackend:
    """Plays every match in this process, in the given order."""

    name = "local"
    workers = 1

    def __init__(self):
        self._specs = Cache()  # spec agents never change: networks load once per run

    def play(
        self, game: str, jobs: Sequence[MatchJob], learners: Learners | None = None
    ) -> Iterator[tuple[MatchJob, dict]]:
        rules = games.make(game)
        for job in jobs:
            players = [self._agent(rules, r, learners) for r in job.agents]
            yield job, play_match(rules, job, players)

    def play_rollouts(
        self, game: str, jobs: Sequence[RolloutJob], learners: Learners
    ) -> Iterator[tuple[RolloutJob, dict, list]]:
        rules = games.make(game)
        for job in jobs:
            opponent = job.opponent and self._agent(rules, job.opponent, learners)
            columns, recorded = play_rollout(rules, job, learners[job.learner.slot], opponent)
            yield job, columns, recorded

    def _agent(self, game: games.Game, recipe: AgentRecipe, learners: Learners | None):
        if recipe.learner is not None:  # the live learner, as it is now
            return learners[recipe.learner.slot].greedy_agent(recipe.name)
        key = (game.name, recipe.name, recipe.spec)
        return self._specs.get(key, lambda: agent_specs.make(recipe.spec, game, name=recipe.name))

    def close(self) -> None:
        pass

    def __enter__(self) -> LocalBackend:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --------------------------------------------------------------------------- Ray workers
# State of one worker process (a task worker or a rollout actor), kept between calls.

_agents = Cache()
_replicas = Cache(size=16)  # (league config, slot) -> [weights ObjectRef hex, learner]


def _ray():
    try:
        import ray
    except ImportError:
        raise ValueError(
            'the ray backend needs Ray: pip install ".[ray]" (or "ray[default]")'
        ) from None
    return ray


def _replica(ref: LearnerRef):
    """This worker's copy of a learner, holding the weights `ref` points at."""
    import torch

    from arena.league import make_learner

    held = _replicas.get(
        (json.dumps(ref.config, sort_keys=True), ref.slot),
        lambda: [None, make_learner(ref.config, ref.slot, seed=0)],
    )
    if held[0] != ref.weights.hex():
        weights = _ray().get(ref.weights)
        # torch.tensor copies: arrays from the object store are read-only views.
        held[1].model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
        held[0] = ref.weights.hex()
    return held[1]


def _checkpoint_path(spec: str) -> str | None:
    """The PATH of an `az:` or `checkpoint:` spec (None for other specs)."""
    kind, path, _ = parse(spec)
    return path if kind in KINDS and KINDS[kind].path else None


def _spec_agent(game: games.Game, recipe: AgentRecipe):
    if recipe.files is None:
        return agent_specs.make(recipe.spec, game, name=recipe.name)
    with tempfile.TemporaryDirectory() as scratch:  # checkpoints load whole: then it can go
        for name, data in _ray().get(recipe.files).items():
            (Path(scratch) / name).write_bytes(data)
        stem = Path(scratch) / Path(name).stem  # both files share the stem
        spec = recipe.spec.replace(_checkpoint_path(recipe.spec), str(stem), 1)
        return agent_specs.make(spec, game, name=recipe.name)


def _worker_agent(game: games.Game, recipe: AgentRecipe):
    if recipe.learner is None:
        # Files travel once per backend call: a checkpoint rewritten between runs reloads.
        key = (game.name, recipe.name, recipe.spec, recipe.files and recipe.files.hex())
        return _agents.get(key, lambda: _spec_agent(game, recipe))
    # Built on the replica holding these weights (a later round's weights make a new key).
    key = (game.name, recipe.name, recipe.learner.weights.hex())
    return _agents.get(key, lambda: _replica(recipe.learner).greedy_agent(recipe.name))


def _play_batch(game: str, jobs: list[MatchJob]) -> list[dict]:
    """A Ray task: every match of the batch, in order."""
    rules = games.make(game)
    return [play_match(rules, job, [_worker_agent(rules, r) for r in job.agents]) for job in jobs]


class _RolloutWorker:
    """A Ray actor that plays training matches with learner replicas it keeps warm."""

    def rollout(self, game: str, job: RolloutJob) -> tuple[dict, list]:
        rules = games.make(game)
        opponent = job.opponent and _worker_agent(rules, job.opponent)
        return play_rollout(rules, job, _replica(job.learner), opponent)


class RayBackend:
    """Plays matches on a Ray cluster: batches as tasks, training matches on actors.

    `address`: a running cluster's address (`ray start --head` prints it); None joins the
    cluster on this machine if there is one (or RAY_ADDRESS), else starts one here.
    `num_workers`: tasks or actors running at once (default: the cluster's CPUs).
    """

    name = "ray"

    def __init__(self, address: str | None = None, num_workers: int | None = None):
        ray = _ray()
        if num_workers is not None and num_workers < 1:
            raise ValueError(f"num_workers must be positive, got {num_workers}")
        self._started = not ray.is_initialized()
        if self._started:
            ray.init(address=address)
        self.workers = num_workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._task = ray.remote(num_cpus=1, max_retries=MAX_RETRIES)(_play_batch)
        # Rollout actors reserve no CPU: they idle while evaluation tasks run, and SPREAD
        # puts them on different nodes. A dead actor restarts; its call is retried there.
        self._actor = ray.remote(
            num_cpus=0,
            max_restarts=-1,
            max_task_retries=MAX_RETRIES,
            scheduling_strategy="SPREAD",
        )(_RolloutWorker)
        self._actors: list = []

    def play(
        self, game: str, jobs: Sequence[MatchJob], learners: Learners | None = None
    ) -> Iterator[tuple[MatchJob, dict]]:
        puts: dict[str, Any] = {}
        jobs = [
            replace(job, agents=tuple(self._upload(r, learners, puts) for r in job.agents))
            for job in jobs
        ]
        batches = split_batches(jobs, self.workers * TASKS_PER_WORKER)
        for batch, _, results in self._stream(
            batches, lambda b: (None, self._task.remote(game, b))
        ):
            yield from zip(batch, results, strict=True)

    def play_rollouts(
        self, game: str, jobs: Sequence[RolloutJob], learners: Learners
    ) -> Iterator[tuple[RolloutJob, dict, list]]:
        while len(self._actors) < self.workers:  # created once, kept warm between rounds
            self._actors.append(self._actor.remote())
        puts: dict[str, Any] = {}
        jobs = [
            replace(
                job,
                learner=self._learner(job.learner, learners, puts),
                opponent=job.opponent and self._upload(job.opponent, learners, puts),
            )
            for job in jobs
        ]
        idle = list(self._actors)  # `_stream` keeps `workers` calls in flight: one per actor

        def submit(job):
            actor = idle.pop()
            return actor, actor.rollout.remote(game, job)

        for job, actor, (columns, recorded) in self._stream(jobs, submit):
            idle.append(actor)
            yield job, columns, recorded

    def _stream(self, items: Sequence, submit) -> Iterator[tuple[Any, Any, Any]]:
        """Submit items, at most `workers` at once (so a smaller backend on a bigger cluster
        uses only its share); `submit(item) -> (extra, ObjectRef)`. Yields (item, extra,
        result) as each call finishes."""
        ray = _ray()
        queued = list(reversed(items))
        running: dict = {}
        while queued or running:
            while queued and len(running) < self.workers:
                item = queued.pop()
                extra, ref = submit(item)
                running[ref] = (item, extra)
            done, _ = ray.wait(list(running), num_returns=1)
            item, extra = running.pop(done[0])
            yield item, extra, ray.get(done[0])

    def _learner(self, ref: LearnerRef, learners: Learners, puts: dict) -> LearnerRef:
        """The learner's weights go to the object store once per call, however many jobs."""
        if ref.slot not in puts:
            model = learners[ref.slot].model
            weights = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
            puts[ref.slot] = _ray().put(weights)
        return replace(ref, weights=puts[ref.slot])

    def _upload(self, recipe: AgentRecipe, learners: Learners | None, puts: dict):
        if recipe.learner is not None:
            return replace(recipe, learner=self._learner(recipe.learner, learners, puts))
        path = _checkpoint_path(recipe.spec)
        if path is None:
            return recipe
        if path not in puts:
            from agents.checkpoint import checkpoint_paths  # torch: only when there are networks

            files = {p.name: p.read_bytes() for p in checkpoint_paths(path)}
            puts[path] = _ray().put(files)
        return replace(recipe, files=puts[path])

    def close(self) -> None:
        ray = _ray()
        for actor in self._actors:
            ray.kill(actor)
        self._actors = []
        if self._started:
            ray.shutdown()
            self._started = False

    def __enter__(self) -> RayBackend:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def split_batches(jobs: Sequence, count: int) -> list[list]:
    """At most `count` runs of consecutive jobs with about equal numbers of games."""
    total = sum(job.games for job in jobs)
    batches: dict[int, list] = {}
    before = 0
    for job in jobs:
        batches.setdefault(before * count // max(total, 1), []).append(job)
        before += job.games
    return list(batches.values())


def make_backend(name: str = "local", address: str | None = None, workers: int | None = None):
    """The backend called `name` ('local' or 'ray'); `address` and `workers` are Ray's."""
    if name == "local":
        if address is not None:
            raise ValueError("--address needs --backend ray")
        return LocalBackend()
    if name == "ray":
        return RayBackend(address, workers)
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
