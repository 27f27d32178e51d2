"""Tabular policy checkpoints: a Parquet table keyed by information state, a JSON sidecar.

Layout: a checkpoint is a path stem PATH naming two files,

    PATH.parquet   one row per information state: player (int32), key (int64, the game's
                   information key), info_state (OpenSpiel's information_state_string) and
                   probs (list<float64>, one entry per action of the game)
    PATH.json      metadata: format, format_version, game (canonical spec), num_actions,
                   algorithm, iterations, created_at and table = {file, bytes, sha256}

Both are written as a pair through `agents.checkpoint.write_with_sidecar` (temporary names,
fsync, rename), so a torn pair is detected by the sha256. Nothing is ever unpickled.
Loading checks the game, that the table holds exactly one row per information state of
that game with a distribution over its legal actions, and says which state is at fault.
"""

from __future__ import annotations

import hashlib
import io
import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pyarrow.parquet as pq

from agents.checkpoint import CheckpointError, read_sidecar, write_with_sidecar
from agents.tabular.policy import TabularPolicy
from agents.tabular.tree import GameTree, build_tree
from games import Game

FORMAT = "arena-tabular-policy"
FORMAT_VERSION = 1
TABLE_SUFFIX = ".parquet"
META_SUFFIX = ".json"

SCHEMA = pa.schema(
    [
        ("player", pa.int32()),
        ("key", pa.int64()),
        ("info_state", pa.string()),
        ("probs", pa.list_(pa.float64())),
    ]
)


def policy_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """(table file, metadata file) of the policy checkpoint at a stem or at either file."""
    path = Path(path)
    if path.suffix in (TABLE_SUFFIX, META_SUFFIX):
        path = path.with_suffix("")
    return Path(f"{path}{TABLE_SUFFIX}"), Path(f"{path}{META_SUFFIX}")


def information_strings(tree: GameTree) -> list[str]:
    """OpenSpiel's information_state_string of every information set of `tree`, in order."""
    return [tree.information_string(i) for i in range(tree.num_info)]


def save_policy(
    path: str | os.PathLike,
    game: Game,
    policy: TabularPolicy,
    *,
    algorithm: str,
    iterations: int,
    tree: GameTree | None = None,
) -> tuple[Path, Path]:
    """Write `policy` for `game` at stem `path`; returns the two file paths."""
    tree = tree or build_tree(game)
    probs = policy.in_tree_order(tree)  # every information state, legal actions only
    table = pa.Table.from_pydict(
        {
            "player": tree.info_player.astype(np.int32),
            "key": tree.info_key,
            "info_state": information_strings(tree),
            "probs": list(probs),
        },
        schema=SCHEMA,
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "game": game.spec,
        "num_actions": game.num_actions,
        "algorithm": str(algorithm),
        "iterations": int(iterations),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    table_path, meta_path = policy_paths(path)
    write_with_sidecar(table_path, sink.getvalue(), meta_path, meta, "table", "metadata")
    return table_path, meta_path


def read_policy(path: str | os.PathLike) -> tuple[pa.Table, dict]:
    """(table, metadata) of the checkpoint at `path`, its pair checked by sha256 but not yet
    against any game."""
    table_path, meta_path = policy_paths(path)
    if not table_path.is_file():
        raise FileNotFoundError(f"no policy checkpoint at {path}: {table_path} does not exist")
    if not meta_path.is_file():
        raise FileNotFoundError(f"policy metadata {meta_path} is missing (next to {table_path})")
    meta = read_sidecar(
        meta_path,
        FORMAT,
        FORMAT_VERSION,
        ("game", "num_actions", "algorithm", "iterations", "table"),
        "policy metadata",
    )
    data = table_path.read_bytes()
    if not isinstance(meta["table"], dict) or _sha256(data) != meta["table"].get("sha256"):
        raise CheckpointError(
            f"{table_path} does not match the sha256 in {meta_path}: the two files come from "
            "different saves (or one is damaged)"
        )
    try:
        table = pq.read_table(io.BytesIO(data))
    except pa.ArrowException as err:
        raise CheckpointError(f"{table_path} is not a Parquet table: {err}") from None
    if not table.schema.equals(SCHEMA):
        raise CheckpointError(
            f"{table_path} has columns {table.schema.names}; a policy has {SCHEMA.names}"
        )
    return table, meta


def load_policy(
    path: str | os.PathLike, game: Game, tree: GameTree | None = None
) -> tuple[TabularPolicy, dict]:
    """(policy in the order of `game`'s tree, metadata) of the checkpoint at `path`.

    CheckpointError when it is for another game, or lacks an information state of the game
    (naming it), or holds one the game does not have, or a row that is not a distribution
    over that state's legal actions.
    """
    table, meta = read_policy(path)
    table_path = policy_paths(path)[0]
    if meta["game"] != game.spec:
        raise CheckpointError(f"policy {table_path} is for {meta['game']!r}, not {game.spec!r}")
    tree = tree or build_tree(game)
    lengths = pa.compute.list_value_length(table.column("probs")).to_numpy(zero_copy_only=False)
    bad = np.flatnonzero(lengths != game.num_actions)
    if bad.size:
        raise CheckpointError(
            f"policy {table_path}, row {bad[0]}: {lengths[bad[0]]} probabilities, "
            f"{game.spec} has {game.num_actions} actions"
        )
    probs = table.column("probs").combine_chunks().flatten().to_numpy()
    try:
        policy = TabularPolicy(
            game.spec,
            table.column("player").to_numpy(),
            table.column("key").to_numpy(),
            probs.reshape(table.num_rows, game.num_actions),
        )
        rows = policy.rows_for(tree)  # names a missing state or an illegal action
    except ValueError as err:
        raise CheckpointError(f"policy {table_path}: {err}") from None
    if len(rows) != len(policy):
        extra = sorted(set(range(len(policy))) - set(rows.tolist()))[0]
        raise CheckpointError(
            f"policy {table_path}, row {extra}: information state "
            f"{table.column('info_state')[extra].as_py()!r} is not one of {game.spec}"
        )
    return TabularPolicy.from_tree(tree, policy.probs[rows]), meta


def policy_sha256(path: str | os.PathLike) -> str:
    """The sha256 of the table of the policy checkpoint at `path`: its identity in runs."""
    table_path, _ = policy_paths(path)
    if not table_path.is_file():
        raise FileNotFoundError(f"no policy checkpoint at {path}: {table_path} does not exist")
    return _sha256(table_path.read_bytes())


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
