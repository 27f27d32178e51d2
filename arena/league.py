"""The league: a population trained by self-play and adversarial play (AlphaStar-style).

Roles: main agents learn against the whole population by prioritised fictitious self-play
(PFSP) plus a share of pure self-play; main exploiters learn against the current main
agents and restart after each of their snapshots; league exploiters learn against the
whole population by PFSP and restart now and then. Learners are frozen into the population
as snapshots when they beat it often enough (or every N rounds); fixed anchors (random,
greedy, mcts) keep ratings comparable across runs.

A round: every learner plays its games (all of them go to the replay dataset), trains,
maybe snapshots; every few rounds an evaluation round-robin is played and ratings,
win rates and diversity are written to `metrics/`. Every round ends with the learners'
checkpoints and then `league.json`, each written atomically; a killed league resumes after
the last complete round, and matches are identified by (seed, round, learner, index), so a
replayed round skips any match already stored and no game is ever stored twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

import agents as agent_specs
import games
import replays
from agents.base import require_perfect_information
from agents.device import resolve_device
from agents.mcts import ROLLOUT_POLICIES
from agents.network import MAX_BLOCKS, MAX_CHANNELS
from agents.spec import UntrustedCode, checkpoint_hashes, imports_code, spec_path
from arena import diversity, ids, metrics, payoffs, population, results
from arena.alpharank import AlphaRankError
from arena.backends import (
    AgentRecipe,
    Backend,
    LearnerRef,
    LocalBackend,
    MatchJob,
    RolloutJob,
)
from arena.config import ConfigError, Key, check, loads_toml
from arena.match import MatchGames, alternating_plan, alternating_seats
from arena.ratings import fit_ratings, win_rate_matrix
from arena.rundir import atomic_write, lock_run, open_run, write_config
from arena.tournament import check_openings, random_openings

STATE_FILE = "league.json"
ROLES = ("main", "main_exploiter", "league_exploiter")
MODES = ("league", "psro")  # `mode = "psro"` runs arena.psro instead

SCHEMA = {
    "game": Key(str, None, convert=games.canonical),  # a game spec, stored canonical
    "seed": Key(int, 0, minimum=0),
    "minutes": Key(float, 10.0, minimum=0.0),
    "rounds": Key(int, 0, minimum=0),
    "out": Key(str, None),
    "device": Key(str, "auto"),
    "mode": Key(str, "league", choices=MODES),
    "learner": Key(dict, {}),
    "league": Key(dict, {}),
    "evaluation": Key(dict, {}),
}
LEARNER_SCHEMA = {
    "algorithm": Key(str, "alphazero", choices=("alphazero", "ppo")),
    "blocks": Key(int, 2, minimum=0, maximum=MAX_BLOCKS),
    "channels": Key(int, 32, minimum=1, maximum=MAX_CHANNELS),
    "sims": Key(int, 24, minimum=1),
    "fast_sims": Key(int, 8, minimum=1),
    "full_search_share": Key(float, 1.0, minimum=0.01),
    "gumbel": Key(bool, True),
    "lr": Key(float, 2e-3, minimum=0.0),
    "batch_size": Key(int, 256, minimum=1),
    "buffer_size": Key(int, 100_000, minimum=1),
    "train_steps": Key(int, 40, minimum=0),
    "eval_sims": Key(int, 64, minimum=1),
    # AlphaGo's leaf evaluation: this share of each leaf value is the rollouts' mean result.
    "rollout_mix": Key(float, 0.0, minimum=0.0, maximum=1.0),
    "leaf_rollouts": Key(int, 1, minimum=1),  # rollouts averaged per leaf
    "rollout_policy": Key(str, "random", choices=ROLLOUT_POLICIES),  # how rollouts move
}
LEAGUE_SCHEMA = {
    "main_agents": Key(int, 1, minimum=1),
    "main_exploiters": Key(int, 1, minimum=0),
    "league_exploiters": Key(int, 0, minimum=0),
    "games_per_round": Key(int, 128, minimum=2),
    "matches_per_round": Key(int, 2, minimum=1),
    "self_play_share": Key(float, 0.5, minimum=0.0),
    "pfsp": Key(str, "hard", choices=("hard", "var")),
    "pfsp_power": Key(float, 2.0, minimum=0.0),
    "snapshot_win_rate": Key(float, 0.7, minimum=0.0),
    "snapshot_every": Key(int, 8, minimum=1),
    "recent_rounds": Key(int, 10, minimum=1),
    "anchors": Key(list, ["random", "greedy"], item_type=str),
    # Also anchor every pure strategy: `fixed:action=N` for each action N of the game (the
    # matrix games' default, whose action count depends on the table).
    "pure_strategy_anchors": Key(bool, False),
    "league_exploiter_reset": Key(float, 0.25, minimum=0.0),
}
EVALUATION_SCHEMA = {
    "every": Key(int, 4, minimum=1),
    "games_per_pair": Key(int, 20, minimum=2),
    "opening_plies": Key(int, 2, minimum=0),
    "max_snapshots": Key(int, 4, minimum=0),
    "probe_positions": Key(int, 32, minimum=1),
    # Store the searching agents' root priors and visit counts per move of these games.
    "record_search": Key(bool, False),
}
SECTIONS = {"learner": LEARNER_SCHEMA, "league": LEAGUE_SCHEMA, "evaluation": EVALUATION_SCHEMA}
# What a resumed league must share with the original run.
IDENTITY = ("game", "seed", "learner", "league")


def default_config(game: str) -> dict[str, Any]:
    """The embedded default config of a game spec (arena/league_configs/<base name>.toml),
    its `game` key set to the spec."""
    rules = games.make(game)  # unknown games and parameters: the error lists the valid ones
    path = resources.files("arena").joinpath(f"league_configs/{rules.name}.toml")
    return {**loads_toml(path.read_text()), "game": rules.spec}


def resolve(
    values: dict[str, Any], where: str = "league config", allow_import: bool = False
) -> dict[str, Any]:
    """A complete, checked config: the game's embedded defaults under the given values.

    `allow_import`: the values are the user's own (command line, a config they passed), so
    their `package.module:Class` anchors may import their modules (see agents.spec)."""
    if "game" not in values:
        raise ConfigError(f"{where}: key 'game' is required")
    check(values, SCHEMA, where)  # names and types first, so errors point at the user's keys
    base = default_config(values["game"])
    merged = {**base, **{k: v for k, v in values.items() if k not in SECTIONS}}
    for section, schema in SECTIONS.items():
        given = values.get(section, {})
        if not isinstance(given, dict):
            raise ConfigError(f"{where}: key {section!r} must be a table, got {given!r}")
        check(given, schema, f"{where} [{section}]")
        merged[section] = check({**base.get(section, {}), **given}, schema, f"{where} [{section}]")
    config = check(merged, SCHEMA, where)
    if config["mode"] != "league":
        raise ConfigError(f"{where}: mode {config['mode']!r} is run by arena.psro, not a league")
    if config["out"] is None:
        raise ConfigError(f"{where}: key 'out' is required (the run directory)")
    try:  # snapshots are agent specs `az:PATH,key=value` with PATH inside the run directory
        spec_path(config["out"], "a league's run directory")
    except ValueError as err:
        raise ConfigError(f"{where}: key 'out' {config['out']!r}: {err}") from None
    if config["league"]["self_play_share"] > 1:
        raise ConfigError(f"{where} [league]: key 'self_play_share' must be <= 1")
    try:  # before the run directory is made: a missing GPU is bad input, not a crash later
        resolve_device(config["device"])
    except ValueError as err:
        raise ConfigError(f"{where}: key 'device': {err}") from None
    game = games.make(config["game"])
    check_openings(game, config["evaluation"]["opening_plies"], f"{where} [evaluation]")
    if config["learner"]["algorithm"] == "alphazero":
        try:
            require_perfect_information(game, "the AlphaZero learner")
        except ValueError as err:
            raise ConfigError(f'{where} [learner]: {err} (use algorithm = "ppo")') from None
    if config["league"]["pure_strategy_anchors"]:
        pure = [f"fixed:action={n}" for n in range(game.num_actions)]
        anchors = config["league"]["anchors"]
        config["league"]["anchors"] = anchors + [spec for spec in pure if spec not in anchors]
    for spec in config["league"]["anchors"]:
        try:
            agent_specs.make(spec, game, allow_import=allow_import)
        except ValueError as err:
            raise ConfigError(f"{where} [league]: anchor {spec!r}: {err}") from None
    return config


# --------------------------------------------------------------------------- learners


@dataclass
class LearnerSlot:
    name: str
    role: str
    created_round: int
    snapshots: int = 0
    last_snapshot_round: int = 0
    save_dir: str = ""  # relative to the run directory
    learner: Any = None

    def record(self) -> dict:
        return {
            k: getattr(self, k)
            for k in (
                "name",
                "role",
                "created_round",
                "snapshots",
                "last_snapshot_round",
                "save_dir",
            )
        }


# --------------------------------------------------------------------------- the league


class League:
    def __init__(
        self,
        config: dict,
        resume: bool = False,
        log: Callable[[str], None] = print,
        backend: Backend | None = None,
        allow_import: bool = False,
    ):
        self.config = config
        self.allow_import = allow_import  # as for `resolve`: the config is the user's own
        self.game = games.make(config["game"])
        self.log = log
        self.backend = backend or LocalBackend()  # plays the matches; this process writes
        identity = {k: config[k] for k in IDENTITY}
        # The user's checkpoints (anchors), not the league's own snapshots, which change.
        checkpoints = checkpoint_hashes(config["league"]["anchors"])
        self.run_dir, self.run_id = open_run(
            config["out"], "league", self.game.spec, identity, resume, checkpoints
        )
        write_config(self.run_dir, config)
        self.population: list[dict] = []  # frozen members: anchors and snapshots
        self.slots: list[LearnerSlot] = []
        self.round = 0
        self.elapsed = 0.0
        self.train_steps = 0
        self._agents: dict[str, Any] = {}
        self.standing = ""  # summary of the last evaluation round, for the live display
        state_file = self.run_dir / STATE_FILE
        if resume and state_file.is_file():
            self._restore(json.loads(state_file.read_text()))
        else:
            self._start()

    # -- set-up -------------------------------------------------------------------------

    def _start(self) -> None:
        league = self.config["league"]
        for spec in league["anchors"]:
            self.population.append(
                {"agent": spec, "role": "anchor", "parent": None, "created_round": 0, "spec": spec}
            )
        counts = {
            "main": league["main_agents"],
            "main_exploiter": league["main_exploiters"],
            "league_exploiter": league["league_exploiters"],
        }
        for role in ROLES:
            for k in range(counts[role]):
                name = role if counts[role] == 1 else f"{role}{k}"
                slot = LearnerSlot(name, role, created_round=0)
                slot.learner = self.backend.new_learner(self.config, name, self._seed("init", name))
                self.slots.append(slot)

    def _restore(self, state: dict) -> None:
        for member in state["population"]:  # before anything is loaded or played
            if imports_code(member["spec"]) and not self.may_import(member["spec"]):
                raise ConfigError(
                    f"{self.run_dir / STATE_FILE}: member {member['agent']!r}: "
                    f"{UntrustedCode(member['spec'])}"
                )
        self.round, self.elapsed = state["round"], state["elapsed_seconds"]
        self.train_steps = state["train_steps"]
        self.population = state["population"]
        for record in state["learners"]:
            slot = LearnerSlot(**record)
            slot.learner = self.backend.load_learner(
                self.config, slot.name, self.run_dir / slot.save_dir
            )
            self.slots.append(slot)
        self.log(f"resumed after round {self.round} ({len(self.population)} frozen agents)")

    def _seed(self, *parts) -> int:
        key = "|".join(str(p) for p in (self.config["seed"], *parts))
        return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little") >> 1

    def _match_id(self, round_index: int, kind: str, *parts) -> str:
        return ids.match_id(round_index, kind, self.config["seed"], *parts)

    # -- agents -------------------------------------------------------------------------

    def may_import(self, spec: str) -> bool:
        """Whether a member's spec may import its module: only the config's own anchors
        may, when the config is the user's; a spec found only in league.json never does."""
        return self.allow_import and spec in self.config["league"]["anchors"]

    def frozen_agent(self, member: dict):
        """The playing agent of a population member (cached: networks load once)."""
        if member["agent"] not in self._agents:
            spec = member["spec"]
            self._agents[member["agent"]] = agent_specs.make(
                spec, self.game, name=member["agent"], allow_import=self.may_import(spec)
            )
        return self._agents[member["agent"]]

    def version_id(self, slot: LearnerSlot, round_index: int) -> str:
        return ids.version_id(slot.name, round_index)

    # -- one round ----------------------------------------------------------------------

    def run(self, minutes: float | None = None, rounds: int | None = None) -> None:
        minutes = self.config["minutes"] if minutes is None else minutes
        rounds = self.config["rounds"] if rounds is None else rounds
        start, start_elapsed, first_round = time.perf_counter(), self.elapsed, self.round
        last_eval = self.round
        with replays.ReplayWriter(self.run_dir, flush_seconds=None) as self.writer:
            while True:
                if rounds and self.round - first_round >= rounds:
                    break
                spent = time.perf_counter() - start
                per_round = spent / (self.round - first_round) if self.round > first_round else 0
                if minutes and spent + per_round > minutes * 60:
                    break  # the next round would overrun the budget
                round_start = time.perf_counter()
                self.round += 1
                played, trained = self.play_round()
                if self.round % self.config["evaluation"]["every"] == 0:
                    self.evaluate()
                    last_eval = self.round
                self.elapsed = start_elapsed + time.perf_counter() - start
                self.save_round(played, trained, time.perf_counter() - round_start)
            if last_eval != self.round and self.round > 0:
                self.evaluate()  # the final standings always include the latest learners
                self.save_round(0, 0, 0.0)

    def play_round(self) -> tuple[int, int]:
        rng = np.random.default_rng(self._seed("round", self.round))
        stored = self.stored_matches()
        league = self.config["league"]
        per_match = max(2, league["games_per_round"] // league["matches_per_round"])
        jobs = []
        for slot in self.slots:
            for k in range(league["matches_per_round"]):
                opponent = self.pick_opponent(slot, rng)
                match_id = self._match_id(self.round, "train", self.round, slot.name, k)
                seed = int(rng.integers(2**62))  # drawn for stored matches too: seeds stay put
                if match_id not in stored:  # stored before a crash: never stored twice
                    jobs.append(self.training_job(slot, opponent, match_id, per_match, seed))
        # Every learner plays against the league as it stood when the round began, so the
        # backend can play all the round's matches at once; then the learners train (each
        # from its own rng, wherever the backend keeps it).
        played = self.play_training_matches(jobs)
        steps = self.config["learner"]["train_steps"]
        rngs = [np.random.default_rng(self._seed("train", self.round, s.name)) for s in self.slots]
        losses = self.backend.train_learners([s.learner for s in self.slots], steps, rngs)
        trained = steps * sum(1 for loss in losses if loss)
        for slot in self.slots:
            self.maybe_snapshot(slot, rng)
        self.writer.flush()
        self.train_steps += trained
        return played, trained

    def pick_opponent(self, slot: LearnerSlot, rng) -> dict | None:
        """None means self-play; else a population member or a main agent's current version."""
        league = self.config["league"]
        mains = [s for s in self.slots if s.role == "main"]
        if slot.role == "main_exploiter":
            main = mains[int(rng.integers(len(mains)))]
            return {"agent": self.version_id(main, self.round), "slot": main}
        if slot.role == "main" and rng.random() < league["self_play_share"]:
            return None
        candidates = self.population + [
            {"agent": self.version_id(m, self.round), "slot": m} for m in mains if m is not slot
        ]
        rates = self.recent_win_rates(slot)
        x = np.array([rates.get(c["agent"], 0.5) for c in candidates])
        weights = (1 - x) ** league["pfsp_power"] if league["pfsp"] == "hard" else x * (1 - x)
        weights = np.maximum(weights, 1e-3)  # every member keeps some chance
        return candidates[int(rng.choice(len(candidates), p=weights / weights.sum()))]

    def recipe(self, member: dict) -> AgentRecipe:
        """How a backend rebuilds a population member or a learner's current version."""
        if "slot" in member:
            return AgentRecipe(
                member["agent"], learner=LearnerRef(self.config, member["slot"].name)
            )
        spec = member["spec"]
        return AgentRecipe(member["agent"], spec=spec, allow_import=self.may_import(spec))

    def training_job(self, slot, opponent, match_id: str, n: int, seed: int) -> RolloutJob:
        if opponent is None:  # self-play: the learner takes both seats
            seat_agent = np.zeros((n, self.game.num_players), np.int64)
        else:
            seat_agent = alternating_seats(n, self.game.num_players)
        plan = MatchGames(
            seeds=np.random.default_rng([seed, 1]).integers(0, 2**62, n, dtype=np.int64),
            seat_agent=seat_agent,
            openings=[[] for _ in range(n)],
        )
        learner = LearnerRef(self.config, slot.name)
        version = self.version_id(slot, self.round)
        return RolloutJob(
            match_id, learner, version, opponent and self.recipe(opponent), plan, seed
        )

    def play_training_matches(self, jobs: list[RolloutJob]) -> int:
        """Store the matches as the backend finishes them; then give each learner its moves
        in schedule order, so that its samples are the same on every backend."""
        learners = {s.name: s.learner for s in self.slots}
        finished = {}
        for job, columns, moves in self.backend.play_rollouts(self.game.spec, jobs, learners):
            finished[job.match_id] = (np.asarray(columns["returns"]), moves)
            columns.update(
                run_id=self.run_id,
                match_id=job.match_id,
                game_index=np.arange(job.games, dtype=np.int32),
            )
            self.writer.write(columns)
        for job in jobs:
            returns, moves = finished[job.match_id]
            learners[job.learner.slot].put_recorded(moves)
            learners[job.learner.slot].end_games(returns)
        return sum(job.games for job in jobs)

    def recent_win_rates(self, slot: LearnerSlot) -> dict[str, float]:
        """Score rate of the learner's recent versions against each opponent id."""
        since = ids.round_tag(max(0, self.round - self.config["league"]["recent_rounds"]))
        query = """
            WITH mine AS (
                SELECT CASE WHEN starts_with(agents[1], $me) THEN agents[2] ELSE agents[1] END
                         AS opponent,
                       CASE WHEN winner = -1 THEN 0.5
                            WHEN starts_with(agents[winner + 1], $me) THEN 1.0 ELSE 0.0 END AS score
                FROM games
                WHERE match_id >= $since
                  AND starts_with(agents[1], $me) <> starts_with(agents[2], $me))
            SELECT opponent, avg(score) AS rate FROM mine GROUP BY opponent"""
        rows = self._query(query, {"me": ids.version_prefix(slot.name), "since": since})
        return dict(zip(rows["opponent"].tolist(), rows["rate"].tolist(), strict=True))

    def maybe_snapshot(self, slot: LearnerSlot, rng) -> None:
        league = self.config["league"]
        rates = self.recent_win_rates(slot)
        population_rates = [rates[m["agent"]] for m in self.population if m["agent"] in rates]
        beats_population = (
            bool(population_rates) and np.mean(population_rates) >= league["snapshot_win_rate"]
        )
        due = self.round - slot.last_snapshot_round >= league["snapshot_every"]
        if not (beats_population or due):
            return
        slot.snapshots += 1
        slot.last_snapshot_round = self.round
        name = ids.snapshot_name(slot.name, slot.snapshots)
        path = self.run_dir / "agents" / name / "model"
        from agents.checkpoint import save_checkpoint

        save_checkpoint(
            path,
            slot.learner.model,
            slot.learner.net_config,
            self.game.spec,
            {"role": slot.role, "round": self.round},
            slot.name,
            slot.learner.steps,
        )
        self.population.append(
            {
                "agent": name,
                "role": "snapshot",
                "parent": slot.name,
                "created_round": self.round,
                "spec": slot.learner.snapshot_spec(path),
            }
        )
        self.log(
            f"round {self.round}: snapshot {name} "
            f"({'beats the population' if beats_population else 'periodic'})"
        )
        reset = slot.role == "main_exploiter" or (
            slot.role == "league_exploiter" and rng.random() < league["league_exploiter_reset"]
        )
        if reset:  # exploiters start over, to find new weaknesses rather than refine old ones
            seed = self._seed("reset", name)
            slot.learner = self.backend.new_learner(self.config, slot.name, seed)

    # -- evaluation ---------------------------------------------------------------------

    def evaluation_members(self) -> list[tuple[str, Any]]:
        cfg = self.config["evaluation"]
        snapshots = [m for m in self.population if m["role"] == "snapshot"]
        keep = snapshots[len(snapshots) - cfg["max_snapshots"] :] if cfg["max_snapshots"] else []
        members = [
            (m["agent"], self.frozen_agent(m)) for m in self.population if m["role"] == "anchor"
        ]
        members += [(m["agent"], self.frozen_agent(m)) for m in keep]
        members += [
            (self.version_id(s, self.round), s.learner.rated_agent(self.version_id(s, self.round)))
            for s in self.slots
        ]
        return members

    def evaluate(self) -> None:
        cfg = self.config["evaluation"]
        members = self.evaluation_members()
        recipes = {m["agent"]: self.recipe(m) for m in self.population}
        for slot in self.slots:
            version = self.version_id(slot, self.round)
            recipes[version] = self.recipe({"agent": version, "slot": slot})
        stored = self.stored_matches()
        n = cfg["games_per_pair"] + cfg["games_per_pair"] % 2
        jobs = []
        # Where the seats differ, per-seat α-Rank needs each agent against itself too.
        itself = 0 if population.seats_differ(self.game) else 1
        for i, (a, _) in enumerate(members):
            for b, _ in members[i + itself :]:
                match_id = self._match_id(self.round, "eval", self.round, a, b)
                if match_id in stored:
                    continue
                # A seed per match: matches are independent jobs, played in any order.
                seed = self._seed("eval", self.round, a, b)
                rng = np.random.default_rng([seed, 1])
                openings = (
                    random_openings(self.game, n // 2, cfg["opening_plies"], rng)
                    if cfg["opening_plies"]
                    else [[] for _ in range(n // 2)]
                )
                plan = alternating_plan(
                    n, self.game.num_players, rng, [openings[g // 2] for g in range(n)]
                )
                pair = (recipes[a], recipes[b])
                jobs.append(MatchJob(match_id, pair, plan, seed, cfg["record_search"]))
        learners = {s.name: s.learner for s in self.slots}
        for job, columns in self.backend.play(self.game.spec, jobs, learners):
            columns.update(
                run_id=self.run_id, match_id=job.match_id, game_index=np.arange(n, dtype=np.int32)
            )
            self.writer.write(columns)
        self.writer.flush()
        self.write_evaluation_metrics([name for name, _ in members], dict(members))
        self.write_exploitability_bounds()

    def write_exploitability_bounds(self) -> None:
        """Each main exploiter's evaluation games against each main agent, as a lower bound
        on the main agent's exploitability (arena.exploiter), into `exploitability_bounds`."""
        from arena.exploiter import evaluation_bounds

        version = {s.name: self.version_id(s, self.round) for s in self.slots}
        pairs = [
            (version[e.name], version[m.name])
            for e in self.slots
            if e.role == "main_exploiter"
            for m in self.slots
            if m.role == "main"
        ]
        rows = evaluation_bounds(self.run_dir, self.game, self.round, pairs)
        if rows["agent"]:
            metrics.write_round(self.run_dir, "exploitability_bounds", self.round, rows)
            bounds = ", ".join(
                f"{a} {b:.3f}" for a, b in zip(rows["agent"], rows["bound"], strict=True)
            )
            self.log(f"round {self.round} exploitability lower bounds: {bounds}")

    def write_evaluation_metrics(self, names: list[str], players: dict) -> None:
        pairs = self.eval_pairs()
        fitted = fit_ratings(pairs, anchor="random")
        metrics.write_round(
            self.run_dir,
            "ratings",
            self.round,
            {
                "agent": list(fitted.agents),
                "rating": fitted.rating,
                "stderr": fitted.stderr,
                "ci_low": fitted.ci_low,
                "ci_high": fitted.ci_high,
                "games": fitted.games,
            },
        )
        score, count = win_rate_matrix(pairs, names)
        rows = [
            (a, b, score[i, j], count[i, j])
            for i, a in enumerate(names)
            for j, b in enumerate(names)
            if i != j and count[i, j] > 0
        ]
        metrics.write_round(
            self.run_dir,
            "winrates",
            self.round,
            {
                "agent": [r[0] for r in rows],
                "opponent": [r[1] for r in rows],
                "score": [float(r[2]) for r in rows],
                "games": [int(r[3]) for r in rows],
            },
        )
        # The game-theoretic measures read returns, on the agents that met every other.
        tables = payoffs.load(self.run_dir, ids.EVAL_ONLY, names)
        completion = tables.complete()
        if completion.missing:
            self.log(f"round {self.round} evaluation: {completion.describe()}")
        kept = list(completion.tables.agents)
        a = completion.tables.antisymmetric()
        probes = diversity.probe_positions(
            self.game,
            self.config["evaluation"]["probe_positions"],
            seed=self.config["seed"],
            plies=(2, max(3, self.game.max_plies // 2)),
        )
        mask = self.game.legal_mask(probes)
        dists = diversity.action_distributions([players[n] for n in kept], self.game, probes, mask)
        values = diversity.population_metrics(a, dists)
        metrics.write_round(
            self.run_dir,
            "diversity",
            self.round,
            {
                "metric": list(values),
                "value": [float(v) for v in values.values()],
            },
        )
        metrics.write_round(
            self.run_dir, "alpharank", self.round, population.alpharank_rows(kept, a)
        )
        metrics.write_round(
            self.run_dir, "nash_averaging", self.round, population.nash_rows(kept, a)
        )
        if population.seats_differ(self.game):
            self.write_alpharank_per_seat(tables)
        best = max(
            (r, a)
            for a, r in zip(fitted.agents, fitted.rating, strict=True)
            if a not in {m["agent"] for m in self.population if m["role"] == "anchor"}
        )
        self.standing = (
            f"best {best[1]} {best[0]:.0f} Elo, effective diversity "
            f"{values['effective_diversity']:.3f}, Nash support {values['nash_support']:.0f}"
        )
        self.log(f"round {self.round} evaluation of {len(names)} agents: {self.standing}")

    def write_alpharank_per_seat(self, tables: payoffs.PayoffTables) -> None:
        """Multi-population α-Rank, the seats as populations, into `alpharank_per_seat`: on
        the agents that played every other agent and themselves in both seats."""
        completion = tables.complete(seats=True)
        if completion.missing:
            self.log(f"round {self.round} per-seat α-Rank: {completion.describe()}")
        kept = list(completion.tables.agents)
        if not kept:
            return
        try:
            rows = population.alpharank_per_seat_rows(kept, completion.tables.per_seat())
        except AlphaRankError as err:  # said, not replaced by a guess
            self.log(f"round {self.round} per-seat α-Rank: {err}")
            return
        metrics.write_round(self.run_dir, "alpharank_per_seat", self.round, rows)

    def eval_pairs(self):
        return results.pair_table(self.run_dir, ids.EVAL_ONLY)

    # -- persistence --------------------------------------------------------------------

    def stored_matches(self) -> set[str]:
        table = replays.open(self.run_dir).to_table(columns=["match_id"])
        return set(table["match_id"].unique().to_pylist())

    def _query(self, sql: str, params: dict) -> dict[str, np.ndarray]:
        connection = duckdb.connect()
        connection.register("games", replays.open(self.run_dir).dataset)
        return connection.sql(sql, params=params).fetchnumpy()

    def save_round(self, played: int, trained: int, seconds: float) -> None:
        """Checkpoints, then metrics, then league.json last: the round's commit point."""
        for slot in self.slots:
            directory = f"agents/{slot.name}/{ids.round_tag(self.round)}"
            slot.learner.save(self.run_dir / directory, parent=slot.name)
            previous, slot.save_dir = slot.save_dir, directory
            if previous and previous != directory:
                shutil.rmtree(self.run_dir / previous, ignore_errors=True)
        games_total = replays.open(self.run_dir).count()
        metrics.write_round(
            self.run_dir,
            "progress",
            self.round,
            {
                "time": [dt.datetime.now(dt.timezone.utc)],
                "elapsed_seconds": [self.elapsed],
                "games_total": [games_total],
                "games_per_second": [played / seconds if seconds else 0.0],
                "train_steps": [self.train_steps],
                "train_steps_per_second": [trained / seconds if seconds else 0.0],
            },
        )
        members = self.population + [
            {
                "agent": s.name,
                "role": s.role,
                "parent": None,
                "created_round": s.created_round,
                "spec": s.learner.snapshot_spec(self.run_dir / s.save_dir / "model"),
            }
            for s in self.slots
        ]
        metrics.write_round(
            self.run_dir,
            "population",
            self.round,
            {
                "agent": [m["agent"] for m in members],
                "role": [m["role"] for m in members],
                "parent": [m["parent"] for m in members],
                "created_round": [m["created_round"] for m in members],
                "spec": [m["spec"] for m in members],
            },
        )
        state = {
            "round": self.round,
            "elapsed_seconds": self.elapsed,
            "train_steps": self.train_steps,
            "population": self.population,
            "learners": [s.record() for s in self.slots],
        }
        atomic_write(self.run_dir / STATE_FILE, json.dumps(state, indent=2).encode())
        if seconds:
            self.log(
                f"round {self.round}: {played} games ({played / seconds:.1f}/s), "
                f"{trained} train steps ({trained / seconds:.1f}/s), "
                f"population {len(self.population)}, {games_total:,} games stored"
                + (f"; last evaluation: {self.standing}" if self.standing else "")
            )


def run_league(
    values: dict[str, Any],
    resume: bool = False,
    log=print,
    backend: Backend | None = None,
    allow_import: bool = False,
) -> Path:
    """Resolve the config, create or resume the run, train; returns the run directory.

    `allow_import`: `values` are the user's own, so their `package.module:Class` anchors may
    import their modules; never for values read from a run folder (see agents.spec)."""
    config = resolve(values, allow_import=allow_import)
    # Held from before run.json and league.json are read or made to the last write.
    with lock_run(config["out"], "league", resume):
        league = League(config, resume=resume, log=log, backend=backend, allow_import=allow_import)
        league.run()
    return league.run_dir
