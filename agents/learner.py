"""The Learner protocol: what the league needs from a trainable agent.

A learner plays league games through an ordinary `Agent` (its exploring policy), records
training data as the match runner reports each of its moves, learns when told, and saves
itself atomically so a killed league resumes from its last checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from agents.base import Agent
from agents.network import NetConfig
from games import State


class Learner(Protocol):
    name: str
    steps: int  # gradient steps taken so far
    model: torch.nn.Module  # the live network (frozen copies are saved from it)
    net_config: NetConfig

    def greedy_agent(self, name: str) -> Agent:
        """The current network playing its best move (search included)."""
        ...

    def rated_agent(self, name: str) -> Agent:
        """The current network as evaluation games play and rate it, and as its frozen
        copies (`snapshot_spec`) play: its best move, except where a game's equilibria
        are mixed (hidden information, simultaneous moves) and a learner that learned a
        mixed strategy plays it."""
        ...

    def agent(self) -> Agent:
        """The exploring policy that plays this learner's training games."""
        ...

    def record(
        self, game_indices: np.ndarray, state: State, legal_mask: np.ndarray, actions: np.ndarray
    ) -> None:
        """Called right after `agent().act` for those games (state = position before the move)."""
        ...

    def take_recorded(self) -> list:
        """Removes and returns the moves recorded since the last `end_games` (a picklable
        list), so that a learner in another process can be given them with `put_recorded`."""
        ...

    def put_recorded(self, moves: list) -> None:
        """Adds moves that `take_recorded` returned (from this learner or a copy of it) to
        the recorded moves, as if recorded here, for the next `end_games`."""
        ...

    def end_games(self, returns: np.ndarray) -> int:
        """Every game of the last match is over: returns[g, seat] for all its games. Turns the
        recorded moves into training samples; returns how many samples were added."""
        ...

    def train(self, steps: int, rng: np.random.Generator) -> dict[str, float]:
        """Take `steps` gradient steps; returns mean losses by name."""
        ...

    def save(self, directory: Path, parent: str | None = None) -> None:
        """Write weights (agents.checkpoint format) and learner state into `directory`,
        atomically, so that `load` on a killed run finds the last complete save."""
        ...

    def snapshot_spec(self, checkpoint: Path) -> str:
        """The agent spec that plays a frozen copy saved at `checkpoint` (e.g. az:PATH,sims=64)."""
        ...
