"""Why it moved, under Streamlit's AppTest: a real tournament recorded with search
statistics, its replay viewer's heat map, value bar and value graph, and move grades
(the exact solver in Connect Four, a marked reference search elsewhere)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import games
import replays
from agents import connect_four_solver
from arena.tournament import run_tournament
from dashboards import why
from tests.test_dashboard_apptest import app, assert_clean, board, table_with

SIMS = 16


def searched_run(folder: Path, game: str) -> Path:
    out = folder / game.split(":")[0]
    run_tournament(
        {
            "game": game,
            "agents": [f"mcts:sims={SIMS}", "random"],
            "games_per_pair": 2,
            "out": str(out),
            "record_search": True,
        }
    )
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("why")
    return {game: searched_run(folder, game) for game in ("connect_four", "tic_tac_toe")}


def opened(run: Path, monkeypatch):
    """The replay page on the run's first listed game, and that game."""
    at = app(run.parent, monkeypatch, run)
    at.switch_page("pages/replays.py").run()
    assert_clean(at)
    return at, replays.load_game(run, *at.session_state["game"])


def heat(html: str) -> dict[int, int]:
    """Visits per action drawn in the board's heat layer."""
    layer = re.search(r'<g class="visit-heat".*?</g>', html)
    assert layer, "no heat map on the board"
    pairs = re.findall(r'data-action="(\d+)" data-visits="(\d+)"', layer.group())
    return {int(a): int(v) for a, v in pairs}


def first_searched_ply(replay: replays.Replay) -> int:
    return int(np.flatnonzero((replay.search_visits >= 0).all(axis=1))[0])


def test_heat_map_value_bar_and_value_graph(runs, monkeypatch):
    at, replay = opened(runs["connect_four"], monkeypatch)
    ply = first_searched_ply(replay)
    at.slider(key="ply").set_value(ply).run()
    assert_clean(at)
    drawn = heat(board(at))
    stored = replay.search_visits[ply]
    assert drawn == {a: int(v) for a, v in enumerate(stored) if v > 0}
    assert sum(drawn.values()) == SIMS
    # the picture underneath is the game's own board of that position
    plain = games.make(replay.game).render_svg(replay.states, ply)
    assert plain[:-6] in board(at)
    (bar,) = at.get("progress")
    assert f"{replay.values[ply]:+.2f}" in bar.proto.text
    assert any("Heat map" in c.value for c in at.caption)
    assert any("Value over the game" in m.value for m in at.markdown)
    # a move of random, which does not search, has neither
    at.slider(key="ply").set_value(ply + 1).run()
    assert 'class="visit-heat"' not in board(at) and not at.get("progress")


def test_connect_four_moves_graded_by_the_solver(runs, monkeypatch):
    at, replay = opened(runs["connect_four"], monkeypatch)
    at.toggle(key="grade_moves").set_value(True).run()
    assert_clean(at)
    assert any("exact solver" in c.value for c in at.caption)
    grades = table_with(at, "grade")
    assert len(grades) == replay.plies
    assert set(grades["grade"]) <= {*why.GRADES, why.NOT_GRADED}
    graded = grades[grades["grade"] != why.NOT_GRADED]
    assert len(graded) == max(0, replay.plies - why.SOLVER_FROM_PLY)
    for _, row in graded.iterrows():  # each grade is the solver's verdict on that move
        scores = connect_four_solver.move_scores(replay.states.data[row["move"] - 1])
        best, played = np.sign(scores.max()), np.sign(scores[row["played"]])
        expected = "optimal" if played == best else "losing move" if played < 0 else "inaccuracy"
        assert row["grade"] == expected
        assert scores[row["best"]] == scores.max()
    # the best move at the position shown is ringed on the board
    last = graded.iloc[-1]
    at.slider(key="ply").set_value(int(last["move"]) - 1).run()
    assert 'class="best-move"' in board(at)
    assert re.search(rf'class="best-move"[^>]*data-action="{last["best"]}"', board(at))


def test_other_games_are_graded_by_a_marked_reference_search(runs, monkeypatch):
    at, replay = opened(runs["tic_tac_toe"], monkeypatch)
    at.toggle(key="grade_moves").set_value(True).run()
    assert_clean(at)
    assert any(f"mcts:sims={why.REFERENCE_FACTOR * SIMS}" in c.value for c in at.caption)
    grades = table_with(at, "grade")
    assert len(grades) == replay.plies and set(grades["grade"]) <= set(why.GRADES)


@pytest.mark.parametrize(
    "best, played, expected",
    [(1, 1, "optimal"), (1, 0, "inaccuracy"), (1, -1, "losing move"), (0, -1, "losing move")]
    + [(-1, -1, "optimal"), (0.5, 0.47, "optimal"), (0.5, 0.2, "inaccuracy")],
)
def test_grades_follow_the_change_of_value(best, played, expected):
    assert why.grade(best, played, tolerance=0.05) == expected
