"""Networks, masked softmax, device resolution and the network-only agent."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

import agents
import games
from agents.checkpoint import save_checkpoint
from agents.device import resolve_device
from agents.network import MLP, NetConfig, ResNet, build_network, masked_softmax
from agents.neural import NeuralAgent

C4 = games.make("connect_four")
TTT = games.make("tic_tac_toe")


def net(game=C4, seed=0, **sizes):
    torch.manual_seed(seed)
    return build_network(NetConfig.for_game(game, **{"blocks": 1, "channels": 8, **sizes}))


# --- networks ------------------------------------------------------------------------------


@pytest.mark.parametrize("blocks", [0, 2])
def test_resnet_shapes_and_value_range(blocks):
    model = net(blocks=blocks).eval()
    assert isinstance(model, ResNet) and model.config.architecture == "resnet"
    obs = torch.from_numpy(C4.observe(C4.play_sequences([[3], [0, 1, 2], [6] * 5])))
    logits, value = model(obs)
    assert logits.shape == (3, 7) and value.shape == (3,)
    assert logits.dtype == value.dtype == torch.float32
    assert (value.abs() <= 1).all()


def test_mlp_for_flat_observations():
    cards = SimpleNamespace(name="cards", obs_shape=(11,), num_actions=4)
    config = NetConfig.for_game(cards, blocks=2, channels=32)
    assert config.architecture == "mlp"
    model = build_network(config)
    assert isinstance(model, MLP)
    logits, value = model(torch.randn(5, 11))
    assert logits.shape == (5, 4) and value.shape == (5,)
    # A board game may use an MLP too: the planes are flattened.
    logits, _ = build_network(NetConfig.for_game(C4, "mlp"))(torch.zeros(2, 2, 6, 7))
    assert logits.shape == (2, 7)


def test_config_json_round_trip_and_validation():
    config = NetConfig.for_game(C4, blocks=6, channels=96, value_hidden=32)
    again = NetConfig.from_json(config.to_json())
    assert again == config and again.obs_shape == (2, 6, 7)
    with pytest.raises(ValueError, match="unknown network config keys"):
        NetConfig.from_dict({**config.to_dict(), "dropout": 0.1})
    with pytest.raises(ValueError, match="incomplete"):
        NetConfig.from_dict({"architecture": "resnet"})
    with pytest.raises(ValueError, match="unknown architecture"):
        NetConfig("transformer", (2, 6, 7), 7)
    with pytest.raises(ValueError, match=r"resnet needs \(C, H, W\)"):
        NetConfig("resnet", (11,), 4)
    with pytest.raises(ValueError, match="blocks"):
        NetConfig("mlp", (11,), 4, blocks=0)


def test_masked_softmax():
    logits = torch.tensor([[1.0, 2.0, 3.0, 4.0], [5.0, -1e30, 0.0, 9.0], [1.0, 1.0, 1.0, 1.0]])
    mask = torch.tensor([[True, False, True, False], [True, True, False, False], [False] * 4])
    p = masked_softmax(logits, mask)
    expected = torch.softmax(torch.tensor([1.0, 3.0]), 0)
    torch.testing.assert_close(p[0, [0, 2]], expected)
    assert p[0, 1] == p[0, 3] == 0
    assert p[1].tolist() == [1.0, 0.0, 0.0, 0.0]  # -1e30 legal logit: no NaN, just ~0
    assert p[2].tolist() == [0.0] * 4  # no legal move: zeros, not NaN
    assert not p.isnan().any()


# --- devices -------------------------------------------------------------------------------


def test_resolve_device_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device() == torch.device("cpu")
    assert resolve_device(" CPU ") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda:0")
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    with pytest.raises(TypeError):
        resolve_device(0)


def test_resolve_device_with_two_gpus(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("auto") == torch.device("cuda", 0)
    assert resolve_device("cuda") == torch.device("cuda", 0)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(ValueError, match="2 CUDA device"):
        resolve_device("cuda:2")


# --- the network-only agent ----------------------------------------------------------------


def test_greedy_agent_plays_the_best_legal_logit():
    agent = NeuralAgent(C4, net(), device="cpu")
    state = C4.play_sequences([[0] * 6, [], [1, 1, 2, 2, 3, 3, 4]])
    legal = C4.legal_mask(state)
    actions = agent.act(C4, state, legal, np.random.default_rng(0))
    logits, policy, value = agent.evaluator.run(state.data)
    best = np.where(legal, logits, -np.inf).argmax(axis=1)
    assert actions[:2].tolist() == best[:2].tolist()
    assert legal[[0, 1], actions[:2]].all()
    assert agent.last_annotations["value"].tolist() == value.tolist()
    entropy = agent.last_annotations["policy_entropy"]
    assert entropy.dtype == np.float32 and (entropy[:2] > 0).all() and entropy[2] == 0
    p, v = agent.evaluate(C4, state, legal)
    np.testing.assert_allclose(p[:2].sum(axis=1), 1.0, rtol=1e-5)
    assert not p[~legal].any() and v.shape == (3,)


def test_sampling_follows_softmax_over_legal_moves():
    temperature = 2.0
    agent = NeuralAgent(C4, net(seed=3), temperature=temperature, device="cpu")
    state = C4.play_sequences([[0] * 6] * 20_000)  # column 0 full
    legal = C4.legal_mask(state)
    actions = agent.act(C4, state, legal, np.random.default_rng(0))
    logits, _, _ = agent.evaluator.run(state.data[:1])
    want = torch.softmax(torch.from_numpy(logits[0, 1:]) / temperature, 0).numpy()
    got = np.bincount(actions, minlength=7) / len(actions)
    assert got[0] == 0
    np.testing.assert_allclose(got[1:], want, atol=0.015)


def test_agent_rejects_a_network_for_another_game():
    with pytest.raises(ValueError, match="cannot play tic_tac_toe"):
        NeuralAgent(TTT, net(C4), device="cpu")
    agent = NeuralAgent(C4, net(C4), device="cpu")
    with pytest.raises(ValueError, match="plays connect_four"):
        agent.evaluate(TTT, TTT.init(1), TTT.legal_mask(TTT.init(1)))


def test_checkpoint_spec_builds_a_neural_agent(tmp_path):
    model = net()
    save_checkpoint(tmp_path / "policy", model, model.config, C4.name)
    agent = agents.make(f"checkpoint:{tmp_path / 'policy'}.safetensors,temperature=0.5", C4)
    assert isinstance(agent, NeuralAgent) and agent.temperature == 0.5
    state = C4.play_sequences([[3], [2, 2]])
    with torch.no_grad():
        want = model.eval()(torch.from_numpy(C4.observe(state)))[0].numpy()
    logits, _, _ = agent.evaluator.run(state.data)
    np.testing.assert_allclose(logits, want, rtol=1e-5, atol=1e-6)
