"""Why it moved: a move's search statistics drawn on its board, and every move graded.

The heat map is a layer added to the game's own board picture (`render_svg`), placed where
each move would put its stone by the game's own geometry (`games.board`), so it follows
however the game draws its board.
Grades compare each move with the best one: by the exact solver's game-theoretic value in
Connect Four, elsewhere by a reference search (`mcts` with 10x the agent's budget).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

import games
from agents import connect_four_solver
from agents.mcts import MCTSAgent
from replays import Replay

GRADES = ("optimal", "inaccuracy", "losing move")
NOT_GRADED = "not graded"
REFERENCE_FACTOR = 10  # the reference search's budget, times the agent's
REFERENCE_SIMS = 400  # the agent's budget assumed when its visits were not stored
REFERENCE_TOLERANCE = 0.05  # a reference value this close to the best counts as optimal
# Opening positions take the solver minutes each on this machine (ply 6: ~110 s, ply 8:
# ~24 s, ply 10: ~2 s); moves from there on are graded, latest first, within the budget.
SOLVER_FROM_PLY = 10
SOLVER_SECONDS = 30.0


def move_spots(game: games.Game, states: games.State, ply: int) -> dict[int, tuple[float, float]]:
    """Where each legal move of position `ply` puts its stone in the board picture (the
    game's `games.board` geometry): its cell, or in Connect Four the lowest empty cell of
    its column. Moves without a cell (a pass, a swap) and games without a board: none."""
    board = games.board(game)
    if board is None:
        return {}
    owners = board.cells(states.data[ply])
    spots = {}
    for action in np.flatnonzero(game.legal_mask(states.take(np.array([ply])))[0]):
        cell = board.action_cell(int(action))
        if cell is not None and board.columns_are_moves:
            cell = (int(np.flatnonzero(owners[:, cell[1]] < 0).max()), cell[1])
        if cell is not None:
            x, y = board.centres[cell]
            spots[int(action)] = (float(x), float(y))
    return spots


def heat_layer(spots: dict[int, tuple[float, float]], visits: np.ndarray, cell: float) -> str:
    """An SVG group: a disc per visited move (`cell`: the distance between neighbouring
    cells), stronger with its share of the visits, the most visited one outlined, each
    labelled with its share."""
    total = int(visits[visits > 0].sum())
    if not total or not spots:
        return ""
    radius = 0.45 * cell
    most = int(visits.max())
    parts = ['<g class="visit-heat" pointer-events="none">']
    for action, (x, y) in spots.items():
        count = int(visits[action])
        if count <= 0:
            continue
        share = count / total
        outline = ' stroke="#000" stroke-width="3"' if count == most else ""
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" fill="#ff7f0e" '
            f'fill-opacity="{0.2 + 0.6 * count / most:.2f}"{outline} '
            f'data-action="{action}" data-visits="{count}"/>'
            f'<text x="{x:.1f}" y="{y + radius * 0.25:.1f}" font-family="sans-serif" '
            f'font-size="{radius * 0.7:.0f}" text-anchor="middle" fill="#000">'
            f"{share:.0%}</text>"
        )
    return "".join(parts) + "</g>"


def board_with_heat(game: games.Game, replay: Replay, ply: int, best: int | None = None) -> str:
    """The board picture of position `ply` with the heat map of the move made there (when
    its search was recorded) and, given the `best` move there, a dashed ring on it."""
    svg = game.render_svg(replay.states, ply)
    board = games.board(game)
    if board is None or ply >= replay.plies:
        return svg
    spots = move_spots(game, replay.states, ply)
    layer = ""
    if replay.search_visits is not None and (replay.search_visits[ply] >= 0).any():
        layer = heat_layer(spots, replay.search_visits[ply], board.cell)
    if best is not None and best in spots:
        x, y = spots[best]
        layer += (
            f'<circle class="best-move" cx="{x:.1f}" cy="{y:.1f}" r="{0.48 * board.cell:.1f}" '
            f'fill="none" stroke="#2ca02c" stroke-width="4" stroke-dasharray="6 4" '
            f'pointer-events="none" data-action="{best}"/>'
        )
    at = svg.rfind("</svg>")
    return svg[:at] + layer + svg[at:]


def player0_values(replay: Replay) -> np.ndarray | None:
    """float32[plies]: each move's root value from player 0's view (the stored value is the
    mover's); None unless a two-player game stored values."""
    if replay.values is None or len(replay.agents) != 2:
        return None
    return np.where(replay.movers == 1, -replay.values, replay.values).astype(np.float32)


def grade(best: float, played: float, tolerance: float = 0.0) -> str:
    """optimal: as good as the best move (within `tolerance`); losing move: turns a position
    that was not lost into a loss; inaccuracy: worse, not losing (a win into a draw)."""
    if played >= best - tolerance:
        return "optimal"
    return "losing move" if _outcome(played) < 0 <= _outcome(best) else "inaccuracy"


def _outcome(value: float) -> int:
    return 1 if value > 1 / 3 else -1 if value < -1 / 3 else 0


@dataclass
class Grades:
    source: str  # what graded them: the exact solver, or the reference search
    moves: pd.DataFrame  # move, player, played, best, grade, value, best value

    def at(self, ply: int) -> pd.Series | None:
        """The graded move made at position `ply` (None if it is not graded)."""
        rows = self.moves[(self.moves["move"] == ply + 1) & (self.moves["grade"] != NOT_GRADED)]
        return rows.iloc[0] if len(rows) else None


def _frame(replay: Replay, rows: dict[int, tuple[str, int, float, float]]) -> pd.DataFrame:
    """One row per move of a player: its grade, best move and values (mover's view)."""
    out = []
    for k, mover in enumerate(replay.movers):
        if mover < 0:
            continue
        grade_, best, value, best_value = rows.get(k, (NOT_GRADED, -1, np.nan, np.nan))
        out.append(
            {
                "move": k + 1,
                "player": f"{mover}: {replay.agents[mover]}",
                "played": int(replay.actions[k]),
                "best": best if best >= 0 else None,
                "grade": grade_,
                "value": value,
                "best value": best_value,
            }
        )
    frame = pd.DataFrame(out)
    return frame.astype({"best": "Int64"}) if len(frame) else frame


def solver_grades(replay: Replay, seconds: float = SOLVER_SECONDS) -> Grades:
    """Connect Four moves graded by the exact solver's value (+1 win, 0 draw, -1 loss for
    the mover) of the move played against the best one, latest move first until
    `seconds` are spent; earlier moves and opening moves stay not graded."""
    solver = connect_four_solver.default_solver()
    rows: dict[int, tuple[str, int, float, float]] = {}
    start = time.perf_counter()
    for k in range(replay.plies - 1, SOLVER_FROM_PLY - 1, -1):
        if time.perf_counter() - start > seconds:
            break
        scores = solver.move_scores_batch(replay.states.data[k : k + 1])[0]
        best = int(np.argmax(scores))  # the fastest win, else a draw, else the slowest loss
        best_value, value = float(np.sign(scores[best])), float(np.sign(scores[replay.actions[k]]))
        rows[k] = (grade(best_value, value), best, value, best_value)
    moves = _frame(replay, rows)
    return Grades(f"the exact solver (moves {SOLVER_FROM_PLY + 1} and later)", moves)


def reference_grades(game: games.Game, replay: Replay) -> Grades:
    """Moves graded by a reference search: `mcts` with REFERENCE_FACTOR times the largest
    budget the game's agents searched with, each move's mean return against the best."""
    stored = replay.visits[replay.visits > 0] if replay.visits is not None else []
    sims = REFERENCE_FACTOR * (int(np.max(stored)) if len(stored) else REFERENCE_SIMS)
    positions = np.flatnonzero(replay.movers >= 0)
    rows: dict[int, tuple[str, int, float, float]] = {}
    if positions.size:
        states = replay.states.take(positions)
        reference = MCTSAgent(game, sims=sims)
        mask = game.legal_mask(states)
        _, q = reference.action_values(game, states, mask, np.random.default_rng(0))
        for j, k in enumerate(positions):
            values = np.where(mask[j], q[j], np.nan)
            best = int(np.nanargmax(values))
            played = values[replay.actions[k]]
            played = float(np.nanmin(values) if np.isnan(played) else played)
            rows[int(k)] = (
                grade(values[best], played, REFERENCE_TOLERANCE),
                best,
                played,
                values[best],
            )
    return Grades(
        f"a reference search, mcts:sims={sims} ({REFERENCE_FACTOR}x the agent's budget)",
        _frame(replay, rows),
    )


def grade_moves(game: games.Game, replay: Replay) -> Grades:
    """Every move graded: exactly in Connect Four, by the reference search elsewhere
    (ValueError for a game that tree search cannot read)."""
    if game.name == connect_four_solver.NAME:
        return solver_grades(replay)
    return reference_grades(game, replay)
