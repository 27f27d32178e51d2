"""The evaluator runs a folded, channels-last copy of the network (agents.network.
inference_copy): the same outputs as the network to 1e-5, rebuilt when training changes it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import games
from agents.network import NetConfig, ResNet, build_network, inference_copy
from agents.neural import NetworkEvaluator

C4 = games.make("connect_four")
TTT = games.make("tic_tac_toe")


def positions(game, count: int, seed: int = 0) -> games.State:
    state = game.init(count, seed)
    rng = np.arange(count, dtype=np.int64) + seed
    for _ in range(4):
        game.step(state, game.random_legal(game.legal_mask(state), rng))
    return state


def trained_looking(game=C4, seed=0, **sizes) -> torch.nn.Module:
    """A network whose batch norms are not the identity, so that folding them shows: its
    running statistics moved by training-mode forward passes over real positions."""
    torch.manual_seed(seed)
    model = build_network(NetConfig.for_game(game, **{"blocks": 2, "channels": 32, **sizes}))
    obs = torch.from_numpy(game.observe(positions(game, 256, seed)))
    with torch.no_grad():
        for _ in range(5):
            model.train()(obs)
    return model.eval()


def plain(model, game, state) -> tuple[np.ndarray, np.ndarray]:
    with torch.inference_mode():
        logits, values = model(torch.from_numpy(game.observe(state)))
    return logits.numpy(), values.numpy()


@pytest.mark.parametrize("blocks", [0, 2])
def test_the_copy_has_no_batch_norm_and_the_same_outputs(blocks):
    model = trained_looking(blocks=blocks)
    fast = inference_copy(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())  # untouched
    obs = torch.from_numpy(C4.observe(positions(C4, 64)))
    with torch.inference_mode():
        for ours, theirs in zip(fast(obs), model(obs), strict=True):
            torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)


def test_evaluator_outputs_match_the_network_to_1e_5():
    model = trained_looking(seed=3)
    evaluator = NetworkEvaluator(C4, model, "cpu")
    state = positions(C4, 200, seed=2)
    logits, priors, values = evaluator.run(state.data)
    expected_logits, expected_values = plain(model, C4, state)
    np.testing.assert_allclose(logits, expected_logits, atol=1e-5, rtol=0)
    np.testing.assert_allclose(values, expected_values, atol=1e-5, rtol=0)
    legal = C4.legal_mask(state)
    assert np.allclose(priors.sum(axis=1), 1, atol=1e-6) and (priors[~legal] == 0).all()
    for part in (logits, priors, values):  # one copy back, split into contiguous arrays
        assert part.flags.c_contiguous and part.dtype == np.float32


def test_the_evaluator_follows_training_between_searches():
    model = trained_looking(seed=5)
    evaluator = NetworkEvaluator(C4, model, "cpu")
    state = positions(C4, 32)
    before = evaluator.run(state.data)[0]
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.05)
    model.train()  # a training step: batch statistics move, then the weights
    logits, values = model(torch.from_numpy(C4.observe(state)))
    (logits.square().mean() + values.mean()).backward()
    # In training mode the model itself runs, as it is (batch statistics).
    np.testing.assert_allclose(
        evaluator.run(state.data)[0], plain(model, C4, state)[0], atol=1e-5, rtol=0
    )
    optimizer.step()
    model.eval()
    after = evaluator.run(state.data)[0]
    assert np.abs(after - before).max() > 1e-3
    np.testing.assert_allclose(after, plain(model, C4, state)[0], atol=1e-5, rtol=0)
    model.load_state_dict(trained_looking(seed=6).state_dict())
    np.testing.assert_allclose(
        evaluator.run(state.data)[0], plain(model, C4, state)[0], atol=1e-5, rtol=0
    )


def test_networks_without_convolutions_run_as_they_are():
    torch.manual_seed(0)
    model = build_network(NetConfig.for_game(TTT, architecture="mlp", blocks=1, channels=8))
    assert not isinstance(model, ResNet) and inference_copy(model) is model
