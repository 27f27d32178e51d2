"""AlphaZero agent: a policy-value network guiding PUCT (or Gumbel) search."""

from __future__ import annotations

import os

import numpy as np
import torch
from torch import nn

from agents.base import require_perfect_information
from agents.checkpoint import load_checkpoint
from agents.mcts import ROLLOUT_POLICIES, rollout_values
from agents.neural import NetworkEvaluator, policy_entropy
from agents.puct import Evaluator, SearchConfig, SearchResult, search
from games import Game, State


class AlphaZeroAgent:
    """Searches every live game of a batch together; one forward pass per round of leaves.

    `temperature` picks the move from the search: 0 plays the most visited move (Gumbel:
    the sequential-halving winner, without noise); > 0 samples, for self-play.
    `noise_fraction` > 0 mixes Dirichlet(dirichlet_alpha) noise into the root priors.
    `rollout_mix` = lambda > 0 scores each leaf as AlphaGo did: (1 - lambda) times the value
    network's value plus lambda times the mean result of `leaf_rollouts` rollouts from it,
    uniformly random or, with `rollout_policy` "greedy", the greedy agent's moves.
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
        rollout_mix: float = 0.0,
        leaf_rollouts: int = 1,
        rollout_policy: str = "random",
    ):
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        if not 0 <= rollout_mix <= 1:
            raise ValueError(f"rollout_mix must be in [0, 1], got {rollout_mix}")
        if leaf_rollouts < 1:
            raise ValueError(f"leaf_rollouts must be >= 1, got {leaf_rollouts}")
        if rollout_policy not in ROLLOUT_POLICIES:
            raise ValueError(f"rollout_policy must be random or greedy, got {rollout_policy!r}")
        require_perfect_information(game, "az")
        self.name = name
        self.game = game
        self.temperature = float(temperature)
        self.rollout_mix = float(rollout_mix)
        self.leaf_rollouts = int(leaf_rollouts)
        self.rollout_policy = rollout_policy
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
        rng = np.random.default_rng() if rng is None else rng
        evaluate: Evaluator = self.evaluator
        if self.rollout_mix > 0:
            mix, rollouts, greedy = self.rollout_mix, self.leaf_rollouts, self.greedy_rollouts
            evaluate = RolloutMix(self.game, self.evaluator, mix, rollouts, rng, greedy)
        return search(self.game, state.data, evaluate, self.config, rng, temperature)

    @property
    def greedy_rollouts(self) -> bool:
        return self.rollout_policy == "greedy"

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


class RolloutMix:
    """A leaf evaluator: `evaluate`'s priors, and values (1 - mix) * network value + mix *
    the mean result of `rollouts` rollouts (mover's view; random, or greedy when `greedy`),
    seeded from `rng`."""

    def __init__(
        self,
        game: Game,
        evaluate: Evaluator,
        mix: float,
        rollouts: int,
        rng: np.random.Generator,
        greedy: bool = False,
    ):
        self.game, self.evaluate, self.rng = game, evaluate, rng
        self.mix, self.rollouts, self.greedy = mix, rollouts, greedy

    def __call__(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        priors, values = self.evaluate(rows)
        rollouts = np.empty(len(rows), np.float64)
        game = self.game
        seed = int(self.rng.integers(2**62))
        shape = game.num_actions, game.num_players
        rollout_values(game.params, rows, *shape, self.rollouts, seed, rollouts, self.greedy)
        mixed = (1 - self.mix) * values + self.mix * rollouts
        return priors, mixed.astype(np.float32)


def load_alphazero_agent(
    path: str | os.PathLike,
    game: Game,
    name: str = "az",
    sims: int = 64,
    c_puct: float = 1.5,
    gumbel: bool = False,
    temperature: float = 0.0,
    device: str | torch.device = "auto",
    rollout_mix: float = 0.0,
    leaf_rollouts: int = 1,
    rollout_policy: str = "random",
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
        rollout_mix=rollout_mix,
        leaf_rollouts=leaf_rollouts,
        rollout_policy=rollout_policy,
    )
