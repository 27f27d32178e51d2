"""The Ray backend: a tournament's or a league's matches on a Ray cluster, and each league
learner on an actor of its own.

Match batches run as Ray tasks (several matches per task, so the per-task cost stays small
next to the games). A league's training matches run on rollout actors that keep learner
replicas warm; each round's weights reach them once through the object store. The moves a
rollout records go from the rollout actor's result straight to the learner's actor (the
driver passes object references, never the moves), which turns them into samples, trains,
and returns its new weights and, once per round, its saved files for the driver to write.

Faults: a task or rollout call whose worker process dies is retried by Ray; results reach
the driver only when a call has finished, so a retried call can neither lose nor duplicate
a game. A learner actor that dies is rebuilt from its last save, and the calls made since
are replayed in order (`RemoteLearner`).
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

import games
from agents.spec import checkpoint_path, with_checkpoint_path
from arena.backends import (
    AgentRecipe,
    Cache,
    LearnerRef,
    Learners,
    MatchJob,
    RolloutJob,
    play_match,
    play_rollout,
    spec_agent,
    split_batches,
)
from arena.learners import (
    learner_files,
    learner_from_files,
    make_learner,
    read_files,
    write_files,
)

# Tasks per worker for one `play` call; more balances uneven matches, fewer saves overhead.
TASKS_PER_WORKER = 4
# Retries of a call whose worker process died (not of an agent's own exception).
MAX_RETRIES = 5
# Longest wait for a cluster address to answer before giving up.
CONNECT_SECONDS = 5.0
# GPU share a learner actor asks for when the cluster has GPUs: four learners per GPU.
LEARNER_GPUS = 0.25
# The label every Ray node carries with its own id (placement constraints use it).
NODE_ID_LABEL = "ray.io/node-id"

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
    held = _replicas.get(
        (json.dumps(ref.config, sort_keys=True), ref.slot),
        lambda: [None, make_learner(ref.config, ref.slot, seed=0)],
    )
    if held[0] != ref.weights.hex():
        _load_weights(held[1].model, _ray().get(ref.weights))
        held[0] = ref.weights.hex()
    return held[1]


def _weights(model) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}


def _load_weights(model, weights: dict[str, np.ndarray]) -> None:
    import torch

    # torch.tensor copies: arrays from the object store are read-only views.
    model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})


def _shipped_spec_agent(game: games.Game, recipe: AgentRecipe):
    if recipe.files is None:
        return spec_agent(game, recipe)
    with tempfile.TemporaryDirectory() as scratch:  # checkpoints load whole: then it can go
        files = _ray().get(recipe.files)
        write_files(files, Path(scratch))
        stem = Path(scratch) / Path(next(iter(files))).stem  # both files share the stem
        spec = with_checkpoint_path(recipe.spec, stem)
        return spec_agent(game, recipe, spec)


def _worker_agent(game: games.Game, recipe: AgentRecipe):
    if recipe.learner is None:
        # Files travel once per backend call: a checkpoint rewritten between runs reloads.
        key = (game.spec, recipe.name, recipe.spec, recipe.files and recipe.files.hex())
        return _agents.get(key, lambda: _shipped_spec_agent(game, recipe))
    # Built on the replica holding these weights (a later round's weights make a new key).
    key = (game.spec, recipe.name, recipe.learner.weights.hex())
    return _agents.get(key, lambda: _replica(recipe.learner).rated_agent(recipe.name))


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


class _LearnerActor:
    """A Ray actor holding one league learner (new from a seed, or loaded from files)."""

    def __init__(self, config: dict, slot: str, seed: int | None, files: dict | None):
        if files is None:
            self.learner = make_learner(config, slot, seed)
        else:
            self.learner = learner_from_files(config, slot, files)

    def state(self) -> tuple[dict[str, np.ndarray], int]:
        return _weights(self.learner.model), self.learner.steps

    def end_games(self, returns: np.ndarray, *recorded: list) -> int:
        # `recorded`: object references at the call site, so Ray hands over the moves here.
        for moves in recorded:
            self.learner.put_recorded(moves)
        return self.learner.end_games(returns)

    def train(self, steps: int, rng: np.random.Generator) -> tuple[dict, dict, int]:
        losses = self.learner.train(steps, rng)
        return losses, _weights(self.learner.model), self.learner.steps

    def save_files(self, parent: str | None) -> dict[str, bytes]:
        return learner_files(self.learner, parent)


class RemoteLearner:
    """The driver's handle on a league learner that lives on a `_LearnerActor`.

    The league uses it as it uses a learner in this process: `put_recorded` (object
    references to a rollout's moves) and `end_games`, `train`, `save`. It reads the weights
    (`model`, `steps`) from a copy in this process, refreshed after every training call, for
    greedy evaluation agents, snapshots and the weights sent to rollout actors.

    If the actor's process dies, a new actor is built from the learner's last save (or its
    seed, before the first save) and the calls made since are replayed in order; the objects
    they refer to stay in the object store until the next save. As after `--resume`, an
    AlphaZero learner rebuilt from a save keeps only the newest samples of its buffer
    (agents.az_learner.SAVED_SAMPLES).
    """

    def __init__(
        self, actor_class, config: dict, slot: str, seed: int | None, files: dict | None = None
    ):
        self.name = slot
        self.restarts = 0  # actors rebuilt after their process died
        self._actor_class, self._config = actor_class, config
        self._origin: tuple[int | None, dict | None] = (seed, files)
        self._since_origin: list[tuple[str, tuple]] = []  # calls that changed the learner
        self._recorded: list = []  # moves for the next end_games
        self._last: tuple[str, tuple] | None = None
        self._pending = None
        self._copy = make_learner(config, slot, seed=seed or 0)
        self._actor = self._spawn()
        self._refresh(*self._call("state", changes=False))

    # -- what the league reads ---------------------------------------------------------

    @property
    def model(self):
        return self._copy.model

    @property
    def net_config(self):
        return self._copy.net_config

    @property
    def steps(self) -> int:
        return self._copy.steps

    def greedy_agent(self, name: str):
        return self._copy.greedy_agent(name)

    def rated_agent(self, name: str):
        return self._copy.rated_agent(name)

    def snapshot_spec(self, checkpoint: Path) -> str:
        return self._copy.snapshot_spec(checkpoint)

    # -- what the league calls ---------------------------------------------------------

    def put_recorded(self, moves) -> None:
        self._recorded.append(moves)

    def end_games(self, returns: np.ndarray) -> int:
        recorded, self._recorded = self._recorded, []
        return self._call("end_games", np.asarray(returns), *recorded)

    def train(self, steps: int, rng: np.random.Generator) -> dict[str, float]:
        self.start_training(steps, rng)
        return self.finish_training()

    def start_training(self, steps: int, rng: np.random.Generator) -> None:
        """`train` in two halves, so that several actors train at once."""
        self._submit("train", (steps, rng), changes=True)

    def finish_training(self) -> dict[str, float]:
        losses, weights, steps = self._result()
        self._refresh(weights, steps)
        return losses

    def save(self, directory: Path, parent: str | None = None) -> None:
        files = self._call("save_files", parent, changes=False)
        write_files(files, directory)
        self._origin, self._since_origin = (None, files), []

    def close(self) -> None:
        _ray().kill(self._actor)

    # -- calls ---------------------------------------------------------------------------

    def _spawn(self):
        seed, files = self._origin
        return self._actor_class.remote(self._config, self.name, seed, files)

    def _refresh(self, weights: dict[str, np.ndarray], steps: int) -> None:
        _load_weights(self._copy.model, weights)
        self._copy.steps = steps

    def _call(self, method: str, *args, changes: bool = True):
        self._submit(method, args, changes)
        return self._result()

    def _submit(self, method: str, args: tuple, changes: bool) -> None:
        self._last = (method, args)
        if changes:
            self._since_origin.append(self._last)
        self._pending = getattr(self._actor, method).remote(*args)

    def _result(self):
        """The last call's result; if the actor's process died, rebuild and replay."""
        ray = _ray()
        retries = 0
        while True:
            try:
                return ray.get(self._pending)
            except ray.exceptions.RayActorError:
                retries += 1
                if retries > MAX_RETRIES:
                    raise
                self.restarts += 1
                self._actor = self._spawn()
                replay = list(self._since_origin)
                if not replay or replay[-1] is not self._last:
                    replay.append(self._last)
                for method, args in replay:  # an actor runs its calls in submission order
                    self._pending = getattr(self._actor, method).remote(*args)


def _recorded_cluster_is_dead() -> bool:
    """Whether Ray recorded a cluster as this machine's last one and nobody answers there.

    With no address, ray.init joins the recorded cluster; one that died without shutting
    down (a SIGKILLed run) leaves its address behind and ray.init then waits for it for
    minutes. Ray has no public call that reads the record."""
    if os.environ.get("RAY_ADDRESS"):
        return False
    try:
        from ray._private.services import find_bootstrap_address

        recorded = find_bootstrap_address(None)
    except Exception:  # a Ray that records it elsewhere: ray.init decides, as before
        return False
    if not recorded:
        return False
    try:
        _check_reachable(recorded)
    except ValueError:
        return True
    return False


def _check_reachable(address: str) -> None:
    """Fail fast on a cluster address nobody answers at (ray.init retries for minutes)."""
    if address == "auto" or "://" in address:  # Ray's own forms: let Ray resolve them
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(
            f"a Ray address is HOST:PORT (`ray start --head` prints it), got {address!r}"
        )
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as err:
        raise ValueError(
            f"no Ray cluster answers at {address} ({err}); start one with `ray start --head` "
            "or leave out --address to start one here"
        ) from None


class RayBackend:
    """Plays matches on a Ray cluster (batches as tasks, training matches on rollout
    actors) and hosts league learners on actors.

    `address`: a running cluster's address (`ray start --head` prints it); None joins the
    cluster on this machine if there is one (or RAY_ADDRESS), else starts one here.
    `num_workers`: tasks or rollout actors running at once (default: the cluster's CPUs).
    """

    name = "ray"

    def __init__(self, address: str | None = None, num_workers: int | None = None):
        ray = _ray()
        if num_workers is not None and num_workers < 1:
            raise ValueError(f"workers must be at least 1, got {num_workers}")
        if address is not None:
            _check_reachable(address)
        self._started = not ray.is_initialized()
        if self._started:
            if address is None and _recorded_cluster_is_dead():
                address = "local"  # start one here rather than wait for a dead one
            try:
                ray.init(address=address)
            except ConnectionError as err:  # something answered, but not a Ray cluster
                raise ValueError(f"cannot join a Ray cluster at {address}: {err}") from None
        self.workers = num_workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._task = ray.remote(num_cpus=1, max_retries=MAX_RETRIES)(_play_batch)
        # Rollout actors reserve no CPU: they idle while evaluation tasks run (`_placed`
        # says where they go). A dead actor restarts; its call is retried there,
        # without limit: while a lost node is not yet declared dead (seconds), each retry
        # fails at once, and a bounded count ran out before the actor moved (a test removes
        # a node). Only Ray's own failures are retried, never an agent's exception.
        self._actor = ray.remote(
            num_cpus=0,
            max_restarts=-1,
            max_task_retries=-1,
            scheduling_strategy="SPREAD",
        )(_RolloutWorker)
        self._actors: list = []
        # Learner actors reserve no CPU either (they would starve the tasks while idle); on
        # a cluster with GPUs each asks for a share of one, and "auto" devices pick it up.
        self._gpus = LEARNER_GPUS if ray.cluster_resources().get("GPU", 0) > 0 else 0
        self._learner_actor = ray.remote(
            num_cpus=0, num_gpus=self._gpus, max_restarts=0, scheduling_strategy="SPREAD"
        )(_LearnerActor)
        self._learners: weakref.WeakSet[RemoteLearner] = weakref.WeakSet()

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
            self._actors.append(self._placed(self._actor, len(self._actors)).remote())
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
            # Two results: the driver fetches the replay columns, and passes the recorded
            # moves on to the learner's actor by reference.
            columns, moves = actor.rollout.options(num_returns=2).remote(game, job)
            return (actor, moves), columns

        for job, (actor, moves), columns in self._stream(jobs, submit):
            idle.append(actor)
            yield job, columns, moves

    def new_learner(self, config: dict, slot: str, seed: int) -> RemoteLearner:
        return self._host(RemoteLearner(self._learner_class(), config, slot, seed))

    def load_learner(self, config: dict, slot: str, directory: Path) -> RemoteLearner:
        files = read_files(directory)
        return self._host(RemoteLearner(self._learner_class(), config, slot, None, files))

    def train_learners(
        self, learners: Sequence[RemoteLearner], steps: int, rngs: Sequence[np.random.Generator]
    ) -> list[dict[str, float]]:
        for learner, rng in zip(learners, rngs, strict=True):
            learner.start_training(steps, rng)
        return [learner.finish_training() for learner in learners]

    def _learner_class(self):
        if self._gpus:  # a GPU share places it
            return self._learner_actor
        return self._placed(self._learner_actor, len(self._learners))

    @staticmethod
    def _placed(actor_class, index: int):
        """`actor_class` bound for the index-th node with CPUs, in turn, and never for a node
        without CPUs. An actor that reserves no CPU could go anywhere, a head node started
        with `--num-cpus 0` (kept free of work on purpose) included; rollouts and training
        are work. When that node is gone (a restart after a lost node), any other node with
        CPUs at the time of placing will do. Ray's label selectors say so; its soft node
        affinity did not hold on a loaded machine (rollout actors started on the head)."""
        alive = [node for node in _ray().nodes() if node["Alive"]]
        with_cpus = sorted(n["NodeID"] for n in alive if n["Resources"].get("CPU", 0) > 0)
        if not with_cpus:
            return actor_class
        without_cpus = [n["NodeID"] for n in alive if n["Resources"].get("CPU", 0) <= 0]
        fallback = {NODE_ID_LABEL: f"!in({','.join(without_cpus)})"} if without_cpus else {}
        return actor_class.options(
            label_selector={NODE_ID_LABEL: with_cpus[index % len(with_cpus)]},
            fallback_strategy=[{"label_selector": fallback}],
        )

    def _host(self, learner: RemoteLearner) -> RemoteLearner:
        self._learners.add(learner)  # weakly: a dropped learner's actor exits with its handle
        return learner

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
            puts[ref.slot] = _ray().put(_weights(learners[ref.slot].model))
        return replace(ref, weights=puts[ref.slot])

    def _upload(self, recipe: AgentRecipe, learners: Learners | None, puts: dict):
        if recipe.learner is not None:
            return replace(recipe, learner=self._learner(recipe.learner, learners, puts))
        path = checkpoint_path(recipe.spec)
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
        for learner in list(self._learners):
            learner.close()
        if self._started:
            ray.shutdown()
            self._started = False

    def __enter__(self) -> RayBackend:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
