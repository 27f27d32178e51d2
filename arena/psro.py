"""PSRO (policy-space response oracles) as a league mode: `arena league run --mode psro`.

The population starts with the uniform random policy. Each iteration computes the
meta-strategy (one mixture per player over the population, arena.metasolvers) from the
payoff tables, adds a best response of every player to the others' meta-strategy mixture
as one new member, and records the new payoff entries. With the exact oracle on a game
whose tree can be enumerated, payoffs are exact expected returns (tree traversal), best
responses exact, and the NashConv of the meta-strategy mixture exact.

A member is a tabular policy checkpoint `members/<name>` holding every player's best
response of its iteration (agents.tabular.checkpoint, playable as `policy:PATH`); the
meta-strategy mixture as one behaviour policy is the checkpoint `policy` (what `arena
policy export RUN` writes). The mixture is not a per-state average of the members: at each
information state a member weighs its meta-probability times its own reach probability
of that state, as OpenSpiel's policy_aggregator does, so that it plays as the mixture does.

An iteration writes the member, the mixture, its metrics (`exploitability`,
`psro_meta_strategy`, `psro_payoffs`) and then `psro.json` last, each atomically: a run
killed at any point resumes after its last complete iteration. With the exact oracle every
step is deterministic, so it ends exactly as an uninterrupted run would, a file written
after the last commit being written again with the same contents; the ppo oracle trains
for a wall-clock budget, so its redone iteration is another (equally valid) response.
A meta-solver that does not converge stops the run with its error, before the iteration's
first file, and the run resumes from the iteration before.

With the alphazero oracle, or on a game whose tree cannot be enumerated (ppo oracle),
payoffs are sampled from stored games between network members instead: arena.psro_sampled.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

import games
from agents.tabular.checkpoint import load_policy, policy_sha256, save_policy
from agents.tabular.exploitability import best_response
from agents.tabular.exploitability import evaluate as measure
from agents.tabular.policy import TabularPolicy
from agents.tabular.query import agent_policy
from agents.tabular.tree import TERMINAL, GameTree, build_tree
from arena import league, metrics
from arena.backends import Backend
from arena.config import ConfigError, Key, check
from arena.metasolvers import META_SOLVERS, MetaSolverError, meta_strategy
from arena.rundir import atomic_write, lock_run, open_run, write_config
from arena.solve import POLICY
from games.layout import CHANCE

KIND = "psro"
STATE_FILE = "psro.json"
MEMBERS_DIR = "members"
ORACLES = ("exact", "ppo", "alphazero")
EXACT_TABLE = "exploitability"  # NashConv of the mixture per iteration, as `arena solve`'s
META_TABLE = "psro_meta_strategy"
PAYOFF_TABLE = "psro_payoffs"

# The league's top-level keys a PSRO run shares (game, budget, seed, out), and its own.
SCHEMA = {
    **{k: league.SCHEMA[k] for k in ("game", "seed", "minutes", "rounds", "out", "device")},
    "mode": Key(str, KIND, choices=league.MODES),
    "psro": Key(dict, {}),
}
PSRO_SCHEMA = {
    "meta_solver": Key(str, "nash", choices=META_SOLVERS),
    "oracle": Key(str, "exact", choices=ORACLES),
    # ppo, alphazero: training minutes of each best response, and games of its bound.
    "oracle_minutes": Key(float, 0.5, minimum=0.0),
    "oracle_eval_games": Key(int, 200, minimum=4),
    # Sampled payoffs (arena.psro_sampled): games between a new member and each other.
    "games_per_pair": Key(int, 100, minimum=2),
}
# What a resumed run must share with the original (the oracle's budget may change).
IDENTITY = ("game", "seed", "meta_solver", "oracle")


def resolve(values: dict[str, Any], where: str = "psro config") -> dict[str, Any]:
    """A complete, checked PSRO config (`rounds` counts iterations, 0: until `minutes`)."""
    if "game" not in values:
        raise ConfigError(f"{where}: key 'game' is required")
    config = check(values, SCHEMA, where)
    if config["mode"] != KIND:
        raise ConfigError(f"{where}: key 'mode' must be {KIND!r} for a PSRO run")
    config["psro"] = check(config["psro"], PSRO_SCHEMA, f"{where} [psro]")
    if config["out"] is None:
        raise ConfigError(f"{where}: key 'out' is required (the run directory)")
    oracle = config["psro"]["oracle"]
    if oracle != "exact" and not config["psro"]["oracle_minutes"] > 0:
        raise ConfigError(f"{where} [psro]: key 'oracle_minutes' must be > 0 for oracle {oracle!r}")
    game = games.make(config["game"])
    if oracle != "exact":
        check_trained_oracle(game, oracle, where)
    is_sampled(game, oracle, where)  # the exact oracle on a game too big says so now
    try:  # a meta-solver that does not apply to the game (nash, 3 players) says so now
        players = game.num_players
        meta_strategy(config["psro"]["meta_solver"], [np.zeros((1,) * players)] * players)
    except MetaSolverError as err:
        raise ConfigError(f"{where} [psro]: {err}") from None
    return config


def run_psro(
    values: dict[str, Any],
    resume: bool = False,
    log: Callable[[str], None] = print,
    backend: Backend | None = None,
) -> Path:
    """Resolve the config, create or resume the run, iterate; returns the run directory.
    `backend` plays the matches of sampled payoffs (default: in this process)."""
    config = resolve(values)
    if backend is not None:
        check_backend(config, backend.name)
    with lock_run(config["out"], KIND, resume):
        if is_sampled(games.make(config["game"]), config["psro"]["oracle"]):
            from arena.psro_sampled import SampledPSRORun

            run: PSRORun = SampledPSRORun(config, resume=resume, log=log, backend=backend)
        else:
            run = PSRORun(config, resume=resume, log=log)
        run.run()
    return run.run_dir


def check_backend(config: dict[str, Any], backend: str) -> None:
    """ConfigError for a backend other than local on a run that plays no matches: with exact
    payoffs everything is tree traversal in this process (oracles train here either way)."""
    if backend != "local" and not is_sampled(games.make(config["game"]), config["psro"]["oracle"]):
        raise ConfigError(
            f"--backend {backend}: PSRO with exact payoffs plays no matches (only sampled "
            "payoffs, with --oracle alphazero or a game too big to enumerate, do)"
        )


def check_trained_oracle(game: games.Game, oracle: str, where: str) -> None:
    """ConfigError unless the ppo or alphazero oracle (arena.exploiter, whose bound needs a
    two-player zero-sum game; AlphaZero perfect information) applies to the game."""
    from agents.base import require_perfect_information
    from arena.exploiter import ExploiterError, check_game

    if oracle == "alphazero":
        try:
            require_perfect_information(game, "PSRO's alphazero oracle")
        except ValueError as err:
            raise ConfigError(f"{where} [psro]: {err} (use --oracle ppo)") from None
    try:
        check_game(game)
    except ExploiterError:
        raise ConfigError(
            f"{where}: PSRO's {oracle} oracle (a trained exploiter) needs a two-player "
            f"zero-sum game, and {game.spec} is not one"
        ) from None


def is_sampled(game: games.Game, oracle: str, where: str = "psro config") -> bool:
    """Whether a run samples its payoffs (arena.psro_sampled): with the alphazero oracle
    (perfect information: no information states to tabulate), or a game whose tree cannot
    be enumerated; ConfigError for the exact oracle there, which needs the tree."""
    if oracle == "alphazero":
        return True
    err = _tree_error(game.spec)
    if err is not None and oracle == "exact":
        raise ConfigError(
            f"{where}: the exact oracle needs the whole game tree, and {err}; use --oracle "
            "ppo or alphazero (payoffs sampled from stored games)"
        )
    return err is not None


@functools.lru_cache(maxsize=4)
def _tree_error(spec: str) -> str | None:
    """Why the game's tree cannot be built, or None. Kept: on a game too big, building it
    takes seconds and gigabytes before it gives up, and a run asks twice."""
    try:
        build_tree(games.make(spec))
    except ValueError as err:
        return str(err)
    return None


def summary(run_dir: Path) -> str:
    """The last iteration in one line, for the terminal."""
    if not metrics.rounds(run_dir, EXACT_TABLE):
        from arena.psro_sampled import summary as sampled_summary

        return sampled_summary(run_dir)
    last = metrics.read_table(run_dir, EXACT_TABLE).to_pylist()[-1]
    return (
        f"PSRO iteration {last['iteration']}: NashConv of the meta-strategy mixture "
        f"{last['nash_conv']:.6g} (its policy: {run_dir / POLICY}, agent spec "
        f"policy:{run_dir / POLICY})"
    )


# --------------------------------------------------------------------------- the pieces


@dataclass(frozen=True, eq=False)  # arrays: compared by identity
class Member:
    """A population member: its policy in tree order (float64[I, A]) and each player's own
    reach probability of every node under it (float64[P, N]: the product of that player's
    action probabilities on the path, chance and the others left out)."""

    name: str
    probs: np.ndarray
    reach: np.ndarray


def make_member(tree: GameTree, name: str, probs: np.ndarray) -> Member:
    reach = np.empty((tree.num_players, tree.num_nodes))
    _own_reach(tree.actor, tree.info, tree.parent, tree.action, probs, reach)
    return Member(name, probs, reach)


@njit(cache=True)
def _own_reach(actor, info, parent, action, probs, reach):
    """reach[p, n]: player p's own reach of node n (nodes in breadth-first order)."""
    reach[:, 0] = 1.0
    for n in range(1, actor.shape[0]):
        par = parent[n]
        reach[:, n] = reach[:, par]
        who = actor[par]
        if who != CHANCE:
            reach[who, n] *= probs[info[par], action[n]]


def payoff_tables(tree: GameTree, members: Sequence[Member]) -> list[np.ndarray]:
    """Exact expected returns of every profile of members, one table per player p of shape
    [K] * P: tables[p][k_0, ..., k_{P-1}] is p's return when player q plays member k_q.
    A terminal node's probability is chance's reach times every player's own reach, so
    each table is one contraction over the terminal nodes."""
    terminal = np.flatnonzero(tree.actor == TERMINAL)
    chance = _chance_reach(tree)[terminal]
    players = tree.num_players
    reach = [np.stack([m.reach[q, terminal] for m in members]) for q in range(players)]
    letters = "abcdefghijklmnopqrstuvwxy"[:players]
    subscripts = ",".join(f"{c}z" for c in letters) + f",z->{letters}"
    return [
        np.einsum(subscripts, *reach, chance * tree.returns[terminal, p], optimize=True)
        for p in range(players)
    ]


def _chance_reach(tree: GameTree) -> np.ndarray:
    """float64[N]: the product of the chance outcomes' probabilities on each node's path."""
    reach = np.empty(tree.num_nodes)
    reach[0] = 1.0
    for n in range(1, tree.num_nodes):  # parents come first; chance_prob is 1 elsewhere
        reach[n] = reach[tree.parent[n]] * tree.chance_prob[n]
    return reach


def aggregate(
    tree: GameTree, members: Sequence[Member], weights: Sequence[np.ndarray]
) -> np.ndarray:
    """float64[I, A]: the meta-strategy mixture as one behaviour policy (weights[p][k] is
    player p's probability of member k). At player p's information state, member k counts
    with weights[p][k] times p's own reach of the state under k, so the policy reaches
    every history as the mixture does; a state no weighted member reaches gets the uniform
    policy over its legal actions (what OpenSpiel's policy_aggregator gives it)."""
    player = tree.info_player
    node = tree.info_node
    w = np.stack([np.asarray(weights[p], dtype=np.float64) for p in player], axis=1)  # [K, I]
    reach = np.stack([m.reach[player, node] for m in members])  # [K, I]
    weight = w * reach
    num = np.einsum("ki,kia->ia", weight, np.stack([m.probs for m in members]))
    den = weight.sum(axis=0)
    uniform = tree.info_legal / tree.info_legal.sum(axis=1, keepdims=True)
    reached = den > 0
    return np.where(reached[:, None], num / np.where(reached, den, 1.0)[:, None], uniform)


def best_responses(tree: GameTree, mixture: np.ndarray) -> np.ndarray:
    """float64[I, A]: every player's pure exact best response to the others' `mixture`."""
    policy = TabularPolicy.from_tree(tree, mixture)
    probs = np.zeros_like(mixture)
    for p in range(tree.num_players):
        _, actions = best_response(tree, policy, p)
        mine = np.flatnonzero(tree.info_player == p)
        probs[mine, actions[mine]] = 1.0
    return probs


def oracle_seed(seed: int, iteration: int) -> int:
    """The seed of iteration `iteration`'s trained oracle in a run seeded `seed`."""
    return seed * 1_000_003 + iteration


def member_name(iteration: int) -> str:
    """`uniform` (iteration 0, the initial policy) or `br3` (iteration 3's best responses)."""
    return "uniform" if iteration == 0 else f"br{iteration}"


# --------------------------------------------------------------------------- the run


class PSRORun:
    """A PSRO run directory: created, or reopened with `resume` and restored from its last
    complete iteration (members reloaded and checked against their recorded sha256)."""

    identity_keys = IDENTITY  # what a resumed run must share with the original

    def __init__(self, config: dict, resume: bool = False, log: Callable[[str], None] = print):
        state = self._open(config, resume, log)
        self.tree = build_tree(self.game)
        self.members: list[Member] = []
        if state is not None:
            self._restore(state)
        self.payoffs = payoff_tables(self.tree, self.members) if self.members else []
        self.meta = meta_strategy(self.meta_solver, self.payoffs) if self.members else []

    def _open(self, config: dict, resume: bool, log: Callable[[str], None]) -> dict | None:
        """Open the run directory (kept settings checked); its saved state on resume."""
        self.config = config
        self.log = log
        self.game = games.make(config["game"])
        self.meta_solver = config["psro"]["meta_solver"]
        identity = {k: {**config, **config["psro"]}[k] for k in self.identity_keys}
        self.run_dir, self.run_id = open_run(config["out"], KIND, self.game.spec, identity, resume)
        write_config(self.run_dir, config)
        self.elapsed = 0.0
        state_file = self.run_dir / STATE_FILE
        return json.loads(state_file.read_text()) if resume and state_file.is_file() else None

    @property
    def iteration(self) -> int:
        """The last complete iteration (-1 before the initial population)."""
        return len(self.members) - 1

    def _restore(self, state: dict) -> None:
        for record in state["members"]:
            path = self.run_dir / record["path"]
            if policy_sha256(path) != record["sha256"]:
                raise ConfigError(
                    f"{path}: member {record['agent']!r} has changed since it was written "
                    "(its sha256 differs from psro.json)"
                )
            policy, _ = load_policy(path, self.game, self.tree)
            self.members.append(make_member(self.tree, record["agent"], policy.probs))
        self.elapsed = state["elapsed_seconds"]
        self.log(f"resumed after iteration {self.iteration} ({len(self.members)} members)")

    def run(self, minutes: float | None = None, rounds: int | None = None) -> None:
        """Iterate until iteration `rounds` in all (0: no limit; the initial population is
        iteration 0, so a resumed run goes on to the same end) or until the next one would
        pass `minutes` (0: no limit) of this call."""
        minutes = self.config["minutes"] if minutes is None else minutes
        rounds = self.config["rounds"] if rounds is None else rounds
        start, start_elapsed = time.perf_counter(), self.elapsed
        first = max(self.iteration, 0)
        while self.iteration < 0 or not (rounds and self.iteration >= rounds):
            done, spent = self.iteration - first, time.perf_counter() - start
            if minutes and done > 0 and spent + spent / done > minutes * 60:
                break  # the next iteration would overrun the budget
            self.step()
            self.elapsed = start_elapsed + time.perf_counter() - start
            self.commit()

    def step(self) -> None:
        """One iteration: the new member, then the payoffs and meta-strategy with it."""
        iteration = self.iteration + 1
        if iteration == 0:
            probs = TabularPolicy.uniform(self.tree).probs
        elif self.config["psro"]["oracle"] == "exact":
            probs = best_responses(self.tree, self.mixture())
        else:
            probs = self.trained_responses(iteration)
        members = [*self.members, make_member(self.tree, member_name(iteration), probs)]
        payoffs = payoff_tables(self.tree, members)
        try:
            meta = meta_strategy(self.meta_solver, payoffs)
        except MetaSolverError as err:
            raise MetaSolverError(f"PSRO iteration {iteration}: {err}") from None
        self.members, self.payoffs, self.meta = members, payoffs, meta

    def trained_responses(self, iteration: int) -> np.ndarray:
        """float64[I, A]: a PPO exploiter trained against the current mixture (one agent
        `policy:` of its checkpoint, which plays each seat as that player's meta-strategy
        does), read as a tabular policy and made greedy (its argmax at every state)."""
        from arena.exploiter import train_exploiter

        # The mixture of the last complete iteration, saved again: a killed run may have
        # left a later one under this name.
        self._save(self.run_dir / POLICY, self.mixture(), f"psro-{self.meta_solver}")
        cfg = self.config["psro"]
        games_count = cfg["oracle_eval_games"]
        result = train_exploiter(
            self.game,
            [(f"policy:{self.run_dir / POLICY}", 1.0)],
            "ppo",
            minutes=cfg["oracle_minutes"],
            seed=oracle_seed(self.config["seed"], iteration),
            evaluations=1,
            eval_games=games_count,
            final_games=games_count,
            device=self.config["device"],
        )
        self.log(
            f"iteration {iteration}: PPO best response trained, mean return against the "
            f"mixture {result.bound.value:.4f} [{result.bound.ci_low:.4f}, "
            f"{result.bound.ci_high:.4f}]"
        )
        probs = agent_policy(result.agent, self.tree).in_tree_order(self.tree)
        greedy = np.zeros_like(probs)
        greedy[np.arange(len(probs)), np.argmax(probs, axis=1)] = 1.0
        return greedy

    def mixture(self) -> np.ndarray:
        """The current meta-strategy mixture as one behaviour policy (float64[I, A])."""
        return aggregate(self.tree, self.members, self.meta)

    def commit(self) -> None:
        """The iteration's member and mixture checkpoints, its metrics, then psro.json."""
        iteration, member = self.iteration, self.members[-1]
        path = self.run_dir / MEMBERS_DIR / member.name
        self._save(path, member.probs, "psro-best-response")
        mixture = TabularPolicy.from_tree(self.tree, self.mixture())
        self._save(self.run_dir / POLICY, mixture.probs, f"psro-{self.meta_solver}")
        result = measure(self.tree, mixture)
        self._write_metrics(result.nash_conv, result.exploitability)
        records = [
            {
                "agent": m.name,
                "path": f"{MEMBERS_DIR}/{m.name}",
                "sha256": policy_sha256(self.run_dir / MEMBERS_DIR / m.name),
            }
            for m in self.members
        ]
        state = {"iteration": iteration, "elapsed_seconds": self.elapsed, "members": records}
        atomic_write(self.run_dir / STATE_FILE, json.dumps(state, indent=2).encode())
        self.log(
            f"iteration {iteration}: {len(self.members)} members, NashConv of the "
            f"{self.meta_solver} mixture {result.nash_conv:.6g}"
        )

    def _save(self, path: Path, probs: np.ndarray, algorithm: str) -> None:
        policy = TabularPolicy.from_tree(self.tree, probs)
        save_policy(
            path, self.game, policy, algorithm=algorithm, iterations=self.iteration, tree=self.tree
        )

    def _write_metrics(self, nash_conv: float, exploitability: float) -> None:
        iteration = self.iteration
        write_population_metrics(
            self.run_dir, iteration, [m.name for m in self.members], self.meta, self.payoffs
        )
        metrics.write_round(
            self.run_dir,
            EXACT_TABLE,
            iteration,
            {
                "iteration": [iteration],
                "nash_conv": [nash_conv],
                "exploitability": [exploitability],
                "elapsed_seconds": [self.elapsed],
            },
        )


def write_population_metrics(
    run_dir: Path,
    iteration: int,
    names: Sequence[str],
    meta: Sequence[np.ndarray],
    payoffs: Sequence[np.ndarray],
) -> None:
    """An iteration's meta-strategy (one mixture per player over the members `names`) and
    the payoff-table entries with its new member (the last) in some seat: the rounds
    together are the tables."""
    names = list(names)
    metrics.write_round(
        run_dir,
        META_TABLE,
        iteration,
        {
            "player": [p for p in range(len(meta)) for _ in names],
            "agent": names * len(meta),
            "probability": [float(x) for mix in meta for x in mix],
        },
    )
    profiles = [k for k in np.ndindex(*payoffs[0].shape) if iteration in k]
    metrics.write_round(
        run_dir,
        PAYOFF_TABLE,
        iteration,
        {
            "player": [p for p in range(len(payoffs)) for _ in profiles],
            "profile": [[names[i] for i in k] for _ in payoffs for k in profiles],
            "payoff": [float(t[k]) for t in payoffs for k in profiles],
        },
    )
