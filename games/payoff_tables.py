"""Payoff tables of two-player matrix games in TOML or CSV files: parsing with errors that
say what and where, and the copies a run keeps (by sha256) so that its games never depend
on a file outside it.

TOML: `row_utilities` (rows of player 0's payoffs) and optionally `col_utilities` (player
1's, same shape; zero-sum `-row_utilities` when left out), as OpenSpiel's matrix games name
them. CSV: one line per row action; each cell is player 0's payoff (a zero-sum game) or
both players' payoffs separated by a space, e.g. `5 5,0 10`. Lines starting with `#` are
comments.
"""

from __future__ import annotations

import csv
import hashlib
import math
import sys
from pathlib import Path

import numpy as np

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

MAX_ACTIONS = 256  # per player: a table larger than this is surely a mistake
SUFFIXES = (".toml", ".csv")
TABLES = "tables"  # a run folder's copies of its tables, <sha256>.<toml|csv>
_folders: list[Path] = []  # run folders' table copies to look in (use_run)
_parsed: dict[str, np.ndarray] = {}  # sha256 -> payoffs: a table is read and parsed once


def _number(where: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{where}: {value!r} is not a number")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{where}: {value!r} is not a finite number")
    return number


def _grid(where: str, rows: object) -> np.ndarray:
    """float64[rows, cols] of a TOML list of equally long lists of numbers."""
    if not isinstance(rows, list) or not rows or not all(isinstance(r, list) for r in rows):
        raise ValueError(f"{where} must be a non-empty list of rows (lists of numbers)")
    width = len(rows[0])
    for r, row in enumerate(rows):
        if len(row) != width or not row:
            raise ValueError(
                f"{where}: ragged rows: row {r + 1} has {len(row)} entries, row 1 has {width}"
            )
    return np.array(
        [
            [_number(f"{where}, row {r + 1}, column {c + 1}", v) for c, v in enumerate(row)]
            for r, row in enumerate(rows)
        ],
        dtype=np.float64,
    )


def _parse_toml(path: str, text: str) -> np.ndarray:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{path}: not valid TOML ({err})") from None
    unknown = sorted(set(doc) - {"row_utilities", "col_utilities"})
    if unknown:
        raise ValueError(f"{path}: unknown key {unknown[0]!r} (keys: row_utilities, col_utilities)")
    if "row_utilities" not in doc:
        raise ValueError(f"{path}: no row_utilities (player 0's payoffs, a list of rows)")
    row = _grid(f"{path}: row_utilities", doc["row_utilities"])
    col = -row
    if "col_utilities" in doc:
        col = _grid(f"{path}: col_utilities", doc["col_utilities"])
        if col.shape != row.shape:
            raise ValueError(
                f"{path}: col_utilities is {col.shape[0]}x{col.shape[1]}, "
                f"row_utilities {row.shape[0]}x{row.shape[1]}: they must have the same shape"
            )
    return np.array([row, col])


def _parse_csv(path: str, text: str) -> np.ndarray:
    lines = [
        (n, line)
        for n, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        raise ValueError(f"{path}: no payoff rows")
    cells = []  # per row: per cell, (player 0's, player 1's or None)
    for (n, _), row in zip(lines, csv.reader(line for _, line in lines), strict=True):
        parsed = []
        for c, cell in enumerate(row):
            where = f"{path}: line {n}, cell {c + 1}"
            parts = cell.split()
            if len(parts) not in (1, 2):
                raise ValueError(f"{where}: expected one or two numbers, got {cell.strip()!r}")
            numbers = [_number(where, p) for p in parts]
            parsed.append((numbers[0], numbers[1] if len(numbers) == 2 else None))
        if len(parsed) != len(cells[0] if cells else parsed):
            raise ValueError(
                f"{path}: line {n}: ragged rows: {len(parsed)} cells, the first row has "
                f"{len(cells[0])}"
            )
        cells.append(parsed)
    pairs = {cell[1] is not None for row in cells for cell in row}
    if len(pairs) > 1:
        raise ValueError(
            f"{path}: mixed cells: give every cell one number (zero-sum) or two (both players)"
        )
    row = np.array([[cell[0] for cell in r] for r in cells], dtype=np.float64)
    col = -row if pairs == {False} else np.array([[cell[1] for cell in r] for r in cells])
    return np.array([row, col], dtype=np.float64)


def parse_table(path: str, data: bytes) -> np.ndarray:
    """The payoffs float64[2, rows, cols] (player, row action, column action) in the bytes
    of a .toml or .csv file; ValueError saying what and where."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"{path}: a payoff table must be a .toml or .csv file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a UTF-8 text file") from None
    payoffs = (_parse_toml if suffix == ".toml" else _parse_csv)(path, text)
    rows, cols = payoffs.shape[1:]
    if max(rows, cols) > MAX_ACTIONS:
        raise ValueError(f"{path}: {rows}x{cols} table; at most {MAX_ACTIONS} actions per player")
    return payoffs


def _read(path: str, sha256: str | None) -> tuple[str, bytes]:
    """(sha256, bytes) of the table `path` or, when the file has gone or changed, of a run's
    copy of the table `sha256`: the digest names the content."""
    file = Path(path)
    data = file.read_bytes() if file.is_file() else None
    digest = None if data is None else hashlib.sha256(data).hexdigest()
    if data is not None and sha256 in (None, digest):
        return digest, data
    for folder in _folders if sha256 is not None else ():
        copy = folder / f"{sha256}{file.suffix.lower()}"
        kept = copy.read_bytes() if copy.is_file() else b""
        if hashlib.sha256(kept).hexdigest() == sha256:  # a damaged copy is no copy
            return sha256, kept
    if data is not None:
        raise ValueError(
            f"matrix: {path} has changed: its sha256 is {digest}, the spec names {sha256}"
        )
    raise ValueError(f"matrix: no payoff table file {path}")


def load(path: str, sha256: str | None = None) -> tuple[str, np.ndarray]:
    """(sha256, payoffs float64[2, rows, cols]) of the table file `path`, or of a run's copy
    of the table `sha256` when the file has gone; a file whose content no longer has the
    digest asked for is refused."""
    if sha256 is None or sha256 not in _parsed:
        digest, data = _read(path, sha256)
        if digest not in _parsed:
            _parsed[digest] = parse_table(path, data)
        sha256 = digest
    return sha256, _parsed[sha256]


def use_run(run_dir: str | Path) -> None:
    """Also look for tables whose file has gone among the copies in the run folder `run_dir`."""
    folder = (Path(run_dir) / TABLES).resolve()
    if folder not in _folders:
        _folders.append(folder)


def store(path: str, sha256: str, run_dir: str | Path) -> Path:
    """Copy the table `path` (of digest `sha256`) into the run folder `run_dir` as
    tables/<sha256>.<suffix>, and look for tables there from now on."""
    folder = Path(run_dir) / TABLES
    target = folder / f"{sha256}{Path(path).suffix.lower()}"
    if not target.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        _, data = _read(path, sha256)
        temp = target.with_name(f".{target.name}.tmp")
        temp.write_bytes(data)
        temp.replace(target)
    use_run(run_dir)
    return target
