"""The replay table: its Arrow schema, the schema metadata, and validated tables from columns.

One row per game. A file holds games of one game (name in its schema metadata), so a
reader learns the board size and action count without scanning rows.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import games

SCHEMA_VERSION = 2
VERSION_KEY = b"arena.schema_version"
GAME_KEY = b"arena.game"
NUM_PLAYERS_KEY = b"arena.num_players"
NUM_ACTIONS_KEY = b"arena.num_actions"
OBS_SHAPE_KEY = b"arena.obs_shape"
REPLACES_KEY = b"arena.replaces"  # JSON list of part files a compacted file holds

# normal: the rules ended the game. forfeit: a seat lost without the rules ending the game
# (illegal move, crash, timeout; `reason` says which). truncated: stopped at a ply limit.
# resign: a player gave up (the dashboard's play page); its seat lost, as in a forfeit.
TERMINATIONS = ("normal", "forfeit", "truncated", "resign")

TIMESTAMP = pa.timestamp("us", tz="UTC")

SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("match_id", pa.string(), nullable=False),
        pa.field("game_index", pa.int32(), nullable=False),
        pa.field("game", pa.string(), nullable=False),
        pa.field("agents", pa.list_(pa.string()), nullable=False),
        pa.field("seed", pa.int64(), nullable=False),
        pa.field("actions", pa.list_(pa.int16()), nullable=False),
        pa.field("winner", pa.int8(), nullable=False),
        pa.field("returns", pa.list_(pa.float32()), nullable=False),
        pa.field("plies", pa.int16(), nullable=False),
        pa.field("termination", pa.string(), nullable=False),
        pa.field("reason", pa.string()),
        pa.field("started_at", TIMESTAMP, nullable=False),
        pa.field("ended_at", TIMESTAMP, nullable=False),
        pa.field("values", pa.list_(pa.float32())),
        pa.field("policy_entropy", pa.list_(pa.float32())),
        pa.field("visits", pa.list_(pa.int32())),
        pa.field("search_prior", pa.list_(pa.list_(pa.float32()))),
        pa.field("search_visits", pa.list_(pa.list_(pa.int32()))),
    ],
    metadata={VERSION_KEY: str(SCHEMA_VERSION).encode()},
)

# Per-move search statistics (`record_search`): one list per move, over all the game's
# actions, empty for a move made without search.
SEARCH = ("search_prior", "search_visits")
PER_PLY = ("actions", "values", "policy_entropy", "visits", *SEARCH)  # one entry per move
PER_SEAT = ("agents", "returns")  # one entry per player
OPTIONAL = ("plies", "reason", "values", "policy_entropy", "visits", *SEARCH)  # may be left out
# Columns added after version 1, by the version that added them: an older file has none
# and reads as if they were null (the dataset's schema fills them in).
ADDED_IN = {"search_prior": 2, "search_visits": 2}


def file_metadata(game: str, replaces: list[str] | None = None) -> dict[bytes, bytes]:
    """Schema metadata of a part file holding games of the game spec `game` (stored
    canonical) and, when compacted, the names of the part files it replaces."""
    spec = games.make(game)
    meta = {
        VERSION_KEY: str(SCHEMA_VERSION).encode(),
        GAME_KEY: spec.spec.encode(),
        NUM_PLAYERS_KEY: str(spec.num_players).encode(),
        NUM_ACTIONS_KEY: str(spec.num_actions).encode(),
        OBS_SHAPE_KEY: json.dumps(list(spec.obs_shape)).encode(),
    }
    if replaces is not None:
        meta[REPLACES_KEY] = json.dumps(sorted(replaces)).encode()
    return meta


def schema_problem(schema: pa.Schema) -> str | None:
    """Why a file with this schema is not a replay file this version reads (None if it is)."""
    meta = schema.metadata or {}
    if VERSION_KEY not in meta:
        return f"not an arena replay file (no {VERSION_KEY.decode()!r} in its schema metadata)"
    raw = meta[VERSION_KEY].decode(errors="replace")
    if not raw.isdigit():
        return f"unreadable schema version {raw!r}"
    if int(raw) > SCHEMA_VERSION:
        return (
            f"written with replay schema version {raw}, newer than this arena reads "
            f"({SCHEMA_VERSION}); upgrade arena to read it"
        )
    for field in SCHEMA:
        if field.name not in schema.names:
            if int(raw) < ADDED_IN.get(field.name, 1):
                continue
            return f"missing column {field.name!r}"
        found = schema.field(field.name).type
        if found != field.type:
            return f"column {field.name!r} has type {found}, expected {field.type}"
    extra = [name for name in schema.names if name not in SCHEMA.names]
    if extra:
        return f"unexpected column(s) {extra}"
    if GAME_KEY not in meta:
        return f"no {GAME_KEY.decode()!r} in its schema metadata"
    return None


def build_table(columns: Mapping[str, Any]) -> pa.Table:
    """A validated replay table from columns (one entry per game).

    Scalar columns take a sequence, a numpy array, a pyarrow array or a single value that
    applies to every row (a str, int or datetime). List columns take a sequence of
    sequences, a pyarrow list array, or a 2-D numpy array: per-seat columns (`agents`,
    `returns`) use whole rows, per-move columns (`actions`, `values`, `policy_entropy`,
    `visits`) use the first `plies` entries of each row, so padded arrays from a batched
    match runner go in without a Python loop. Annotations are None (whole column) or
    None per game when no agent gave them; NaN (-1 for visits) marks a move without one.
    The search columns (`search_prior`, `search_visits`) take per game a list per move:
    the game's `num_actions` entries, or an empty list for a move made without search.
    `plies` may be left out when `actions` is a sequence of sequences. Naive datetimes are
    taken as UTC. Any problem raises ValueError naming the column.
    """
    unknown = sorted(set(columns) - set(SCHEMA.names))
    if unknown:
        raise ValueError(f"replay column(s) {unknown} unknown; the columns are {SCHEMA.names}")
    missing = [n for n in SCHEMA.names if n not in columns and n not in OPTIONAL]
    if missing:
        raise ValueError(f"missing replay column(s) {missing}")
    n = _row_count(columns)
    arrays: dict[str, pa.Array] = {}
    for field in SCHEMA:
        if field.name not in PER_PLY + PER_SEAT + ("plies",):
            arrays[field.name] = _scalar_column(field, columns.get(field.name), n)
    arrays["actions"], arrays["plies"], lengths = _moves(columns, n)
    for name in PER_SEAT:
        arrays[name] = _list_column(SCHEMA.field(name), columns[name], n, None)
    for name in PER_PLY[1:]:
        arrays[name] = _list_column(SCHEMA.field(name), columns.get(name), n, lengths)
    _check_rows(arrays, lengths)
    return pa.Table.from_arrays([arrays[f.name] for f in SCHEMA], schema=SCHEMA)


def _fail(column: str, message: str, rows: np.ndarray | None = None) -> ValueError:
    where = ""
    if rows is not None and rows.size:
        shown = ", ".join(str(int(r)) for r in rows[:5])
        where = f" (row{'s' if rows.size > 1 else ''} {shown}{', ...' if rows.size > 5 else ''})"
    return ValueError(f"replay column {column!r}: {message}{where}")


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, bytes, int, float, np.generic, dt.datetime))


def _row_count(columns: Mapping[str, Any]) -> int:
    """Rows in the table: the length of `actions` (always one entry per game)."""
    actions = columns["actions"]
    if _is_scalar(actions) or actions is None:
        raise _fail("actions", "expected one action list per game")
    return len(actions)


def _as_array(field: pa.Field, value: Any) -> pa.Array:
    """`value` as an array of the field's type. Inferring first and then casting is what
    rejects lossy conversions (1.5 to an int, 300 to int8) instead of truncating them."""
    if isinstance(value, pa.ChunkedArray):
        value = value.combine_chunks()
    try:
        if isinstance(value, np.ndarray) and value.dtype != object:
            return pa.array(value, type=field.type)  # numpy input is cast safely already
        array = value if isinstance(value, pa.Array) else pa.array(value)
        return array.cast(field.type)
    except (pa.ArrowException, TypeError, ValueError) as e:
        raise _fail(field.name, f"cannot convert to {field.type}: {e}") from None


def _scalar_column(field: pa.Field, value: Any, n: int) -> pa.Array:
    if value is None:
        if not field.nullable:
            raise _fail(field.name, "is required")
        return pa.nulls(n, field.type)
    if _is_scalar(value):
        array = pa.repeat(_as_array(field, [value])[0], n)
    else:
        array = _as_array(field, value)
    _check_length(field.name, array, n)
    if not field.nullable and array.null_count:
        raise _fail(field.name, "has missing values", _null_rows(array))
    return array


def _moves(columns: Mapping[str, Any], n: int) -> tuple[pa.Array, pa.Array, np.ndarray]:
    """The actions and plies columns, and each game's move count as int64 numpy."""
    field = SCHEMA.field("plies")
    if "plies" not in columns:
        if isinstance(columns["actions"], np.ndarray) and columns["actions"].ndim == 2:
            raise _fail("plies", "is required when actions is a padded 2-D array")
        actions = _list_column(SCHEMA.field("actions"), columns["actions"], n, None)
        lengths = _lengths(actions)
        return actions, _as_array(field, lengths), lengths
    plies = _scalar_column(field, columns["plies"], n)
    lengths = plies.to_numpy(zero_copy_only=False).astype(np.int64)
    if (lengths < 0).any():
        raise _fail("plies", "must not be negative", np.flatnonzero(lengths < 0))
    return _list_column(SCHEMA.field("actions"), columns["actions"], n, lengths), plies, lengths


def _lengths(array: pa.Array) -> np.ndarray:
    """Entries per row as int64 numpy, 0 for null rows."""
    lengths = pc.list_value_length(array)
    if lengths.null_count:
        lengths = lengths.fill_null(0)
    return lengths.to_numpy().astype(np.int64)


def _list_column(field: pa.Field, value: Any, n: int, lengths: np.ndarray | None) -> pa.Array:
    """A list column; `lengths` (moves per game) trims padded 2-D arrays of per-move data."""
    if value is None:
        if not field.nullable:
            raise _fail(field.name, "is required")
        return pa.nulls(n, field.type)
    if isinstance(value, np.ndarray) and value.ndim == 2:
        array = _from_padded(field, value, n, lengths)
    elif _is_scalar(value) or (isinstance(value, np.ndarray) and value.ndim != 1):
        raise _fail(field.name, "expected one list per game")
    else:
        array = _as_array(field, value)
    _check_length(field.name, array, n)
    if not field.nullable and array.null_count:
        raise _fail(field.name, "has missing lists", _null_rows(array))
    inner = pc.list_flatten(array)
    if inner.null_count or (pa.types.is_list(inner.type) and pc.list_flatten(inner).null_count):
        raise _fail(field.name, "has missing entries inside lists (use NaN, or -1 for visits)")
    if lengths is not None:
        bad = np.flatnonzero(
            array.is_valid().to_numpy(zero_copy_only=False) & (_lengths(array) != lengths)
        )
        if bad.size:
            raise _fail(field.name, "needs one entry per move (as many as plies)", bad)
    return array


def _from_padded(
    field: pa.Field, value: np.ndarray, n: int, lengths: np.ndarray | None
) -> pa.Array:
    if value.shape[0] != n:
        raise _fail(field.name, f"has {value.shape[0]} rows, expected {n}")
    if lengths is None:
        lengths = np.full(n, value.shape[1], dtype=np.int64)
    elif (lengths > value.shape[1]).any():
        raise _fail(field.name, f"has {value.shape[1]} columns, fewer than plies")
    kept = np.arange(value.shape[1]) < lengths[:, None]
    items = _as_array(pa.field(field.name, field.type.value_type), value[kept])
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), items, type=field.type)


def _check_length(name: str, array: pa.Array, n: int) -> None:
    if len(array) != n:
        raise _fail(name, f"has {len(array)} entries, expected {n} (one per game, as actions)")


def _null_rows(array: pa.Array) -> np.ndarray:
    return np.flatnonzero(array.is_null().to_numpy(zero_copy_only=False))


def _check_rows(arrays: dict[str, pa.Array], lengths: np.ndarray) -> None:
    """Checks across columns: seats, actions and winners within each game's rules."""
    winner = arrays["winner"].to_numpy().astype(np.int64)
    seats = {name: _lengths(arrays[name]) for name in PER_SEAT}
    specs = {}
    for name in pc.unique(arrays["game"]).to_pylist():
        rows = pc.equal(arrays["game"], name).to_numpy(zero_copy_only=False)
        try:
            spec = games.make(name)
        except ValueError as e:
            raise _fail("game", str(e), np.flatnonzero(rows)) from None
        if spec.spec != name:  # one game, one string: readers group and filter by it
            raise _fail("game", f"must be a canonical spec ({spec.spec!r})", np.flatnonzero(rows))
        for column, count in seats.items():
            bad = np.flatnonzero(rows & (count != spec.num_players))
            if bad.size:
                raise _fail(column, f"needs one entry per player ({spec.num_players})", bad)
        bad = np.flatnonzero(rows & ((winner < -1) | (winner >= spec.num_players)))
        if bad.size:
            raise _fail("winner", f"must be a seat 0..{spec.num_players - 1} or -1", bad)
        bad = np.flatnonzero(rows & (lengths > spec.max_plies))
        if bad.size:
            raise _fail("plies", f"longer than {name}'s {spec.max_plies} plies", bad)
        specs[name] = (rows, spec)
    for name in SEARCH:
        _check_search(name, arrays[name], lengths, specs)
    _check_actions(pc.list_flatten(arrays["actions"]), lengths, specs)
    _check_scalars(arrays)


def _check_actions(actions: pa.Array, lengths: np.ndarray, specs: dict) -> None:
    """Every action in its game's range. One min/max settles the usual case; finding the
    rows of each move is only needed for a table mixing games, or to name a bad row."""
    bounds = pc.min_max(actions)
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    if low is None or (low >= 0 and high < min(s.num_actions for _, s in specs.values())):
        return
    values = actions.to_numpy().astype(np.int64)
    action_rows = np.repeat(np.arange(len(lengths)), lengths)
    for name, (rows, spec) in specs.items():
        wrong = rows[action_rows] & ((values < 0) | (values >= spec.num_actions))
        if wrong.any():
            bad = np.unique(action_rows[wrong])
            raise _fail("actions", f"{name} actions are 0..{spec.num_actions - 1}", bad)


def _check_search(name: str, array: pa.Array, lengths: np.ndarray, specs: dict) -> None:
    """Each move's search list holds the game's num_actions entries, or none."""
    per_move = _lengths(pc.list_flatten(array))
    if per_move.size == 0:
        return
    move_rows = np.repeat(np.arange(len(lengths)), _lengths(array))
    for game, (rows, spec) in specs.items():
        wrong = rows[move_rows] & (per_move != 0) & (per_move != spec.num_actions)
        if wrong.any():
            bad = np.unique(move_rows[wrong])
            raise _fail(name, f"needs {spec.num_actions} entries per move ({game}) or none", bad)


def upgrade(table: pa.Table) -> pa.Table:
    """A table read from a file of an older schema version, in this version's schema:
    the columns added since then all null (files are never rewritten to add them)."""
    for name in SCHEMA.names:
        if name not in table.column_names:
            table = table.append_column(
                SCHEMA.field(name), pa.nulls(len(table), SCHEMA.field(name).type)
            )
    return table.select(SCHEMA.names).cast(SCHEMA)


def _check_scalars(arrays: dict[str, pa.Array]) -> None:
    termination = arrays["termination"]
    bad = np.flatnonzero(
        ~pc.is_in(termination, pa.array(TERMINATIONS)).to_numpy(zero_copy_only=False)
    )
    if bad.size:
        raise _fail("termination", f"must be one of {TERMINATIONS}", bad)
    unexplained = pc.and_(pc.equal(termination, "forfeit"), arrays["reason"].is_null())
    bad = np.flatnonzero(unexplained.to_numpy(zero_copy_only=False))
    if bad.size:
        raise _fail("reason", "is required for forfeited games", bad)
    bad = np.flatnonzero(arrays["game_index"].to_numpy() < 0)
    if bad.size:
        raise _fail("game_index", "must not be negative", bad)
    backwards = pc.less(arrays["ended_at"], arrays["started_at"]).to_numpy(zero_copy_only=False)
    if backwards.any():
        raise _fail("ended_at", "is before started_at", np.flatnonzero(backwards))
