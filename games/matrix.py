"""Two-player matrix games, as OpenSpiel's `matrix_rps`, `matrix_mp`, `matrix_pd` and
`matrix_shapleys_game`, or any payoff table from a TOML or CSV file.

Spec: `matrix:name=rps|mp|pd|shapleys_game` (default rps), or `matrix:file=PATH`. A file
spec's canonical form names the file by its absolute path and its sha256
(`matrix:file=/abs/t.csv,sha256=...`): a run copies the table into its folder
(`store_files`, under `tables/` by sha256), and a spec whose file has gone is read from
such a copy (`use_files`), so a stored game never depends on a file outside its run. The
file formats: games/payoff_tables.py.

One simultaneous node (to_play == SIMULTANEOUS), then the end. Player 0 picks a row,
player 1 a column (actions numbered from 0 as in OpenSpiel); the history holds both, in
player order. The engine takes them one at a time: the row is held in the state until the
column arrives, and that first step gives zero rewards.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numba import njit

from games import payoff_tables, render
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

ROW = HEADER  # player 0's action while player 1's is awaited (then kept), -1 before
WIDTH = HEADER + 1


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
    digest, _ = payoff_tables.load(path, values["sha256"])
    return {"name": None, "file": path, "sha256": digest}


def payoffs(values: dict[str, object]) -> np.ndarray:
    """The payoffs float64[2, rows, cols] (player, row, column) of resolved spec values."""
    if values["file"] is None:
        return np.array(BUILT_IN[values["name"]], dtype=np.float64)
    return payoff_tables.load(values["file"], values["sha256"])[1]


def store_files(values: dict[str, object], run_dir: str | Path) -> Path | None:
    """Keep a file spec's table in the run folder `run_dir` (None for a built-in game)."""
    if values["file"] is None:
        return None
    return payoff_tables.store(values["file"], values["sha256"], run_dir)


def use_files(run_dir: str | Path) -> None:
    """Find tables whose file has gone among the copies kept in the run folder `run_dir`."""
    payoff_tables.use_run(run_dir)


def kernel_fields(values: dict[str, object]) -> dict[str, object]:
    """The table as the kernels read it: g.rows, g.cols and g.payoffs[player, row, col]."""
    table = np.ascontiguousarray(payoffs(values), dtype=np.float64)
    return {"rows": np.int64(table.shape[1]), "cols": np.int64(table.shape[2]), "payoffs": table}


def shape(g) -> Shape:
    # Observation: the observer's seat (one-hot). Nothing else is known before the end, and
    # the two seats of a general-sum table need different play.
    zero_sum = bool(np.all(g.payoffs[0] + g.payoffs[1] == 0))
    # Symmetric seats: the column player's table is the row player's transposed (rps, pd;
    # not matching pennies, where one seat wants to match and the other to differ).
    symmetric = bool(g.rows == g.cols) and bool(np.all(g.payoffs[1] == g.payoffs[0].T))
    return Shape(
        max(int(g.rows), int(g.cols)),
        2,
        (2,),
        2,
        WIDTH,
        simultaneous=True,
        zero_sum=zero_sum,
        seat_symmetric=symmetric,
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
