"""Board pictures as players expect them (issue 17, part 4): where each cell is drawn
(`games.board`, for clicks and overlays), click targets, move numbers on demand, and
pictures that shrink to a phone's width."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

import games

NS = "{http://www.w3.org/2000/svg}"
BOARD_GAMES = ["connect_four", "tic_tac_toe", "othello", "hex:size=5", "go:size=9"]


def random_positions(game: games.Game, plies: int, seed: int = 0) -> games.State:
    """The positions of one random game (row k: after k moves) as one batch."""
    rng = np.random.default_rng(seed)
    actions: list[int] = []
    state = game.init(1)
    for _ in range(plies):
        legal = np.flatnonzero(game.legal_mask(state)[0])
        if state.done[0]:
            break
        actions.append(int(rng.choice(legal)))
        game.step(state, np.array(actions[-1:]))
    return game.play_sequences([actions[:k] for k in range(len(actions) + 1)])


@pytest.mark.parametrize("spec", games.names())
def test_every_picture_scales_down_to_its_container(spec):
    game = games.make(spec)
    root = ET.fromstring(game.render_svg(game.init(1), 0))
    assert "max-width:100%" in root.get("style")
    width, height = (float(root.get(k)) for k in ("width", "height"))
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    assert width > 0 and height > 0


def test_games_without_a_board_have_no_geometry():
    assert games.board(games.make("kuhn_poker")) is None


@pytest.mark.parametrize("spec", BOARD_GAMES)
def test_stones_sit_on_the_centres_the_board_names(spec):
    game = games.make(spec)
    board = games.board(game)
    positions = random_positions(game, 12)
    root = ET.fromstring(game.render_svg(positions, len(positions) - 1))
    stones = [e for e in root.iter() if e.get("data-cell") and e.get("data-owner") != "-1"]
    assert len(stones) >= 5
    for stone in stones:
        r, c = (int(k) for k in stone.get("data-cell").split(","))
        if stone.tag == f"{NS}circle":
            centre = float(stone.get("cx")), float(stone.get("cy"))
        else:  # a hexagon: the mean of its corners
            corners = [tuple(map(float, p.split(","))) for p in stone.get("points").split()]
            centre = tuple(np.mean(corners, axis=0))
        assert centre == pytest.approx(tuple(board.centres[r, c]), abs=0.2)


@pytest.mark.parametrize("spec", BOARD_GAMES)
def test_every_move_with_a_cell_has_one_click_target_over_it(spec):
    game = games.make(spec)
    board = games.board(game)
    root = ET.fromstring(game.render_svg(game.init(1), 0))
    marked = {int(e.get("data-action")): e for e in root.iter() if e.get("data-action")}
    with_cell = [a for a in range(game.num_actions) if board.action_cell(a) is not None]
    assert sorted(marked) == with_cell  # pass and swap have none
    for action, element in marked.items():
        if element.tag == f"{NS}rect":
            box = tuple(float(element.get(k)) for k in ("x", "y", "width", "height"))
            assert box == pytest.approx(board.action_box(action), abs=0.1)
            x, y, w, h = box
            r, c = board.action_cell(action)
            cx, cy = board.centres[r, c]
            assert x < cx < x + w and y < cy < y + h


def test_a_connect_four_target_is_its_whole_column():
    board = games.board(games.make("connect_four"))
    x, y, w, h = board.action_box(2)
    assert (x, y, w, h) == (2 * board.cell, 0, board.cell, 6 * board.cell)


def test_move_numbers_label_each_stone_with_the_move_that_placed_it():
    game = games.make("connect_four")
    positions = game.play_sequences([[], [3], [3, 3], [3, 3, 4]])
    board = games.board(game)
    assert board.move_numbers(positions.data) == {(5, 3): 1, (4, 3): 2, (5, 4): 3}
    svg = board.numbered(game.render_svg(positions, 3), positions.data)
    root = ET.fromstring(svg)
    labels = [e for e in root.iter(f"{NS}text") if e.get("class") == "move-number"]
    assert sorted(e.text for e in labels) == ["1", "2", "3"]
    assert all(e.get("pointer-events") == "none" for e in labels)  # clicks pass through
    # The labels lie under the click targets, which stay the last elements.
    assert root[-1].get("class") == "target"


def test_a_captured_stone_loses_its_number():
    game = games.make("go:size=5")
    # Black surrounds white's stone at b2 (action 6) and captures it with the last move.
    moves = [1, 6, 5, 24, 7, 23, 11]
    positions = game.play_sequences([moves[:k] for k in range(len(moves) + 1)])
    assert games.board(game).cells(positions.data[-1])[1, 1] == -1  # captured
    numbers = games.board(game).move_numbers(positions.data)
    assert (1, 1) not in numbers and numbers[(2, 1)] == 7 and numbers[(0, 1)] == 1


def test_replay_viewer_numbers_the_stones_on_demand(tmp_path, monkeypatch):
    from arena.tournament import run_tournament
    from tests.test_dashboard_apptest import board, replay_page

    run = tmp_path / "runs" / "t"
    config = {"game": "connect_four", "agents": ["random", "greedy"], "games_per_pair": 2}
    run_tournament(config | {"concurrency": 2, "out": str(run)})
    at = replay_page(run, monkeypatch)
    at.button(key="step_last").click().run()
    assert 'class="move-number"' not in board(at)
    at.toggle(key="move_numbers").set_value(True).run()
    assert not at.exception
    assert board(at).count('class="move-number"') == at.session_state["ply"] > 0
