"""A policy network playing without search, and the batched network evaluator search uses."""

from __future__ import annotations

import itertools
import os
from time import perf_counter

import numpy as np
import torch
from torch import nn

from agents.base import pure_strategy
from agents.checkpoint import load_checkpoint
from agents.device import resolve_device
from agents.network import inference_copy, masked_softmax
from games import Game, State


class NetworkEvaluator:
    """One batched forward pass over a batch of state rows of `game`.

    Calling it is the leaf evaluator of `agents.puct.search`: int64[L, W] rows ->
    (priors float32[L, A] (masked softmax over legal moves), values float32[L] from the
    mover's view). `seconds` accumulates the time spent building observations and in the
    forward pass, for benchmarks.
    """

    def __init__(self, game: Game, model: nn.Module, device: str | torch.device = "auto"):
        config = getattr(model, "config", None)
        if config is not None and (
            config.obs_shape != game.obs_shape or config.num_actions != game.num_actions
        ):
            raise ValueError(
                f"network built for observations {config.obs_shape} and {config.num_actions} "
                f"actions cannot play {game.name} ({game.obs_shape}, {game.num_actions} actions)"
            )
        self.game = game
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.seconds = {"observe": 0.0, "forward": 0.0}
        self._fast: nn.Module = self.model
        self._fast_version: tuple[tuple[int, int], ...] = ()
        self._inference_model()  # built now, not inside the first forward

    def _inference_model(self) -> nn.Module:
        """The network to run: the model's `inference_copy`, rebuilt whenever a weight or a
        batch-norm statistic changed since it was made (a learner trains the model between
        searches); the model itself while it is in training mode."""
        if self.model.training:
            return self.model
        # Every in-place change bumps a tensor's version counter: optimizer steps,
        # load_state_dict, batch norm's count of training batches.
        version = tuple(
            (t.data_ptr(), t._version)
            for t in itertools.chain(self.model.parameters(), self.model.buffers())
        )
        if version != self._fast_version:
            self._fast, self._fast_version = inference_copy(self.model), version
        return self._fast

    def run(
        self, rows: np.ndarray, player: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(raw logits float32[L, A], priors float32[L, A], values float32[L]) from the view
        of `player` (an agent's seat at simultaneous nodes), or of each row's mover."""
        start = perf_counter()
        state = State(self.game.spec, rows)
        obs = torch.from_numpy(self.game.observe(state, player))
        legal = torch.from_numpy(self.game.legal_mask(state, player))
        mid = perf_counter()
        model = self._inference_model()
        with torch.inference_mode():
            obs = obs.to(self.device)
            if obs.ndim == 4:  # boards channels-last, as inference_copy's weights
                obs = obs.contiguous(memory_format=torch.channels_last)
            logits, values = model(obs)
            logits = logits.float()
            priors = masked_softmax(logits, legal.to(self.device))
            # One device-to-host copy per forward, not three: on a GPU each copy waits for
            # the device (tests/test_device.py counts the transfers).
            out = torch.cat((logits, priors, values.float().unsqueeze(1)), dim=1).cpu().numpy()
        self.seconds["observe"] += mid - start
        self.seconds["forward"] += perf_counter() - mid
        actions = logits.shape[1]
        parts = out[:, :actions], out[:, actions:-1], out[:, -1]
        return tuple(np.ascontiguousarray(part) for part in parts)

    def __call__(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        _, priors, values = self.run(rows)
        return priors, values

    def check(self, state: State) -> None:
        if state.game != self.game.spec:
            raise ValueError(f"this agent plays {self.game.spec}, got a {state.game} state")


def policy_entropy(policy: np.ndarray) -> np.ndarray:
    """float32[B] entropy (nats) of each row of a probability matrix."""
    logs = np.log(policy, out=np.zeros_like(policy), where=policy > 0)
    return -(policy * logs).sum(axis=1, dtype=np.float32)


class NeuralAgent:
    """Plays the network's policy: argmax over legal moves at temperature 0, else samples
    softmax(logits / temperature) over legal moves."""

    def __init__(
        self,
        game: Game,
        model: nn.Module,
        name: str = "neural",
        temperature: float = 0.0,
        device: str | torch.device = "auto",
    ):
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        self.name = name
        self.temperature = float(temperature)
        self.evaluator = NetworkEvaluator(game, model, device)
        self.last_annotations: dict[str, np.ndarray] = {}

    def evaluate(
        self, game: Game, state: State, legal_mask: np.ndarray, player: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(policy float32[B, A] over legal moves, value float32[B]) from the view of the
        mover, or of `player` (a seat at simultaneous nodes, as in `act`)."""
        self.evaluator.check(state)
        _, priors, values = self.evaluator.run(state.data, player)
        return priors, values

    def strategy(
        self, game: Game, state: State, legal_mask: np.ndarray, player: int | None = None
    ) -> np.ndarray:
        """float64[B, A]: what `act` plays: the likeliest legal move at temperature 0 (the
        first of equals), else softmax(logits / temperature) over the legal moves."""
        self.evaluator.check(state)
        logits, _, _ = self.evaluator.run(state.data, player)
        legal = torch.from_numpy(np.asarray(legal_mask, dtype=bool))
        if self.temperature == 0:
            return pure_strategy(np.where(legal_mask, logits, -np.inf).argmax(axis=1), legal_mask)
        scaled = torch.from_numpy(logits.astype(np.float64) / self.temperature)
        return masked_softmax(scaled, legal).numpy()

    def act(
        self,
        game: Game,
        state: State,
        legal_mask: np.ndarray,
        rng: np.random.Generator,
        player: int | None = None,
    ) -> np.ndarray:
        self.evaluator.check(state)
        logits, priors, values = self.evaluator.run(state.data, player)
        scores = np.where(legal_mask, logits, -np.inf)
        if self.temperature > 0:
            # Gumbel-max trick: the argmax of logits / T plus Gumbel noise is a sample of
            # softmax(logits / T); illegal moves stay at -inf.
            scores = scores / self.temperature + rng.gumbel(size=scores.shape)
        self.last_annotations = {"value": values, "policy_entropy": policy_entropy(priors)}
        return scores.argmax(axis=1).astype(np.int64)


def load_neural_agent(
    path: str | os.PathLike,
    game: Game,
    name: str = "checkpoint",
    temperature: float = 0.0,
    device: str | torch.device = "auto",
) -> NeuralAgent:
    """The `checkpoint:PATH` agent: the network of a checkpoint for `game`, without search."""
    model, _ = load_checkpoint(path, game=game, device=device)
    return NeuralAgent(game, model, name=name, temperature=temperature, device=device)
