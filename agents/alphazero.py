"""AlphaZero agent: a policy-value network guiding PUCT (or Gumbel) search."""

from __future__ import annotations

import os

import numpy as np
import torch
from torch import nn

from agents.base import require_perfect_information
from agents.checkpoint import load_checkpoint
from agents.neural import NetworkEvaluator, policy_entropy
from agents.puct import SearchConfig, SearchResult, search
from games import Game, State


class AlphaZeroAgent:
    """Searches every live game of a batch together; one forward pass per round of leaves.

    `temperature` picks the move from the search: 0 plays the most visited move (Gumbel:
    the sequential-halving winner, without noise); > 0 samples, for self-play.
    `noise_fraction` > 0 mixes Dirichlet(dirichlet_alpha) noise into the root priors.
    """

    def __init__(
        self,
        game: Game,
        model: nn.Module,
        sims: int = 64,
        c_puct: float = 1.5,
        gumbel: bool = False,
        temperature: float = 0.0,
        device: str | torch.device = "auto",
        dirichlet_alpha: float = 0.3,
        noise_fraction: float = 0.0,
        name: str = "az",
        leaves_per_forward: int = 256,
    ):
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        require_perfect_information(game, "az")
        self.name = name
        self.game = game
        self.temperature = float(temperature)
        self.config = SearchConfig(
            sims=sims,
            c_puct=c_puct,
            gumbel=gumbel,
            dirichlet_alpha=dirichlet_alpha,
            noise_fraction=noise_fraction,
            leaves_per_forward=leaves_per_forward,
        )
        self.evaluator = NetworkEvaluator(game, model, device)
        self.last_annotations: dict[str, np.ndarray] = {}

    def search(
        self,
        state: State,
        rng: np.random.Generator | None = None,
        temperature: float | None = None,
    ) -> SearchResult:
        """The full search result for every game of `state`: chosen actions, root visit
        counts, the improved policy (the training target) and root values."""
        self.evaluator.check(state)
        temperature = self.temperature if temperature is None else temperature
        return search(self.game, state.data, self.evaluator, self.config, rng, temperature)

    def act(
        self, game: Game, state: State, legal_mask: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        result = self.search(state, rng)
        self.last_annotations = {
            "value": result.value,
            "policy_entropy": policy_entropy(result.policy),
            "visits": result.visits.sum(axis=1, dtype=np.int32),
            "prior": result.prior,
            "visit_counts": result.visits,
        }
        return result.action

    def evaluate(
        self, game: Game, state: State, legal_mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(root policy float32[B, A], root value float32[B]) of a deterministic search: the
        visit distribution for PUCT, the improved policy for Gumbel."""
        result = self.search(state, np.random.default_rng(0), temperature=0.0)
        return result.policy, result.value


def load_alphazero_agent(
    path: str | os.PathLike,
    game: Game,
    name: str = "az",
    sims: int = 64,
    c_puct: float = 1.5,
    gumbel: bool = False,
    temperature: float = 0.0,
    device: str | torch.device = "auto",
) -> AlphaZeroAgent:
    """The `az:PATH,sims=..` agent: a checkpoint's network with search, for `game`."""
    require_perfect_information(game, "az")
    model, _ = load_checkpoint(path, game=game, device=device)
    return AlphaZeroAgent(
        game,
        model,
        sims=sims,
        c_puct=c_puct,
        gumbel=gumbel,
        temperature=temperature,
        device=device,
        name=name,
    )
