"""The Population page under Streamlit's AppTest, on runs made by the real code: a short
rock-paper-scissors league, a short Kuhn poker PSRO run with the exact oracle, the same
league with its α-Rank and Nash averaging metrics removed (as a league from before they
existed), and an RPS tournament with an agent name full of markup."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

import games
from agents.tabular.checkpoint import load_policy
from agents.tabular.tree import build_tree
from arena import ids, metrics, payoffs, psro, results
from arena.alpharank import alpharank, epsilon_sweep
from arena.league import run_league
from arena.tournament import run_tournament
from tests.test_population_eval import RPS_LEAGUE

APP = str(Path(__file__).parents[1] / "dashboards" / "app.py")
PAGE = "pages/population.py"
TIMEOUT = 120  # seconds per script run: generous for a busy CI machine
# The page's PSRO α-Rank solves at one small ε where the meta-solver sweeps ε to 0: equal
# within the 3 decimals the graph shows (dashboards.responses.limit_alpharank).
SHOWN = 5e-4
MARKUP_NAME = 'r"o<b>ck</b> **bold** \\n'  # an agent id: quotes, HTML, markdown, a backslash


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("population")
    league = run_league(
        {**RPS_LEAGUE, "out": str(folder / "rps-league"), "rounds": 4}, log=lambda _: None
    )
    old = folder / "old-league"
    shutil.copytree(league, old)
    for table in ("alpharank", "nash_averaging"):
        shutil.rmtree(metrics.metrics_dir(old, table))
    kuhn = psro.run_psro(
        {"game": "kuhn_poker", "mode": "psro", "rounds": 6, "out": str(folder / "kuhn-psro")},
        log=lambda _: None,
    )
    tournament = folder / "rps-tournament"
    run_tournament(
        {
            "game": "matrix:name=rps",
            "agents": ["random", f"{MARKUP_NAME}=fixed:action=0", "fixed:action=1"],
            "games_per_pair": 20,
            "seed": 1,
            "out": str(tournament),
        }
    )
    return {"league": league, "old": old, "psro": kuhn, "tournament": tournament}


def page(run: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv("ARENA_RUNS", str(run.parent))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["chosen_run"] = str(run.resolve())
    at.run()
    at.switch_page(PAGE).run()
    assert_clean(at)
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def table_with(at: AppTest, column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if column in d.value.columns)


def graph(at: AppTest) -> str:
    (chart,) = at.get("graphviz_chart")
    return chart.proto.spec


def node_masses(dot: str) -> dict[str, float]:
    """Label -> mass of each node of the response graph's Graphviz text."""
    found = {}
    for line in dot.splitlines():
        if line.startswith("n") and "[label=" in line:
            label = line.split('[label="', 1)[1].split('", width=', 1)[0]
            name, mass = label.rsplit("\\n", 1)
            found[name.replace('\\"', '"').replace("\\\\", "\\")] = float(mass)
    return found


def chart_data(at: AppTest, title: str) -> pd.DataFrame:
    """The data of the Altair chart with this title."""
    for chart in at.get("vega_lite_chart"):
        if json.loads(chart.proto.spec).get("title") == title:
            return pa.ipc.open_stream(chart.proto.datasets[0].data.data).read_all().to_pandas()
    raise AssertionError(f"no chart titled {title!r}")


def at_round(run: Path, table: str, round_index: int) -> pd.DataFrame:
    frame = metrics.read_table(run, table).to_pandas()
    return frame[frame["round"] == round_index].reset_index(drop=True)


def expected_edges(result, names: list[str], shown: set[str]) -> set[tuple[str, str]]:
    """Edges s -> r of α-Rank's response graph among the shown nodes."""
    rho = result.rho.toarray()
    return {
        (names[s], names[r])
        for s in range(len(names))
        for r in range(len(names))
        if s != r and names[s] in shown and names[r] in shown and rho[s, r] > result.rho_neutral
    }


def shown_edges(at: AppTest) -> set[tuple[str, str]]:
    edges = table_with(at, "fixation ρ")
    assert (edges["fixation ρ"] > 0).all()
    return set(zip(edges["from"], edges["to"], strict=True))


# --------------------------------------------------------------------------- league


def test_league_round_graph_and_rankings_next_to_elo(runs, monkeypatch):
    run = runs["league"]
    at = page(run, monkeypatch)
    last = max(metrics.rounds(run, "alpharank"))
    stored = at_round(run, "alpharank", last)
    # The latest round read every evaluation game: α-Rank of those, straight from the library.
    tables = payoffs.load(run, ids.EVAL_ONLY, list(stored["agent"])).complete().tables
    result = alpharank([tables.antisymmetric()], alpha=float(stored["alpha"][0]))
    names = list(tables.agents)
    assert names == list(stored["agent"])
    np.testing.assert_allclose(result.pi, stored["mass"], atol=1e-12)

    masses = node_masses(graph(at))
    assert masses == pytest.approx(dict(zip(names, np.round(result.pi, 3), strict=True)))
    assert shown_edges(at) == expected_edges(result, names, set(names))
    arrows = [line for line in graph(at).splitlines() if re.match(r"n\d+ -> n\d+ ", line)]
    assert len(arrows) == len(shown_edges(at)) > 0

    rankings = table_with(at, "α-Rank mass").set_index("agent")
    nash = at_round(run, "nash_averaging", last).set_index("agent")
    elo = at_round(run, "ratings", last).set_index("agent")
    assert sorted(rankings.index) == sorted(names)
    assert rankings["α-Rank mass"].is_monotonic_decreasing
    for agent, row in rankings.iterrows():
        assert row["α-Rank mass"] == pytest.approx(stored.set_index("agent").loc[agent, "mass"])
        assert row["Nash mass"] == pytest.approx(nash.loc[agent, "mass"])
        assert row["Nash skill"] == pytest.approx(nash.loc[agent, "skill"])
        assert row["Elo"] == round(elo.loc[agent, "rating"])

    # Fewer nodes: the heaviest, and only the edges among them.
    at.slider(key="graph_top").set_value(3).run()
    assert_clean(at)
    top = set(stored.nlargest(3, "mass")["agent"])
    assert set(node_masses(graph(at))) == top
    assert shown_edges(at) == expected_edges(result, names, top)


def test_an_earlier_round_uses_only_the_games_it_had(runs, monkeypatch):
    run = runs["league"]
    at = page(run, monkeypatch)
    first = min(metrics.rounds(run, "alpharank"))
    at.selectbox(key="population_round").set_value(first).run()
    assert_clean(at)
    stored = at_round(run, "alpharank", first)
    assert "main@r0002" in set(stored["agent"])
    masses = node_masses(graph(at))
    assert masses == pytest.approx(dict(zip(stored["agent"], stored["mass"].round(3), strict=True)))
    # The later round played these agents' pairs again: all games would rank them otherwise.
    later = payoffs.load(run, ids.EVAL_ONLY, list(stored["agent"])).complete().tables
    moved = alpharank([later.antisymmetric()], alpha=float(stored["alpha"][0])).pi
    assert np.abs(moved - stored["mass"]).max() > 1e-3


def test_league_history_charts(runs, monkeypatch):
    run = runs["league"]
    at = page(run, monkeypatch)
    for title, table in (("Nash mixture", "nash_averaging"), ("α-Rank mass", "alpharank")):
        shown = chart_data(at, title)
        stored = metrics.read_table(run, table).to_pandas()
        assert len(shown) == len(stored)
        np.testing.assert_allclose(shown["mass"], stored["mass"])
        # A learner's versions are one line: main@r0002 and main@r0004 are both `main`.
        assert set(shown["line"]) == {ids.learner_of(a) for a in stored["agent"]}
        assert "main" in set(shown["line"])
        assert shown.groupby("round")["mass"].sum().to_numpy() == pytest.approx(1.0)
    bounds = chart_data(at, "exploitability lower bound")
    stored = metrics.read_table(run, "exploitability_bounds").to_pandas()
    assert list(bounds["agent"]) == list(stored["agent"])
    np.testing.assert_allclose(bounds["bound"], stored["bound"])
    assert not at.info  # every section has its metrics


def test_a_league_without_population_metrics_says_so(runs, monkeypatch):
    at = page(runs["old"], monkeypatch)
    (note, *_) = [i.value for i in at.info]
    assert "no α-Rank or Nash averaging per round" in note and "predates them" in note
    # Computed instead from the latest evaluation round's games: what the league wrote.
    stored = at_round(runs["league"], "alpharank", max(metrics.rounds(runs["league"], "alpharank")))
    assert results.latest_evaluation_agents(runs["old"]) == sorted(stored["agent"])
    rankings = table_with(at, "α-Rank mass").set_index("agent")
    for agent, mass in zip(stored["agent"], stored["mass"], strict=True):
        assert rankings.loc[agent, "α-Rank mass"] == pytest.approx(mass)
    assert set(node_masses(graph(at))) == set(stored["agent"])


# --------------------------------------------------------------------------- PSRO


def exact_alpharank(run: Path, iteration: int):
    """(member names, multi-population α-Rank) from the run's member checkpoints."""
    game = games.make("kuhn_poker")
    tree = build_tree(game)
    names = [psro.member_name(k) for k in range(iteration + 1)]
    members = [
        psro.make_member(
            tree, name, load_policy(run / psro.MEMBERS_DIR / name, game, tree)[0].probs
        )
        for name in names
    ]
    tables = psro.payoff_tables(tree, members)
    epsilons, _ = epsilon_sweep(tables)
    return names, alpharank(tables, use_inf_alpha=True, inf_alpha_eps=float(epsilons[-1]))


@pytest.mark.parametrize("iteration", [6, 2])
def test_psro_graph_meta_strategy_and_nash_conv(runs, monkeypatch, iteration):
    run = runs["psro"]
    at = page(run, monkeypatch)
    if iteration != 6:
        at.selectbox(key="population_round").set_value(iteration).run()
        assert_clean(at)
    names, result = exact_alpharank(run, iteration)
    profiles = {
        " · ".join(names[k] for k in profile): mass
        for profile, mass in zip(result.profiles, result.pi, strict=True)
    }
    shown = node_masses(graph(at))
    assert len(shown) == min(8, len(names) ** 2)
    for label, mass in shown.items():
        assert mass == pytest.approx(profiles[label], abs=SHOWN)
    heaviest = sorted(profiles.values(), reverse=True)[: len(shown)]
    assert sorted(shown.values(), reverse=True) == pytest.approx(heaviest, abs=SHOWN)
    labels = list(profiles)
    assert shown_edges(at) == expected_edges(result, labels, set(shown))

    rankings = table_with(at, "meta-strategy 0").set_index("agent")
    assert list(rankings.index) == names
    meta = at_round(run, psro.META_TABLE, iteration)
    for player in (0, 1):
        mine = meta[meta["player"] == player].set_index("agent")["probability"]
        np.testing.assert_allclose(rankings[f"meta-strategy {player}"], mine[names])
        np.testing.assert_allclose(
            rankings[f"α-Rank {player}"], result.marginals[player], atol=SHOWN
        )
        assert len(chart_data(at, f"player {player}")) == len(
            metrics.read_table(run, psro.META_TABLE).to_pandas().query(f"player == {player}")
        )
    curve = chart_data(at, "NashConv (exact)")
    stored = metrics.read_table(run, psro.EXACT_TABLE).to_pandas()
    np.testing.assert_allclose(curve["nash_conv"], stored["nash_conv"])
    assert not at.info


# --------------------------------------------------------------------------- tournament


def test_a_tournament_is_ranked_from_its_games_and_names_stay_text(runs, monkeypatch):
    run = runs["tournament"]
    at = page(run, monkeypatch)
    notes = [i.value for i in at.info]
    assert "no α-Rank or Nash averaging per round" in notes[0] and "all its games" in notes[0]
    assert any("no NashConv or exploitability bounds" in n for n in notes)
    tables = payoffs.load(run).complete().tables
    result = alpharank([tables.antisymmetric()])
    names = list(tables.agents)
    assert MARKUP_NAME in names
    assert node_masses(graph(at)) == pytest.approx(
        dict(zip(names, np.round(result.pi, 3), strict=True))
    )
    assert shown_edges(at) == expected_edges(result, names, set(names))
    # The name is a Graphviz string, escaped, and never reaches markdown.
    escaped = MARKUP_NAME.replace("\\", "\\\\").replace('"', '\\"')
    assert f'label="{escaped}\\n' in graph(at)
    assert not [m.value for m in at.markdown if "<b>" in m.value or "**bold**" in m.value]
    rankings = table_with(at, "α-Rank mass").set_index("agent")
    fitted = results.ratings(run)
    assert rankings.loc[MARKUP_NAME, "Elo"] == round(
        fitted.rating[fitted.agents.index(MARKUP_NAME)]
    )
