"""The board you click: a game's own SVG picture in a Streamlit component that reports
which move was clicked.

The picture is the game's `render_svg` (so it looks as in the replay browser), whose
transparent click targets carry each move's number (`data-action`, see
`games.render.Board.targets`); a small `st.components.v2` component (Streamlit's own, no
build step) draws it and sends back the `data-action` under the click.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

import games

JS = """
export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let box = parentElement.querySelector(".arena-play-board");
  if (!box) {
    box = document.createElement("div");
    box.className = "arena-play-board";
    parentElement.appendChild(box);
  }
  if (box.shownSvg !== data.svg) {  // redraw only a new picture: the old one stays still
    box.innerHTML = data.svg;
    box.shownSvg = data.svg;
  }
  box.dataset.ply = data.ply;
  box.style.cursor = data.active ? "pointer" : "default";
  box.onclick = (event) => {
    const target = event.target.closest("[data-action]");
    if (data.active) setTriggerValue("click", { action: target && target.dataset.action });
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


def action_at(game: games.Game, click: dict[str, Any]) -> int | None:
    """The move a click on the game's picture means; None for a click beside the targets."""
    action = str(click.get("action") or "")
    return int(action) if action.isdigit() and int(action) < game.num_actions else None


def cellless_moves(game: games.Game) -> list[int]:
    """A board game's moves without a cell to click (pass, Hex's swap): buttons instead."""
    shape = games.board(game)
    if shape is None:
        return []
    return [a for a in range(game.num_actions) if shape.action_cell(a) is None]
