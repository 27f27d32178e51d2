"""Policy-value networks: a residual conv net for boards, an MLP for everything else.

Both map observations float32[B, *obs_shape] (from the mover's view, so one net plays both
seats) to (policy logits float32[B, num_actions], value float32[B] in [-1, 1]). A `NetConfig`
describes a network completely, so a checkpoint stores the config and rebuilds the network.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from games import Game

ARCHITECTURES = ("resnet", "mlp")
# Bounds on what a config (a league config, a checkpoint's sidecar) may ask for: far above
# any network this project trains, far below sizes that would exhaust memory when built.
MAX_BLOCKS = 64
MAX_CHANNELS = 1024  # also bounds value_hidden


@dataclass(frozen=True)
class NetConfig:
    """Everything needed to rebuild a network.

    resnet: `blocks` residual blocks of `channels` 3x3 convolutions over obs_shape = (C, H, W).
    mlp: the observation flattened, then `blocks` hidden layers of width `channels`.
    Both: a value head with one hidden layer of `value_hidden` units.
    """

    architecture: str
    obs_shape: tuple[int, ...]
    num_actions: int
    blocks: int = 4
    channels: int = 64
    value_hidden: int = 64

    def __post_init__(self) -> None:
        object.__setattr__(self, "obs_shape", tuple(int(d) for d in self.obs_shape))
        if self.architecture not in ARCHITECTURES:
            raise ValueError(
                f"unknown architecture {self.architecture!r}; choose one of {ARCHITECTURES}"
            )
        if self.architecture == "resnet" and len(self.obs_shape) != 3:
            raise ValueError(f"resnet needs (C, H, W) observations, got {self.obs_shape}")
        if not self.obs_shape or min(self.obs_shape) < 1:
            raise ValueError(f"obs_shape must be non-empty and positive, got {self.obs_shape}")
        if self.num_actions < 1 or self.channels < 1 or self.value_hidden < 1:
            raise ValueError("num_actions, channels and value_hidden must be positive")
        if self.blocks < (1 if self.architecture == "mlp" else 0):
            raise ValueError(f"{self.architecture} cannot have {self.blocks} blocks")
        if self.blocks > MAX_BLOCKS:
            raise ValueError(f"blocks must be at most {MAX_BLOCKS}, got {self.blocks}")
        if max(self.channels, self.value_hidden) > MAX_CHANNELS:
            raise ValueError(
                f"channels and value_hidden must be at most {MAX_CHANNELS}, "
                f"got {self.channels} and {self.value_hidden}"
            )

    @classmethod
    def for_game(cls, game: Game, architecture: str | None = None, **sizes) -> NetConfig:
        """A config for `game`: resnet for board planes (C, H, W), else mlp."""
        if architecture is None:
            architecture = "resnet" if len(game.obs_shape) == 3 else "mlp"
        return cls(architecture, game.obs_shape, game.num_actions, **sizes)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["obs_shape"] = list(self.obs_shape)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> NetConfig:
        if not isinstance(d, dict):
            raise ValueError(f"a network config must be a JSON object, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown network config keys {unknown}; known: {sorted(known)}")
        try:
            return cls(**d)
        except TypeError as err:  # a required key is missing
            raise ValueError(f"incomplete network config {d}: {err}") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> NetConfig:
        return cls.from_dict(json.loads(text))


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(x + self.bn2(self.conv2(y)))


class ResNet(nn.Module):
    """AlphaZero's network, scaled down: conv stem, residual tower, policy and value heads."""

    def __init__(self, config: NetConfig):
        super().__init__()
        self.config = config
        planes, height, width = config.obs_shape
        c = config.channels
        self.stem = nn.Sequential(
            nn.Conv2d(planes, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU()
        )
        self.tower = nn.Sequential(*(ResidualBlock(c) for _ in range(config.blocks)))
        self.policy_head = nn.Sequential(
            nn.Conv2d(c, 2, 1, bias=False),
            nn.BatchNorm2d(2),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(2 * height * width, config.num_actions),
        )
        self.value_head = nn.Sequential(
            nn.Conv2d(c, 1, 1, bias=False),
            nn.BatchNorm2d(1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(height * width, config.value_hidden),
            nn.ReLU(),
            nn.Linear(config.value_hidden, 1),
        )

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.tower(self.stem(obs))
        return self.policy_head(x), torch.tanh(self.value_head(x)).squeeze(-1)


class MLP(nn.Module):
    """For observations without board structure (cards, small vectors)."""

    def __init__(self, config: NetConfig):
        super().__init__()
        self.config = config
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(config.obs_shape)
        for _ in range(config.blocks):
            layers += [nn.Linear(width, config.channels), nn.ReLU()]
            width = config.channels
        self.trunk = nn.Sequential(*layers)
        self.policy_head = nn.Linear(width, config.num_actions)
        self.value_head = nn.Sequential(
            nn.Linear(width, config.value_hidden), nn.ReLU(), nn.Linear(config.value_hidden, 1)
        )

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.trunk(obs)
        return self.policy_head(x), torch.tanh(self.value_head(x)).squeeze(-1)


def state_shapes(config: NetConfig) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor in `build_network(config).state_dict()`, computed
    without building anything, so a checkpoint's tensors are checked before any network
    exists. Mirrors ResNet and MLP above (a test compares the two)."""
    shapes: dict[str, tuple[int, ...]] = {}

    def linear(name: str, width_in: int, width_out: int) -> None:
        shapes[f"{name}.weight"] = (width_out, width_in)
        shapes[f"{name}.bias"] = (width_out,)

    def conv(name: str, planes_in: int, planes_out: int, kernel: int) -> None:
        shapes[f"{name}.weight"] = (planes_out, planes_in, kernel, kernel)

    def batch_norm(name: str, planes: int) -> None:
        for part in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{name}.{part}"] = (planes,)
        shapes[f"{name}.num_batches_tracked"] = ()

    c, hidden = config.channels, config.value_hidden
    if config.architecture == "resnet":
        planes, height, width = config.obs_shape
        conv("stem.0", planes, c, 3)
        batch_norm("stem.1", c)
        for i in range(config.blocks):
            for k in (1, 2):
                conv(f"tower.{i}.conv{k}", c, c, 3)
                batch_norm(f"tower.{i}.bn{k}", c)
        conv("policy_head.0", c, 2, 1)
        batch_norm("policy_head.1", 2)
        linear("policy_head.4", 2 * height * width, config.num_actions)
        conv("value_head.0", c, 1, 1)
        batch_norm("value_head.1", 1)
        linear("value_head.4", height * width, hidden)
        linear("value_head.6", hidden, 1)
        return shapes
    width = math.prod(config.obs_shape)
    for i in range(config.blocks):
        linear(f"trunk.{2 * i + 1}", width, c)
        width = c
    linear("policy_head", width, config.num_actions)
    linear("value_head.0", width, hidden)
    linear("value_head.2", hidden, 1)
    return shapes


def build_network(config: NetConfig) -> ResNet | MLP:
    """A freshly initialised network for `config` (its `config` attribute keeps the config)."""
    return ResNet(config) if config.architecture == "resnet" else MLP(config)


def inference_copy(model: nn.Module) -> nn.Module:
    """A copy of `model` for evaluation only, with the same outputs up to float rounding
    (tests: 1e-5): a ResNet's batch norms folded into the convolutions before them and its
    weights channels-last (NHWC), which with inputs in that format avoids a layout change
    around every convolution. Together 1.1-1.7x the evaluations per second on the CPU at
    search's batch sizes (docs/results.md). Other networks are returned as they are."""
    if not isinstance(model, ResNet):
        return model
    fast = copy.deepcopy(model).eval()

    def fold(conv: nn.Module, norm: nn.Module) -> tuple[nn.Module, nn.Module]:
        return fuse_conv_bn_eval(conv, norm), nn.Identity()

    fast.stem[0], fast.stem[1] = fold(fast.stem[0], fast.stem[1])
    for block in fast.tower:
        block.conv1, block.bn1 = fold(block.conv1, block.bn1)
        block.conv2, block.bn2 = fold(block.conv2, block.bn2)
    for head in (fast.policy_head, fast.value_head):
        head[0], head[1] = fold(head[0], head[1])
    return fast.to(memory_format=torch.channels_last).requires_grad_(False)


def masked_softmax(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the entries where mask is True; exactly 0 elsewhere.

    A row with no True entry (a finished game) gets all zeros rather than NaN.
    """
    filled = logits.masked_fill(~mask, torch.finfo(logits.dtype).min)
    # Masked entries underflow to exactly 0 after the max shift; an all-masked row would
    # be uniform, and multiplying by the mask zeroes it.
    return torch.softmax(filled, dim=-1) * mask
