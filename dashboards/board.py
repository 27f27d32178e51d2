"""The board you click: a game's own SVG picture in a Streamlit component that reports
where it was clicked, and the move that click means.

The picture is the game's `render_svg` (so it looks as in the replay browser); a small
`st.components.v2` component (Streamlit's own, no build step) draws it and sends back the
clicked point in the picture's own units, with the `data-action` or `data-cell` of the
element under it when the picture marks one. `action_at` turns that into a move: a marked
element decides; otherwise the point is placed on the board's grid (the picture's area
from its left edge, `rows x cols` square cells; Go's points sit on a lattice inside a margin).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

import games
from games import go as go_rules

# Games whose pictures mark every cell with data-cell (Hex's hexagons): a click between
# the marked elements is off the board.
MARKED_CELLS = {"hex"}

JS = """
export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let box = parentElement.querySelector(".arena-play-board");
  if (!box) {
    box = document.createElement("div");
    box.className = "arena-play-board";
    parentElement.appendChild(box);
  }
  box.innerHTML = data.svg;
  box.dataset.ply = data.ply;
  const svg = box.querySelector("svg");
  if (!svg) return;
  svg.style.maxWidth = "100%";
  svg.style.height = "auto";
  svg.style.cursor = data.active ? "pointer" : "default";
  svg.onclick = (event) => {
    if (!data.active) return;
    const point = new DOMPoint(event.clientX, event.clientY).matrixTransform(
      svg.getScreenCTM().inverse());
    const marked = event.target.closest("[data-action], [data-cell]");
    const box = svg.viewBox.baseVal;
    setTriggerValue("click", {
      x: point.x, y: point.y, width: box.width, height: box.height,
      action: marked ? marked.getAttribute("data-action") : null,
      cell: marked ? marked.getAttribute("data-cell") : null,
    });
  };
}
"""

_component = st.components.v2.component("arena_play_board", js=JS)


def clickable_board(svg: str, ply: int, active: bool, key: str) -> dict[str, Any] | None:
    """Draw `svg` (a game's own picture, trusted: it holds no user text); returns the
    click of this run (None when the board was not clicked). `active`: clicks count."""
    result = _component(
        data={"svg": svg, "ply": ply, "active": active},
        key=key,
        on_click_change=lambda: None,
    )
    return result.click if result is not None else None


def grid(game: games.Game) -> tuple[int, int] | None:
    """(rows, cols) of a board game's cells (its observation planes); None for others."""
    return tuple(game.obs_shape[-2:]) if len(game.obs_shape) == 3 else None


def cell_action(game: games.Game, row: int, col: int) -> int | None:
    """The move of clicking cell (row, col) as the game's pictures number them: the
    column in a game whose moves are columns (Connect Four), else row * cols + col."""
    rows, cols = grid(game)
    if not (0 <= row < rows and 0 <= col < cols):
        return None
    return col if game.num_actions == cols else row * cols + col


def action_at(game: games.Game, click: dict[str, Any]) -> int | None:
    """The move a click on the game's picture means; None for a click off the board."""
    if grid(game) is None:
        return None
    if click.get("action") not in (None, ""):
        return int(click["action"])
    if click.get("cell"):
        row, col = (int(k) for k in str(click["cell"]).split(","))
        return cell_action(game, row, col)
    return _point_action(game, float(click["x"]), float(click["y"]), float(click["width"]))


def _point_action(game: games.Game, x: float, y: float, width: float) -> int | None:
    rows, cols = grid(game)
    if game.name in MARKED_CELLS:
        return None
    if game.name == "go":  # points on a lattice inside a margin, row 1 at the bottom
        margin, step = go_rules.SVG_MARGIN, go_rules.SVG_CELL
        col, from_top = round((x - margin) / step), round((y - margin) / step)
        return cell_action(game, rows - 1 - from_top, col)
    size = width / cols  # square cells from the left edge, under nothing but the board
    if x < 0 or y < 0:
        return None
    return cell_action(game, int(y // size), int(x // size))
