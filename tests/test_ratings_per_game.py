"""A run holding games of several games (the play page's `RUNS/human/`) is rated per game:
the CLI prints one table per game, the dashboard's pages pick the game to rate.

The run is written through dashboards.human, as the play page writes it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

import agents
from arena import payoffs, results
from arena.cli import app
from dashboards import human
from dashboards.playing import Game
from tests.test_dashboard_apptest import APP, TIMEOUT, assert_clean, table_with

# Who plays which game: no agent plays both, so a pooled fit would show all five at once.
PLAYERS = {
    "connect_four": (["human:ada", "random"], ["human:ada", "greedy"]),
    "othello": (["human:bob", "fixed"], ["fixed", "human:bob"]),
}


def play_out(game: Game, seed: int) -> Game:
    """The person plays random legal moves against the agent until the end; every third
    game they resign after their first move instead."""
    rng = np.random.default_rng(seed)
    opponent = next(a for a in game.seats if not a.startswith(human.PREFIX))
    agent = agents.make(opponent, game.rules)
    game.reply(agent, rng)
    while not game.over:
        game.play(int(rng.choice(game.legal().nonzero()[0])))
        if seed % 3 == 2:
            game.resign()
        else:
            game.reply(agent, rng)
    return game


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("runs")
    for spec, seatings in PLAYERS.items():
        for seats in seatings:
            for seed in range(3):
                person = next(s for s, a in enumerate(seats) if a.startswith(human.PREFIX))
                human.save(folder, play_out(Game(spec, seed, list(seats), person), seed))
    return folder


def agents_of(spec: str) -> set[str]:
    return {a for seats in PLAYERS[spec] for a in seats}


def test_the_run_holds_two_games_and_each_is_rated_apart(runs):
    run = human.run_dir(runs)
    assert results.game_names(run) == ["connect_four", "othello"]
    with pytest.raises(ValueError, match="holds games of connect_four, othello: rate one game"):
        results.ratings(run)
    with pytest.raises(ValueError, match="holds games of connect_four, othello"):
        payoffs.load(run)
    for spec in PLAYERS:
        assert set(results.ratings(run, game=spec).agents) == agents_of(spec)
        assert payoffs.load(run, game=spec).game == spec
    with pytest.raises(ValueError, match="holds no games of hex"):
        results.ratings(run, game="hex")


@pytest.mark.parametrize("method", ["elo", "nash-avg"])
def test_the_cli_prints_one_table_per_game_named(runs, method):
    done = CliRunner().invoke(app, ["ratings", str(human.run_dir(runs)), "--method", method])
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    heads = [i for i, line in enumerate(lines) if line.startswith("─") and " " in line.strip("─")]
    assert [lines[i].strip("─ ") for i in heads] == ["connect_four", "othello"]
    ends = [*heads[1:], len(lines)]
    for spec, start, end in zip(PLAYERS, heads, ends, strict=True):
        rows = [line.split("│")[2].strip() for line in lines[start:end] if line.count("│") > 3]
        assert rows and set(rows) <= agents_of(spec), (spec, rows)
    if method == "elo":  # every agent of each game is rated in its own table only
        shown = [line.split("│")[2].strip() for line in lines if line.count("│") > 3]
        assert sorted(shown) == sorted(agents_of("connect_four") | agents_of("othello"))


def picked(runs: Path, monkeypatch, path: str, spec: str, agent: str | None = None) -> AppTest:
    """The page at `path` on the human games (with `agent` chosen), `spec` picked to rate."""
    monkeypatch.setenv("ARENA_RUNS", str(runs))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page(path)
    at.run()
    if agent is not None:
        at.selectbox(key="agent").set_value(agent).run()
    assert_clean(at)
    at.selectbox(key="rated_game").set_value(spec).run()
    assert_clean(at)
    return at


def expected_elo(runs: Path, spec: str) -> dict[str, int]:
    fitted = results.ratings(human.run_dir(runs), game=spec)
    return {a: round(r) for a, r in zip(fitted.agents, fitted.rating, strict=True)}


@pytest.mark.parametrize("spec", list(PLAYERS))
def test_the_overview_rates_the_game_picked(runs, monkeypatch, spec):
    at = picked(runs, monkeypatch, "pages/overview.py", spec)
    shown = table_with(at, "Elo").set_index("agent")["Elo"].to_dict()
    assert shown == expected_elo(runs, spec) and set(shown) == agents_of(spec)


@pytest.mark.parametrize("spec", list(PLAYERS))
def test_the_population_page_ranks_the_game_picked(runs, monkeypatch, spec):
    at = picked(runs, monkeypatch, "pages/population.py", spec)
    ranked = table_with(at, "α-Rank mass").set_index("agent")["Elo"].to_dict()
    assert ranked and all(expected_elo(runs, spec)[a] == elo for a, elo in ranked.items())
    named = {
        a for d in at.dataframe for c in ("agent", "opponent") if c in d.value for a in d.value[c]
    }
    assert named <= agents_of(spec)  # the missing pairs too: all of this game


def test_the_agent_page_rates_the_agent_in_the_game_picked(runs, monkeypatch):
    at = picked(runs, monkeypatch, "pages/agent.py", "connect_four", agent="human:ada")
    (elo,) = [m.value for m in at.metric if m.label == "Elo over all games"]
    fitted = results.ratings(human.run_dir(runs), game="connect_four")
    assert elo == f"{fitted.rating[fitted.agents.index('human:ada')]:.0f}"
    at.selectbox(key="rated_game").set_value("othello").run()
    assert_clean(at)
    assert "No games of this agent in the game chosen." in [i.value for i in at.info]
