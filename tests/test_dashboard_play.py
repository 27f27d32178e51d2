"""The play page under Streamlit's AppTest, and the game it keeps, on real runs.

AppTest cannot click inside a component, so moves go through the page's move box (the
same `move` as a click on the board; tests/test_dashboard_browser.py clicks the board).
Finished games are read back from `RUNS/human/` with the real replay reader.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import agents
import games
import replays
from arena import results
from dashboards import board, human
from dashboards.playing import Game, IllegalMove
from dashboards.ui import plain
from replays.record import replay_from_row
from tests.test_dashboard_apptest import APP, TIMEOUT, league_run

PAGE = "pages/play.py"
BROKEN = "broken_*[x](y)"  # a league folder named in markup


def open_play(runs: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv("ARENA_RUNS", str(runs))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page(PAGE)
    return at.run()


def start(at: AppTest, opponent: str, name: str = "player", game: str = "connect_four"):
    at.selectbox(key="play_name").set_value(game).run()
    at.selectbox(key="play_opponent").set_value(opponent).run()
    at.text_input(key="play_player").set_value(name).run()
    at.button(key="play_start").click().run()
    assert not at.exception, [e.value for e in at.exception]


def type_move(at: AppTest, action: int) -> None:
    at.text_input(key="play_typed").input(str(action)).run()
    assert not at.exception, [e.value for e in at.exception]


def game_of(at: AppTest) -> Game:
    return at.session_state["play_game"]


def notices(at: AppTest) -> list[str]:
    return [w.value for w in at.warning]


def stored(runs: Path) -> list[dict]:
    return replays.open(human.run_dir(runs)).to_table().to_pylist()


def test_moves_undo_and_an_illegal_move(tmp_path, monkeypatch):
    at = open_play(tmp_path, monkeypatch)
    start(at, "fixed")  # plays the lowest legal column: 0 while it has room
    type_move(at, 3)
    assert game_of(at).history == [3, 0]  # our move and the agent's answer
    at.button(key="play_undo").click().run()
    assert game_of(at).history == []
    for _ in range(3):
        type_move(at, 0)
    assert game_of(at).history == [0] * 6  # column 0 is full
    type_move(at, 0)
    assert game_of(at).history == [0] * 6
    assert notices(at) == ["Ignored: move 0 is not legal here."]
    type_move(at, 1)
    assert game_of(at).history == [0] * 6 + [1, 1]
    assert not notices(at)  # a legal move clears the notice
    assert not (tmp_path / "human").exists()  # nothing is written before the game ends


def test_resign_is_stored_as_termination_resign(tmp_path, monkeypatch):
    at = open_play(tmp_path, monkeypatch)
    start(at, "fixed", name="ada")
    type_move(at, 4)
    at.button(key="play_resign").click().run()
    assert [s.value for s in at.success] == ["You resigned. 2 moves."]
    (row,) = stored(tmp_path)
    assert row["termination"] == "resign" and row["reason"] == "human:ada resigned"
    assert row["agents"] == ["human:ada", "fixed"] and row["winner"] == 1
    assert row["actions"] == [4, 0] and row["returns"] == [-1.0, 1.0]
    assert row["match_id"] == at.session_state["play_saved"]
    assert at.button(key="play_undo").disabled and at.button(key="play_resign").disabled
    at.run()  # a rerun of the finished game writes nothing more
    assert len(stored(tmp_path)) == 1
    fitted = results.ratings(human.run_dir(tmp_path), anchor="fixed")
    assert set(fitted.agents) == {"fixed", "human:ada"}  # people are rated like agents


def test_two_sessions_keep_their_own_games_and_rows(tmp_path, monkeypatch):
    first, second = open_play(tmp_path, monkeypatch), open_play(tmp_path, monkeypatch)
    start(first, "fixed", name="ann")
    start(second, "fixed", name="bob")
    type_move(first, 6)
    type_move(second, 5)
    assert game_of(first).history == [6, 0] and game_of(second).history == [5, 0]
    # ann wins in column 6 (fixed keeps to column 0); bob resigns.
    for _ in range(3):
        type_move(first, 6)
    assert [s.value for s in first.success] == ["You won! 7 moves."]
    second.button(key="play_resign").click().run()
    rows = {tuple(r["agents"]): r for r in stored(tmp_path)}
    assert set(rows) == {("human:ann", "fixed"), ("human:bob", "fixed")}
    assert rows["human:ann", "fixed"]["actions"] == [6, 0, 6, 0, 6, 0, 6]
    assert rows["human:ann", "fixed"]["termination"] == "normal"
    assert rows["human:bob", "fixed"]["termination"] == "resign"
    assert len({r["match_id"] for r in rows.values()}) == 2


def test_search_statistics_are_kept_for_the_agents_moves(tmp_path, monkeypatch):
    at = open_play(tmp_path, monkeypatch)
    at.selectbox(key="play_opponent").set_value("mcts").run()
    at.number_input(key="play_sims_mcts").set_value(16).run()
    start(at, "mcts")
    type_move(at, 3)
    at.button(key="play_resign").click().run()
    (row,) = stored(tmp_path)
    assert row["agents"] == ["human:player", "mcts:sims=16"]
    assert np.isnan(row["values"][0]) and not np.isnan(row["values"][1])
    assert row["search_prior"][0] == [] and len(row["search_prior"][1]) == 7
    assert row["search_visits"][0] == [] and sum(row["search_visits"][1]) >= 16 - 1


def test_a_bad_name_and_bad_game_settings_are_refused(tmp_path, monkeypatch):
    at = open_play(tmp_path, monkeypatch)
    start(at, "random", name="no spaces")
    assert "play_game" not in at.session_state
    assert any("player name" in e.value for e in at.error)
    at.text_input(key="play_settings").set_value("size=nine").run()
    assert at.error and "play_start" not in [b.key for b in at.button]


def test_card_game_from_your_seat(tmp_path, monkeypatch):
    at = open_play(tmp_path, monkeypatch)
    at.selectbox(key="play_name").set_value("kuhn_poker").run()
    labels = at.selectbox(key="play_opponent").options
    assert [label.split(":")[0] for label in labels] == ["fixed", "random"]  # no search
    start(at, "fixed", game="kuhn_poker")  # fixed: always pass (action 0) where legal
    game = game_of(at)
    rules = games.make("kuhn_poker")
    seen = rules.information_string(game.state(), 0, game.human)
    assert any(f"`{seen}`" in m.value for m in at.markdown)  # our card only
    assert not any("<svg" in m.value for m in at.markdown)  # no table with every card
    at.button(key="play_action_1").click().run()  # bet; fixed passes (folds)
    assert game_of(at).over
    assert any("<svg" in m.value for m in at.markdown)  # the showdown: every card
    (row,) = stored(tmp_path)
    assert row["game"] == "kuhn_poker:players=2" and row["winner"] == 0


@pytest.fixture(scope="module")
def leagues(tmp_path_factory) -> Path:
    """A runs folder with a real league (with snapshots) and a copy whose snapshot lost
    its weights, in a folder whose name is markup (shown as written, never formatted)."""
    folder = tmp_path_factory.mktemp("runs")
    league = league_run(folder)
    broken = folder / BROKEN
    shutil.copytree(league, broken)
    population = json.loads((broken / "league.json").read_text())["population"]
    first = next(m["agent"] for m in population if m["role"] == "snapshot")
    for weights in (broken / "agents" / first).glob("*.safetensors"):
        weights.unlink()
    return folder


def test_league_snapshots_play_and_a_broken_one_shows_its_error(leagues, monkeypatch):
    at = open_play(leagues, monkeypatch)
    at.selectbox(key="play_name").set_value("tic_tac_toe").run()
    labels = at.selectbox(key="play_opponent").options  # "ID: what it is"
    snapshots = [label.split(": ")[0] for label in labels if "/" in label.split(": ")[0]]
    assert {o.split("/")[0] for o in snapshots} == {"league", BROKEN}
    good = next(o for o in snapshots if o.startswith("league/"))
    start(at, good, game="tic_tac_toe")
    assert not at.error
    type_move(at, 4)
    assert len(game_of(at).history) == 2  # the snapshot answered
    assert game_of(at).seats == ["human:player", good]
    bad = next(o for o in snapshots if o.startswith(f"{BROKEN}/"))
    start(at, bad, game="tic_tac_toe")
    assert len(at.error) == 1 and at.error[0].value.startswith(f"{plain(bad)} cannot be loaded")
    assert game_of(at).seats[1] == good  # the game in progress is kept


def test_undo_takes_back_the_deal_too_and_a_card_game_replays():
    game = Game("leduc_poker", 0, ["human:p", "random"], 1)
    rng = np.random.default_rng(0)
    agent = agents.make("random", game.rules)
    game.reply(agent, rng)  # the deal (two cards), then the agent calls (checks)
    assert game.history == [5, 3, 1] and game.humans_turn()
    game.play(1)  # our call ends round 1: the public card is dealt at once
    game.reply(agent, rng)
    assert game.history[:5] == [5, 3, 1, 1, 4] and len(game.history) == 6
    game.undo()
    assert game.history == [5, 3, 1] and game.humans_turn()
    with pytest.raises(IllegalMove, match="move 0 is not legal here"):
        game.play(0)  # no folding when nobody has raised
    while not game.over:
        game.play(int(np.flatnonzero(game.legal())[-1]))
        game.reply(agent, rng)
    with pytest.raises(IllegalMove, match="over"):
        game.undo()
    table = replays.build_table(game.row("run", "m"))
    replay = replay_from_row(table)
    assert replay.plies == len(game.history) and bool(replay.states.done[-1])
    assert list(replay.returns) == game.returns().tolist()


def test_board_clicks_name_the_targets_move():
    rules = games.make("go:size=9")
    assert board.action_at(rules, {"action": "40"}) == 40
    assert board.action_at(rules, {"action": None}) is None  # beside the targets
    assert board.action_at(rules, {"action": "999"}) is None
    assert board.cellless_moves(rules) == [81]  # pass
    assert board.cellless_moves(games.make("connect_four")) == []
    svg = rules.render_svg(rules.init(1), 0)
    assert 'data-action="40"' in svg  # the picture's own click targets


def finished_game() -> Game:
    game = Game("tic_tac_toe", 1, ["human:t", "fixed"], 0)
    game.play(4)
    game.resign()
    return game


def test_saving_takes_the_run_lock_and_refuses_another_kind_of_run(tmp_path, monkeypatch):
    monkeypatch.setattr(human, "LOCK_WAIT_SECONDS", 0.0)
    (tmp_path / "human").mkdir()
    with replays.run_lock(tmp_path / "human", "another writer"):
        with pytest.raises(replays.RunLockedError, match="another writer"):
            human.save(tmp_path, finished_game())
    assert not (tmp_path / "human" / "replays").exists()
    human.save(tmp_path, finished_game())
    assert len(stored(tmp_path)) == 1
    assert json.loads((tmp_path / "human" / "run.json").read_text())["kind"] == "human"

    other = tmp_path / "elsewhere"
    shutil.copytree(tmp_path / "human", other / "human")
    record = json.loads((other / "human" / "run.json").read_text())
    (other / "human" / "run.json").write_text(json.dumps({**record, "kind": "tournament"}))
    with pytest.raises(ValueError, match="holds a tournament run, not the human games"):
        human.save(other, finished_game())
    assert len(stored(other)) == 1  # nothing added


def test_go_pass_is_a_button(tmp_path, monkeypatch):
    at = open_play(tmp_path, monkeypatch)
    at.selectbox(key="play_name").set_value("go").run()
    at.text_input(key="play_settings").set_value("size=5").run()
    start(at, "fixed", game="go")  # fixed: the lowest legal point, 0
    (button,) = [b for b in at.button if b.key.startswith("play_cellless_")]
    assert button.label == "Pass" and not button.disabled
    button.click().run()
    assert game_of(at).history == [25, 0]  # our pass (move 25 on 5x5), its stone on A1


def test_a_game_saved_while_another_writer_holds_the_lock_is_saved_later(tmp_path, monkeypatch):
    monkeypatch.setattr(human, "LOCK_WAIT_SECONDS", 0.0)
    at = open_play(tmp_path, monkeypatch)
    start(at, "fixed")
    (tmp_path / "human").mkdir()
    with replays.run_lock(tmp_path / "human", "another writer"):
        at.button(key="play_resign").click().run()
        (error,) = at.error
        assert error.value.startswith("Saving the game:") and "another writer" in error.value
        assert not at.session_state["play_saved"]
    at.run()  # the lock is free: the next rerun saves it
    assert not at.error
    (row,) = stored(tmp_path)
    assert row["match_id"] == at.session_state["play_saved"]


def test_the_agent_opens_when_you_take_the_second_seat(tmp_path, monkeypatch):
    at = open_play(tmp_path, monkeypatch)
    at.selectbox(key="play_seat").set_value(1).run()
    start(at, "fixed")
    assert game_of(at).history == [0] and game_of(at).seats == ["fixed", "human:player"]
    type_move(at, 0)
    assert game_of(at).history == [0, 0, 0]
