"""PPO (Schulman et al. 2017, "Proximal Policy Optimization Algorithms") as a league learner.

The learner plays through `agent()`, which samples from the masked softmax of its network.
The league forwards each of that agent's batched moves to `record` (the match runner's
observer); `end_games` turns a finished match into samples with GAE; `train` runs the
clipped-surrogate update over them and drops them, since PPO learns on-policy only. For the
same reason it does not train on board symmetries of its samples (as the AlphaZero learner
does): the probability ratio needs the collecting policy's probability of each sample's own
action, which a transformed sample does not have unless the network were symmetric.

Two-player games as seen by one player: a trajectory is one player's own moves in one game,
in order, and the opponent's moves are part of the environment. The only reward is the
game's return to that player, received at its last move. So a self-play game (the learner
in both seats) yields two trajectories, one per seat, and the same network learns both.

The network runs in eval mode only, in acting and in learning alike: with batch statistics
in BatchNorm (train mode) the network would be a different function of each minibatch, and
the probability ratio would not start at 1 for the policy that collected the data.

Files written by `save(directory)`:

    DIR/model.safetensors + DIR/model.json   the network, an `agents.checkpoint` checkpoint
                                             (`checkpoint:DIR/model` plays it)
    DIR/train_state.safetensors + .json      Adam's state and the rollout buffer not yet
                                             trained on (`agents.train_state`)
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from agents.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from agents.device import resolve_device
from agents.network import NetConfig, build_network
from agents.neural import NeuralAgent
from agents.spec import spec_path
from agents.train_state import load_training_state, save_training_state
from games import Game, State

MODEL_STEM = "model"
ALGORITHM = "ppo"
# Where a rated PPO agent samples its policy (see PPOLearner.rated_temperature): at the
# temperature its training games sampled it.
RATED_SAMPLING_TEMPERATURE = 1.0
# What one sample of the rollout buffer holds (the buffer is a dict of arrays by these names).
_FIELDS = ("obs", "mask", "action", "logprob", "value", "advantage", "target")


def compute_gae(
    values: np.ndarray,
    rewards: np.ndarray,
    last: np.ndarray,
    gamma: float,
    gae_lambda: float,
) -> np.ndarray:
    """Generalized advantage estimates (Schulman et al. 2016) over concatenated trajectories.

    values[t] is the value estimate at move t, rewards[t] the reward that follows it, and
    last[t] marks the final move of a trajectory (the game ended: nothing to bootstrap from).
    Returns float32 advantages; the value targets are advantages + values.
    """
    advantages = np.zeros(len(values), dtype=np.float32)
    running = 0.0
    for t in reversed(range(len(values))):
        following = 0.0 if last[t] else 1.0
        next_value = values[t + 1] if following else 0.0
        delta = rewards[t] + gamma * next_value - values[t]
        running = delta + gamma * gae_lambda * following * running
        advantages[t] = running
    return advantages


class PPOAgent:
    """The learner's exploring policy: samples each move from the network's masked softmax
    (temperature 1). Keeps the last call's log-probs and values for the learner's `record`."""

    def __init__(self, learner: PPOLearner):
        self.name = learner.name
        self.learner = learner
        self.last_annotations: dict[str, np.ndarray] = {}

    def evaluate(
        self, game: Game, state: State, legal_mask: np.ndarray, player: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(policy float32[B, A] over legal moves, value float32[B]) from the view of the
        mover, or of `player` (a seat at simultaneous nodes, as in `act`)."""
        logprobs, values = self.learner.forward_numpy(game.observe(state, player), legal_mask)
        return np.exp(logprobs) * legal_mask, values

    def act(
        self,
        game: Game,
        state: State,
        legal_mask: np.ndarray,
        rng: np.random.Generator,
        player: int | None = None,
    ) -> np.ndarray:
        obs = game.observe(state, player)
        logprobs, values = self.learner.forward_numpy(obs, legal_mask)
        # Gumbel-max: the argmax of log-probabilities plus Gumbel noise is a sample of the
        # policy, drawn from the match's rng so that seeded matches replay exactly.
        scores = np.where(legal_mask, logprobs, -np.inf) + rng.gumbel(size=logprobs.shape)
        actions = scores.argmax(axis=1).astype(np.int64)
        probs = np.exp(logprobs) * legal_mask
        self.last_annotations = {
            "value": values,
            "policy_entropy": -(probs * np.where(legal_mask, logprobs, 0.0)).sum(axis=1),
        }
        self.learner.last_act = {
            "rows": state.data.copy(),
            # Whose move each was: the seat asked at simultaneous nodes, else the mover.
            "player": state.to_play.copy() if player is None else np.full(len(state), player),
            "obs": obs,
            "mask": legal_mask.copy(),
            "action": actions,
            "logprob": logprobs[np.arange(len(actions)), actions],
            "value": values,
        }
        return actions


class PPOLearner:
    """A PPO learner for one game; see the module docstring for the data flow and files."""

    def __init__(
        self,
        game: Game,
        name: str,
        net: NetConfig | None = None,
        lr: float = 3e-4,
        clip: float = 0.2,
        gamma: float = 1.0,
        gae_lambda: float = 0.95,
        entropy_coef: float = 0.01,
        value_coef: float = 0.5,
        epochs: int = 4,
        minibatch: int = 512,
        max_grad_norm: float = 0.5,
        device: str | torch.device = "auto",
        seed: int = 0,
    ):
        if epochs < 1 or minibatch < 1:
            raise ValueError(f"epochs and minibatch must be >= 1, got {epochs} and {minibatch}")
        self.game = game
        self.name = name
        self.steps = 0
        self.config = net or NetConfig.for_game(game)
        if self.config.obs_shape != game.obs_shape or self.config.num_actions != game.num_actions:
            raise ValueError(f"network config {self.config.to_json()} does not fit {game.name}")
        self.hyperparameters = {
            "algorithm": ALGORITHM,
            "lr": lr,
            "clip": clip,
            "gamma": gamma,
            "gae_lambda": gae_lambda,
            "entropy_coef": entropy_coef,
            "value_coef": value_coef,
            "epochs": epochs,
            "minibatch": minibatch,
            "max_grad_norm": max_grad_norm,
            "seed": seed,
        }
        self.device = resolve_device(device)
        # The seed fixes the initial weights without touching torch's global generator.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.model = build_network(self.config).to(self.device).eval()
        # eps=1e-5 as in CleanRL's PPO (the PyTorch default 1e-8 is tuned for supervised nets).
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr, eps=1e-5)
        self.last_act: dict[str, np.ndarray] | None = None  # the agent's last batched move
        self.moves: list[dict[str, np.ndarray]] = []  # recorded moves of the games in play
        self.rollout: list[dict[str, np.ndarray]] = []  # samples of finished games, by match
        self._agent = PPOAgent(self)

    def policy(self, obs: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(log-probabilities [B, A] of the masked softmax, values [B]) on the device.

        Illegal moves get the most negative float rather than -inf, so that their
        probability is exactly 0 while entropy and gradients stay finite.
        """
        logits, values = self.model(obs)
        logits = logits.float().masked_fill(~mask, torch.finfo(torch.float32).min)
        return F.log_softmax(logits, dim=-1), values.float()

    def forward_numpy(self, obs: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`policy` for numpy inputs: one batched forward pass without gradients."""
        with torch.inference_mode():
            logprobs, values = self.policy(
                torch.from_numpy(obs).to(self.device), torch.from_numpy(mask).to(self.device)
            )
        return logprobs.cpu().numpy(), values.cpu().numpy()

    # -- the Learner protocol ------------------------------------------------------------

    def agent(self) -> PPOAgent:
        return self._agent

    def record(
        self, game_indices: np.ndarray, state: State, legal_mask: np.ndarray, actions: np.ndarray
    ) -> None:
        """Keep the moves of the agent's last `act` (which covered exactly these games)."""
        last = self.last_act
        if (
            last is None
            or not np.array_equal(last["rows"], state.data)
            or not np.array_equal(last["action"], actions)
        ):
            raise ValueError(
                f"{self.name}: record must follow this learner's agent().act on the same games "
                "and actions"
            )
        self.last_act = None  # each move is recorded once
        self.moves.append(
            {
                "game": np.array(game_indices, dtype=np.int64),
                **{k: last[k] for k in ("player", "obs", "mask", "action", "logprob", "value")},
            }
        )

    def take_recorded(self) -> list:
        moves, self.moves = self.moves, []
        return moves

    def put_recorded(self, moves: list) -> None:
        self.moves.extend(moves)

    def end_games(self, returns: np.ndarray) -> int:
        """Close every recorded game with its returns; returns the number of samples added."""
        if not self.moves:
            return 0
        moves = {k: np.concatenate([m[k] for m in self.moves]) for k in self.moves[0]}
        returns = np.asarray(returns, dtype=np.float32)
        if returns.ndim != 2 or returns.shape[1] != self.game.num_players:
            raise ValueError(
                f"returns must be [games, {self.game.num_players}], got {returns.shape}"
            )
        if moves["game"].max() >= len(returns):
            raise ValueError(
                f"a move was recorded for game {moves['game'].max()}, but returns cover "
                f"{len(returns)} games"
            )
        self.moves = []
        # Group moves into trajectories, one per (game, player), each in the order played
        # (lexsort is stable, and the moves were recorded in play order).
        order = np.lexsort((moves["player"], moves["game"]))
        moves = {k: v[order] for k, v in moves.items()}
        game, player = moves["game"], moves["player"]
        last = np.ones(len(game), dtype=bool)
        last[:-1] = (game[1:] != game[:-1]) | (player[1:] != player[:-1])
        rewards = np.where(last, returns[game, player], 0.0)
        gamma, lam = self.hyperparameters["gamma"], self.hyperparameters["gae_lambda"]
        advantages = compute_gae(moves["value"], rewards, last, gamma, lam)
        sample = {k: moves[k] for k in ("obs", "mask", "action", "logprob", "value")}
        sample["advantage"] = advantages
        sample["target"] = advantages + moves["value"]
        self.rollout.append(sample)
        return len(game)

    def train(self, steps: int, rng: np.random.Generator) -> dict[str, float]:
        """Up to `steps` minibatch gradient steps (at most `epochs` passes over the rollout
        buffer), then the buffer is emptied. Returns the mean losses, or {} when no step was
        taken (an empty buffer, or steps == 0: the buffer is then kept)."""
        if steps < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
        buffer = self.buffer()
        n = len(buffer["action"])
        if n == 0 or steps == 0:
            return {}
        hp = self.hyperparameters
        data = {k: torch.from_numpy(v).to(self.device) for k, v in buffer.items()}
        # Advantages normalised over the whole buffer (a minibatch may hold a single sample).
        if n > 1:
            adv = data["advantage"]
            data["advantage"] = (adv - adv.mean()) / (adv.std() + 1e-8)
        size = min(hp["minibatch"], n)
        batches = (
            batch
            for _ in range(hp["epochs"])
            for batch in np.array_split(rng.permutation(n), math.ceil(n / size))
        )
        stats: dict[str, list[float]] = {
            k: [] for k in ("policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction")
        }
        for batch in itertools.islice(batches, steps):
            mb = {k: v[torch.from_numpy(batch).to(self.device)] for k, v in data.items()}
            logprobs, values = self.policy(mb["obs"], mb["mask"])
            new_logprob = logprobs.gather(1, mb["action"].unsqueeze(1)).squeeze(1)
            log_ratio = new_logprob - mb["logprob"]
            ratio = log_ratio.exp()

            # Clipped surrogate objective: never profit from moving the ratio past 1 +- clip.
            adv = mb["advantage"]
            policy_loss = torch.max(
                -adv * ratio, -adv * torch.clamp(ratio, 1 - hp["clip"], 1 + hp["clip"])
            ).mean()
            value_loss = 0.5 * ((values - mb["target"]) ** 2).mean()
            entropy = -(logprobs.exp() * logprobs).sum(dim=1).mean()
            loss = policy_loss - hp["entropy_coef"] * entropy + hp["value_coef"] * value_loss

            self.optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), hp["max_grad_norm"])
            self.optimizer.step()

            with torch.no_grad():
                # The low-variance KL estimator (ratio - 1) - log ratio (Schulman's blog, 2020).
                approx_kl = ((ratio - 1) - log_ratio).mean()
                clipped = ((ratio - 1).abs() > hp["clip"]).float().mean()
            for key, value in zip(
                stats, (policy_loss, value_loss, entropy, approx_kl, clipped), strict=True
            ):
                stats[key].append(value.item())
            self.steps += 1
        self.rollout = []
        return {k: float(np.mean(v)) for k, v in stats.items()}

    def buffer(self) -> dict[str, np.ndarray]:
        """The rollout buffer (samples not trained on yet) as one array per field."""
        if not self.rollout:
            shapes = {"obs": self.game.obs_shape, "mask": (self.game.num_actions,)}
            dtypes = {"obs": np.float32, "mask": np.bool_, "action": np.int64}
            return {
                k: np.zeros((0, *shapes.get(k, ())), dtype=dtypes.get(k, np.float32))
                for k in _FIELDS
            }
        return {k: np.concatenate([s[k] for s in self.rollout]) for k in _FIELDS}

    def save(self, directory: Path, parent: str | None = None) -> None:
        """Checkpoint first, training state last: the training state names the checkpoint's
        weights (sha256), so `load` refuses a pair torn by a crash between the two."""
        directory = Path(directory)
        _, meta_path = save_checkpoint(
            directory / MODEL_STEM,
            self.model,
            self.config,
            self.game.spec,
            hyperparameters=self.hyperparameters,
            parent=parent,
            step=self.steps,
        )
        weights_sha256 = json.loads(meta_path.read_text(encoding="utf-8"))["weights"]["sha256"]
        save_training_state(
            directory,
            self.optimizer,
            extra_arrays={f"rollout.{k}": v for k, v in self.buffer().items()},
            extra_json={"algorithm": ALGORITHM, "step": self.steps, "weights": weights_sha256},
        )

    @classmethod
    def load(
        cls, directory: Path, game: Game, name: str, device: str | torch.device = "auto"
    ) -> PPOLearner:
        """The learner saved in `directory`: weights, optimizer, step and rollout buffer."""
        directory = Path(directory)
        model, meta = load_checkpoint(directory / MODEL_STEM, game=game, device="cpu")
        hp = dict(meta["hyperparameters"])
        if hp.pop("algorithm", None) != ALGORITHM:
            raise CheckpointError(f"{directory} does not hold a {ALGORITHM} learner")
        learner = cls(
            game, name, net=NetConfig.from_dict(meta["architecture"]), device=device, **hp
        )
        learner.model.load_state_dict(model.state_dict())
        arrays, extra = load_training_state(directory, learner.optimizer)
        if extra.get("weights") != meta["weights"]["sha256"] or extra.get("step") != meta["step"]:
            raise CheckpointError(
                f"{directory}: the training state and the checkpoint come from different "
                "saves (was a save interrupted?)"
            )
        learner.steps = int(meta["step"])
        rollout = {k: arrays[f"rollout.{k}"] for k in _FIELDS}
        if len(rollout["action"]):
            learner.rollout = [rollout]
        return learner

    def snapshot_spec(self, checkpoint: Path) -> str:
        """`checkpoint:PATH`: a frozen copy plays as `rated_agent` does.

        `checkpoint` is a directory given to `save`, or the model stem inside one.
        """
        path = Path(checkpoint)
        if path.is_dir():
            path = path / MODEL_STEM
        spec_path(path, "a snapshot")  # a comma or '=' would split the spec
        sampled = f",temperature={RATED_SAMPLING_TEMPERATURE:g}" if self.rated_temperature else ""
        return f"checkpoint:{path}{sampled}"

    @property
    def rated_temperature(self) -> float:
        """Greedy in games of perfect information: the sampling policy keeps exploring
        moves it already knows to be worse, which makes a frozen opponent (and its rating)
        weaker than what it learned. Sampled where equilibria are mixed (hidden
        information, simultaneous moves): there the greedy policy is a pure strategy that
        loses what mixing earns (in rock-paper-scissors, to one of the pure strategies)."""
        return 0.0 if self.game.perfect_information else RATED_SAMPLING_TEMPERATURE

    @property
    def net_config(self) -> NetConfig:
        return self.config

    def greedy_agent(self, name: str) -> NeuralAgent:
        """The current network playing its most likely move."""
        return NeuralAgent(self.game, self.model, name=name, temperature=0.0, device=self.device)

    def rated_agent(self, name: str) -> NeuralAgent:
        return NeuralAgent(
            self.game, self.model, name=name, temperature=self.rated_temperature, device=self.device
        )
