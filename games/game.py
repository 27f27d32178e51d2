"""The Python face of the engine: `Game` (rules of one game, batched) and `State`."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import numba
import numpy as np

from games import batched, kernels, registry, spec
from games.layout import DONE, LAST_ACTION, PLY, TO_PLAY, WINNER

# Below this batch size the parallel builds cost more in thread start-up than they save.
PARALLEL_MIN_BATCH = 2048
# Threads for the batched kernels. One by default: on a shared or busy machine a parallel
# kernel waits for its slowest thread, and a descheduled thread costs a whole time slice
# (measured: a random-vs-greedy tournament ran 5x slower with 2 threads on a loaded
# 2-core machine). `games.set_threads(n)` opts in.
_threads = 1


def set_threads(threads: int) -> None:
    """Use `threads` Numba threads for large batches (1 = serial kernels only)."""
    global _threads
    if not 1 <= threads <= numba.config.NUMBA_NUM_THREADS:
        raise ValueError(
            f"threads must be between 1 and {numba.config.NUMBA_NUM_THREADS}, got {threads}"
        )
    numba.set_num_threads(threads)
    _threads = threads


def get_threads() -> int:
    return _threads


@dataclass
class State:
    """A batch of games: one int64 row per game (layout in `games.layout`). `game` is the
    canonical spec of its game (`Game.spec`).

    `done`, `to_play`, `ply`, `winner` and `last_action` are read-only views decoded from
    the rows; change a state only through its game's `step` and `reset_done`.
    """

    game: str
    data: np.ndarray

    def __len__(self) -> int:
        return self.data.shape[0]

    @property
    def done(self) -> np.ndarray:
        return self.data[:, DONE] != 0

    @property
    def to_play(self) -> np.ndarray:
        return self.data[:, TO_PLAY]

    @property
    def ply(self) -> np.ndarray:
        return self.data[:, PLY]

    @property
    def winner(self) -> np.ndarray:
        return self.data[:, WINNER]

    @property
    def last_action(self) -> np.ndarray:
        return self.data[:, LAST_ACTION]

    def copy(self) -> State:
        return State(self.game, self.data.copy())

    def take(self, indices) -> State:
        """A new state holding copies of the given games."""
        return State(self.game, self.data[np.asarray(indices)].copy())


class Game:
    """One game's rules, for one setting of its parameters, over batches of states. Get one
    with `games.make(spec)`.

    `name` is the game's base name, `spec` its canonical spec (what states, replays and runs
    store), `params` the parameter tuple its kernels take first (see games.kernels).
    """

    def __init__(self, module: ModuleType, canonical: str, values: dict[str, object]):
        self.module = module
        self.name: str = module.NAME
        self.spec: str = canonical
        # The parameter values of the spec (bools as bools, choices as strings).
        self.values = values
        self.params = kernels.PARAMS_CLASSES[module.NAME](**spec.kernel_params(module, values))
        shape = module.shape(self.params)
        registry.check_features(module, shape)
        self.shape = shape
        self.num_players: int = shape.num_players
        self.num_actions: int = shape.num_actions
        self.obs_shape: tuple[int, ...] = tuple(shape.obs_shape)
        self.max_plies: int = shape.max_plies
        self.row_width: int = shape.width
        # (plane transform name, action permutation perm[a] = image of a), identity first:
        # board symmetries for training augmentation (games.contract.transform_planes).
        self.symmetries: list[tuple[str, np.ndarray]] = module.symmetries(self.params)

    def __repr__(self) -> str:
        return f"games.make({self.spec!r})"

    @property
    def chance(self) -> bool:
        """Has chance nodes (to_play == -1): `chance_outcomes`, `sample_chance`."""
        return self.shape.chance

    @property
    def simultaneous(self) -> bool:
        """Has simultaneous nodes (to_play == -2): `legal_mask(state, player)`, joint steps."""
        return self.shape.simultaneous

    @property
    def hidden(self) -> bool:
        """Players hold private information: `information_keys`, `information_string`."""
        return self.shape.hidden

    @property
    def zero_sum(self) -> bool:
        return self.shape.zero_sum

    @property
    def seat_symmetric(self) -> bool:
        """The rules treat every seat alike (games.contract.Shape.seat_symmetric)."""
        return self.shape.seat_symmetric

    @property
    def perfect_information(self) -> bool:
        """Deterministic, sequential, fully observed: what tree search and solvers assume."""
        return self.shape.perfect_information

    @property
    def mirror_actions(self) -> np.ndarray | None:
        """Actions of the left-right mirror image of a position, as a gather index
        (mirrored_mask = mask[:, mirror_actions]); None when the game has no such symmetry."""
        for name, perm in self.symmetries:
            if name == "fliplr":
                return np.argsort(perm)
        return None

    def _kernel(self, name: str, batch: int):
        if batch >= PARALLEL_MIN_BATCH and _threads > 1:
            return getattr(batched, name + "_parallel")
        return getattr(batched, name)

    def _check_state(self, state: State) -> None:
        if not isinstance(state, State) or state.game != self.spec:
            got = getattr(state, "game", type(state).__name__)
            raise ValueError(f"expected a {self.spec} State, got {got}")

    def init(self, batch_size: int, seed: int = 0) -> State:
        """A batch of new games. Each game gets its own seed derived from `seed`."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"batch_size must be an int, got {type(batch_size).__name__}")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        data = np.empty((int(batch_size), self.row_width), dtype=np.int64)
        self._kernel("init", batch_size)(self.params, data, int(seed))
        return State(self.spec, data)

    def init_from_seeds(self, seeds) -> State:
        """New games, game i started from its own random seed seeds[i] (e.g. a stored one)."""
        seeds = np.asarray(seeds)
        if seeds.ndim != 1 or seeds.size == 0 or not np.issubdtype(seeds.dtype, np.integer):
            raise ValueError(f"seeds must be a non-empty 1-D integer array, got {seeds!r}")
        data = np.empty((seeds.size, self.row_width), dtype=np.int64)
        self._kernel("init_seeded", seeds.size)(self.params, data, seeds.astype(np.int64))
        return State(self.spec, data)

    def legal_mask(
        self, state: State, player: int | None = None, out: np.ndarray | None = None
    ) -> np.ndarray:
        """bool[B, num_actions]; all False for finished games.

        Without `player`: the legal next entries of each game's history: the mover's
        actions, a chance node's possible outcomes, or at a simultaneous node the actions of
        the next player whose action `step`/`play_sequences` takes (player order). With
        `player`: that player's legal actions, at its decision nodes and at simultaneous
        nodes (what an agent in that seat may play), none elsewhere.
        """
        self._check_state(state)
        if out is None:
            out = np.empty((len(state), self.num_actions), dtype=np.bool_)
        if player is None:
            self._kernel("legal", len(state))(self.params, state.data, out)
        else:
            self._check_player(player)
            self._kernel("legal_for", len(state))(self.params, state.data, int(player), out)
        return out

    def chance_outcomes(self, state: State) -> np.ndarray:
        """float64[B, num_actions]: each outcome's probability at a game's chance node (action
        numbers as OpenSpiel's), all zero in games not at one."""
        self._check_state(state)
        out = np.empty((len(state), self.num_actions), dtype=np.float64)
        self._kernel("chance_probs", len(state))(self.params, state.data, out)
        return out

    def sample_chance(self, state: State, record: np.ndarray | None = None) -> np.ndarray:
        """Resolve every pending chance node, in place, by sampling each outcome from the
        game's own random state (so a game is a function of its seed and its players'
        actions); returns float32[B, num_players] rewards of these steps. When given,
        record (int64[B, max_plies], a table of each game's actions) gets every outcome at
        its ply, as the game's history holds it."""
        self._check_state(state)
        n = len(state)
        if record is None:
            record = np.empty((n, 0), dtype=np.int64)
        elif record.dtype != np.int64 or record.ndim != 2 or record.shape[0] != n:
            raise ValueError(f"record must be int64[{n}, plies], got {record.dtype} {record.shape}")
        rewards = np.empty((n, self.num_players), dtype=np.float32)
        if self.chance:
            probs = np.empty((n, self.num_actions), dtype=np.float64)
            scratch = np.empty_like(rewards)
            self._kernel("sample_chance", n)(
                self.params, state.data, probs, record, rewards, scratch
            )
        else:
            rewards[:] = 0.0
        return rewards

    def information_keys(self, state: State, player: int) -> np.ndarray:
        """int64[B]: `player`'s information-state key in each game; two states share one
        exactly when OpenSpiel's information_state_string(player) is the same (-1 in
        perfect-information games)."""
        self._check_state(state)
        self._check_player(player)
        out = np.empty(len(state), dtype=np.int64)
        self._kernel("info_keys", len(state))(self.params, state.data, int(player), out)
        return out

    def information_string(self, state: State, i: int, player: int) -> str:
        """OpenSpiel's information_state_string(player) of game i (games of hidden
        information or simultaneous moves)."""
        self._check_state(state)
        self._check_player(player)
        if not hasattr(self.module, "info_string"):
            raise ValueError(f"{self.spec} is a game of perfect information: no information states")
        return self.module.info_string(self.params, state.data[self._index(state, i)], player)

    def _check_player(self, player) -> None:
        if isinstance(player, bool) or not isinstance(player, (int, np.integer)):
            raise TypeError(f"player must be an int, got {type(player).__name__}")
        if not 0 <= player < self.num_players:
            raise ValueError(f"player must be in 0..{self.num_players - 1}, got {player}")

    def step(self, state: State, actions) -> np.ndarray:
        """Play one action per game, in place; returns float32[B, num_players] rewards.

        `actions` is int[B] (the mover's action, or a chance node's outcome) or
        int[B, num_players], one per player: a simultaneous node takes the whole row (a
        joint step; at one half played by `play_sequences`, the columns of the players yet
        to act), a decision node its mover's column, a chance node column 0. Chance
        nodes are left pending: `sample_chance` resolves them. Finished games ignore their
        action. An out-of-range or illegal action for a live
        game raises ValueError naming the games, before any game is changed.
        """
        self._check_state(state)
        n = len(state)
        actions = np.asarray(actions)
        # dtype.kind rather than np.issubdtype: a microsecond less on every step call.
        joint = (n, self.num_players)
        if actions.shape not in ((n,), joint) or actions.dtype.kind not in "iu":
            raise ValueError(
                f"actions must be integers of shape ({n},) or {joint} (one per player), "
                f"got {actions.dtype} {actions.shape}"
            )
        actions = actions.astype(np.int64, copy=False).reshape(n, actions.size // max(n, 1))
        rewards = np.empty((n, self.num_players), dtype=np.float32)
        bad = np.empty(n, dtype=np.bool_)
        scratch = np.empty((n, self.row_width), dtype=np.int64) if self.simultaneous else None
        if self._kernel("step", n)(self.params, state.data, actions, rewards, bad, scratch):
            culprits = np.flatnonzero(bad)
            given = actions[:, 0] if actions.shape[1] == 1 else actions.tolist()
            shown = ", ".join(f"game {i}: action {given[i]}" for i in culprits[:10])
            more = f" and {culprits.size - 10} more" if culprits.size > 10 else ""
            joint_note = ""
            if self.simultaneous and actions.shape[1] == 1:
                joint_note = f"; a simultaneous node takes one action per player, {joint}"
            raise ValueError(
                f"illegal or out-of-range {self.spec} actions (valid: legal actions in "
                f"0..{self.num_actions - 1}{joint_note}): {shown}{more}"
            )
        return rewards

    def observe(self, state: State, player: int | None = None) -> np.ndarray:
        """float32[B, *obs_shape] planes from the point of view of `player` in every game,
        or of each game's player to move when `player` is None."""
        self._check_state(state)
        if player is None:
            if (state.to_play[~state.done] < 0).any():
                raise ValueError(
                    "observe(state) needs a player: some games are at a chance or "
                    "simultaneous node, where nobody in particular is to move"
                )
            player = -1  # the kernels' "player to move"
        else:
            self._check_player(player)
        out = np.empty((len(state), *self.obs_shape), dtype=np.float32)
        self._kernel("observe", len(state))(self.params, state.data, int(player), out)
        return out

    def reset_done(self, state: State, seed: int = 0) -> int:
        """Start a new game in every finished slot, in place; returns how many were reset."""
        self._check_state(state)
        return int(self._kernel("reset_done", len(state))(self.params, state.data, int(seed)))

    def random_legal(self, legal_mask: np.ndarray, rng_state: np.ndarray) -> np.ndarray:
        """A uniformly random legal action per game (-1 where none); advances rng_state."""
        out = np.empty(legal_mask.shape[0], dtype=np.int64)
        self._kernel("random_legal", legal_mask.shape[0])(legal_mask, rng_state, out)
        return out

    def play_sequences(self, sequences, seed: int = 0, seeds=None) -> State:
        """One game per action list, played from the start; returns the batched state.

        Game i starts from seeds[i] when `seeds` is given, else from a seed derived from
        `seed` and i (as in `init`).
        """
        sequences = [list(s) for s in sequences]
        if not sequences:
            raise ValueError("play_sequences needs at least one action list")
        longest = max(len(s) for s in sequences)
        padded = np.full((len(sequences), max(longest, 1)), -1, dtype=np.int64)
        for i, seq in enumerate(sequences):
            if not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in seq):
                raise ValueError(f"sequence {i} must hold integer actions, got {seq!r}")
            padded[i, : len(seq)] = seq
        lengths = np.array([len(s) for s in sequences], dtype=np.int64)
        if seeds is None:
            state = self.init(len(sequences), seed)
        else:
            if len(seeds) != len(sequences):
                raise ValueError(f"{len(seeds)} seeds for {len(sequences)} sequences")
            state = self.init_from_seeds(seeds)
        rewards = np.zeros((len(sequences), self.num_players), dtype=np.float32)
        i, ply, code = batched.play_sequences(
            self.params, state.data, padded, lengths, rewards, self.num_actions
        )
        if code:
            action = padded[i, ply]
            reason = {
                batched.ERR_RANGE: f"action {action} is out of range 0..{self.num_actions - 1}",
                batched.ERR_ILLEGAL: f"action {action} is illegal in that position",
                batched.ERR_AFTER_END: f"action {action} comes after the game ended",
            }[code]
            raise ValueError(f"{self.spec}: sequence {i}, ply {ply}: {reason}")
        return state

    def render_text(self, state: State, i: int = 0) -> str:
        self._check_state(state)
        return self.module.text(self.params, state.data[self._index(state, i)])

    def render_svg(self, state: State, i: int = 0) -> str:
        self._check_state(state)
        return self.module.svg(self.params, state.data[self._index(state, i)])

    def render_rgb(self, state: State, i: int = 0) -> np.ndarray:
        self._check_state(state)
        return self.module.rgb(self.params, state.data[self._index(state, i)])

    @staticmethod
    def _index(state: State, i: int) -> int:
        if not -len(state) <= i < len(state):
            raise IndexError(f"game index {i} out of range for a batch of {len(state)}")
        return i
