"""PSRO on games whose tree cannot be enumerated: payoffs from sampled games, trained oracles.

`arena league run --mode psro --oracle alphazero` (games of perfect information), and
`--oracle ppo` on a game arena.psro cannot tabulate. Two-player zero-sum games only: the
oracle is arena.exploiter.train_exploiter, whose bound needs them.

The meta-game is the symmetric zero-sum game whose strategies are whole agents, each
playing either seat: ``P[i, j]`` is agent i's mean return against agent j, both seatings
weighted alike (arena.payoffs, read back from the run's replay dataset; 0 on the diagonal,
by the rules of a zero-sum game). The meta-solver gets its two players' tables ``[P, P^T]``
and the psro_meta_strategy metrics hold both mixtures, equal by symmetry (``nash``
exactly; the oracle faces their average, which is the same mixture up to rounding).

Members are agent specs: `random` (member `uniform`, iteration 0), then each iteration's
exploiter, its network saved at `members/brK/model` and played by the learner's snapshot
spec (`az:PATH,sims=N` or `checkpoint:PATH`). psro.json holds PATH relative to the run
directory (resolved against it at use), so a run folder moved or copied elsewhere resumes.
Iteration k:

1. the oracle: a fresh exploiter trained for `oracle_minutes` against the mixture of
   iteration k - 1, saved, then recorded in psro.json as `pending` (with its sha256);
2. `games_per_pair` games, seats alternating, against every earlier member, one match per
   pair whose id (arena.ids: round k, the pair) a resumed run recomputes, playing only the
   matches not stored: a replay part holds whole matches, so no game is stored twice. The
   matches are played by the run's backend (arena.backends: in this process, or Ray tasks
   with `--backend ray`); a match is a pure function of its job, so the same seeds give the
   same games on either. `games_per_pair` is part of the run's identity (run.json): a
   resumed run with another value would mix two tables;
3. the payoff table read back from the replays, and the meta-strategy;
4. metrics, then psro.json with the member complete (last, atomically).

A run killed during step 1 trains the member again; after it, the resumed run reuses the
pending member (checked by its sha256), so the games already stored stay its games.

NashConv needs the tree, so none is written (`metrics/exploitability` stays empty). What
each iteration measures instead is the oracle's own lower bound on the exploitability of
the mixture it trained against (OpenSpiel's exploitability, NashConv / 2, up to sampling
error and the exploiter's training: an approximate figure, never an exact one), written
to `exploitability_bounds` as agent `mixture` at the round of that mixture's iteration.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

import replays
from agents.spec import checkpoint_hashes, checkpoint_path, with_checkpoint_path
from arena import ids, metrics, payoffs
from arena.backends import AgentRecipe, Backend, LocalBackend, MatchJob
from arena.config import ConfigError
from arena.exploiter import train_exploiter
from arena.match import alternating_plan
from arena.metasolvers import MetaSolverError, meta_strategy
from arena.psro import (
    IDENTITY,
    MEMBERS_DIR,
    STATE_FILE,
    PSRORun,
    member_name,
    oracle_seed,
    write_population_metrics,
)
from arena.rundir import atomic_write
from arena.tournament import done_matches

INITIAL_SPEC = "random"  # member 0, `uniform`: the uniform random policy
BOUND_TABLE = "exploitability_bounds"
BOUND_AGENT = "mixture"  # the meta-strategy mixture an oracle's bound is about
MODEL_STEM = "model"


class SampledPSRORun(PSRORun):
    """A PSRO run with sampled payoffs (the module docstring); `members` and `pending` are
    psro.json's records: {agent, spec, sha256 (PATH -> hash of its network), bound}, PATH
    relative to the run directory. `backend` plays the matches (default: this process)."""

    identity_keys = (*IDENTITY, "games_per_pair")

    def __init__(
        self,
        config: dict,
        resume: bool = False,
        log: Callable[[str], None] = print,
        backend: Backend | None = None,
    ):
        self.backend = backend or LocalBackend()
        state = self._open(config, resume, log)
        self.members: list[dict] = []
        self.pending: dict | None = None
        if state is not None:
            for record in [*state["members"], state["pending"]]:
                if record is not None and record["sha256"] != self._sha256(record["spec"]):
                    raise ConfigError(
                        f"{self.run_dir}: member {record['agent']!r} has changed since it was "
                        "written (its sha256 differs from psro.json)"
                    )
            self.members, self.pending = state["members"], state["pending"]
            self.elapsed = state["elapsed_seconds"]
            self.log(f"resumed after iteration {self.iteration} ({len(self.members)} members)")
        restored = self._meta_game(self.members, self.iteration) if self.members else ([], [])
        self.payoffs, self.meta = restored

    def step(self) -> None:
        """One iteration (steps 1-3 of the module docstring)."""
        iteration = self.iteration + 1
        if iteration == 0:
            member = {"agent": member_name(0), "spec": INITIAL_SPEC, "sha256": {}, "bound": None}
        else:
            if self.pending is None:
                self.pending = self._train(iteration)
                self._write_state()
            else:
                self.log(f"iteration {iteration}: the stored member {self.pending['agent']}")
            member = self.pending
            self._play(iteration, member)
        members = [*self.members, member]
        tables, meta = self._meta_game(members, iteration)
        self.members, self.pending, self.payoffs, self.meta = members, None, tables, meta

    def _train(self, iteration: int) -> dict:
        """The oracle: an exploiter of the current mixture, saved under the run."""
        cfg = self.config["psro"]
        mixture = np.mean(self.meta, axis=0)
        name = member_name(iteration)
        result = train_exploiter(
            self.game,
            [
                (self._playable(m["spec"]), float(w))
                for m, w in zip(self.members, mixture, strict=True)
                if w > 0
            ],
            cfg["oracle"],
            minutes=cfg["oracle_minutes"],
            seed=oracle_seed(self.config["seed"], iteration),
            evaluations=1,
            eval_games=cfg["oracle_eval_games"],
            final_games=cfg["oracle_eval_games"],
            device=self.config["device"],
        )
        from agents.checkpoint import save_checkpoint

        learner = result.learner
        path = (self.run_dir / MEMBERS_DIR / name / MODEL_STEM).resolve()
        save_checkpoint(
            path,
            learner.model,
            learner.net_config,
            self.game.spec,
            {"psro_iteration": iteration, "oracle": cfg["oracle"]},
            None,
            learner.steps,
        )
        # Stored relative to the run directory (see the module docstring).
        spec = with_checkpoint_path(
            learner.snapshot_spec(path), path.relative_to(self.run_dir.resolve())
        )
        b = result.bound
        self.log(
            f"iteration {iteration}: {cfg['oracle']} best response {name} trained, its bound "
            f"on the mixture's exploitability {b.value:.4f} [{b.ci_low:.4f}, {b.ci_high:.4f}]"
        )
        bound = {"bound": b.value, "ci_low": b.ci_low, "ci_high": b.ci_high, "games": b.games}
        return {"agent": name, "spec": spec, "sha256": self._sha256(spec), "bound": bound}

    def _playable(self, spec: str) -> str:
        """A member's spec as psro.json holds it, its checkpoint PATH resolved against the run
        directory (an absolute PATH, as older runs stored, stays as it is)."""
        path = checkpoint_path(spec)
        return spec if path is None else with_checkpoint_path(spec, (self.run_dir / path).resolve())

    def _sha256(self, spec: str) -> dict[str, str]:
        """{PATH as `spec` writes it: the sha256 of its network} ({} for `random`)."""
        hashes = checkpoint_hashes([self._playable(spec)])
        return {checkpoint_path(spec): sha for sha in hashes.values()}

    def _play(self, iteration: int, member: dict) -> None:
        """The new member against every earlier one: the matches not stored yet."""
        stored = done_matches(self.run_dir)
        n = self.config["psro"]["games_per_pair"]
        n += n % 2  # both seatings alike
        jobs = []
        for k, other in enumerate(self.members):
            match_id = ids.match_id(iteration, "eval", member["agent"], other["agent"])
            if match_id in stored:
                continue
            seed = int(
                np.random.SeedSequence([self.config["seed"], iteration, k]).generate_state(1)[0]
            )
            rng = np.random.default_rng([seed, 1])
            plan = alternating_plan(n, self.game.num_players, rng)
            recipes = tuple(
                AgentRecipe(m["agent"], self._playable(m["spec"])) for m in (member, other)
            )
            jobs.append(MatchJob(match_id, recipes, plan, seed))
        with replays.ReplayWriter(self.run_dir) as writer:
            for job, columns in self.backend.play(self.game.spec, jobs):
                columns.update(
                    run_id=self.run_id,
                    match_id=job.match_id,
                    game_index=np.arange(job.games, dtype=np.int32),
                )
                writer.write(columns)
                writer.flush()  # a part per match: a kill loses at most the match in flight

    def _meta_game(
        self, members: list[dict], iteration: int
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """([P, P^T] from the stored games, the meta-strategy) over `members`."""
        names = [m["agent"] for m in members]
        if len(names) == 1:  # no games yet: an agent against itself, 0 in a zero-sum game
            p = np.zeros((1, 1))
        else:
            tables = payoffs.load(self.run_dir, agents=names)
            if tables.missing_pairs():
                raise ConfigError(
                    f"{self.run_dir}: the replays lack games of "
                    f"{payoffs.describe_missing(tables.missing_pairs())}"
                )
            p = tables.payoff
        try:
            return [p, p.T], meta_strategy(self.meta_solver, [p, p.T])
        except MetaSolverError as err:
            raise MetaSolverError(f"PSRO iteration {iteration}: {err}") from None

    def commit(self) -> None:
        """The iteration's metrics, then psro.json (step 4)."""
        iteration = self.iteration
        names = [m["agent"] for m in self.members]
        write_population_metrics(self.run_dir, iteration, names, self.meta, self.payoffs)
        bound = self.members[-1]["bound"]
        if bound is not None:  # about the mixture of the iteration before
            rows = {"agent": [BOUND_AGENT], "exploiter": [names[-1]]}
            rows.update({k: [v] for k, v in bound.items()})
            metrics.write_round(self.run_dir, BOUND_TABLE, iteration - 1, rows)
        self._write_state()
        mixture = ", ".join(f"{n} {w:.3f}" for n, w in zip(names, self.meta[0], strict=True))
        self.log(
            f"iteration {iteration}: {len(names)} members, {self.meta_solver} mixture {mixture}"
        )

    def _write_state(self) -> None:
        state = {
            "iteration": self.iteration,
            "elapsed_seconds": self.elapsed,
            "members": self.members,
            "pending": self.pending,
        }
        atomic_write(self.run_dir / STATE_FILE, json.dumps(state, indent=2).encode())


def is_sampled_run(run_dir: Path) -> bool:
    """Whether a PSRO run directory holds a sampled run (its members have agent specs)."""
    state_file = run_dir / STATE_FILE
    if not state_file.is_file():
        return False
    return all("spec" in m for m in json.loads(state_file.read_text())["members"])


def summary(run_dir: Path) -> str:
    """The last iteration of a sampled run in one line: its mixture and the last bound."""
    state = json.loads((run_dir / STATE_FILE).read_text())
    meta = metrics.read_table(run_dir, "psro_meta_strategy").to_pylist()
    last = [r for r in meta if r["round"] == state["iteration"] and r["player"] == 0]
    mixture = ", ".join(f"{r['agent']} {r['probability']:.3f}" for r in last)
    line = f"PSRO iteration {state['iteration']}: meta-strategy {mixture}; NashConv not available"
    bounds = metrics.read_table(run_dir, BOUND_TABLE).to_pylist() if state["iteration"] else []
    if bounds:
        b = bounds[-1]
        line += (
            f" (sampled payoffs); the last oracle's lower bound on the exploitability of the "
            f"mixture of iteration {b['round']}: {b['bound']:.4f} "
            f"[{b['ci_low']:.4f}, {b['ci_high']:.4f}]"
        )
    return line
