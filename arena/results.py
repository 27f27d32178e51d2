"""Results derived from a run's replay dataset: pair tables, ratings, win-rate matrices.

The replay dataset is the single source of truth, so these are always recomputed from it.
"""

from __future__ import annotations

import os

import duckdb
import numpy as np
import pyarrow as pa

import games
import replays
from arena.ids import EVAL_ONLY, MATCH_ROUND_TAG
from arena.ratings import Ratings, fit_ratings, win_rate_matrix

# Games aggregated per ordered pair (first mover, second mover), as arena.ratings expects.
# Forfeits count like any other result: the forfeiting seat lost. In games of more than two
# players the two agents alternate around the table (arena.match.alternating_seats): a win
# in any seat is its agent's.
PAIR_QUERY = """
SELECT agents[1] AS first, agents[2] AS second,
       count(*) FILTER (WHERE winner = 0 OR (winner > 1 AND agents[winner + 1] = agents[1]))
           AS first_wins,
       count(*) FILTER (WHERE winner = -1) AS draws,
       count(*) FILTER (WHERE winner = 1 OR (winner > 1 AND agents[winner + 1] = agents[2]))
           AS second_wins
FROM games {where} GROUP BY ALL ORDER BY first, second
"""


def pair_table(
    run_dir: str | os.PathLike, where: str | None = None, game: str | None = None
) -> pa.Table:
    """Wins, draws and losses per ordered pair of agent ids, from the run's replays of one
    game (`game`, or the run's only one: `one_game`), optionally only the games matching a
    SQL condition, e.g. arena.ids.EVAL_ONLY."""
    sql = PAIR_QUERY.format(where=f"WHERE {where}" if where else "")
    return replays.read_retrying(
        run_dir, lambda dataset: query_dataset(one_game(dataset, game), sql)
    )


def game_names(run_dir: str | os.PathLike) -> list[str]:
    """The games a run's replays hold, sorted: one, except in a run of people's games
    (dashboards.human), which holds every game played on the play page."""
    return replays.read_retrying(run_dir, lambda dataset: sorted({p.game for p in dataset.parts}))


def one_game(dataset: replays.ReplayDataset, game: str | None) -> replays.ReplayDataset:
    """The part files of `game` (each file holds games of one game); with None, all of
    them, which must then be of one game: results of two games never share a table."""
    names = sorted({part.game for part in dataset.parts})
    if game is None:
        if len(names) > 1:
            raise ValueError(
                f"{dataset.run_dir} holds games of {', '.join(names)}: rate one game at a time"
            )
        return dataset
    if game not in names:
        raise ValueError(f"{dataset.run_dir} holds no games of {game}")
    kept = [part for part in dataset.parts if part.game == game]
    return replays.ReplayDataset(dataset.run_dir, kept)


def query(run_dir: str | os.PathLike, sql: str, params: dict | None = None) -> pa.Table:
    """The result of a DuckDB query over the run's games (the view `games`).

    A compaction deleting files meanwhile makes it list the files again.
    """
    return replays.read_retrying(run_dir, lambda dataset: query_dataset(dataset, sql, params))


def query_dataset(dataset: replays.ReplayDataset, sql: str, params: dict | None = None) -> pa.Table:
    """`query` over one listing of a run's files: a file deleted since the listing raises
    FileNotFoundError, an unreadable one a ReplayFormatError naming it."""
    connection = duckdb.connect()
    connection.register("games", dataset.dataset)
    try:
        return connection.sql(sql, params=params).to_arrow_table()
    except duckdb.Error as err:
        raise dataset.blame(err) from err


def ratings(
    run_dir: str | os.PathLike,
    anchor: str | None = "random",
    where: str | None = None,
    game: str | None = None,
) -> Ratings:
    """Bradley-Terry ratings from the games of `game` (a run of several games: one of them)."""
    pairs = pair_table(run_dir, where, game)
    if pairs.num_rows == 0:
        raise ValueError(f"{run_dir} holds no games yet")
    return fit_ratings(pairs, anchor=anchor)


def win_rates(
    run_dir: str | os.PathLike,
    agents: list[str],
    where: str | None = None,
    game: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    return win_rate_matrix(pair_table(run_dir, where, game), agents)


# Sums of each seat's return per seating (the `agents` list: who sat where), for
# arena.payoffs. `{seats}` is one `sum(returns[k])` column per seat, generated from the
# number of players (an integer), never from user input.
SEAT_RETURNS_QUERY = """
SELECT agents, count(*) AS games, {seats}
FROM games WHERE len(agents) = $players {where} GROUP BY ALL
"""


def seat_returns(
    run_dir: str | os.PathLike, where: str | None = None, game: str | None = None
) -> tuple[str, pa.Table]:
    """(the game spec, return sums per seating) of the games of `game` (or the run's only
    game): columns `agents`, `games`, `return_0` .. `return_{P-1}` (each seat's summed
    return)."""

    def read(dataset: replays.ReplayDataset) -> tuple[str, pa.Table]:
        dataset = one_game(dataset, game)
        if not dataset.parts:
            raise ValueError(f"{run_dir} holds no games yet")
        name = dataset.parts[0].game
        players = games.make(name).num_players
        seats = ", ".join(f"sum(returns[{k + 1}])::DOUBLE AS return_{k}" for k in range(players))
        sql = SEAT_RETURNS_QUERY.format(seats=seats, where=f"AND ({where})" if where else "")
        return name, query_dataset(dataset, sql, {"players": players})

    return replays.read_retrying(run_dir, read)


# The agents of a league's latest evaluation round (its round-robin's players).
LATEST_EVALUATION_QUERY = """
WITH latest AS (SELECT max({round_tag}) AS tag FROM games WHERE {eval_only})
SELECT DISTINCT unnest(agents) AS agent FROM games, latest
WHERE {eval_only} AND {round_tag} = latest.tag ORDER BY agent
"""


def latest_evaluation_agents(run_dir: str | os.PathLike) -> list[str]:
    """The agents a league evaluated last (match ids sort by round: arena.ids)."""
    sql = LATEST_EVALUATION_QUERY.format(eval_only=EVAL_ONLY, round_tag=MATCH_ROUND_TAG)
    rows = query(run_dir, sql)
    return rows["agent"].to_pylist()


# Game pairs between a and b: games 2j and 2j+1 of a match share an opening (or the empty
# one) with the seats swapped. A pair's total score for a is 0, 0.5, ..., 2.
PAIR_SCORES_QUERY = """
WITH scored AS (
    SELECT match_id, game_index // 2 AS pair,
           CASE WHEN winner = -1 THEN 0.5 WHEN agents[winner + 1] = $a THEN 1.0 ELSE 0.0 END
               AS score
    FROM games
    WHERE list_contains(agents, $a) AND list_contains(agents, $b) AND len(agents) = 2
)
SELECT sum(score)::DOUBLE AS total FROM scored GROUP BY match_id, pair HAVING count(*) = 2
"""


def pentanomial(run_dir: str | os.PathLike, a: str, b: str) -> np.ndarray:
    """Counts of game pairs where `a` scored 0, 0.5, 1, 1.5, 2 points against `b`."""
    if a == b:
        raise ValueError("the two agents of an SPRT must differ")
    totals = query(run_dir, PAIR_SCORES_QUERY, {"a": a, "b": b})["total"].to_numpy()
    return np.bincount(np.round(np.asarray(totals) * 2).astype(np.int64), minlength=5)
