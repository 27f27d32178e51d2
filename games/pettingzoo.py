"""PettingZoo adapters over the batched engine (one game in a batch of one): an AEC env
for every game and, for games with simultaneous moves, a ParallelEnv.

Conventions follow PettingZoo's classic games (``connect_four_v3``): agents ``player_0``
(moves first), ``player_1``, ...; dict observations with ``observation`` (the engine's
observation for the observing agent only: board games' planes as int8 channels last,
``(rows, cols, planes)``, plane 0 that agent's stones, image row 0 the top; other games'
vectors as float32) and ``action_mask`` (int8; all zeros except for an agent that may act
now in an unfinished game); actions are the engine's (OpenSpiel's) numbers.

Chance nodes are resolved inside the env from the game's own seeded random state (so a
seed fixes the game): agents never see or play them. At a simultaneous node the AEC env
selects each player in turn, holds their actions without showing them to anyone, and
steps the engine once with all of them; the ParallelEnv takes them all in one `step`.
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
from pettingzoo import AECEnv, ParallelEnv

from games.game import Game
from games.layout import SIMULTANEOUS

RENDER_MODES = ("ansi", "rgb_array")


class _Table:
    """What both envs share: one game of `game`, its agents and spaces, and the rules of
    an agent's move (legal, illegal, the engine step with chance resolved after it)."""

    def __init__(self, game: Game, render_mode: str | None, parallel: bool):
        if render_mode is not None and render_mode not in RENDER_MODES:
            warnings.warn(
                f"render mode {render_mode!r} is not supported (supported: {RENDER_MODES}); "
                "render() will return None",
                stacklevel=5,  # point at the caller of games.pettingzoo_env
            )
        self.game = game
        self.render_mode = render_mode
        self.metadata = {
            "render_modes": list(RENDER_MODES),
            "name": f"arena_{game.name}_v0",
            "is_parallelizable": parallel,
            "render_fps": 2,
        }
        self.agents = [f"player_{i}" for i in range(game.num_players)]
        self.planes = len(game.obs_shape) == 3
        if self.planes:  # PettingZoo's HWC layout, 0/1 stones
            planes, *board = game.obs_shape
            observation = spaces.Box(0, 1, (*board, planes), dtype=np.int8)
        else:
            observation = spaces.Box(-np.inf, np.inf, game.obs_shape, dtype=np.float32)
        # One space object per agent: api_test and seed_test seed and compare them per agent.
        self.observation_spaces = {
            agent: spaces.Dict(
                {
                    "observation": observation if i == 0 else _copy(observation),
                    "action_mask": spaces.Box(0, 1, (game.num_actions,), dtype=np.int8),
                }
            )
            for i, agent in enumerate(self.agents)
        }
        self.action_spaces = {agent: spaces.Discrete(game.num_actions) for agent in self.agents}
        # Seeds for unseeded resets; a seeded reset re-seeds it, so what follows repeats.
        self._seeds = np.random.default_rng()
        self.state = game.init(1)

    def new_game(self, seed: int | None) -> None:
        if seed is not None:
            self._seeds = np.random.default_rng(seed)
            game_seed = seed
        else:
            game_seed = int(self._seeds.integers(2**62))
        self.state = self.game.init(1, game_seed)
        self.over = False  # set by the engine's end of game or by an illegal move
        self.game.sample_chance(self.state)  # the deal: chance's moves, never an agent's

    def movers(self) -> list[int]:
        """The players who act at the current node (none once over)."""
        if self.over:
            return []
        to_play = int(self.state.to_play[0])
        return list(range(self.game.num_players)) if to_play == SIMULTANEOUS else [to_play]

    def observation(self, player: int, may_act: bool) -> dict[str, np.ndarray]:
        planes = self.game.observe(self.state, player)[0]
        if self.planes:
            observation = planes.transpose(1, 2, 0).astype(np.int8, order="C")
        else:
            observation = planes
        if may_act and not self.over:
            mask = self.game.legal_mask(self.state, player)[0].astype(np.int8)
        else:
            mask = np.zeros(self.game.num_actions, dtype=np.int8)
        return {"observation": observation, "action_mask": mask}

    def illegal(self, player: int, action: object) -> str | None:
        """Why `action` is no move for `player` now, or None when it is legal."""
        try:
            move = operator.index(action)
        except TypeError:
            move = -1
        if not 0 <= move < self.game.num_actions:
            space = spaces.Discrete(self.game.num_actions)
            return f"action {action!r} is outside the action space {space}"
        if not self.game.legal_mask(self.state, player)[0, move]:
            return f"action {move} is illegal in this position"
        return None

    def play(self, actions: list[int]) -> np.ndarray:
        """One engine step (all players' actions at a simultaneous node, else the mover's),
        then any chance nodes it leads to; each player's rewards."""
        joint = np.array([actions] if len(actions) > 1 else actions, dtype=np.int64)
        rewards = self.game.step(self.state, joint)[0]
        rewards = rewards + self.game.sample_chance(self.state)[0]
        self.over = bool(self.state.done[0])
        return rewards

    def forfeit(self, player: int) -> np.ndarray:
        """The rewards of an illegal move: -1 for its player, the others share +1."""
        self.over = True
        n = self.game.num_players
        rewards = np.full(n, 1.0 / (n - 1), dtype=np.float32)
        rewards[player] = -1.0
        return rewards

    def render(self) -> str | np.ndarray | None:
        if self.render_mode == "ansi":
            return self.game.render_text(self.state)
        if self.render_mode == "rgb_array":
            return self.game.render_rgb(self.state)
        gymnasium.logger.warn(
            f"render() called with render mode {self.render_mode!r}; "
            f"pass render_mode= one of {RENDER_MODES} to the constructor"
        )
        return None


def _copy(space: spaces.Box) -> spaces.Box:
    return spaces.Box(space.low, space.high, space.shape, dtype=space.dtype)


class _OneGame:
    """What both envs expose of their `_Table`: the game, agents, spaces and pictures."""

    def _attach(self, game: Game, render_mode: str | None, parallel: bool) -> None:
        self._table = _Table(game, render_mode, parallel)
        self.game = game
        self.render_mode = render_mode
        self.metadata = self._table.metadata
        self.possible_agents = self._table.agents[:]
        self.observation_spaces = self._table.observation_spaces
        self.action_spaces = self._table.action_spaces

    @property
    def engine_state(self):
        """The engine's state of the game (a batch of one)."""
        return self._table.state

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    def render(self) -> str | np.ndarray | None:
        return self._table.render()

    def close(self) -> None:
        """Nothing to release (no window); api_test requires close() next to render()."""


class ArenaAECEnv(_OneGame, AECEnv):
    """One game of `game` as a PettingZoo AECEnv; get one with `games.pettingzoo_env(spec)`.

    At a simultaneous node the players are selected in player order; each one's action is
    held (unseen by the others) until the last arrives, then the engine steps them together.

    An illegal action, or one outside the action space, ends the game at once: the mover
    gets -1, the others share +1 (zero-sum, like a loss on the board), every agent is
    terminated and the mover's info holds a ``reason`` string. PettingZoo's own
    ``TerminateIllegalWrapper`` (used by ``connect_four_v3``) gives the other player 0
    instead, and also sets the truncations; here truncations stay False.

    Render modes: ``ansi`` (the engine's text picture) and ``rgb_array`` (uint8 HxWx3).
    Another mode (``render_test`` builds a ``human`` env only to read the metadata) is
    accepted with a warning, and `render` then returns None.
    """

    def __init__(self, game: Game, render_mode: str | None = None):
        super().__init__()
        self._attach(game, render_mode, parallel=False)
        self._player = {agent: i for i, agent in enumerate(self.possible_agents)}
        self.reset()

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        """Start a new game; the same seed gives the same game (chance included)."""
        self._table.new_game(seed)
        self._held: list[int] = []  # actions taken so far at a simultaneous node
        self.agents = self.possible_agents[:]
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {agent: {} for agent in self.agents}
        self._skip_agent_selection = None
        self.agent_selection = self.possible_agents[self._table.movers()[0]]

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        """`agent`'s own observation (any agent, not only the selected one)."""
        return self._table.observation(self._player[agent], agent == self.agent_selection)

    def step(self, action: int | None) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        self._cumulative_rewards[agent] = 0.0
        player = self._player[agent]
        reason = self._table.illegal(player, action)
        if reason is not None:
            self._end(self._table.forfeit(player), player)
            self.infos[agent]["reason"] = reason
            self._accumulate_rewards()
            return
        movers = self._table.movers()
        self._held.append(operator.index(action))
        if len(self._held) < len(movers):  # a simultaneous node: the next player's turn
            self.rewards = dict.fromkeys(self.agents, 0.0)
            self.agent_selection = self.possible_agents[movers[len(self._held)]]
        else:
            rewards = self._table.play(self._held)
            self._held = []
            if self._table.over:
                self._end(rewards, player)
            else:
                self._set_rewards(rewards)
                self.agent_selection = self.possible_agents[self._table.movers()[0]]
        self._accumulate_rewards()

    def _set_rewards(self, rewards: np.ndarray) -> None:
        for i, other in enumerate(self.possible_agents):
            self.rewards[other] = float(rewards[i])

    def _end(self, rewards: np.ndarray, player: int) -> None:
        """Game over after `player`'s step: everyone terminated; the next agent steps out first."""
        self._set_rewards(rewards)
        for other in self.agents:
            self.terminations[other] = True
        self.agent_selection = self.possible_agents[(player + 1) % len(self.possible_agents)]


class ArenaParallelEnv(_OneGame, ParallelEnv):
    """One game of a game with simultaneous moves as a PettingZoo ParallelEnv; get one with
    `games.pettingzoo_env(spec, parallel=True)`. Every `step` takes the actions of the
    players who act at the node (all of them at a simultaneous node; at a sequential
    node, the mover's: the others' are ignored). An illegal or missing action of an acting
    player ends the game as in the AEC env (the first such player in player order loses).
    """

    def __init__(self, game: Game, render_mode: str | None = None):
        if not game.simultaneous:
            raise ValueError(
                f"{game.spec} has no simultaneous moves: use its AEC env "
                "(games.pettingzoo_env(spec)) instead of parallel=True"
            )
        self._attach(game, render_mode, parallel=True)
        self.agents = self.possible_agents[:]

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, dict], dict[str, dict]]:
        """Start a new game; the same seed gives the same game (chance included)."""
        self._table.new_game(seed)
        self.agents = self.possible_agents[:]
        return self._observations(), {agent: {} for agent in self.agents}

    def _observations(self) -> dict[str, dict[str, np.ndarray]]:
        movers = set(self._table.movers())
        return {
            agent: self._table.observation(p, p in movers)
            for p, agent in enumerate(self.possible_agents)
            if agent in self.agents
        }

    def step(self, actions: dict[str, int]) -> tuple[dict, dict, dict, dict, dict]:
        agents = self.agents
        infos: dict[str, dict] = {agent: {} for agent in agents}
        movers = self._table.movers()
        for p in movers:
            agent = self.possible_agents[p]
            reason = (
                self._table.illegal(p, actions[agent])
                if agent in actions
                else f"no action for {agent}, who acts at this node"
            )
            if reason is not None:
                infos[agent]["reason"] = reason
                rewards = self._table.forfeit(p)
                break
        else:
            rewards = self._table.play(
                [operator.index(actions[self.possible_agents[p]]) for p in movers]
            )
        observations = self._observations()
        over = self._table.over
        self.agents = [] if over else agents
        return (
            observations,
            {
                agent: float(rewards[p])
                for p, agent in enumerate(self.possible_agents)
                if agent in agents
            },
            dict.fromkeys(agents, over),
            dict.fromkeys(agents, False),
            infos,
        )


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
