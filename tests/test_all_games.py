"""Everything above `games` on every registered game, unchanged: baselines, UCT and AlphaZero
search (games of perfect information) or network policies (the others) in a tournament
through the CLI, re-simulation of the stored games (chance outcomes and every player's
simultaneous moves included), the dashboard's replay viewer, and the learners in a league.

Each game runs at its smallest setting (tests.fast_games), so a new game is covered here
without an edit.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest
import torch

import games
import replays
from agents.checkpoint import save_checkpoint
from agents.network import NetConfig, build_network
from agents.spec import make as make_agent
from arena import metrics
from arena.league import resolve, run_league
from arena.learners import make_learner
from dashboards.ui import plain
from games.layout import CHANCE, SIMULTANEOUS
from replays.simulate import resimulate
from tests.fast_games import FAST_SPECS, PERFECT_INFORMATION_SPECS, fast_spec
from tests.test_dashboard_apptest import app, assert_clean, board
from tests.test_engine_properties import random_sequence
from tests.test_learners import self_play

GAMES_PER_PAIR = 2


def untrained_network(game: games.Game, path: Path) -> Path:
    """A tiny untrained policy-value network for `game`, saved as a checkpoint."""
    torch.manual_seed(0)
    config = NetConfig.for_game(game, blocks=1, channels=8, value_hidden=8)
    save_checkpoint(path, build_network(config), config, game.spec, {}, None, 0)
    return path


@pytest.mark.parametrize("spec", FAST_SPECS)
def test_a_tournament_its_replays_and_the_dashboard_on_every_game(spec, tmp_path, monkeypatch):
    """One test per game, not one per layer on a shared fixture: under pytest-xdist a
    module fixture would be set up again on each worker, and the tournament is the cost."""
    run, agents = cli_tournament(games.make(spec), tmp_path)
    check_tournament(run, spec, agents)
    check_resimulation(run)
    check_replay_viewer(run, monkeypatch)


def tournament_agents(game: games.Game, network: Path) -> list[str]:
    """Every kind of searching and baseline agent that plays `game`: search assumes perfect
    information, so the other games get the network's policy, greedy and sampling."""
    if game.perfect_information:
        return ["random", "greedy", "mcts:sims=8", f"az:{network},sims=4"]
    return ["random", f"checkpoint:{network}", f"checkpoint:{network},temperature=1.0"]


def cli_tournament(game: games.Game, folder: Path) -> tuple[Path, list[str]]:
    """A round robin of `tournament_agents` on one game, played through the CLI into a run
    directory (alone in its folder, for the dashboard); the run and its agents."""
    network = untrained_network(game, folder / "net" / "model")
    out = folder / "runs" / "tournament"
    agents = tournament_agents(game, network)
    command = [sys.executable, "-m", "arena", "tournament", "--game", game.spec]
    command += ["--agents", *agents, "--games-per-pair", str(GAMES_PER_PAIR)]
    command += ["--out", str(out), "--seed", "1", "--no-progress"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return out, agents


def check_tournament(run: Path, spec: str, agents: list[str]) -> None:
    table = replays.open(run).to_table()
    game = games.make(spec)
    assert set(table["game"].to_pylist()) == {spec}  # the canonical spec, as given
    seats = table["agents"].to_pylist()
    assert {agent for pair in seats for agent in pair} == set(agents)
    pairs = len(agents) * (len(agents) - 1) // 2
    assert table.num_rows == pairs * GAMES_PER_PAIR  # every pair
    assert set(table["termination"].to_pylist()) == {"normal"}
    # The searching and network agents annotate their own moves with values.
    values = table["values"].to_pylist()
    actions = table["actions"].to_pylist()
    for pair, moves, history, seed in zip(
        seats, values, actions, table["seed"].to_pylist(), strict=True
    ):
        annotating = [agent != "random" and agent != "greedy" for agent in pair]
        assert (moves is None) == (not any(annotating)), pair
        for seat in np.flatnonzero(annotating):  # the first ply where the seat acts
            assert not np.isnan(moves[first_turn(game, history, seed, seat)]), pair


def first_turn(game: games.Game, history: list[int], seed: int, seat: int) -> int:
    """The ply of `seat`'s first action in a stored history: the first ply where the seat
    has legal actions (at a simultaneous node, its entry in player order)."""
    for ply in range(len(history)):
        state = game.play_sequences([history[:ply]], seeds=[seed])
        if game.legal_mask(state, seat).any():
            return ply + (seat if state.to_play[0] == SIMULTANEOUS else 0)
    raise AssertionError(f"seat {seat} never acts in {history}")


def check_resimulation(run: Path) -> None:
    table = replays.open(run).to_table()
    positions = resimulate(table)  # raises on an illegal move or a different outcome
    final = positions.final_rows()
    assert positions.states.done[final].all()
    assert np.array_equal(positions.states.winner[final], table["winner"].to_numpy())
    assert np.array_equal(np.diff(positions.offsets) - 1, table["plies"].to_numpy())
    game = positions.game
    before = ~np.isin(np.arange(len(positions.states)), final)
    chance = before & (positions.states.to_play == CHANCE)
    # Chance outcomes are entries of the stored histories: the deals re-simulate.
    assert chance.any() == game.chance
    samples = replays.transitions(run)
    assert samples["observations"].shape[1:] == game.obs_shape
    # One transition per player's move: the stored entries but chance outcomes.
    assert len(samples["observations"]) == pc.sum(table["plies"]).as_py() - chance.sum()
    assert samples["legal_masks"][np.arange(len(samples["actions"])), samples["actions"]].all()


def check_replay_viewer(run: Path, monkeypatch) -> None:
    at = app(run.parent, monkeypatch, run)
    at.switch_page("pages/replays.py").run()
    assert_clean(at)
    match_id, game_index = at.session_state["game"]
    replay = replays.load_game(run, match_id, game_index)
    html = board(at)
    assert 'data-ply="0"' in html and "<svg" in html
    at.button(key="step_last").click().run()
    assert_clean(at)
    html = board(at)
    assert f'data-ply="{replay.plies}"' in html
    assert games.make(replay.game).render_svg(replay.states, replay.plies) in html
    # Each move is credited to whoever made it: a seat's agent, or chance (a negative
    # to_play must not name the last seat's agent).
    at.button(key="step_first").click().run()
    at.button(key="step_next").click().run()
    assert_clean(at)
    caption = " ".join(c.value for c in at.caption)
    first = int(replay.movers[0])
    mover = plain(replay.agents[first])  # agent ids are data: escaped in the caption's markdown
    made_by = "chance drew" if first < 0 else f"{mover} (player {first}) played"
    assert f"After move 1 of {replay.plies}: {made_by}" in caption, caption


@pytest.mark.parametrize("spec", PERFECT_INFORMATION_SPECS)
def test_greedy_takes_an_immediate_win(spec):
    """Wherever a move wins at once, greedy plays one (positions from random games)."""
    game = games.make(spec)
    sequences = [random_sequence(game, seed, game.max_plies) for seed in range(40)]
    # The position before each game's last move, where that move (at least) wins or ends it.
    state = game.play_sequences([s[:-1] for s in sequences])
    mask = game.legal_mask(state)
    wins = np.zeros_like(mask)
    for a in range(game.num_actions):
        rows = np.flatnonzero(mask[:, a])
        after = state.take(rows)
        game.step(after, np.full(len(rows), a))
        wins[rows, a] = after.done & (after.winner == state.to_play[rows])
    chosen = make_agent("greedy", game).act(game, state, mask, np.random.default_rng(0))
    some = wins.any(axis=1)
    assert some.any(), "no position with a winning move: the test shows nothing"
    assert wins[some, chosen[some]].all()


# Each algorithm's settings, as small as they go.
LEARNERS = {
    "alphazero": {"sims": 4, "fast_sims": 2, "eval_sims": 4, "batch_size": 16},
    "ppo": {},
}


def tiny_league(spec: str, algorithm: str, out: Path) -> dict:
    return {
        "game": spec,
        "minutes": 0.0,
        "rounds": 1,
        "out": str(out),
        "learner": {"algorithm": algorithm, "blocks": 1, "channels": 8, "train_steps": 2}
        | LEARNERS[algorithm],
        "league": {
            "games_per_round": 8,
            # Greedy reads one move ahead: it refuses games of imperfect information.
            "anchors": ["random", "greedy"] if games.make(spec).perfect_information else ["random"],
            "main_exploiters": 0,
            "league_exploiters": 0,
            "snapshot_every": 1,
        },
        "evaluation": {"every": 1, "games_per_pair": 2, "probe_positions": 4, "max_snapshots": 1},
    }


@pytest.mark.parametrize("algorithm", list(LEARNERS))
def test_a_league_round_with_each_learner_on_hex(algorithm, tmp_path):
    spec = fast_spec("hex")
    run = run_league(tiny_league(spec, algorithm, tmp_path / "league"), log=lambda _: None)
    state = json.loads((run / "league.json").read_text())
    assert state["round"] == 1
    assert any(m["role"] == "snapshot" for m in state["population"])
    table = replays.open(run).to_table()
    assert set(table["game"].to_pylist()) == {spec}
    resimulate(table)
    assert metrics.rounds(run, "ratings") == [1]


@pytest.mark.parametrize(
    "spec, algorithm",
    [
        (spec, algorithm)
        for spec in FAST_SPECS
        for algorithm in LEARNERS
        if algorithm != "alphazero" or spec in PERFECT_INFORMATION_SPECS  # it needs search
    ],
)
def test_each_learner_plays_and_trains_on_every_game(spec, algorithm, tmp_path):
    """The league's learner loop without the league: self-play recorded, samples, a
    training step, and the greedy agent that evaluation plays (at a simultaneous node, in
    a seat)."""
    config = resolve(tiny_league(spec, algorithm, tmp_path / "league"))
    game = games.make(spec)
    learner = make_learner(config, "main", seed=0)
    returns = self_play(game, learner, seed=0)
    assert learner.end_games(returns) > 0
    losses = learner.train(2, np.random.default_rng(0))
    assert losses and all(np.isfinite(v) for v in losses.values())
    state = game.init(4)
    game.sample_chance(state)  # the deal, if any: a decision or simultaneous node follows
    seat = {"player": 0} if (state.to_play == SIMULTANEOUS).any() else {}
    mask = game.legal_mask(state, seat.get("player"))
    agent = learner.greedy_agent("main")
    actions = agent.act(game, state, mask, np.random.default_rng(0), **seat)
    assert mask.any(axis=1).all() and mask[np.arange(4), actions].all()
