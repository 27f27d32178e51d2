"""Training augmentation with the games' board symmetries (agents.az_learner): every game's
augmented samples are consistent (observation, legal moves and policy target transformed by
one and the same symmetry, which the engine confirms), and the learner trains on them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import games
from agents.az_learner import (
    LEARNER_FILE,
    AlphaZeroConfig,
    AlphaZeroLearner,
    random_symmetries,
)
from games.contract import transform_planes
from tests.fast_games import PERFECT_INFORMATION_SPECS
from tests.test_engine_properties import random_sequence, start_symmetries

POSITIONS = 96


def positions(game: games.Game) -> tuple[list[list[int]], games.State]:
    """POSITIONS random live positions of `game` and the action lists that reach them."""
    sequences = []
    for seed in range(POSITIONS):
        actions = random_sequence(game, seed, max_len=1 + seed % 12)
        sequences.append(actions[:-1] if game.play_sequences([actions]).done[0] else actions)
    return sequences, game.play_sequences(sequences)


def policy_targets(mask: np.ndarray) -> np.ndarray:
    """A distinct probability for every legal move, so a wrong permutation shows."""
    weights = mask * np.arange(1, mask.shape[1] + 1, dtype=np.float32)
    return weights / weights.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("spec", PERFECT_INFORMATION_SPECS)  # AlphaZero's: it needs search
def test_augmented_samples_are_consistent_symmetric_positions(spec):
    game = games.make(spec)
    sequences, state = positions(game)
    obs, mask = game.observe(state), game.legal_mask(state)
    policy = policy_targets(mask)
    new_obs, new_mask, new_policy = random_symmetries(
        game, obs, mask, policy, np.random.default_rng(0)
    )
    replayable = {name for name, _ in start_symmetries(game)}
    seen = set()
    for i, actions in enumerate(sequences):
        # The symmetries that explain sample i: all three arrays moved by the same one.
        used = [
            (name, perm)
            for name, perm in game.symmetries
            if np.array_equal(new_obs[i], transform_planes(obs[i], name))
            and np.array_equal(new_mask[i][perm], mask[i])
            and np.array_equal(new_policy[i][perm], policy[i])
        ]
        assert used, f"sample {i} is not one symmetry applied to obs, mask and policy"
        seen.update(name for name, _ in used)
        name, perm = used[0]
        if name in replayable:  # the engine agrees: the image position has those planes and moves
            image = game.play_sequences([[int(perm[a]) for a in actions]])
            np.testing.assert_array_equal(game.observe(image)[0], new_obs[i])
            np.testing.assert_array_equal(game.legal_mask(image)[0], new_mask[i])
    assert seen == {name for name, _ in game.symmetries}  # a random one per sample: all occur
    assert np.array_equal(obs, game.observe(state))  # the inputs are left alone


def start_position_learner(augment: bool) -> tuple[AlphaZeroLearner, np.ndarray]:
    """A Connect Four learner whose buffer holds the start position with target column 0,
    trained; its policy at the start."""
    game = games.make("connect_four")
    config = AlphaZeroConfig(blocks=0, channels=8, batch_size=32, lr=2e-2, augment=augment)
    learner = AlphaZeroLearner(game, "main", config, device="cpu", seed=0)
    state = game.init(32)
    mask = game.legal_mask(state)
    policy = np.zeros(mask.shape, np.float32)
    policy[:, 0] = 1.0
    learner.put_recorded([(np.arange(32), game.observe(state), mask, policy, state.to_play)])
    assert learner.end_games(np.zeros((32, 2), np.float32)) == 32  # one sample per position
    learner.train(200, np.random.default_rng(0))
    with torch.no_grad():
        logits, _ = learner.model(torch.from_numpy(game.observe(game.init(1))))
    return learner, torch.softmax(logits, dim=1)[0].numpy()


def test_the_learner_trains_on_the_mirror_image_too():
    """Target column 0 at the (symmetric) start: with augmentation half the batches say
    column 6, so the net splits between them; without, column 0 takes nearly all."""
    _, plain = start_position_learner(augment=False)
    assert plain[0] > 0.8 and plain[6] < 0.1
    learner, augmented = start_position_learner(augment=True)
    assert augmented[0] > 0.3 and augmented[6] > 0.3
    assert learner.filled == 32  # the buffer holds real positions only


def test_a_learner_saved_with_the_old_mirror_setting_loads(tmp_path):
    """learner.json written before `augment` replaced `mirror` resumes (augmenting)."""
    game = games.make("tic_tac_toe")
    AlphaZeroLearner(game, "main", AlphaZeroConfig(blocks=0, channels=8)).save(tmp_path)
    saved = json.loads((tmp_path / LEARNER_FILE).read_text())
    del saved["augment"]
    (tmp_path / LEARNER_FILE).write_text(json.dumps({**saved, "mirror": True}))
    assert AlphaZeroLearner.load(tmp_path, game, "main", device="cpu").config.augment
