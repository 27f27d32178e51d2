"""AlphaZero-style learner: search-guided self-play targets, a replay buffer, SGD on both heads.

Read top to bottom: the exploring agent searches every move (PUCT with Dirichlet noise and
early-move sampling, or Gumbel with sequential halving), `record` keeps the search's
improved policy for each move the learner made, `end_games` labels those moves with the
final result from the mover's view, and `train` fits policy (cross-entropy to the search
policy) and value (squared error to the result). Playout-cap randomisation (KataGo) spends
full searches on a share of moves only and trains on just those.

Augmentation: the buffer holds each recorded position once; every training batch shows each
of its positions under a random one of the game's board symmetries (`Game.symmetries`,
identity included), as KataGo does. So `buffer_size` and `batch_size` count real positions,
and samples of one position are never in a batch twice as their own symmetric copies.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from agents.alphazero import AlphaZeroAgent
from agents.base import require_perfect_information
from agents.checkpoint import load_checkpoint, save_checkpoint
from agents.device import resolve_device
from agents.mcts import ROLLOUT_POLICIES
from agents.network import NetConfig, build_network
from agents.train_state import load_training_state, save_training_state
from games import Game, State
from games.contract import transform_planes

LEARNER_FILE = "learner.json"
SAVED_SAMPLES = 50_000


@dataclass
class AlphaZeroConfig:
    blocks: int = 2
    channels: int = 32
    sims: int = 32  # full search budget (training moves)
    fast_sims: int = 8  # playout cap randomisation: cheap searches, not trained on
    full_search_share: float = 1.0  # share of moves searched with `sims` (1 = no cap)
    gumbel: bool = True
    c_puct: float = 1.5
    dirichlet_alpha: float = 1.0
    noise_fraction: float = 0.25  # PUCT root noise while training
    sample_moves: int = 8  # PUCT: sample from visits for the first plies, then play the best
    lr: float = 2e-3
    weight_decay: float = 1e-4
    batch_size: int = 256
    buffer_size: int = 200_000
    eval_sims: int = 64  # search budget of frozen snapshots
    # AlphaGo's lambda: each leaf value is (1 - mix) network + mix the mean of leaf_rollouts
    # rollouts, in self-play and in snapshots' search (cheap beside a CPU forward pass).
    rollout_mix: float = 0.0
    leaf_rollouts: int = 1  # rollouts averaged per leaf
    rollout_policy: str = "random"  # or "greedy": win, else block, else random
    # Leaves per forward pass: small nets on a CPU are bound by per-call overhead, so
    # self-play sends big batches (a few walks per game, kept apart by virtual loss).
    leaves_per_forward: int = 1024
    augment: bool = True  # train on a random board symmetry of each sample (module docstring)
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key in ("blocks", "channels", "sims", "fast_sims", "batch_size", "buffer_size"):
            if getattr(self, key) < (0 if key == "blocks" else 1):
                raise ValueError(f"alphazero {key} must be positive, got {getattr(self, key)}")
        if not 0 < self.full_search_share <= 1:
            raise ValueError("alphazero full_search_share must be in (0, 1]")
        if not 0 <= self.rollout_mix <= 1:
            raise ValueError("alphazero rollout_mix must be in [0, 1]")
        if self.leaf_rollouts < 1:
            raise ValueError("alphazero leaf_rollouts must be >= 1")
        if self.rollout_policy not in ROLLOUT_POLICIES:
            raise ValueError("alphazero rollout_policy must be random or greedy")

    def play_spec(self, checkpoint: Path | str, sims: int) -> str:
        """The agent spec of a checkpoint of this learner searching with `sims` simulations
        as the learner searches (Gumbel or PUCT, leaf values with or without rollouts)."""
        gumbel = ",gumbel=true" if self.gumbel else ""
        mix = f",rollout_mix={self.rollout_mix},leaf_rollouts={self.leaf_rollouts}"
        if self.rollout_policy != "random":
            mix += f",rollout_policy={self.rollout_policy}"
        return f"az:{checkpoint},sims={sims}{gumbel}{mix if self.rollout_mix else ''}"


def random_symmetries(
    game: Game, obs: np.ndarray, mask: np.ndarray, policy: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training samples (observations [B, C, H, W], legal masks and policy targets [B, A]),
    each under a random one of `game`'s board symmetries, drawn with `rng`: new arrays."""
    obs, mask, policy = obs.copy(), mask.copy(), policy.copy()
    drawn = rng.integers(0, len(game.symmetries), len(obs))
    for k, (name, perm) in enumerate(game.symmetries):
        rows = np.flatnonzero(drawn == k)
        if name == "identity" or rows.size == 0:
            continue
        source = np.argsort(perm)  # the image's action b comes from action source[b]
        obs[rows] = transform_planes(obs[rows], name)
        mask[rows] = mask[rows][:, source]
        policy[rows] = policy[rows][:, source]
    return obs, mask, policy


class _SelfPlayAgent:
    """The learner's exploring policy; remembers its last search for `record`."""

    def __init__(self, learner: AlphaZeroLearner):
        self.learner = learner
        self.name = learner.name
        self.last_annotations: dict[str, np.ndarray] = {}
        self.last_policy: np.ndarray | None = None

    def act(self, game: Game, state: State, legal_mask: np.ndarray, rng) -> np.ndarray:
        cfg = self.learner.config
        full = rng.random() < cfg.full_search_share
        searcher = self.learner.searcher(cfg.sims if full else cfg.fast_sims)
        result = searcher.search(state, rng, temperature=1.0 if cfg.gumbel else 0.0)
        actions = result.action
        if not cfg.gumbel:  # AlphaZero's opening exploration: sample visits early on
            early = np.flatnonzero((state.ply < cfg.sample_moves) & ~state.done)
            for i in early:
                visits = result.visits[i].astype(np.float64)
                actions[i] = rng.choice(len(visits), p=visits / visits.sum())
        self.last_policy = result.policy if full else None
        self.last_annotations = {
            "value": result.value,
            "visits": result.visits.sum(axis=1, dtype=np.int32),
        }
        return actions


class AlphaZeroLearner:
    """Implements agents.learner.Learner with AlphaZero targets (see module docstring)."""

    def __init__(
        self,
        game: Game,
        name: str,
        config: AlphaZeroConfig | None = None,
        device: str = "auto",
        seed: int = 0,
    ):
        require_perfect_information(game, "the AlphaZero learner")
        self.game = game
        self.name = name
        self.config = config or AlphaZeroConfig()
        self.device = resolve_device(device)
        torch.manual_seed(seed)
        self.net_config = NetConfig.for_game(
            game, blocks=self.config.blocks, channels=self.config.channels
        )
        self.model = build_network(self.net_config).to(self.device)
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay
        )
        self.steps = 0
        size, shape = self.config.buffer_size, game.obs_shape
        self.buffer = {
            "obs": np.zeros((size, *shape), np.float32),
            "mask": np.zeros((size, game.num_actions), np.bool_),
            "policy": np.zeros((size, game.num_actions), np.float32),
            "value": np.zeros(size, np.float32),
        }
        self.filled = 0  # valid rows (the buffer is a ring once full)
        self.cursor = 0
        self._agent = _SelfPlayAgent(self)
        self._searchers: dict[int, AlphaZeroAgent] = {}
        self._pending: list[tuple[np.ndarray, ...]] = []

    # -- playing ------------------------------------------------------------------------

    def searcher(self, sims: int) -> AlphaZeroAgent:
        """A search agent over the live network (shared weights) with `sims` simulations."""
        if sims not in self._searchers:
            cfg = self.config
            self._searchers[sims] = AlphaZeroAgent(
                self.game,
                self.model,
                sims=sims,
                c_puct=cfg.c_puct,
                gumbel=cfg.gumbel,
                device=self.device,
                dirichlet_alpha=cfg.dirichlet_alpha,
                noise_fraction=0.0 if cfg.gumbel else cfg.noise_fraction,
                name=self.name,
                leaves_per_forward=cfg.leaves_per_forward,
                rollout_mix=cfg.rollout_mix,
                leaf_rollouts=cfg.leaf_rollouts,
                rollout_policy=cfg.rollout_policy,
            )
        return self._searchers[sims]

    def agent(self) -> _SelfPlayAgent:
        self.model.eval()
        return self._agent

    def rated_agent(self, name: str) -> AlphaZeroAgent:
        """Games of perfect information only: the greedy agent."""
        return self.greedy_agent(name)

    def greedy_agent(self, name: str, sims: int | None = None) -> AlphaZeroAgent:
        """The current network with a deterministic search (for evaluation games)."""
        cfg = self.config
        return AlphaZeroAgent(
            self.game,
            self.model,
            sims=sims or cfg.eval_sims,
            c_puct=cfg.c_puct,
            gumbel=cfg.gumbel,
            device=self.device,
            name=name,
            leaves_per_forward=cfg.leaves_per_forward,
            rollout_mix=cfg.rollout_mix,
            leaf_rollouts=cfg.leaf_rollouts,
            rollout_policy=cfg.rollout_policy,
        )

    def record(self, game_indices, state: State, legal_mask, actions) -> None:
        policy = self._agent.last_policy
        if policy is None:  # a fast search: played, not trained on
            return
        self._pending.append(
            (game_indices, self.game.observe(state), legal_mask.copy(), policy, state.to_play)
        )

    def take_recorded(self) -> list:
        moves, self._pending = self._pending, []
        return moves

    def put_recorded(self, moves: list) -> None:
        self._pending.extend(moves)

    def end_games(self, returns: np.ndarray) -> int:
        added = 0
        for games_idx, obs, mask, policy, player in self._pending:
            value = returns[games_idx, player].astype(np.float32)
            self._add(obs, mask, policy, value)
            added += len(value)
        self._pending.clear()
        return added

    def _add(self, obs, mask, policy, value) -> None:
        n, size = len(value), self.config.buffer_size
        where = (self.cursor + np.arange(n)) % size
        self.buffer["obs"][where] = obs
        self.buffer["mask"][where] = mask
        self.buffer["policy"][where] = policy
        self.buffer["value"][where] = value
        self.cursor = int((self.cursor + n) % size)
        self.filled = min(size, self.filled + n)

    # -- learning -----------------------------------------------------------------------

    def train(self, steps: int, rng: np.random.Generator) -> dict[str, float]:
        if self.filled < self.config.batch_size:
            return {}
        self.model.train()
        totals = {"policy_loss": 0.0, "value_loss": 0.0}
        for _ in range(steps):
            idx = rng.integers(0, self.filled, self.config.batch_size)
            batch = (self.buffer[key][idx] for key in ("obs", "mask", "policy"))
            if self.config.augment:
                batch = random_symmetries(self.game, *batch, rng)
            obs, mask, target = (torch.from_numpy(a).to(self.device) for a in batch)
            z = torch.from_numpy(self.buffer["value"][idx]).to(self.device)
            logits, value = self.model(obs)
            log_probs = torch.log_softmax(logits.masked_fill(~mask, -1e9), dim=1)
            policy_loss = -(target * log_probs).sum(dim=1).mean()
            value_loss = F.mse_loss(value, z)
            loss = policy_loss + value_loss
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            totals["policy_loss"] += policy_loss.item()
            totals["value_loss"] += value_loss.item()
            self.steps += 1
        self.model.eval()
        return {k: v / steps for k, v in totals.items()}

    # -- saving -------------------------------------------------------------------------

    def save(self, directory: Path, parent: str | None = None) -> None:
        directory = Path(directory)
        hyper = {"algorithm": "alphazero", **asdict(self.config)}
        save_checkpoint(
            directory / "model",
            self.model,
            self.net_config,
            self.game.spec,
            hyper,
            parent,
            self.steps,
        )
        # The newest samples only: a resumed learner refills the rest within a few rounds,
        # and every round's save stays small.
        keep = min(self.filled, SAVED_SAMPLES)
        newest = (self.cursor - keep + np.arange(keep)) % self.config.buffer_size
        arrays = {k: v[newest] for k, v in self.buffer.items()}
        extra = {"steps": self.steps}
        save_training_state(directory / "train", self.optimizer, arrays, extra)
        temp = directory / f".{LEARNER_FILE}.tmp"
        temp.write_text(json.dumps({"name": self.name, **hyper}))
        os.replace(temp, directory / LEARNER_FILE)

    @classmethod
    def load(cls, directory: Path, game: Game, name: str, device: str = "auto"):
        directory = Path(directory)
        settings = json.loads((directory / LEARNER_FILE).read_text())
        settings.pop("name"), settings.pop("algorithm")
        settings.pop("mirror", None)  # saved before `augment` replaced it (mirror only)
        learner = cls(game, name, AlphaZeroConfig(**settings), device)
        model, _ = load_checkpoint(directory / "model", game=game, device=learner.device)
        learner.model.load_state_dict(model.state_dict())
        arrays, extra = load_training_state(directory / "train", learner.optimizer)
        for key, value in arrays.items():
            learner.buffer[key][: len(value)] = value
        learner.steps = extra["steps"]
        learner.filled = len(arrays["value"])
        learner.cursor = learner.filled % learner.config.buffer_size
        return learner

    def snapshot_spec(self, checkpoint: Path) -> str:
        return self.config.play_spec(checkpoint, self.config.eval_sims)
