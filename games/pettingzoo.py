"""PettingZoo AEC adapter over the batched engine (one game in a batch of one).

Conventions follow PettingZoo's classic board games (``connect_four_v3``): agents
``player_0`` (moves first) and ``player_1``; dict observations with ``observation``
(int8 planes ``(rows, cols, planes)``: the engine's observation for the observing agent,
channels last; for the board games plane 0 holds that agent's stones, plane 1 the
opponent's; image row 0 is the top) and ``action_mask`` (int8, all zeros except for the
agent to move in an unfinished game); actions are the engine's (OpenSpiel's) numbers.
"""

from __future__ import annotations

import operator
import time
import warnings
from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv

from games import batched
from games.game import Game
from games.kernels import DONE, TO_PLAY

RENDER_MODES = ("ansi", "rgb_array")


class ArenaAECEnv(AECEnv):
    """One game of `game` as a PettingZoo AECEnv; get one with `games.pettingzoo_env(spec)`.

    An illegal action, or one outside the action space, ends the game at once: the mover
    gets -1, the other player +1 (zero-sum, like a loss on the board), every agent is
    terminated and the mover's info holds a ``reason`` string. PettingZoo's own
    ``TerminateIllegalWrapper`` (used by ``connect_four_v3``) gives the other player 0
    instead, and also sets the truncations; here truncations stay False.

    Render modes: ``ansi`` (the engine's text board) and ``rgb_array`` (uint8 HxWx3).
    Another mode (``render_test`` builds a ``human`` env only to read the metadata) is
    accepted with a warning, and `render` then returns None.

    Handles two-player games with planes observations ``(planes, rows, cols)``.
    """

    def __init__(self, game: Game, render_mode: str | None = None):
        super().__init__()
        if game.num_players != 2 or len(game.obs_shape) != 3:
            raise NotImplementedError(
                f"{game.spec}: the PettingZoo adapter needs a two-player game with "
                f"(planes, rows, cols) observations, got {game.num_players} players and "
                f"observation shape {game.obs_shape}"
            )
        if render_mode is not None and render_mode not in RENDER_MODES:
            warnings.warn(
                f"render mode {render_mode!r} is not supported (supported: {RENDER_MODES}); "
                "render() will return None",
                stacklevel=3,  # point at the caller of games.pettingzoo_env
            )
        self.game = game
        self.render_mode = render_mode
        self.metadata = {
            "render_modes": list(RENDER_MODES),
            "name": f"arena_{game.name}_v0",
            "is_parallelizable": False,
            "render_fps": 2,
        }
        self.possible_agents = [f"player_{i}" for i in range(game.num_players)]
        self._player = {agent: i for i, agent in enumerate(self.possible_agents)}
        planes, *board = game.obs_shape
        obs_shape = (*board, planes)  # PettingZoo's HWC layout
        # One space object per agent: api_test and seed_test seed and compare them per agent.
        self.observation_spaces = {
            agent: spaces.Dict(
                {
                    "observation": spaces.Box(0, 1, obs_shape, dtype=np.int8),
                    "action_mask": spaces.Box(0, 1, (game.num_actions,), dtype=np.int8),
                }
            )
            for agent in self.possible_agents
        }
        self.action_spaces = {
            agent: spaces.Discrete(game.num_actions) for agent in self.possible_agents
        }
        # Batch-of-one scratch arrays for the batched kernels (a batch of one game),
        # reused on every call; observe() copies out of them.
        self._planes = np.empty((1, *game.obs_shape), dtype=np.float32)
        self._legal = np.empty((1, game.num_actions), dtype=np.bool_)
        self._step_rewards = np.zeros((1, game.num_players), dtype=np.float32)
        self._move = np.zeros(1, dtype=np.int64)
        self._bad = np.zeros(1, dtype=np.bool_)
        # Seeds for unseeded resets; a seeded reset re-seeds it, so what follows repeats.
        self._seeds = np.random.default_rng()
        self.reset()

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        """Start a new game; the same seed gives the same game (for games with chance)."""
        if seed is not None:
            self._seeds = np.random.default_rng(seed)
            game_seed = seed
        else:
            game_seed = int(self._seeds.integers(2**62))
        self.engine_state = self.game.init(1, game_seed)
        self._data = self.engine_state.data
        self._over = False  # set by the engine's end of game or by an illegal move
        self.agents = self.possible_agents[:]
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {agent: {} for agent in self.agents}
        self._skip_agent_selection = None
        self.agent_selection = self.possible_agents[0]

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        """The board from `agent`'s side (any agent, not only the one to move)."""
        player = self._player[agent]
        to_play = self._data[0, TO_PLAY]
        batched.observe(self.game.params, self._data, player, self._planes)
        observation = self._planes[0].transpose(1, 2, 0).astype(np.int8, order="C")
        if self._over or to_play != player:
            mask = np.zeros(self.game.num_actions, dtype=np.int8)
        else:
            batched.legal(self.game.params, self._data, self._legal)
            mask = self._legal[0].astype(np.int8)
        return {"observation": observation, "action_mask": mask}

    def step(self, action: int | None) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        self._cumulative_rewards[agent] = 0.0
        data = self._data
        try:
            move = operator.index(action)
        except TypeError:
            move = -1
        if not 0 <= move < self.game.num_actions:
            self._lose_by_illegal_move(
                agent, f"action {action!r} is outside the action space {self.action_space(agent)}"
            )
            return
        rewards = self._step_rewards
        self._move[0] = move
        if batched.step(self.game.params, data, self._move, rewards, self._bad):
            self._lose_by_illegal_move(agent, f"action {move} is illegal in this position")
            return
        for i, other in enumerate(self.possible_agents):
            self.rewards[other] = float(rewards[0, i])
        if data[0, DONE]:
            self._over = True
            for other in self.agents:
                self.terminations[other] = True
        self.agent_selection = self.possible_agents[data[0, TO_PLAY]]
        self._accumulate_rewards()

    def _lose_by_illegal_move(self, agent: str, reason: str) -> None:
        self._over = True
        for other in self.agents:
            self.rewards[other] = 1.0
            self.terminations[other] = True
        self.rewards[agent] = -1.0
        self.infos[agent]["reason"] = reason
        self.agent_selection = self.possible_agents[1 - self._player[agent]]
        self._accumulate_rewards()

    def render(self) -> str | np.ndarray | None:
        if self.render_mode == "ansi":
            return self.game.render_text(self.engine_state)
        if self.render_mode == "rgb_array":
            return self.game.render_rgb(self.engine_state)
        gymnasium.logger.warn(
            f"render() called with render mode {self.render_mode!r}; "
            f"pass render_mode= one of {RENDER_MODES} to the constructor"
        )
        return None

    def close(self) -> None:
        """Nothing to release (no window); api_test requires close() next to render()."""


def pettingzoo_steps_per_second(
    env_fn: Callable[[], AECEnv], seconds: float, seed: int = 0
) -> float:
    """env.step() calls per second of a random legal-move loop over the AEC env `env_fn()`.

    Every step counts, including the None steps of terminated agents; the env is reset when
    all agents are done. One warm-up game (JIT loading, caches) is played untimed first.
    """
    env = env_fn()
    rng = np.random.default_rng(seed)

    def play(until: float, max_games: int) -> int:
        steps = finished = 0
        env.reset(seed=seed)
        while finished < max_games and time.perf_counter() < until:
            observation, _, terminated, truncated, _ = env.last()
            if terminated or truncated:
                action = None
            else:
                legal = np.flatnonzero(observation["action_mask"])
                action = int(legal[int(rng.random() * legal.size)])
            env.step(action)
            steps += 1
            if not env.agents:
                finished += 1
                env.reset()
        return steps

    play(float("inf"), max_games=1)
    start = time.perf_counter()
    steps = play(start + seconds, max_games=2**62)
    return steps / (time.perf_counter() - start)
