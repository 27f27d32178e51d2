"""Rating a study: every (snapshot, simulations) player and fixed anchors, on a sparse plan.

Players: each snapshot of `DIR/tables/snapshots.parquet` at each search budget of the grid,
searching as its learner did (`az:PATH,sims=S,...`, agent id `<snapshot>/s<S>`), plus the
anchors: `random`, `greedy` and rollout search `mcts:sims=N` at several budgets. Every
player meeting every other would cost games growing with the square of the players, so
the plan is sparse (`pairings`): each player meets every anchor, its neighbour in
simulations (the same snapshot with the next budget) and its neighbours in training
compute (at the same budget, the snapshot with the next larger compute over all networks,
and the next one of its own network); the anchors meet in a chain. The number of pairs is
then linear in the players.

Each pair plays in rounds of `games_per_match` games (seats alternating, each opening of
`OPENING_PLIES` random moves played from both seats so that deterministic players do not
repeat one game), all pairs one round before any pair the next, as matches through the
backend into `DIR/replays/` with the ids a league gives its evaluation matches
(`arena.ids.match_id`): the replay dataset stays the single source of truth, and a
resumed rating plays only the matches not stored, once it has checked that each agent id
still plays as in its stored games (`DIR/tables/players.parquet`). Before each match the
time it will take is estimated from the games played so far (`CostModel`); a match of the
planned rounds that would overrun the budget is left out and recorded as such in
`DIR/tables/pairings.parquet`. Time left after the planned rounds buys extra rounds (up to
`max_rounds`), which narrow the intervals, until a match no longer fits.

The ratings (Bradley-Terry-Davidson, `arena.ratings.fit_ratings`, anchored at `random`)
go to `DIR/tables/ratings.parquet` with each player's network, snapshot, simulations,
training compute and seconds per move (fitted to the matches' wall time by `CostModel`).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import pyarrow as pa
from scipy import optimize

import games
import replays
from agents import spec as agent_specs
from arena import ids, results
from arena.backends import AgentRecipe, Backend, LocalBackend, MatchJob
from arena.config import ConfigError
from arena.learners import alphazero_config
from arena.ratings import fit_ratings
from arena.rundir import read_run
from arena.study.grid import GRID_FILE, StudyGrid
from arena.study.tables import PAIRINGS, PLAYERS, RATINGS, SNAPSHOTS, read_table, write_table
from arena.study.train import learner_config
from arena.tournament import Match, check_openings, done_matches, plan_match

ANCHORS = ("random", "greedy", "mcts:sims=16", "mcts:sims=64", "mcts:sims=256", "mcts:sims=1024")
RATING_ANCHOR = "random"  # held at 0 Elo
GAMES_PER_MATCH = 8  # per pair and round: even, each opening from both seats
ROUNDS = 4  # planned: 32 games per pair; what the budget cannot fit is left out
MAX_ROUNDS = 16  # time left after the planned rounds buys more, up to 128 games per pair
OPENING_PLIES = 2
MEASURABLE_SECONDS = 1e-6  # per move: less is below what the matches' wall time resolves
# What the rating games' rows are told apart by from any other game in DIR/replays.
RATING_GAMES = ids.EVAL_ONLY
COST_QUERY = f"""
SELECT match_id, agents, plies, started_at, ended_at FROM games WHERE {RATING_GAMES}
"""


@dataclass(frozen=True)
class Player:
    """One rated agent: a snapshot at a search budget, or an anchor."""

    agent: str  # its id in the replays and the ratings
    spec: str
    kind: str  # "snapshot" or "anchor"
    net: str = ""
    snapshot: str = ""
    sims: int = 0  # simulations per move (0: no search)
    train_seconds: float = math.nan
    train_flops: float = math.nan


@dataclass(frozen=True)
class Pairing:
    first: str
    second: str
    why: str  # "anchors" (the anchor chain), "anchor", "simulations" or "training"


@dataclass(frozen=True)
class RatingResult:
    players: int
    pairs: int
    matches_played: int  # by this call
    matches_stored: int  # by an earlier call
    matches_left_out: int  # did not fit the budget
    games_played: int
    seconds: float

    def describe(self) -> str:
        text = (
            f"rated {self.players} players on {self.pairs} pairs: {self.matches_played} matches "
            f"({self.games_played} games) played in {self.seconds:.0f} s, "
            f"{self.matches_stored} already stored"
        )
        if self.matches_left_out:
            text += (
                f"; {self.matches_left_out} matches left out to stay within the budget "
                f"(listed in tables/{PAIRINGS}.parquet)"
            )
        return text


def anchor_players(anchors: Sequence[str]) -> list[Player]:
    """The anchors, each under its spec as id; an `mcts` anchor's `sims` is its budget."""
    out = []
    for spec in anchors:
        _, _, params = agent_specs.parse(spec)
        out.append(Player(spec, spec, "anchor", sims=int(params.get("sims", 0))))
    return out


def snapshot_players(study_dir: Path, grid: StudyGrid, snapshots: pa.Table) -> list[Player]:
    """Every snapshot at every search budget, searching as its learner searched in self-play
    (`az:DIR/<checkpoint>,sims=S` with the learner's Gumbel and rollout settings)."""
    # one learner config per network (each reads the game's league config file)
    learners = {n: alphazero_config(learner_config(grid, n, "cpu")["learner"]) for n in grid.nets}
    out = []
    for row in snapshots.sort_by([("train_flops", "ascending")]).to_pylist():
        path = agent_specs.spec_path((Path(study_dir) / row["checkpoint"]).resolve(), "a snapshot")
        learner = learners[row["net"]]
        for s in grid.sims:
            out.append(
                Player(
                    f"{row['snapshot']}/s{s}",
                    learner.play_spec(path, s),
                    "snapshot",
                    net=row["net"],
                    snapshot=row["snapshot"],
                    sims=int(s),
                    train_seconds=float(row["train_seconds"]),
                    train_flops=float(row["train_flops"]),
                )
            )
    return out


def pairings(players: Sequence[Player]) -> list[Pairing]:
    """The sparse plan (module docstring), in playing order: the anchor chain, then the
    neighbours in simulations and in training compute, then each player's anchors."""
    anchors = [p for p in players if p.kind == "anchor"]
    nets = [p for p in players if p.kind == "snapshot"]
    found: dict[frozenset[str], Pairing] = {}

    def add(a: Player, b: Player, why: str) -> None:
        found.setdefault(frozenset((a.agent, b.agent)), Pairing(a.agent, b.agent, why))

    for a, b in pairwise(anchors):
        add(a, b, "anchors")
    by_snapshot: dict[str, list[Player]] = {}
    for p in nets:
        by_snapshot.setdefault(p.snapshot, []).append(p)
    for line in by_snapshot.values():
        line.sort(key=lambda p: p.sims)
        for a, b in pairwise(line):
            add(a, b, "simulations")
    for s in sorted({p.sims for p in nets}):
        at_budget = sorted((p for p in nets if p.sims == s), key=lambda p: p.train_flops)
        for a, b in pairwise(at_budget):
            add(a, b, "training")
        for net in sorted({p.net for p in at_budget}):
            own = [p for p in at_budget if p.net == net]
            for a, b in pairwise(own):
                add(a, b, "training")
    for p in nets:
        for anchor in anchors:
            add(p, anchor, "anchor")
    return list(found.values())


def moves_by_seat(plies: np.ndarray, opening_plies: int) -> np.ndarray:
    """int[N, 2]: the moves each seat chose in two-player games of `plies` plies whose first
    `opening_plies` were forced (seat s moves at the plies k with k % 2 == s)."""
    seats = np.arange(2)
    plies = np.asarray(plies, dtype=np.int64)[:, None]
    return (plies - seats + 1) // 2 - (opening_plies - seats + 1) // 2


class CostModel:
    """Each player's seconds per move, fitted to the wall time of the matches played.

    A match's seconds are about the sum over its two agents of their moves times their
    seconds per move (a batched match asks each agent once per ply for all its games, so
    this is the cost per move at the study's games in flight). Fitted over all matches
    (`_fit`); the cheap anchors (random, greedy) every player meets make each player's
    share identifiable.
    """

    def __init__(self, opening_plies: int):
        self.opening_plies = opening_plies
        self.moves: list[dict[str, float]] = []
        self.seconds: list[float] = []
        self.plies: list[float] = []
        self._fitted: dict[str, float] | None = None

    def add(self, agents: list[list[str]], plies, started_at, ended_at) -> None:
        """One match's games: the agents per seat, plies, start and end times."""
        moves = moves_by_seat(plies, self.opening_plies)
        count: dict[str, float] = {}
        for seats, per_seat in zip(agents, moves, strict=True):
            for agent, m in zip(seats, per_seat, strict=True):
                count[agent] = count.get(agent, 0.0) + float(m)
        span = np.max(ended_at) - np.min(started_at)
        self.moves.append(count)
        self.seconds.append(span / np.timedelta64(1, "s"))
        self.plies.extend(np.asarray(plies, dtype=float).tolist())
        self._fitted = None

    def add_table(self, table: pa.Table) -> None:
        """The matches of replay rows (columns match_id, agents, plies, started_at, ended_at)."""
        if table.num_rows == 0:
            return
        table = table.sort_by("match_id")
        match = table["match_id"].to_numpy()
        starts = np.flatnonzero(np.r_[True, match[1:] != match[:-1]])
        agents = table["agents"].to_pylist()
        plies = table["plies"].to_numpy()
        started = table["started_at"].to_numpy()
        ended = table["ended_at"].to_numpy()
        for lo, hi in zip(starts, [*starts[1:], len(match)], strict=True):
            self.add(agents[lo:hi], plies[lo:hi], started[lo:hi], ended[lo:hi])

    def per_move(self) -> dict[str, float]:
        """Seconds per move of every agent seen in a match."""
        if self._fitted is None:
            names = sorted({a for m in self.moves for a in m})
            a = np.zeros((len(self.moves), len(names)))
            for i, m in enumerate(self.moves):
                for name, count in m.items():
                    a[i, names.index(name)] = count
            self._fitted = dict(zip(names, map(float, self._fit(a)), strict=True))
        return self._fitted

    def _fit(self, moves: np.ndarray) -> np.ndarray:
        """Non-negative seconds per move: relative errors (a match may last from
        milliseconds to minutes) under a robust loss, because a match that loaded an agent
        or compiled a kernel for the first time lasted longer than its moves explain."""
        if moves.size == 0:
            return np.zeros(moves.shape[1])
        seconds = np.maximum(np.asarray(self.seconds), 1e-6)
        # A last column for each match's own overhead (setting up, writing no part of it).
        relative = np.column_stack([moves, np.ones(len(seconds))]) / seconds[:, None]
        start = optimize.nnls(relative, np.ones(len(seconds)))[0]
        found = optimize.least_squares(
            lambda x: relative @ x - 1.0,
            start,
            bounds=(0.0, np.inf),
            loss="soft_l1",
            f_scale=0.25,
        )
        return found.x[:-1]

    def estimate(
        self, first: Player, second: Player, games: int, everyone: Sequence[Player]
    ) -> float:
        """Seconds a match of `games` games between the two would take."""
        known = self.per_move()
        plies = float(np.mean(self.plies)) if self.plies else 0.0
        moves = games * max(plies - self.opening_plies, 0.0) / 2
        return moves * sum(self._seconds(p, known, everyone) for p in (first, second))

    @staticmethod
    def _seconds(player: Player, known: dict[str, float], everyone: Sequence[Player]) -> float:
        """A measured player's seconds per move; for one not measured yet, the median per
        simulation of its measured peers (same network, or rollout search) times its own."""
        if player.agent in known:
            return known[player.agent]
        peers = [
            known[p.agent] / p.sims
            for p in everyone
            if p.agent in known and p.sims and (p.kind, p.net) == (player.kind, player.net)
        ]
        return float(np.median(peers)) * player.sims if peers and player.sims else 0.0


def study_run_id(study_dir: Path) -> str:
    """The run id of the study's replay rows: its run.json's, else one derived from its
    grid (so a resumed study keeps it)."""
    record = read_run(Path(study_dir))
    if record is not None and record.get("run_id"):
        return str(record["run_id"])
    return hashlib.sha256((Path(study_dir) / GRID_FILE).read_bytes()).hexdigest()[:16]


def rate_study(
    study_dir: Path,
    budget_seconds: float,
    backend: Backend | None = None,
    *,
    anchors: Sequence[str] = ANCHORS,
    rounds: int = ROUNDS,
    max_rounds: int = MAX_ROUNDS,
    games_per_match: int = GAMES_PER_MATCH,
) -> RatingResult:
    """Play the study's rating matches that fit in `budget_seconds`, then fit and write the
    ratings (module docstring). The caller holds the study's run lock."""
    if games_per_match < 2 or games_per_match % 2:
        raise ValueError(f"games_per_match must be even and at least 2, got {games_per_match}")
    start = time.monotonic()
    study_dir = Path(study_dir)
    grid = StudyGrid.load(study_dir)
    game = games.make(grid.game)
    check_openings(game, OPENING_PLIES, "study rating")
    snapshots = read_table(study_dir, SNAPSHOTS)
    if snapshots is None or snapshots.num_rows == 0:
        raise ConfigError(f"{study_dir} holds no snapshots to rate (tables/{SNAPSHOTS}.parquet)")
    players = anchor_players(anchors) + snapshot_players(study_dir, grid, snapshots)
    by_id = {p.agent: p for p in players}
    plan = pairings(players)
    backend = backend or LocalBackend()
    stored = done_matches(study_dir) if (study_dir / "replays").is_dir() else set()
    record_players(study_dir, players, stored=bool(stored))
    costs = CostModel(OPENING_PLIES)
    if stored:
        costs.add_table(results.query(study_dir, COST_QUERY))
    run_id = study_run_id(study_dir)
    budget = _Budget(start + budget_seconds, max(1, backend.workers), costs, by_id)
    rows: list[dict] = []
    played = games_played = 0
    with replays.ReplayWriter(study_dir) as writer:
        for k in range(max(rounds, max_rounds)):
            pending = []
            for pairing in plan:
                match = _match(grid, k, pairing, games_per_match)
                row = {"round": k, **asdict(pairing), "match_id": match.match_id}
                row.update(games=match.games, estimated_seconds=math.nan)
                if match.match_id in stored:
                    rows.append({**row, "status": "stored"})
                else:
                    pending.append((match, row))
            missed = False
            while pending:
                chunk, pending, left = budget.take(pending)
                missed |= bool(left)
                if k < rounds:  # a planned round: what did not fit is left out
                    rows.extend({**row, "status": "left out"} for row in left)
                jobs = [_job(game, match, by_id) for match, _ in chunk]
                for job, columns in backend.play(game.spec, jobs):
                    columns.update(
                        run_id=run_id,
                        match_id=job.match_id,
                        game_index=np.arange(job.games, dtype=np.int32),
                    )
                    writer.write(columns)
                    writer.flush()  # a part per match: a kill loses at most the matches in flight
                    costs.add(
                        columns["agents"].to_pylist(),
                        columns["plies"],
                        columns["started_at"],
                        columns["ended_at"],
                    )
                    played += 1
                    games_played += job.games
                rows.extend({**row, "status": "played"} for _, row in chunk)
            if missed and k + 1 >= rounds:
                break  # the budget is spent: no extra round
    write_ratings(study_dir, players)
    write_table(study_dir, PAIRINGS, _pairings_table(rows))
    count = {s: sum(r["status"] == s for r in rows) for s in ("stored", "left out")}
    return RatingResult(
        players=len(players),
        pairs=len(plan),
        matches_played=played,
        matches_stored=count["stored"],
        matches_left_out=count["left out"],
        games_played=games_played,
        seconds=time.monotonic() - start,
    )


def record_players(study_dir: Path, players: Sequence[Player], stored: bool) -> None:
    """Write how each agent id plays (`tables/players.parquet`), after checking that stored
    rating games were played by the same players: a resumed rating adds its games to the
    stored ones under the same ids, so an id that now plays otherwise (the study's search
    settings changed) would merge two players into one rating. Paths are left out of the
    comparison: a snapshot id names its checkpoint, and a moved folder plays the same."""
    table = pa.table({"agent": [p.agent for p in players], "spec": [p.spec for p in players]})
    if stored:
        recorded = read_table(study_dir, PLAYERS)
        if recorded is None:
            raise ConfigError(
                f"{study_dir} holds rating games from before players were recorded: move its "
                "replays/ away to rate it again"
            )
        before = dict(zip(recorded["agent"].to_pylist(), recorded["spec"].to_pylist(), strict=True))
        for p in players:
            if p.agent in before and _how(before[p.agent]) != _how(p.spec):
                raise ConfigError(
                    f"{study_dir}: the stored rating games of {p.agent} were played as "
                    f"{before[p.agent]!r}, not {p.spec!r}: move its replays/ away to rate it again"
                )
    write_table(study_dir, PLAYERS, table)


def _how(spec: str) -> tuple[str, dict[str, str]]:
    """An agent spec without its checkpoint path: the kind and its options."""
    kind, _, params = agent_specs.parse(spec)
    return kind, params


def _match(grid: StudyGrid, round_index: int, pairing: Pairing, games_per_match: int) -> Match:
    """The match of `pairing` in a round: its id (as a league's evaluation matches have) and
    a seed drawn from the id and the study's seed, so a resumed study plays the same one."""
    match_id = ids.match_id(round_index, "eval", pairing.first, pairing.second, games_per_match)
    digest = int(hashlib.sha256(match_id.encode()).hexdigest()[:16], 16)
    seed = int(np.random.SeedSequence([grid.seed, digest]).generate_state(1)[0])
    return Match(match_id, pairing.first, pairing.second, games_per_match, seed)


def _job(game: games.Game, match: Match, by_id: dict[str, Player]) -> MatchJob:
    recipes = tuple(AgentRecipe(a, by_id[a].spec) for a in (match.first, match.second))
    return MatchJob(match.match_id, recipes, plan_match(game, match, OPENING_PLIES), match.seed)


@dataclass
class _Budget:
    """The time left to rate, and which of the pending matches still fit it."""

    deadline: float  # time.monotonic() by which rating ends
    workers: int  # matches played at once
    costs: CostModel
    players: dict[str, Player]

    def take(self, pending: list) -> tuple[list, list, list[dict]]:
        """(the next matches to play at once, the rest, the rows of those that no longer
        fit): up to one match per worker, in order, each only if its estimated time fits."""
        chunk, committed, rest, left = [], 0.0, list(pending), []
        everyone = list(self.players.values())
        while rest and len(chunk) < self.workers:
            match, row = rest.pop(0)
            first, second = self.players[match.first], self.players[match.second]
            seconds = self.costs.estimate(first, second, match.games, everyone)
            row = {**row, "estimated_seconds": seconds}
            if time.monotonic() + (committed + seconds) / self.workers > self.deadline:
                left.append(row)
                continue
            committed += seconds
            chunk.append((match, row))
        return chunk, rest, left


def _pairings_table(rows: list[dict]) -> pa.Table:
    schema = pa.schema(
        [
            ("round", pa.int64()),
            ("first", pa.string()),
            ("second", pa.string()),
            ("why", pa.string()),
            ("match_id", pa.string()),
            ("games", pa.int64()),
            ("estimated_seconds", pa.float64()),
            ("status", pa.string()),
        ]
    )
    return pa.Table.from_pylist([{c: r[c] for c in schema.names} for r in rows], schema)


RATINGS_SCHEMA = pa.schema(
    [
        ("agent", pa.string()),
        ("kind", pa.string()),
        ("net", pa.string()),
        ("snapshot", pa.string()),
        ("sims", pa.int64()),
        ("train_seconds", pa.float64()),
        ("train_flops", pa.float64()),
        ("rating", pa.float64()),
        ("stderr", pa.float64()),
        ("ci_low", pa.float64()),
        ("ci_high", pa.float64()),
        ("games", pa.int64()),
        ("seconds_per_move", pa.float64()),
    ]
)


def write_ratings(study_dir: Path, players: Sequence[Player]) -> pa.Table:
    """Fit the ratings of `players` from the stored rating games and write them: one row per
    player that has played (none when no game is stored yet)."""
    names = {p.agent for p in players}
    stored = (Path(study_dir) / "replays").is_dir()
    pairs = results.pair_table(study_dir, RATING_GAMES) if stored else None
    fitted: dict[str, dict] = {}
    spm: dict[str, float] = {}
    metadata = None
    if pairs is not None:
        keep = [
            f in names and s in names
            for f, s in zip(pairs["first"].to_pylist(), pairs["second"].to_pylist(), strict=True)
        ]
        pairs = pairs.filter(pa.array(keep, pa.bool_()))
    if pairs is not None and pairs.num_rows:
        anchor = RATING_ANCHOR if RATING_ANCHOR in names else None
        fit = fit_ratings(pairs, anchor=anchor).to_arrow()
        fitted = {row["agent"]: row for row in fit.to_pylist()}
        metadata = fit.schema.metadata  # the fit's first-move advantage, draw rate, anchor
        costs = CostModel(OPENING_PLIES)
        costs.add_table(results.query(study_dir, COST_QUERY))
        # Below a microsecond a move's cost is lost in the match loop's own: not measured.
        spm = {a: t for a, t in costs.per_move().items() if t >= MEASURABLE_SECONDS}
    rows = [
        {**asdict(p), **fitted[p.agent], "seconds_per_move": spm.get(p.agent, math.nan)}
        for p in players
        if p.agent in fitted
    ]
    table = pa.Table.from_pylist(
        [{f.name: r[f.name] for f in RATINGS_SCHEMA} for r in rows], RATINGS_SCHEMA
    ).replace_schema_metadata(metadata)
    write_table(study_dir, RATINGS, table)
    return table
