"""Backends: where matches are played and league learners live. The driver alone writes
the run directory.

A job carries everything needed to play one match anywhere: agent recipes (spec strings, or
a league learner named by slot), the plan (seats, engine seeds, openings) and the seed of
the rng the agents draw from. A match's games are therefore a pure function of its job and
of the learners' weights when the call starts, whichever process plays it and in whatever
order jobs finish: the same schedule gives the same games on every backend.

`LocalBackend` (the default, nothing to install or start) plays jobs in this process, in
order, with the league's learners, which live and train in this process too.
`arena.ray_backend.RayBackend` plays match batches as Ray tasks, a league's training
matches on rollout actors and hosts each learner on an actor of its own.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

import agents as agent_specs
import games
from arena import learners as league_learners
from arena.match import MatchGames, play_games

BACKENDS = ("local", "ray")
# Agents a worker keeps built between tasks (networks load once, not once per match).
CACHED_AGENTS = 64


@dataclass(frozen=True)
class LearnerRef:
    """A league learner as it is when a backend call starts.

    In-process it is the live learner; elsewhere a replica, `learners.make_learner(config,
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
    # Whether a `package.module:Class` spec may import its module: the driver decides it
    # from where the spec came from (see agents.spec); workers only follow.
    allow_import: bool = False
    # Set in transit only: an ObjectRef of the checkpoint files at the spec's PATH (bytes by
    # file name), so that no worker needs the driver's files (a snapshot lives in the run dir).
    files: Any = None


@dataclass(frozen=True)
class MatchJob:
    match_id: str
    agents: tuple[AgentRecipe, ...]  # seat_agent in the plan indexes this tuple
    plan: MatchGames
    seed: int  # of the rng the agents draw from while playing
    record_search: bool = False  # keep the searching agents' root statistics per move

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


Learners = Mapping[str, Any]  # slot name -> the learner the backend made for that slot


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
    return columns, learner.take_recorded()


def play_match(game: games.Game, job: MatchJob, players: list) -> dict[str, object]:
    """Replay columns of one match (all but run_id, match_id and game_index)."""
    ids = [r.name for r in job.agents]
    rng = np.random.default_rng(job.seed)
    return play_games(game, players, job.plan, rng, ids, record_search=job.record_search)


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
        order. Hand the moves to the learner's `put_recorded`, then call its `end_games`."""
        ...

    def new_learner(self, config: dict, slot: str, seed: int) -> Any:
        """A fresh learner for `slot` of the resolved league `config`, hosted by this backend
        (an agents.learner.Learner, or a handle that trains, saves and plays greedily as one)."""
        ...

    def load_learner(self, config: dict, slot: str, directory: Path) -> Any:
        """The learner saved in `directory`, hosted by this backend."""
        ...

    def train_learners(
        self, learners: Sequence[Any], steps: int, rngs: Sequence[np.random.Generator]
    ) -> list[dict[str, float]]:
        """learners[i].train(steps, rngs[i]) for every i (remote learners all at once)."""
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

    def new_learner(self, config: dict, slot: str, seed: int):
        return league_learners.make_learner(config, slot, seed)

    def load_learner(self, config: dict, slot: str, directory: Path):
        return league_learners.load_learner(config, slot, directory)

    def train_learners(
        self, learners: Sequence[Any], steps: int, rngs: Sequence[np.random.Generator]
    ) -> list[dict[str, float]]:
        return [learner.train(steps, rng) for learner, rng in zip(learners, rngs, strict=True)]

    def _agent(self, game: games.Game, recipe: AgentRecipe, learners: Learners | None):
        if recipe.learner is not None:  # the live learner, as it is now
            return learners[recipe.learner.slot].rated_agent(recipe.name)
        key = (game.spec, recipe.name, recipe.spec)
        return self._specs.get(key, lambda: spec_agent(game, recipe))

    def close(self) -> None:
        pass

    def __enter__(self) -> LocalBackend:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def spec_agent(game: games.Game, recipe: AgentRecipe, spec: str | None = None):
    """The agent of a spec recipe (`spec` replaces the recipe's, e.g. with a local PATH)."""
    return agent_specs.make(
        spec or recipe.spec, game, name=recipe.name, allow_import=recipe.allow_import
    )


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
        if workers is not None:
            raise ValueError("--workers needs --backend ray (the local backend plays in-process)")
        return LocalBackend()
    if name == "ray":
        from arena.ray_backend import RayBackend  # Ray is an optional extra

        return RayBackend(address, workers)
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
