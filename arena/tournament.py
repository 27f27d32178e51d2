"""Tournaments: a fixed schedule of matches between agents, played into a run directory.

The schedule is a pure function of the config: every match has an id derived from the
game, seed, pair and chunk, so a resumed run knows exactly which matches are already in
the replay dataset and plays only the others. The writer puts whole matches into each part
file, so a crash loses at most the matches in flight and never stores half of one.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import agents as agent_specs
import games
import replays
from agents.base import require_perfect_information
from agents.spec import checkpoint_hashes
from arena.backends import AgentRecipe, Backend, LocalBackend, MatchJob
from arena.config import ConfigError, Key, check
from arena.match import MatchGames, alternating_seats
from arena.rundir import lock_run, open_run, write_config

FORMATS = ("round-robin", "gauntlet")

SCHEMA = {
    "game": Key(str, None, help="game spec, NAME[:key=value,...]", convert=games.canonical),
    "agents": Key(list, None, item_type=str, help="agent specs, optionally name=SPEC"),
    "format": Key(str, "round-robin", choices=FORMATS, help="pairing"),
    "games_per_pair": Key(int, 100, minimum=1, help="games between each pair"),
    "seed": Key(int, 0, minimum=0, help="seed of the whole schedule"),
    "concurrency": Key(int, 1024, minimum=1, help="games per batched match"),
    "opening_plies": Key(int, 0, minimum=0, help="random opening moves, each from both seats"),
    "out": Key(str, None, help="run directory"),
    "record_search": Key(bool, False, help="store search agents' priors and visits per move"),
}
# Settings that fix the schedule: a resumed run must keep them.
IDENTITY = ("game", "agents", "format", "games_per_pair", "seed", "concurrency", "opening_plies")


@dataclass(frozen=True)
class Match:
    """A batch of games between two agents; first seat alternates (or swaps per opening)."""

    match_id: str
    first: str  # agent id that takes seat 0 in even games
    second: str
    games: int
    seed: int


def parse_agents(entries: list[str]) -> dict[str, str]:
    """Agent id -> spec from `SPEC` or `name=SPEC` entries (the id defaults to the spec)."""
    out: dict[str, str] = {}
    for entry in entries:
        head = entry.split(":", 1)[0]
        name, spec = entry.split("=", 1) if "=" in head else (entry, entry)
        name, spec = name.strip(), spec.strip()
        if not name or not spec:
            raise ConfigError(f"agents: empty name or spec in {entry!r}")
        if name in out:
            raise ConfigError(f"agents: the id {name!r} is given twice; name them name=SPEC")
        out[name] = spec
    if len(out) < 2:
        raise ConfigError(f"agents: a tournament needs at least 2 agents, got {len(out)}")
    return out


def resolve(values: dict[str, Any], where: str = "tournament config") -> dict[str, Any]:
    """A checked, complete config: defaults filled, required keys present."""
    config = check(values, SCHEMA, where)
    for required in ("game", "agents", "out"):
        if config[required] is None:
            raise ConfigError(f"{where}: key {required!r} is required ({SCHEMA[required].help})")
    parse_agents(config["agents"])
    if config["opening_plies"] and config["games_per_pair"] % 2:
        raise ConfigError(
            f"{where}: key 'games_per_pair' must be even when opening_plies > 0 "
            f"(each opening is played from both seats), got {config['games_per_pair']}"
        )
    check_openings(games.make(config["game"]), config["opening_plies"], where)
    return config


def check_openings(game: games.Game, plies: int, where: str) -> None:
    """ConfigError unless `random_openings` can make openings of `plies` moves: shorter than
    the game, and of a game of perfect information (a chance outcome drawn uniformly would
    skew the odds; a simultaneous node takes no single move)."""
    if not plies:
        return
    if plies >= game.max_plies:
        raise ConfigError(f"{where}: key 'opening_plies' must be below the game's length")
    try:
        require_perfect_information(game, "random openings", does="are for")
    except ValueError as err:
        raise ConfigError(f"{where}: key 'opening_plies': {err} (set it to 0)") from None


def schedule(config: dict[str, Any]) -> list[Match]:
    """Every match of the tournament, in playing order."""
    ids = list(parse_agents(config["agents"]))
    if config["format"] == "gauntlet":
        pairs = [(ids[0], other) for other in ids[1:]]
    else:
        pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :]]
    chunk = config["concurrency"]
    if config["opening_plies"]:
        chunk = max(2, chunk - chunk % 2)  # both seats of an opening stay in one match
    matches = []
    for p, (a, b) in enumerate(pairs):
        total = config["games_per_pair"]
        for c, start in enumerate(range(0, total, chunk)):
            size = min(chunk, total - start)
            key = f"{config['game']}|{config['seed']}|{a}|{b}|{c}|{size}"
            match_id = hashlib.sha256(key.encode()).hexdigest()[:16]
            seed = int(np.random.SeedSequence([config["seed"], p, c]).generate_state(1)[0])
            matches.append(Match(match_id, a, b, size, seed))
    return matches


def plan_match(game: games.Game, match: Match, opening_plies: int) -> MatchGames:
    """Seats, per-game seeds and openings of one match (a pure function of the match)."""
    rng = np.random.default_rng(match.seed)
    n = match.games
    seat_agent = alternating_seats(n, game.num_players)
    seeds = rng.integers(0, 2**62, size=n, dtype=np.int64)
    openings: list[list[int]] = [[] for _ in range(n)]
    if opening_plies:
        lines = random_openings(game, (n + 1) // 2, opening_plies, rng)
        openings = [lines[i // 2] for i in range(n)]
    return MatchGames(seeds=seeds, seat_agent=seat_agent, openings=openings)


def random_openings(game: games.Game, count: int, plies: int, rng) -> list[list[int]]:
    """`count` random move sequences of `plies` moves that leave the game unfinished."""
    out: list[list[int]] = []
    while len(out) < count:
        need = count - len(out)
        state = game.init(need)
        moves = np.zeros((need, plies), dtype=np.int64)
        for ply in range(plies):
            mask = game.legal_mask(state)
            noise = rng.random(mask.shape)
            noise[~mask] = -1.0
            moves[:, ply] = noise.argmax(axis=1)
            game.step(state, moves[:, ply])
        out.extend(moves[i].tolist() for i in np.flatnonzero(~state.done))
    return out


def done_matches(run_dir: Path) -> set[str]:
    table = replays.open(run_dir).to_table(columns=["match_id"])
    return set(table["match_id"].unique().to_pylist())


@dataclass
class TournamentReport:
    run_dir: Path
    games_played: int  # by this call (a resumed run skips stored matches)
    seconds: float  # wall time of the playing loop, writing included
    write_seconds: float  # of which: building replay tables and writing Parquet


def run_tournament(
    config: dict[str, Any],
    resume: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    flush_seconds: float = 10.0,
    backend: Backend | None = None,
) -> TournamentReport:
    """Play every scheduled match not yet stored, into the run directory.

    `on_progress(games_done, games_total)` is called after each match. Matches are played
    by `backend` (default: in this process) and written here as they come back.
    """
    config = resolve(config)
    game = games.make(config["game"])
    specs = parse_agents(config["agents"])
    for name, spec in specs.items():
        try:  # every spec is checked here, before the run directory is touched
            # A tournament's specs are always its caller's (the command line or a config
            # the user passed): a resumed tournament is given them again, never reads them
            # from the run folder; so its `module:Class` specs may import their modules.
            agent_specs.make(spec, game, name=name, allow_import=True)
        except ValueError as err:
            raise ConfigError(f"agent {name!r}: {err}") from None
    # Held from before run.json is read or made to the last write: one writer per run.
    with lock_run(config["out"], "tournament", resume):
        return _play(config, game, specs, resume, on_progress, flush_seconds, backend)


def _play(
    config: dict[str, Any],
    game: games.Game,
    specs: dict[str, str],
    resume: bool,
    on_progress: Callable[[int, int], None] | None,
    flush_seconds: float,
    backend: Backend | None,
) -> TournamentReport:
    """Every scheduled match not yet stored, played into the run (its lock held)."""
    identity = {k: config[k] for k in IDENTITY}
    checkpoints = checkpoint_hashes(specs.values())  # a resumed run needs the same weights
    run_dir, run_id = open_run(
        config["out"], "tournament", game.spec, identity, resume, checkpoints
    )
    write_config(run_dir, config)
    matches = schedule(config)
    stored = done_matches(run_dir)
    total = sum(m.games for m in matches)
    done = sum(m.games for m in matches if m.match_id in stored)
    if on_progress:
        on_progress(done, total)
    played, write_seconds, start = 0, 0.0, time.perf_counter()
    jobs = [
        MatchJob(
            match.match_id,
            (
                AgentRecipe(match.first, specs[match.first], allow_import=True),
                AgentRecipe(match.second, specs[match.second], allow_import=True),
            ),
            plan_match(game, match, config["opening_plies"]),
            match.seed,
            config["record_search"],
        )
        for match in matches
        if match.match_id not in stored
    ]
    writer = replays.ReplayWriter(run_dir, flush_seconds=flush_seconds)
    with writer:
        for job, columns in (backend or LocalBackend()).play(game.spec, jobs):
            columns.update(
                run_id=run_id,
                match_id=job.match_id,
                game_index=np.arange(job.games, dtype=np.int32),
            )
            before = time.perf_counter()
            writer.write(columns)
            write_seconds += time.perf_counter() - before
            done += job.games
            played += job.games
            if on_progress:
                on_progress(done, total)
        before = time.perf_counter()
        writer.flush()
        write_seconds += time.perf_counter() - before
    return TournamentReport(run_dir, played, time.perf_counter() - start, write_seconds)
