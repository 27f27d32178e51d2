"""`arena study`'s rating, frontier fit, report and dashboard page (arena/study/rate.py,
frontier.py, report.py, dashboards/pages/study.py).

The studies here are made without training: untrained networks saved by the project's
checkpoint code, one row each in `tables/snapshots.parquet` (the table the trainer writes),
so rating and reporting are tested apart from training.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

import games
import replays
from arena.cli import app
from arena.rundir import open_run
from arena.study import frontier, rate, report
from arena.study.grid import StudyGrid, net_size, snapshot_id
from arena.study.run import KIND
from arena.study.tables import read_table, write_table

GAME = "tic_tac_toe"
APP = str(Path(__file__).parents[1] / "dashboards" / "app.py")


def make_study(folder: Path, nets=("1x8",), minutes=(1.0, 4.0), sims=(1, 8), seed: int = 0) -> Path:
    """A study folder with untrained snapshots: each at a made-up training compute."""
    import torch

    from agents.checkpoint import save_checkpoint
    from agents.network import NetConfig, build_network

    game = games.make(GAME)
    grid = StudyGrid.make(GAME, nets, minutes, sims, budget_minutes=10 * max(minutes), seed=seed)
    open_run(folder, KIND, grid.game, grid.to_dict(), resume=False)  # as arena study run does
    grid.write(folder)
    rows = []
    for n, net in enumerate(grid.nets):
        blocks, channels = net_size(net)
        config = NetConfig.for_game(game, blocks=blocks, channels=channels, value_hidden=8)
        for k, m in enumerate(grid.train_minutes):
            sid = snapshot_id(net, m)
            torch.manual_seed(100 * n + k)
            stem = Path("snapshots") / net / sid / "model"
            save_checkpoint(folder / stem, build_network(config), config, game.spec)
            rows.append(
                {
                    "net": net,
                    "snapshot": sid,
                    "train_seconds": 60.0 * m,
                    "train_flops": 1e9 * m * channels,
                    "steps": 10 * k,
                    "games": 100 * k,
                    "checkpoint": str(stem),
                }
            )
    write_table(folder, rate.SNAPSHOTS, pa.Table.from_pylist(rows))
    return folder


def grid_players(nets: int, snapshots: int, sims: int) -> list[rate.Player]:
    """Players of a made-up grid (no files): `nets` x `snapshots` x `sims` plus the anchors."""
    players = rate.anchor_players(rate.ANCHORS)
    for n in range(nets):
        for k in range(snapshots):
            for s in range(sims):
                players.append(
                    rate.Player(
                        f"n{n}@t{k}/s{2**s}",
                        "unused",
                        "snapshot",
                        net=f"n{n}",
                        snapshot=f"n{n}@t{k}",
                        sims=2**s,
                        train_flops=float(2**k * (n + 1)),
                    )
                )
    return players


def test_sparse_pairing_grows_linearly_with_players():
    """Doubling the players (more snapshots, more budgets, more networks) about doubles the
    pairs, far below the round robin, and the plan connects everyone."""
    sizes = [(1, 2, 2), (1, 4, 4), (2, 4, 4), (2, 8, 8), (4, 8, 8)]
    counts = []
    for nets, snapshots, sims in sizes:
        players = grid_players(nets, snapshots, sims)
        pairs = rate.pairings(players)
        n = len(players)
        counts.append((n, len(pairs)))
        assert len({frozenset((p.first, p.second)) for p in pairs}) == len(pairs)
        # connected: a walk from random reaches every player
        seen, frontier_ = {"random"}, ["random"]
        while frontier_:
            here = frontier_.pop()
            for p in pairs:
                for a, b in ((p.first, p.second), (p.second, p.first)):
                    if a == here and b not in seen:
                        seen.add(b)
                        frontier_.append(b)
        assert seen == {p.agent for p in players}
    # a player's pairs: the anchors and at most 3 neighbours, however many players there are
    assert all(p <= (len(rate.ANCHORS) + 3) * n for n, p in counts)
    (n1, p1), (n2, p2) = counts[-2:]
    assert p2 / p1 <= 1.1 * n2 / n1  # twice the players, about twice the pairs
    assert len(pairs) < n * (n - 1) / 2 / 10  # the largest: a tenth of the round robin


RATING = {
    "anchors": ("random", "greedy", "mcts:sims=32"),
    "rounds": 2,
    "max_rounds": 2,
    "games_per_match": 4,
}


@pytest.mark.parametrize("game", ["connect_four", "tic_tac_toe"])
def test_snapshots_are_rated_searching_as_their_learner_searched(tmp_path, game):
    """A snapshot trained with Gumbel search and rollout-mixed leaf values (the Connect Four
    league config) is rated with them at every budget, as the league plays its snapshots."""
    from agents import spec as agent_specs
    from arena.league import default_config

    grid = StudyGrid.make(game, "1x8", "1", "1,16", 10)
    stem = "snapshots/1x8/1x8@t0001m/model"
    row = {"snapshot": "1x8@t0001m", "net": "1x8", "checkpoint": stem}
    snapshots = pa.Table.from_pylist([{**row, "train_seconds": 60.0, "train_flops": 1e9}])
    learner = default_config(game)["learner"]
    for player, sims in zip(rate.snapshot_players(tmp_path, grid, snapshots), (1, 16), strict=True):
        kind, path, params = agent_specs.parse(player.spec)
        assert (kind, path, params["sims"]) == ("az", str((tmp_path / stem).resolve()), str(sims))
        assert params.get("gumbel") == ("true" if learner["gumbel"] else None)
        mix = learner.get("rollout_mix", 0)
        assert float(params.get("rollout_mix", 0)) == mix
        assert int(params.get("leaf_rollouts", 1)) == (learner["leaf_rollouts"] if mix else 1)
    assert game != "connect_four" or mix == 0.5  # the case this test is for


@pytest.fixture(scope="module")
def rated_study(tmp_path_factory) -> tuple[Path, rate.RatingResult]:
    """One rated study for the tests that read it (rating is the slow part)."""
    study = make_study(tmp_path_factory.mktemp("rated") / "study")
    return study, rate.rate_study(study, 300.0, **RATING)


def test_rate_study_plays_into_replays_and_writes_ratings(rated_study):
    study, result = rated_study
    assert result.matches_left_out == 0
    assert result.matches_played == 2 * result.pairs
    ratings = read_table(study, rate.RATINGS)
    assert set(ratings["agent"].to_pylist()) == {
        "random",
        "greedy",
        "mcts:sims=32",
        *(f"1x8@t{m:04g}m/s{s}" for m in (1, 4) for s in (1, 8)),
    }
    frame = {r["agent"]: r for r in ratings.to_pylist()}
    assert frame["random"]["rating"] == 0.0
    assert frame["mcts:sims=32"]["rating"] > frame["random"]["rating"]
    assert frame["1x8@t0001m/s8"]["train_flops"] == 8e9 and frame["1x8@t0001m/s8"]["sims"] == 8
    # every game is in the replays, where the ratings come from
    stored = replays.open(study).to_table(columns=["match_id"])
    assert stored.num_rows == result.games_played
    pairings = read_table(study, rate.PAIRINGS)
    assert set(pairings["status"].to_pylist()) == {"played"}
    # resumed: every match is stored, none is played again
    again = rate.rate_study(study, 300.0, **RATING)
    assert again.matches_played == 0 and again.matches_stored == result.matches_played
    assert replays.open(study).to_table(columns=["match_id"]).num_rows == result.games_played
    # time left after the planned rounds buys an extra round, nothing is left out
    more = rate.rate_study(study, 300.0, **{**RATING, "max_rounds": 3})
    assert (more.matches_played, more.matches_left_out) == (result.pairs, 0)
    assert set(read_table(study, rate.PAIRINGS)["round"].to_pylist()) == {0, 1, 2}


def test_a_resumed_rating_refuses_stored_games_of_players_that_now_play_otherwise(tmp_path):
    """The stored games count for an agent id only if it still plays as it played them."""
    import shutil

    from arena.config import ConfigError

    study = make_study(tmp_path / "study", sims=(1,))
    few = {"anchors": ("random", "greedy"), "rounds": 1, "max_rounds": 1}
    first = rate.rate_study(study, 300.0, **few)
    recorded = read_table(study, rate.PLAYERS).to_pylist()
    assert {r["agent"] for r in recorded} == {"random", "greedy", "1x8@t0001m/s1", "1x8@t0004m/s1"}
    # a moved folder plays the same players from another path: its games stay stored
    moved = shutil.copytree(study, tmp_path / "moved" / "study")
    assert rate.rate_study(moved, 300.0, **few).matches_stored == first.matches_played
    # the same id with other search settings, e.g. a study rated before they were recorded
    changed = [
        {**r, "spec": r["spec"].replace(",gumbel=true", "")} if "@" in r["agent"] else r
        for r in recorded
    ]
    assert changed != recorded
    write_table(study, rate.PLAYERS, pa.Table.from_pylist(changed))
    parts = sorted((study / "replays").rglob("*.parquet"))
    with pytest.raises(ConfigError, match=r"1x8@t0001m/s1 were played as .*move its replays/ away"):
        rate.rate_study(study, 300.0, **few)
    (study / "tables" / "players.parquet").unlink()
    with pytest.raises(ConfigError, match="from before players were recorded"):
        rate.rate_study(study, 300.0, **few)
    assert sorted((study / "replays").rglob("*.parquet")) == parts  # nothing played or lost


def test_rate_study_leaves_out_what_does_not_fit(tmp_path):
    study = make_study(tmp_path / "study")
    result = rate.rate_study(study, 0.0, anchors=("random", "greedy"), rounds=1)
    assert result.matches_played == 0 and result.matches_left_out == result.pairs
    assert read_table(study, rate.RATINGS).num_rows == 0
    assert set(read_table(study, rate.PAIRINGS)["status"].to_pylist()) == {"left out"}
    text = report.write_report(study)  # a report of nothing says so, and fails nothing
    assert "not fitted" in text and "Left out to stay within the budget: 13 matches" in text


def synthetic_ratings(
    rng: np.random.Generator,
    per_10x: float,
    per_doubling: float,
    stderr: float = 25.0,
    ceiling: float = math.inf,
) -> pa.Table:
    """Ratings of a two-network grid drawn around a known frontier (the model of
    arena.study.frontier), capped at `ceiling` (a game's best play)."""
    rows = []
    for net, offset in (("2x32", 0.0), ("4x64", -150.0)):
        for k in range(4):
            flops = 1e12 * 4**k * (1 if net == "2x32" else 3)
            for s in (1, 4, 16, 64, 256):
                truth = offset + per_10x * math.log10(flops / 1e12) + per_doubling * math.log2(s)
                rows.append(
                    {
                        "agent": f"{net}@t{k}/s{s}",
                        "kind": "snapshot",
                        "net": net,
                        "snapshot": f"{net}@t{k}",
                        "sims": s,
                        "train_seconds": 60.0 * 4**k,
                        "train_flops": flops,
                        "rating": min(truth, ceiling) + rng.normal(0, stderr),
                        "stderr": stderr,
                        "ci_low": math.nan,
                        "ci_high": math.nan,
                        "games": 100,
                        "seconds_per_move": 1e-4 * s,
                    }
                )
    rows.append({**rows[0], "agent": "random", "kind": "anchor", "sims": 0, "rating": 0.0})
    return pa.Table.from_pylist(rows, rate.RATINGS_SCHEMA)


@pytest.mark.parametrize("ceiling", [math.inf, 1200.0])
def test_frontier_recovers_a_known_exchange_rate(ceiling):
    """400 Elo per 10x of training, 100 per doubling of simulations: 10x training is worth
    2^4 = 16x simulations. The fit finds them, and over 20 synthetic studies the bootstrap
    intervals hold the truth about as often as they say (95%), also with a plateau."""
    per_10x, per_doubling, truth = 400.0, 100.0, 16.0
    covered = {"a": 0, "b": 0, "x": 0}
    studies = 20
    for seed in range(studies):
        fit = frontier.fit_frontier(
            synthetic_ratings(np.random.default_rng(seed), per_10x, per_doubling, ceiling=ceiling),
            draws=200,
            seed=seed,
        )
        for key, estimate, value in (
            ("a", fit.elo_per_10x_training, per_10x),
            ("b", fit.elo_per_doubling_sims, per_doubling),
            ("x", fit.exchange_rate, truth),
        ):
            covered[key] += estimate.ci_low <= value <= estimate.ci_high
        if seed == 0:
            assert fit.elo_per_10x_training.value == pytest.approx(per_10x, abs=40)
            assert fit.elo_per_doubling_sims.value == pytest.approx(per_doubling, abs=10)
            assert fit.exchange_rate.value == pytest.approx(truth, rel=0.3)
            assert fit.exchange_rate.ci_low < truth < fit.exchange_rate.ci_high
            assert set(fit.per_budget) == {1, 4, 16, 64, 256}
            assert fit.points + fit.saturated == 40
            if math.isfinite(ceiling):  # the 6 players whose truth is above the ceiling, at least
                assert fit.saturated >= 6
    assert all(count >= 0.8 * studies for count in covered.values()), covered


def test_report_writes_plots_tables_and_text(rated_study):
    study, _ = rated_study
    result = CliRunner().invoke(app, ["study", "report", str(study)])
    assert result.exit_code == 0, result.output
    assert "Exchange rate" in result.output and "1x8@t0004m/s8" in result.output
    for name in report.PLOTS:
        assert (study / report.PLOTS_DIR / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = read_table(study, frontier.FRONTIER)
    assert {"elo_per_10x_training", "elo_per_doubling_sims", "exchange_rate"} <= set(
        table["quantity"].to_pylist()
    )
    assert read_table(study, frontier.EQUAL_TIME).schema == frontier.EQUAL_TIME_SCHEMA
    assert (study / report.REPORT_FILE).read_text().strip() == result.output.strip()


def test_report_refuses_what_is_not_a_rated_study(tmp_path):
    unrated = make_study(tmp_path / "unrated", sims=(1,))
    for folder, says in (
        (tmp_path / "absent", "not an arena run directory"),
        (unrated, "no ratings yet"),
    ):
        result = CliRunner().invoke(app, ["study", "report", str(folder)])
        assert result.exit_code == 2 and says in result.output
        assert len(result.output.strip().splitlines()) == 1


def study_page(runs_folder: Path, monkeypatch, run: Path) -> AppTest:
    monkeypatch.setenv("ARENA_RUNS", str(runs_folder))
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["chosen_run"] = str(run.resolve())
    return at.run().switch_page("pages/study.py").run()


def test_dashboard_study_page(rated_study, monkeypatch):
    """On a rated study the page renders its tables and charts; on one whose ratings follow
    a known frontier, it shows the fit's figures."""
    study, _ = rated_study
    at = study_page(study.parent, monkeypatch, study)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == "Study"
    shown = next(d.value for d in at.dataframe if "train_seconds" in d.value.columns)
    assert set(shown["agent"]) == set(read_table(study, rate.RATINGS)["agent"].to_pylist())
    assert len(at.get("vega_lite_chart")) == 2

    known = make_study(study.parent.parent / "known" / "study", sims=(1,))
    ratings = synthetic_ratings(np.random.default_rng(0), 400.0, 100.0)
    write_table(known, rate.RATINGS, ratings)
    at = study_page(known.parent, monkeypatch, known)
    assert not at.exception and not at.error
    fit = frontier.fit_frontier(ratings)
    assert at.metric[0].value == f"{fit.elo_per_10x_training.value:.0f}"
    assert at.metric[1].value == f"{fit.elo_per_doubling_sims.value:.0f}"
    assert at.metric[2].value == f"{fit.exchange_rate.value:.3g}"


def test_dashboard_study_page_before_ratings(tmp_path, monkeypatch):
    study = make_study(tmp_path / "fresh", sims=(1,))
    at = study_page(tmp_path, monkeypatch, study)
    assert not at.exception and not at.error
    assert any("No ratings yet" in i.value for i in at.info)


def test_seconds_per_move_from_match_times():
    """Matches timed as the sum of each agent's moves times its cost recover the costs,
    also when one match ran long (a first call compiling or loading): the fit is robust."""
    cost = {"random": 1e-5, "net/s1": 2e-3, "net/s8": 9e-3, "mcts:sims=64": 4e-3}
    model = rate.CostModel(opening_plies=2)
    rng = np.random.default_rng(0)
    pairs = [(a, b) for a in cost for b in cost if a < b] * 3
    for k, (a, b) in enumerate(pairs):
        plies = rng.integers(5, 10, size=8)
        seats = [[a, b] if i % 2 == 0 else [b, a] for i in range(8)]
        moves = rate.moves_by_seat(plies, 2)
        seconds = sum(
            cost[s[0]] * m[0] + cost[s[1]] * m[1] for s, m in zip(seats, moves, strict=True)
        )
        seconds *= 20 if k == 0 else 1  # the first match compiled a kernel
        start = np.datetime64("2026-01-01T00:00:00", "us")
        end = start + np.timedelta64(int(seconds * 1e6), "us")
        model.add(seats, plies, np.full(8, start), np.full(8, end))
    fitted = model.per_move()
    for agent, truth in cost.items():
        assert fitted[agent] == pytest.approx(truth, rel=0.05, abs=1e-5), agent
    assert rate.moves_by_seat(np.array([5, 2]), 2).tolist() == [[2, 1], [0, 0]]
