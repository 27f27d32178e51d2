"""League learners across processes: recorded moves handed from one copy to another, and a
learner's saved files as bytes, both give the learner it would have been in place."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

import games
from arena.league import resolve
from arena.learners import (
    learner_files,
    learner_from_files,
    make_learner,
    read_files,
    write_files,
)
from arena.match import MatchGames, play_games
from tests.test_league import TINY

GAMES = 8


def config_for(algorithm: str, tmp_path) -> dict:
    learner = {**TINY["learner"], "algorithm": algorithm}
    return resolve({**TINY, "learner": learner, "out": str(tmp_path / "league")})


def self_play(game, learner, seed: int) -> np.ndarray:
    """GAMES self-play games of the learner's exploring agent, recorded; their returns."""
    plan = MatchGames(
        seeds=np.arange(GAMES, dtype=np.int64) + seed,
        seat_agent=np.zeros((GAMES, game.num_players), np.int64),
        openings=[[] for _ in range(GAMES)],
    )

    def observer(k, idx, state, mask, actions):
        learner.record(idx, state, mask, actions)

    rng = np.random.default_rng(seed)
    return play_games(game, [learner.agent()], plan, rng, observer=observer)["returns"]


def weights(learner) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in learner.model.state_dict().items()}


def assert_same_weights(a, b) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key


@pytest.mark.parametrize("algorithm", ["alphazero", "ppo"])
def test_moves_taken_from_a_learner_train_its_copy_as_they_would_train_it(algorithm, tmp_path):
    config = config_for(algorithm, tmp_path)
    game = games.make(config["game"])
    player, receiver, reference = (make_learner(config, "main", seed=7) for _ in range(3))

    returns = self_play(game, player, seed=3)
    moves = pickle.loads(pickle.dumps(player.take_recorded()))  # as between processes
    assert moves and player.take_recorded() == []
    assert player.end_games(returns) == 0  # taken moves are gone from the player

    receiver.put_recorded(moves)
    added = receiver.end_games(returns)
    assert np.array_equal(self_play(game, reference, seed=3), returns)  # same weights: same games
    assert reference.end_games(returns) == added > 0

    losses = [learner.train(4, np.random.default_rng(5)) for learner in (receiver, reference)]
    assert losses[0] and losses[0] == losses[1]
    assert_same_weights(receiver, reference)
    assert receiver.steps == reference.steps > 0


@pytest.mark.parametrize("algorithm", ["alphazero", "ppo"])
def test_a_learner_rebuilt_from_its_files_goes_on_identically(algorithm, tmp_path):
    config = config_for(algorithm, tmp_path)
    game = games.make(config["game"])
    learner = make_learner(config, "main", seed=1)
    learner.end_games(self_play(game, learner, seed=2))
    learner.train(4, np.random.default_rng(0))
    learner.end_games(self_play(game, learner, seed=4))  # samples not trained on yet

    files = learner_files(learner, parent="main")
    assert files and all(not name.startswith(".") for name in files)
    rebuilt = learner_from_files(config, "main", files)
    assert rebuilt.steps == learner.steps
    assert_same_weights(rebuilt, learner)

    for each in (learner, rebuilt):  # optimizer state and buffers came along too
        each.train(4, np.random.default_rng(9))
    assert_same_weights(rebuilt, learner)

    write_files(files, tmp_path / "saved")
    assert read_files(tmp_path / "saved") == files


def test_learner_files_cannot_escape_their_directory(tmp_path):
    with pytest.raises(ValueError, match="outside"):
        write_files({"../escaped": b"x"}, tmp_path / "inside")
    assert not (tmp_path / "escaped").exists()
