"""Two-player matrix games, as OpenSpiel's `matrix_rps`, `matrix_mp`, `matrix_pd` and
`matrix_shapleys_game`, or any payoff table from a TOML or CSV file.

Spec: `matrix:name=rps|mp|pd|shapleys_game` (default rps), or `matrix:file=PATH`. A file
spec's canonical form names the file by its absolute path and its sha256
(`matrix:file=/abs/t.csv,sha256=...`): a run copies the table into its folder
(`store_files`, under `tables/` by sha256), and a spec whose file has gone is read from
such a copy (`use_files`), so a stored game never depends on a file outside its run.

One simultaneous node (to_play == SIMULTANEOUS), then the end. Player 0 picks a row,
player 1 a column (actions numbered from 0 as in OpenSpiel); the history holds both, in
player order. The engine takes them one at a time: the row is held in the state until the
column arrives, and that first step gives zero rewards.

Files. TOML: `row_utilities` (rows of player 0's payoffs), optionally `col_utilities`
(player 1's, same shape; zero-sum `-row_utilities` when left out), as OpenSpiel's
matrix games name them. CSV: one line per row action; each cell is player 0's payoff (a
zero-sum game) or both players' payoffs separated by a space, e.g. `5 5,0 10`. Lines
starting with `#` are comments.
"""

from __future__ import annotations

import csv
import hashlib
import math
import sys
from pathlib import Path

import numpy as np
from numba import njit

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from games import render
from games.contract import Param, Shape
from games.layout import DONE, HEADER, LAST_ACTION, PLY, SIMULTANEOUS, TO_PLAY, WINNER, start_row

NAME = "matrix"
# Payoffs (player 0's, player 1's) of OpenSpiel's built-in matrix games, whose actions are
# rock/paper/scissors, heads/tails, cooperate/defect, rock/paper/scissors.
BUILT_IN = {
    "rps": ([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], [[0, 1, -1], [-1, 0, 1], [1, -1, 0]]),
    "mp": ([[1, -1], [-1, 1]], [[-1, 1], [1, -1]]),
    "pd": ([[5, 0], [10, 1]], [[5, 10], [0, 1]]),
    "shapleys_game": ([[0, 0, 1], [1, 0, 0], [0, 1, 0]], [[0, 1, 0], [0, 0, 1], [1, 0, 0]]),
}
PARAMS = {
    "name": Param(str, "rps", "a built-in game", choices=tuple(BUILT_IN)),
    "file": Param(str, None, "a payoff table in a .toml or .csv file (instead of name)"),
    "sha256": Param(str, None, "the table file's sha256 (filled in from the file)"),
}
MAX_ACTIONS = 256  # per player: a table larger than this is surely a mistake
SUFFIXES = (".toml", ".csv")

ROW = HEADER  # player 0's action while player 1's is awaited (then kept), -1 before
WIDTH = HEADER + 1

TABLES = "tables"  # a run folder's copies of its tables, <sha256>.<toml|csv>
_table_dirs: list[Path] = []  # folders of stored tables (use_files)


# ---- reading tables ---------------------------------------------------------------------


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
    """(sha256, bytes) of the table `path`, or of the stored copy of `sha256` when the
    file has gone; a file whose content no longer has the digest the spec names is refused."""
    file = Path(path)
    if file.is_file():
        data = file.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if sha256 is not None and digest != sha256:
            raise ValueError(
                f"matrix: {path} has changed: its sha256 is {digest}, the spec names {sha256}"
            )
        return digest, data
    if sha256 is not None:
        for folder in _table_dirs:
            copy = folder / f"{sha256}{file.suffix.lower()}"
            if copy.is_file():
                return sha256, copy.read_bytes()
    raise ValueError(f"matrix: no payoff table file {path}")


def use_files(run_dir: str | Path) -> None:
    """Also look for tables whose file has gone among the copies in the run folder `run_dir`."""
    folder = (Path(run_dir) / TABLES).resolve()
    if folder not in _table_dirs:
        _table_dirs.append(folder)


def store_files(values: dict[str, object], run_dir: str | Path) -> Path | None:
    """Copy the table of a file spec's `values` into the run folder `run_dir` (tables/
    <sha256>.<suffix>; None for a built-in game), and look for tables there from now on."""
    if values["file"] is None:
        return None
    folder = Path(run_dir) / TABLES
    target = folder / f"{values['sha256']}{Path(values['file']).suffix.lower()}"
    if not target.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        _, data = _read(values["file"], values["sha256"])
        temp = target.with_name(f".{target.name}.tmp")
        temp.write_bytes(data)
        temp.replace(target)
    use_files(run_dir)
    return target


_tables: dict[str, np.ndarray] = {}  # sha256 -> parsed payoffs: a spec reads its file once


def payoffs(values: dict[str, object]) -> np.ndarray:
    """The payoffs float64[2, rows, cols] of resolved spec values."""
    if values["file"] is None:
        return np.array(BUILT_IN[values["name"]], dtype=np.float64)
    digest = values["sha256"]
    if digest not in _tables:
        _, data = _read(values["file"], digest)
        _tables[digest] = parse_table(values["file"], data)
    return _tables[digest]


# ---- the contract's hooks ------------------------------------------------------------------


def resolve_values(values: dict[str, object], given: set[str]) -> dict[str, object]:
    """Built-in by name, or a file: its absolute path and the sha256 of its content."""
    if "file" not in given:
        if "sha256" in given:
            raise ValueError("matrix: sha256= goes with file=PATH")
        return values
    if "name" in given:
        raise ValueError("matrix: give name= (a built-in game) or file=PATH, not both")
    path = str(Path(values["file"]).expanduser().absolute())
    digest, data = _read(path, values["sha256"])
    if digest not in _tables:
        _tables[digest] = parse_table(path, data)
    return {"name": None, "file": path, "sha256": digest}


def kernel_fields(values: dict[str, object]) -> dict[str, object]:
    """The table as the kernels read it: g.rows, g.cols and g.payoffs[player, row, col]."""
    table = np.ascontiguousarray(payoffs(values), dtype=np.float64)
    return {"rows": np.int64(table.shape[1]), "cols": np.int64(table.shape[2]), "payoffs": table}


def shape(g) -> Shape:
    # Observation: the observer's seat (one-hot). Nothing else is known before the end, and
    # the two seats of a general-sum table need different play.
    zero_sum = bool(np.all(g.payoffs[0] + g.payoffs[1] == 0))
    return Shape(
        max(int(g.rows), int(g.cols)), 2, (2,), 2, WIDTH, simultaneous=True, zero_sum=zero_sum
    )


def symmetries(g) -> list[tuple[str, np.ndarray]]:
    return [("identity", np.arange(max(int(g.rows), int(g.cols))))]


# ---- primitives ----------------------------------------------------------------------------


@njit(cache=True, inline="always")
def init_row(g, data, i, seed):
    start_row(data, i, seed)
    data[i, TO_PLAY] = SIMULTANEOUS
    data[i, ROW] = -1


@njit(cache=True, inline="always")
def actor_row(g, data, i):
    if data[i, DONE]:
        return data[i, TO_PLAY]
    return 0 if data[i, ROW] < 0 else 1


@njit(cache=True, inline="always")
def _count(g, player):
    return g.rows if player == 0 else g.cols


@njit(cache=True, inline="always")
def is_legal(g, data, i, action):
    if data[i, DONE] or action < 0:
        return False
    return action < _count(g, actor_row(g, data, i))


@njit(cache=True, inline="always")
def legal_player_row(g, data, i, player, mask):
    mask[i, :] = False
    if data[i, DONE]:
        return 0
    count = _count(g, player)
    for a in range(count):
        mask[i, a] = True
    return count


@njit(cache=True, inline="always")
def legal_row(g, data, i, mask):
    """The actions of the player whose action the history takes next."""
    return legal_player_row(g, data, i, actor_row(g, data, i), mask)


@njit(cache=True, inline="always")
def apply_row(g, data, i, action, rewards):
    rewards[i, 0] = 0.0
    rewards[i, 1] = 0.0
    data[i, PLY] += 1
    data[i, LAST_ACTION] = action
    if data[i, ROW] < 0:  # the row, held until the column arrives
        data[i, ROW] = action
        return
    first = g.payoffs[0, data[i, ROW], action]
    second = g.payoffs[1, data[i, ROW], action]
    rewards[i, 0] = first
    rewards[i, 1] = second
    data[i, DONE] = 1
    # General-sum too: the winner is the player with the higher payoff, none on a tie.
    data[i, WINNER] = 0 if first > second else (1 if second > first else -1)


@njit(cache=True, inline="always")
def info_key_row(g, data, i, player):
    """0 before the end (nobody has seen anything), else 1 + the cell: as OpenSpiel's
    information_state_string, which shows the history only at the end."""
    if data[i, DONE] == 0:
        return 0
    return 1 + data[i, ROW] * g.cols + data[i, LAST_ACTION]


@njit(cache=True, inline="always")
def observe_row(g, data, i, player, out):
    out[i, :] = 0.0
    out[i, player] = 1.0


def info_string(g, row: np.ndarray, player: int) -> str:
    """OpenSpiel's information_state_string of a matrix game."""
    if not row[DONE]:
        return f"Observing player: {player}. Non-terminal"
    return (
        f"Observing player: {player}. Terminal. History string: "
        f"{int(row[ROW])}, {int(row[LAST_ACTION])}"
    )


def _cell(g, row: np.ndarray) -> tuple[int, int]:
    return int(row[ROW]), int(row[LAST_ACTION]) if row[DONE] else -1


def text(g, row: np.ndarray) -> str:
    """Both choices (the row is shown once taken: the viewer sees everything), then the
    payoffs."""
    first, second = _cell(g, row)
    shown = [str(first) if first >= 0 else "-", str(second) if second >= 0 else "-"]
    line = f"row: {shown[0]}  column: {shown[1]}"
    if row[DONE]:
        line += f" | payoffs {g.payoffs[0, first, second]:g}, {g.payoffs[1, first, second]:g}"
    return line


def hands(g, row: np.ndarray) -> list[list[int]]:
    return [[choice] for choice in _cell(g, row)]


svg, rgb = render.card_pictures(text, hands)
