"""Games stored more than once: found from the part files, resolved by leaving files out.

`(match_id, game_index)` identifies a game. A run written under its lock stores each game
once, but a copied part file (`X (1).parquet`) or two writers from before the lock store
games twice. Every reader of a run goes through `replays.open`, which calls `resolve` once:
a part file whose games are all stored in other files is left out (with a warning naming
both), so `files`, `dataset`, `count()` and the DuckDB queries built on them see each game
once. Files that share games while each holding others cannot be split by leaving files
out: that is refused, naming them. Compaction refuses any duplicate (see `problem`).

Finding them is cheap: a writer puts whole matches in a file, so only files that share a
match id can share a game, and the match ids of a file come from the dictionaries of its
`match_id` column; only the rows of shared matches are then read.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from replays.files import Part, is_part_name

Key = tuple[str, int]  # (match_id, game_index)
SHOWN = 3  # files named in a message
# match_id read dictionary-encoded: each batch then carries its distinct ids for free.
_FORMAT = ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(dictionary_columns=["match_id"]))


@dataclass
class Duplicates:
    """How a run's live part files store its games."""

    kept: list[Part]  # the files to read: each game once, unless `conflict`
    # a file left out -> the files that hold its games
    left_out: dict[Path, list[Path]] = field(default_factory=dict)
    conflict: str | None = None  # games stored twice that leaving files out cannot fix

    def copies(self) -> str | None:
        """The files left out and the files holding their games, in one line, or None."""
        if not self.left_out:
            return None
        notes = [
            f"{path.name} holds only games already stored in "
            f"{', '.join(sorted(p.name for p in holders))}"
            for path, holders in self.left_out.items()
        ]
        if len(notes) > SHOWN:  # one line, however many copies
            notes[SHOWN:] = [f"and {len(notes) - SHOWN:,} more files like these"]
        return f"{next(iter(self.left_out)).parent}: {'; '.join(notes)}"

    def problem(self) -> str | None:
        """Any game stored more than once, as a one-line message, or None."""
        return self.conflict or self.copies()


def resolve(parts: list[Part]) -> Duplicates:
    """Which of `parts` to read so that each game is read once (see the module doc)."""
    if len(parts) < 2:
        return Duplicates(list(parts))
    shared = _shared_matches(parts)
    if not shared:
        return Duplicates(list(parts))
    holders = _duplicated_keys(parts, shared)
    if not holders:
        return Duplicates(list(parts))
    rows_stored_twice = Counter(i for files in holders.values() for i in files)
    left_out: dict[Path, list[Path]] = {}
    # Prefer leaving out copies (names a writer never makes), then the newest names.
    for i in sorted(
        (i for i, n in rows_stored_twice.items() if n == parts[i].num_rows),
        key=lambda i: (not is_part_name(parts[i].path.name), parts[i].path.name),
        reverse=True,
    ):
        mine = [files for files in holders.values() if i in files]
        if all(len(files) > 1 and files.count(i) == 1 for files in mine):
            others = {j for files in mine for j in files if j != i}
            left_out[parts[i].path] = [parts[j].path for j in sorted(others)]
            for files in mine:
                files.remove(i)
    kept = [p for p in parts if p.path not in left_out]
    still = {key: files for key, files in holders.items() if len(files) > 1}
    if not still:
        return Duplicates(kept, left_out)
    (match_id, game_index), files = next(iter(sorted(still.items())))
    names = sorted({parts[i].path.name for files in still.values() for i in files})
    more = f" and {len(names) - SHOWN:,} more" if len(names) > SHOWN else ""
    conflict = (
        f"{parts[files[0]].path.parent}: {len(still):,} games are stored more than once "
        f"(e.g. game {game_index} of match {match_id!r}) in files that also hold games of "
        f"their own: {', '.join(names[:SHOWN])}{more}; move the copies out of the run"
    )
    return Duplicates(kept, left_out, conflict)


def _shared_matches(parts: list[Part]) -> list[str]:
    """Match ids found in more than one file (a superset is fine: rows are checked next)."""
    index = {str(p.path): i for i, p in enumerate(parts)}
    files_of: dict[str, set[int]] = {}
    dataset = ds.dataset(list(index), format=_FORMAT)
    for batch in dataset.scanner(columns=["match_id"]).scan_batches():
        owner = index[batch.fragment.path]
        for match_id in batch.record_batch.column(0).dictionary.to_pylist():
            files_of.setdefault(match_id, set()).add(owner)
    return sorted(m for m, owners in files_of.items() if len(owners) > 1)


def _duplicated_keys(parts: list[Part], shared: list[str]) -> dict[Key, list[int]]:
    """Games of the `shared` matches stored more than once -> the files storing each copy."""
    index = {str(p.path): i for i, p in enumerate(parts)}
    tables = []
    dataset = ds.dataset(list(index), format=_FORMAT)
    scanner = dataset.scanner(
        columns=["match_id", "game_index"], filter=pc.field("match_id").isin(shared)
    )
    for batch in scanner.scan_batches():
        rows = batch.record_batch
        owner = pa.array([index[batch.fragment.path]] * rows.num_rows, pa.int32())
        tables.append(
            pa.table(
                {
                    "match_id": rows.column(0).cast(pa.string()),
                    "game_index": rows.column(1),
                    "file": owner,
                }
            )
        )
    copies = (
        pa.concat_tables(tables)
        .group_by(["match_id", "game_index"])
        .aggregate([("file", "list")])
        .filter(pc.list_value_length(pc.field("file_list")) > 1)
    )
    return {
        (m, g): files
        for m, g, files in zip(
            copies["match_id"].to_pylist(),
            copies["game_index"].to_pylist(),
            copies["file_list"].to_pylist(),
            strict=True,
        )
    }
