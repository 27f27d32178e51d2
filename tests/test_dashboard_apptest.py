"""Every dashboard page under Streamlit's AppTest, on runs made by the real tournament code.

`RUN_KINDS` names the runs every page is checked against; a new kind of run (a league)
is one more entry: a function that creates the run inside a folder and returns its path.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from streamlit.testing.v1 import AppTest

import games
import replays
from arena import diversity, metrics, results
from arena.ratings import aggregate_results, fit_ratings, win_rate_matrix
from arena.rundir import open_run
from arena.tournament import run_tournament
from dashboards import queries
from dashboards.queries import GameFilter
from dashboards.ui import plain

APP = str(Path(__file__).parents[1] / "dashboards" / "app.py")
PAGES = ("pages/overview.py", "pages/replays.py", "pages/agent.py", "pages/population.py")
TIMEOUT = 120  # seconds per script run: generous for a busy CI machine


def save_network(path: Path, seed: int, parent: str | None, step: int) -> None:
    """A small untrained policy-value network as a checkpoint (weights + JSON sidecar)."""
    import torch

    from agents.checkpoint import save_checkpoint
    from agents.network import NetConfig, build_network

    torch.manual_seed(seed)
    config = NetConfig.for_game(games.make("connect_four"), blocks=1, channels=8, value_hidden=8)
    save_checkpoint(path, build_network(config), config, "connect_four", {"lr": 1e-3}, parent, step)


def tournament_run(folder: Path) -> Path:
    """A round robin of baselines, UCT search (which stores per-move annotations) and two
    network checkpoints, kept under agents/<id>/ as a league keeps its agents."""
    staging = folder.parent / f"{folder.name}-checkpoints"
    networks = {"net": (1, None, 0), "net-s1": (2, "net", 10)}
    for name, (seed, parent, step) in networks.items():
        save_network(staging / name / "model", seed, parent, step)
    out = folder / "tournament"
    run_tournament(
        {
            "game": "connect_four",
            "agents": [
                "random",
                "greedy",
                "mcts:sims=8",
                *(f"{name}=checkpoint:{staging / name / 'model'}" for name in networks),
            ],
            "games_per_pair": 8,
            "concurrency": 8,
            "seed": 3,
            "out": str(out),
        }
    )
    shutil.copytree(staging, out / "agents")
    return out


def write_league_metrics(run: Path) -> None:
    """League metrics tables for a finished tournament, one round per match played, each
    computed from the games stored up to that match (as a league computes them)."""
    table = replays.open(run).to_table(columns=["match_id", "agents", "winner", "ended_at"])
    order = pc.sort_indices(table, [("ended_at", "ascending")])
    table = table.take(order)
    match_ids = list(dict.fromkeys(table["match_id"].to_pylist()))
    start = table["ended_at"][0].as_py()
    for r in range(len(match_ids)):
        played = table.filter(pc.is_in(table["match_id"], pa.array(match_ids[: r + 1])))
        seats = np.array(played["agents"].to_pylist())
        pairs = aggregate_results(seats[:, 0], seats[:, 1], played["winner"].to_numpy())
        fitted = fit_ratings(pairs, anchor="random")
        ratings = fitted.to_arrow()
        metrics.write_round(run, "ratings", r, {c: ratings[c] for c in ratings.column_names})
        names = list(fitted.agents)
        score, count = win_rate_matrix(pairs, names)
        i, j = np.nonzero(count)
        metrics.write_round(
            run,
            "winrates",
            r,
            {
                "agent": [names[k] for k in i],
                "opponent": [names[k] for k in j],
                "score": score[i, j],
                "games": count[i, j],
            },
        )
        values = diversity.population_metrics(
            np.nan_to_num(score - score.T)
        )  # fixture: NaN diagonal
        metrics.write_round(
            run, "diversity", r, {"metric": list(values), "value": list(values.values())}
        )
        end = played["ended_at"].to_pylist()[-1]
        elapsed = max((end - start).total_seconds(), 1e-3)
        metrics.write_round(
            run,
            "progress",
            r,
            {
                "time": [end],
                "elapsed_seconds": [elapsed],
                "games_total": [played.num_rows],
                "games_per_second": [played.num_rows / elapsed],
                "train_steps": [0],
                "train_steps_per_second": [0.0],
            },
        )
        roles = {"net": ("main", None), "net-s1": ("snapshot", "net")}
        metrics.write_round(
            run,
            "population",
            r,
            {
                "agent": names,
                "role": [roles.get(a, ("anchor",))[0] for a in names],
                "parent": [roles.get(a, (None, None))[1] for a in names],
                "created_round": [0] * len(names),
                "spec": names,
            },
        )


def tournament_with_metrics_run(folder: Path) -> Path:
    """The tournament's games (copied when it is already in `folder`) plus league metrics."""
    source = folder / "tournament"
    if not source.is_dir():
        tournament_run(folder)
    out = folder / "tournament-with-metrics"
    shutil.copytree(source, out)
    write_league_metrics(out)
    return out


def league_run(folder: Path) -> Path:
    """A few rounds of a small Tic-tac-toe league (snapshots, evaluations, metrics)."""
    from arena.league import run_league

    out = folder / "league"
    config = {
        "game": "tic_tac_toe",
        "rounds": 4,
        "out": str(out),
        "learner": {
            "blocks": 1,
            "channels": 8,
            "sims": 8,
            "fast_sims": 4,
            "train_steps": 4,
            "eval_sims": 8,
            "batch_size": 64,
        },
        "league": {"games_per_round": 32, "snapshot_every": 2, "anchors": ["random", "greedy"]},
        "evaluation": {"every": 2, "games_per_pair": 8, "probe_positions": 8},
    }
    run_league(config, log=lambda _: None)
    return out


RUN_KINDS: dict[str, Callable[[Path], Path]] = {
    "league": league_run,
    "tournament": tournament_run,
    "tournament_with_metrics": tournament_with_metrics_run,
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """One folder holding one run of each kind (created once for this module)."""
    folder = tmp_path_factory.mktemp("runs")
    made = {}
    for kind, make in RUN_KINDS.items():
        made[kind] = make(folder)
    return made


@pytest.fixture(params=list(RUN_KINDS))
def run(request, runs) -> Path:
    return runs[request.param]


def app(runs_folder: Path, monkeypatch, run: Path | None = None) -> AppTest:
    monkeypatch.setenv("ARENA_RUNS", str(runs_folder))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if run is not None:
        at.session_state["chosen_run"] = str(run.resolve())
    return at.run()


def assert_clean(at: AppTest) -> None:
    """The page rendered without an exception or an error message."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def table_with(at: AppTest, column: str):
    """The first table on the page with this column, as a pandas DataFrame."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def markdown_with(at: AppTest, text: str) -> list[str]:
    return [m.value for m in at.markdown if text in m.value]


def has_metrics(run: Path) -> bool:
    return bool(metrics.rounds(run, "ratings"))


def games_frame(run: Path):
    """Every stored game of a run as pandas, seats as tuples."""
    frame = replays.open(run).to_table().to_pandas()
    frame["agents"] = frame["agents"].map(tuple)
    return frame


def latest(run: Path, table: str):
    history = metrics.read_table(run, table)
    last = max(history["round"].to_pylist())
    return history.filter(pc.equal(history["round"], last)).to_pandas()


# --------------------------------------------------------------------------- overview


def test_overview(run, monkeypatch):
    at = app(run.parent, monkeypatch, run)
    assert_clean(at)
    assert at.title[0].value == plain(run.name)  # the folder's name is data, escaped
    stored = {m.label: m.value for m in at.metric}
    assert stored["Games stored"] == f"{replays.open(run).count():,}"
    ratings = table_with(at, "Elo")
    if has_metrics(run):
        expected = latest(run, "ratings")
    else:
        expected = results.ratings(run).to_arrow().to_pandas()
    assert sorted(ratings["agent"]) == sorted(expected["agent"])
    assert ratings["Elo"].is_monotonic_decreasing
    assert ((ratings["CI low"] <= ratings["Elo"]) & (ratings["Elo"] <= ratings["CI high"])).all()
    charts = at.get("vega_lite_chart")
    if has_metrics(run):
        # ratings over time, win rates, one per diversity metric, games and games/s
        diversity_metrics = set(metrics.read_table(run, "diversity")["metric"].to_pylist())
        assert len(charts) == 2 + len(diversity_metrics) + 2
        population = latest(run, "population").set_index("agent")
        shown = table_with(at, "role").set_index("agent")
        assert shown["parent"].fillna("").to_dict() == population["parent"].fillna("").to_dict()
        (lineage,) = at.get("graphviz_chart")
        for agent, parent in population["parent"].dropna().items():
            assert f'"{parent}" -> "{agent}"' in lineage.proto.spec
        assert not at.info
    else:
        assert len(charts) == 1  # the win-rate heatmap
        assert len(at.info) == 3  # no rating history, diversity or lineage: said so


# --------------------------------------------------------------------------- replays


def replay_page(run: Path, monkeypatch) -> AppTest:
    at = app(run.parent, monkeypatch, run)
    at.switch_page("pages/replays.py").run()
    assert_clean(at)
    return at


def matching(at: AppTest) -> str:
    (line,) = markdown_with(at, "games match")
    return line


def test_replay_filters_list_the_right_games(run, monkeypatch):
    at = replay_page(run, monkeypatch)
    frame = games_frame(run)
    assert f"**{len(frame):,}** of {len(frame):,} games match" in matching(at)

    pair = frame["agents"].map(lambda seats: tuple(sorted(seats))).value_counts().index[0]
    at.multiselect(key="f_agents").set_value(list(pair)).run()
    at.selectbox(key="f_result").set_value(("draw", "")).run()
    assert_clean(at)
    both = frame["agents"].map(lambda seats: set(pair) <= set(seats))
    assert f"**{(both & (frame['winner'] == -1)).sum():,}** of" in matching(at)

    winner = pair[0]
    at.multiselect(key="f_agents").set_value([]).run()
    at.selectbox(key="f_result").set_value(("won", winner)).run()
    low, high = at.slider(key="f_plies").value
    at.slider(key="f_plies").set_value((low + 2, high - 2)).run()
    assert_clean(at)
    won = frame[frame.apply(lambda g: g.winner >= 0 and g.agents[g.winner] == winner, axis=1)]
    won = won[won["plies"].between(low + 2, high - 2)]
    assert f"**{len(won):,}** of" in matching(at)
    listing = table_with(at, "players")
    assert len(listing) == min(len(won), 100)
    assert set(listing["winner"]) <= {winner}
    assert listing["plies"].between(low + 2, high - 2).all()
    assert listing["started_at"].is_monotonic_decreasing


def test_replay_time_and_termination_filters(runs, monkeypatch):
    run = runs["tournament"]
    at = replay_page(run, monkeypatch)
    first, last = at.slider(key="f_time").value
    at.slider(key="f_time").set_value((first, first)).run()
    assert_clean(at)
    started = replays.open(run).to_table(columns=["started_at"])["started_at"].to_pylist()
    cutoff = first.replace(tzinfo=dt.timezone.utc)
    expected = sum(1 for t in started if t <= cutoff)
    assert f"**{expected:,}** of" in markdown_with(at, "games match")[0]
    at.slider(key="f_time").set_value((first, last)).run()
    at.multiselect(key="f_term").select("normal").run()
    assert f"**{len(started):,}** of" in markdown_with(at, "games match")[0]


def board(at: AppTest) -> str:
    """The board's HTML: inline SVG in a div naming the game and position shown."""
    (html,) = markdown_with(at, "arena-board")
    return html


def annotating_agent(frame) -> str:
    """The agent with the most games, among those whose every game has annotations."""
    seats = frame[["agents", "values"]].explode("agents")
    annotated = seats.groupby("agents")["values"].agg(lambda v: v.notna().all())
    counts = seats["agents"].value_counts()
    return counts[annotated[annotated].index].idxmax()


def test_step_through_a_game_with_annotations(run, monkeypatch):
    at = replay_page(run, monkeypatch)
    agent = annotating_agent(games_frame(run))
    at.multiselect(key="f_agents").set_value([agent]).run()
    match_id, game_index = at.session_state["game"]
    replay = replays.load_game(run, match_id, game_index)
    game = games.make(replay.game)
    assert at.session_state["ply"] == 0
    assert game.render_svg(replay.states, 0) in board(at)

    at.button(key="step_next").click().run()
    assert at.session_state["ply"] == 1
    assert game.render_svg(replay.states, 1) in board(at)
    assert 'class="last-move"' in board(at)
    at.button(key="step_last").click().run()
    assert at.session_state["ply"] == replay.plies
    assert game.render_svg(replay.states, replay.plies) in board(at)
    at.button(key="step_previous").click().run()
    assert at.session_state["ply"] == replay.plies - 1
    at.slider(key="ply").set_value(2).run()
    assert 'data-ply="2"' in board(at)
    at.button(key="step_first").click().run()
    assert at.session_state["ply"] == 0

    # Autoplay advances a move per run of the board (the timer's reruns, here by hand),
    # and any manual step stops it.
    at.toggle(key="autoplay").set_value(True).run()
    assert at.session_state["ply"] == 1
    at.run()
    assert at.session_state["ply"] == 2
    at.button(key="step_next").click().run()
    assert at.session_state["ply"] == 3 and not at.session_state["autoplay"]
    assert_clean(at)

    # One chart per kind of annotation the game holds; the moves table shows them all.
    stored = [
        a
        for a in (replay.values, replay.policy_entropy, replay.visits)
        if a is not None and np.isfinite(np.where(a == -1, np.nan, a).astype(float)).any()
    ]
    graph = replay.values is not None and np.isfinite(replay.values).any()  # value graph
    assert len(at.get("vega_lite_chart")) == len(stored) + graph > 0
    moves = table_with(at, "move")
    assert len(moves) == replay.plies
    seat = replay.agents.index(agent)
    assert moves[moves["player"] == f"{seat}: {agent}"]["value"].between(-1, 1).any()


def test_picking_another_game_starts_at_its_first_position(runs, monkeypatch):
    at = replay_page(runs["tournament"], monkeypatch)
    at.button(key="step_next").click().run()
    at.selectbox(key="game").select_index(1).run()
    assert_clean(at)
    assert at.session_state["game"] == at.session_state["listing_keys"][1]
    assert at.session_state["ply"] == 0
    assert 'data-ply="0"' in board(at)


def test_downloads_hold_the_filtered_games(runs, monkeypatch, tmp_path):
    run = runs["tournament"]
    at = replay_page(run, monkeypatch)
    assert {b.key for b in at.get("download_button")} >= {"download_parquet", "download_csv"}
    data = replays.open(run)
    parts = [str(p) for p in data.files]
    flt = GameFilter(agents=("random",), min_plies=10)
    expected = data.filter(agent="random", min_plies=10)
    parquet = queries.export(parts, flt, "parquet", 1000, data.parts[0].schema)
    table = pq.read_table(pa.BufferReader(parquet))
    assert table.schema.equals(data.parts[0].schema, check_metadata=True)
    copy = tmp_path / "copy" / "replays" / "exported.parquet"  # a replay part file itself
    copy.parent.mkdir(parents=True)
    copy.write_bytes(parquet)
    assert replays.open(copy.parent.parent).count() == expected.num_rows
    key = [("match_id", "ascending"), ("game_index", "ascending")]
    assert table.sort_by(key).select(["match_id", "game_index"]) == expected.sort_by(key).select(
        ["match_id", "game_index"]
    )
    csv = queries.export(parts, flt, "csv", 5, data.parts[0].schema).decode().splitlines()
    assert len(csv) == 1 + 5 and csv[0].startswith('"run_id","match_id"')


# --------------------------------------------------------------------------- agent


def agent_page(run: Path, monkeypatch, agent: str) -> AppTest:
    at = app(run.parent, monkeypatch, run)
    at.switch_page("pages/agent.py").run()
    at.selectbox(key="agent").set_value(agent).run()
    assert_clean(at)
    return at


def test_agent_results_rating_and_checkpoints(run, monkeypatch):
    frame = games_frame(run)
    played = set(frame["agents"].explode())
    agent = max(p.name for p in (run / "agents").iterdir() if p.name in played)
    at = agent_page(run, monkeypatch, agent)

    table = table_with(at, "opponent").set_index("opponent")
    mine = frame[frame["agents"].map(lambda seats: agent in seats)]
    assert table["games"].sum() == len(mine)
    for opponent, row in table.iterrows():
        # Against itself (the league's evaluation where the seats differ): its own seats only.
        vs = mine[mine["agents"].map(lambda seats, o=opponent: set(seats) == {agent, o})]
        seat = vs["agents"].map(lambda seats: seats.index(agent))
        assert (row["games"], row["wins"], row["draws"]) == (
            len(vs),
            (vs["winner"] == seat).sum(),
            (vs["winner"] == -1).sum(),
        )

    sidecars = sorted((run / "agents" / agent).rglob("*.json"))
    metas = {str(p.relative_to(run)): json.loads(p.read_text()) for p in sidecars}
    metas = {path: m for path, m in metas.items() if m.get("format") == "arena-checkpoint"}
    shown = table_with(at, "file").set_index("file")
    assert sorted(shown.index) == sorted(metas)
    for path, meta in metas.items():
        assert shown.loc[path, "step"] == meta["step"]
        assert (shown.loc[path, "parent"] or None) == meta["parent"]

    if has_metrics(run):
        population = latest(run, "population").set_index("agent")
        rated = set(metrics.read_table(run, "ratings")["agent"].to_pylist())
        assert len(at.get("vega_lite_chart")) == (agent in rated)
        (lineage,) = at.get("graphviz_chart")
        parent = population.loc[agent, "parent"]
        assert f'"{parent}" -> "{agent}"' in lineage.proto.spec
    else:
        assert at.metric[0].label == "Elo over all games"


def test_agent_without_checkpoints_or_lineage(runs, monkeypatch):
    at = agent_page(runs["tournament"], monkeypatch, "greedy")
    assert any("No checkpoint metadata" in i.value for i in at.info)
    assert any("not in the population" in i.value for i in at.info)


# --------------------------------------------------------------------------- messages


@pytest.mark.parametrize("page", PAGES)
def test_missing_and_empty_runs_folders_are_explained(tmp_path, monkeypatch, page):
    missing = app(tmp_path / "nowhere", monkeypatch)
    missing.switch_page(page).run()
    assert not missing.exception
    assert "does not exist" in missing.info[0].value
    (tmp_path / "empty").mkdir()
    empty = app(tmp_path / "empty", monkeypatch)
    empty.switch_page(page).run()
    assert not empty.exception
    assert "No runs in" in empty.info[0].value


def test_the_runs_folder_may_be_a_run_itself(runs, monkeypatch):
    at = app(runs["tournament"], monkeypatch)
    assert_clean(at)
    assert at.title[0].value == "tournament"


@pytest.mark.parametrize("page", PAGES)
def test_run_without_games(tmp_path, monkeypatch, page):
    run, _ = open_run(tmp_path / "fresh", "tournament", "connect_four", {}, resume=False)
    at = app(tmp_path, monkeypatch, run)
    at.switch_page(page).run()
    assert_clean(at)
    assert any("No games are stored" in i.value or "No agents" in i.value for i in at.info)


@pytest.fixture(scope="module")
def newer_schema_run(runs, tmp_path_factory) -> Path:
    """A copy of a real run whose newest part file claims a future schema version."""
    run = tmp_path_factory.mktemp("future") / "future"
    shutil.copytree(runs["tournament"], run)
    part = sorted((run / "replays").glob("*.parquet"))[-1]
    table = pq.read_table(part)
    meta = {**table.schema.metadata, b"arena.schema_version": b"99"}
    pq.write_table(table.replace_schema_metadata(meta), part)
    return run


@pytest.mark.parametrize("page", PAGES)
def test_replays_of_a_newer_schema_version_are_explained(newer_schema_run, monkeypatch, page):
    at = app(newer_schema_run.parent, monkeypatch, newer_schema_run)
    at.switch_page(page).run()
    assert not at.exception
    messages = [e.value for e in at.error]
    assert messages and all("schema version 99" in m for m in messages)
    assert any("upgrade arena" in m for m in messages)
