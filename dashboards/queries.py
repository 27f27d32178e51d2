"""Read-only queries over a run's replay part files, in DuckDB (no Streamlit here).

Every function takes the list of live part files (from `replays.open(run).files`, so
temporary files and parts already merged by a compaction are left out) and runs one SQL
statement over them with DuckDB's Parquet reader: it reads only the columns a query
names and scans the files in parallel, which keeps a listing of a million games well
under a second. `dashboards.data` caches the results; `dashboards.bench` times them.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from arena.ids import EVAL_ONLY, round_tag
from replays.schema import REPLACES_KEY, SCHEMA_VERSION, SEARCH, VERSION_KEY, upgrade

# The columns of the replay browser's listing, newest game first.
LISTING_COLUMNS = """
    started_at, array_to_string(agents, ' vs ') AS players,
    CASE WHEN winner < 0 THEN 'draw' ELSE agents[winner + 1] END AS winner,
    plies, termination, match_id, game_index
"""
ORDER = "ORDER BY started_at DESC, match_id, game_index"
LIST_COLUMNS = ("agents", "actions", "returns", "values", "policy_entropy", "visits", *SEARCH)


@dataclass(frozen=True)
class GameFilter:
    """Conditions on games; an empty field does not filter. All conditions must hold."""

    agents: tuple[str, ...] = ()  # each of these agents holds a seat
    winner: str | None = None  # the agent that won
    draws_only: bool = False
    min_plies: int | None = None
    max_plies: int | None = None
    terminations: tuple[str, ...] = ()
    start: dt.datetime | None = None  # started_at >= start (aware, UTC)
    end: dt.datetime | None = None  # started_at <= end

    def where(self) -> tuple[str, dict]:
        """The SQL condition and its named parameters."""
        conditions, params = ["TRUE"], {}
        for k, agent in enumerate(self.agents):
            conditions.append(f"list_contains(agents, $agent{k})")
            params[f"agent{k}"] = agent
        if self.winner is not None:
            conditions.append("winner >= 0 AND agents[winner + 1] = $winner")
            params["winner"] = self.winner
        if self.draws_only:
            conditions.append("winner = -1")
        if self.min_plies is not None:
            conditions.append("plies >= $min_plies")
            params["min_plies"] = self.min_plies
        if self.max_plies is not None:
            conditions.append("plies <= $max_plies")
            params["max_plies"] = self.max_plies
        if self.terminations:
            conditions.append("list_contains($terminations, termination)")
            params["terminations"] = list(self.terminations)
        if self.start is not None:
            conditions.append("started_at >= $start")
            params["start"] = self.start
        if self.end is not None:
            conditions.append("started_at <= $end")
            params["end"] = self.end
        return " AND ".join(conditions), params


def connect() -> duckdb.DuckDBPyConnection:
    """A private in-memory connection (one per query: connections are not thread-safe,
    and Streamlit serves each browser session on its own thread)."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    return connection


def _query(files: list[str], sql: str, params: dict | None = None, every_column=False) -> pa.Table:
    """Run `sql`, where the table `games` is the part files, and return Arrow.

    `every_column`: `games` has the columns of every file, null where a file of an older
    schema version has none (DuckDB otherwise takes the first file's columns, and fails
    on a later file without one of them); queries naming their columns need not."""
    if not files:
        raise ValueError("the run has no replay files")
    source = (
        "read_parquet($files, union_by_name = true)" if every_column else "read_parquet($files)"
    )
    sql = f"WITH games AS (SELECT * FROM {source}) {sql}"
    return connect().sql(sql, params={"files": files, **(params or {})}).to_arrow_table()


@dataclass(frozen=True)
class Summary:
    """What the filters offer: totals and ranges over all games of a run."""

    games: int
    agents: tuple[str, ...]
    terminations: tuple[str, ...]
    min_plies: int
    max_plies: int
    first_start: dt.datetime | None
    last_end: dt.datetime | None

    @property
    def games_per_second(self) -> float | None:
        """Games over the wall time from the first start to the last end."""
        if self.first_start is None or self.last_end is None:
            return None
        seconds = (self.last_end - self.first_start).total_seconds()
        return self.games / seconds if seconds > 0 else None

    def merged(self, other: Summary) -> Summary:
        """The summary of the games of both (disjoint sets of part files)."""
        if not other.games or not self.games:
            return other if not self.games else self
        return Summary(
            games=self.games + other.games,
            agents=tuple(sorted(set(self.agents) | set(other.agents))),
            terminations=tuple(sorted(set(self.terminations) | set(other.terminations))),
            min_plies=min(self.min_plies, other.min_plies),
            max_plies=max(self.max_plies, other.max_plies),
            first_start=_earliest(self.first_start, other.first_start),
            last_end=_latest(self.last_end, other.last_end),
        )


def _earliest(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    return min((t for t in (a, b) if t is not None), default=None)


def _latest(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    return max((t for t in (a, b) if t is not None), default=None)


EMPTY_SUMMARY = Summary(0, (), (), 0, 0, None, None)


def summary(files: list[str]) -> Summary:
    if not files:
        return EMPTY_SUMMARY
    totals = _query(
        files,
        "SELECT count(*) AS games, min(plies) AS low, max(plies) AS high, "
        "min(started_at) AS first, max(ended_at) AS last, "
        "list(DISTINCT termination ORDER BY termination) AS terminations FROM games",
    ).to_pylist()[0]
    agents = _query(files, "SELECT DISTINCT unnest(agents) AS agent FROM games ORDER BY agent")
    return Summary(
        games=totals["games"],
        agents=tuple(agents["agent"].to_pylist()),
        terminations=tuple(totals["terminations"] or ()),
        min_plies=totals["low"] or 0,
        max_plies=totals["high"] or 0,
        first_start=totals["first"],
        last_end=totals["last"],
    )


def count_games(files: list[str], flt: GameFilter) -> int:
    where, params = flt.where()
    return _query(files, f"SELECT count(*) AS n FROM games WHERE {where}", params)["n"][0].as_py()


def list_games(files: list[str], flt: GameFilter, limit: int, offset: int = 0) -> pa.Table:
    """One page of the games matching `flt`, newest first (columns: LISTING_COLUMNS)."""
    where, params = flt.where()
    sql = f"SELECT {LISTING_COLUMNS} FROM games WHERE {where} {ORDER} LIMIT $limit OFFSET $offset"
    return _query(files, sql, {**params, "limit": limit, "offset": offset})


def export(files: list[str], flt: GameFilter, fmt: str, limit: int, schema: pa.Schema) -> bytes:
    """The first `limit` games matching `flt` (all columns) as Parquet or CSV bytes.

    Parquet keeps the replay schema (this version's) and the metadata of `schema` (a part
    file's), so the file reads like any replay part; CSV has no lists, so list columns
    become JSON text (NaN marks a move without an annotation, as Python's `json` reads it).
    """
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"unknown export format {fmt!r}; use parquet or csv")
    where, params = flt.where()
    sql = f"SELECT * FROM games WHERE {where} {ORDER} LIMIT $limit"
    # Files of an older schema version lack the newer columns: they export as null.
    table = upgrade(_query(files, sql, {**params, "limit": limit}, every_column=True))
    sink = io.BytesIO()
    if fmt == "parquet":
        # A compacted part names the parts it replaces; the export replaces none.
        meta = {k: v for k, v in (schema.metadata or {}).items() if k != REPLACES_KEY}
        meta[VERSION_KEY] = str(SCHEMA_VERSION).encode()
        pq.write_table(table.replace_schema_metadata(meta), sink, compression="zstd")
    else:
        as_text = ", ".join(f"CAST(to_json({c}) AS VARCHAR) AS {c}" for c in LIST_COLUMNS)
        connection = connect()
        connection.register("page", table)
        pacsv.write_csv(
            connection.sql(f"SELECT * REPLACE ({as_text}) FROM page").to_arrow_table(), sink
        )
    return sink.getvalue()


# Results of a set of agent ids (an agent, or a league learner's versions) against each
# opponent, in two-seat games. A game against itself is counted once, from the first seat.
OPPONENTS_QUERY = """
SELECT opponent, count(*) AS games,
       count(*) FILTER (WHERE winner = seat) AS wins,
       count(*) FILTER (WHERE winner = -1) AS draws,
       count(*) FILTER (WHERE winner >= 0 AND winner <> seat) AS losses,
       (wins + 0.5 * draws) / games AS score,
       avg(points) FILTER (WHERE seat = 0) AS score_moving_first,
       avg(points) FILTER (WHERE seat = 1) AS score_moving_second,
       avg(plies) AS mean_plies
FROM (
    SELECT *, CASE WHEN winner = seat THEN 1.0 WHEN winner = -1 THEN 0.5 ELSE 0.0 END AS points
    FROM (
        SELECT agents[1] AS agent, agents[2] AS opponent, 0 AS seat, winner, plies FROM games
        UNION ALL
        SELECT agents[2], agents[1], 1, winner, plies FROM games WHERE agents[1] <> agents[2]
    )
)
WHERE list_contains($agents, agent) GROUP BY opponent ORDER BY games DESC, opponent
"""


def opponents(files: list[str], agents: list[str]) -> pa.Table:
    return _query(files, OPPONENTS_QUERY, {"agents": agents})


def evaluation_through(round_index: int) -> str:
    """The SQL condition on a league's games that its evaluation of round `round_index`
    read: the evaluation games of that round and the earlier ones (match ids sort by
    round, arena.ids), not those of a later round already under way."""
    return f"{EVAL_ONLY} AND match_id < '{round_tag(round_index + 1)}'"
