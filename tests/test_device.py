"""The device path of search: tensors live on the chosen device and each forward pass
crosses between host and device a fixed number of times, however long the search.

Without a GPU here the tests run on the CPU; on a machine with one they also run on CUDA.
`resolve_device` itself is tested in tests/test_network.py.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
import torch
from torch.nn.modules.module import register_module_forward_pre_hook
from torch.overrides import TorchFunctionMode

import games
from agents.alphazero import AlphaZeroAgent
from agents.network import NetConfig, build_network
from agents.neural import NeuralAgent

C4 = games.make("connect_four")
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
# Tensor methods that move data between host and device, or hand device data to numpy or
# Python (each one waits for the device on a GPU); torch.from_numpy shares host memory.
TRANSFERS = {"to", "cpu", "cuda", "numpy", "item", "tolist", "as_tensor", "__array__"}


class TransferCounter(TorchFunctionMode):
    """Counts every call of a TRANSFERS method made while it is active."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in TRANSFERS:
            self.calls[name] += 1
        return func(*args, **(kwargs or {}))


def net(seed: int = 0):
    torch.manual_seed(seed)
    return build_network(NetConfig.for_game(C4, blocks=1, channels=8))


def positions(count: int, seed: int = 0):
    state = C4.init(count, seed)
    rng = np.arange(count, dtype=np.int64) + seed
    for _ in range(4):
        C4.step(state, C4.random_legal(C4.legal_mask(state), rng))
    return state


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_a_one_line_error():
    out = subprocess.run(
        [sys.executable, "-m", "arena", "bench", "search", "--device", "cuda"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 2
    message = out.stdout.strip()
    assert "\n" not in message and "Traceback" not in out.stderr
    assert message.startswith("error: device 'cuda' requested but CUDA is not available")


@pytest.mark.parametrize("device", DEVICES)
def test_search_runs_its_network_on_the_chosen_device(device):
    agent = AlphaZeroAgent(C4, net(), sims=8, device=device)
    assert agent.evaluator.device.type == device
    assert {p.device.type for p in agent.evaluator.model.parameters()} == {device}
    seen = set()

    def record(module, inputs):  # every module run, whichever copy of the network runs
        seen.update((type(module).__name__, x.device.type) for x in inputs)
        seen.update(("weights", p.device.type) for p in module.parameters(recurse=False))

    hook = register_module_forward_pre_hook(record)
    try:
        result = agent.search(positions(16), np.random.default_rng(0))
    finally:
        hook.remove()
    assert ("Conv2d", device) in seen and ("Linear", device) in seen
    assert {place for _, place in seen} == {device}
    assert result.visits.sum() == 16 * 8


@pytest.mark.parametrize("device", DEVICES)
def test_transfers_per_forward_do_not_grow_with_simulations(device):
    """Per forward pass: observations and legal moves go up, one tensor comes back; the
    tree work between forward passes touches no tensor at all."""
    per_forward = Counter({"to": 2, "cpu": 1, "numpy": 1})
    state = positions(16)
    forwards = []
    for sims in (2, 16, 64):
        agent = AlphaZeroAgent(C4, net(), sims=sims, device=device, leaves_per_forward=16)
        with TransferCounter() as counter:
            result = agent.search(state, np.random.default_rng(0))
        forwards.append(result.forwards)
        assert counter.calls == Counter({k: v * result.forwards for k, v in per_forward.items()})
    assert forwards[0] < forwards[1] < forwards[2]  # the count is checked at several lengths


@pytest.mark.parametrize("device", DEVICES)
def test_network_agent_makes_one_round_trip_per_move(device):
    agent = NeuralAgent(C4, net(), device=device)
    state = positions(8)
    with TransferCounter() as counter:
        agent.act(C4, state, C4.legal_mask(state), np.random.default_rng(0))
    assert counter.calls == Counter({"to": 2, "cpu": 1, "numpy": 1})


def test_a_league_on_a_missing_gpu_is_refused_before_its_folder_is_made(tmp_path):
    out = tmp_path / "league"
    done = subprocess.run(
        [sys.executable, "-m", "arena", "league", "run", "--game", "tic_tac_toe"]
        + ["--device", "cuda", "--minutes", "0.1", "--out", str(out)],
        capture_output=True,
        text=True,
    )
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert done.returncode != 0
    said = (done.stdout + done.stderr).strip()
    assert "'device'" in said and "CUDA is not available" in said
    assert len(said.splitlines()) == 1
    assert not out.exists()
