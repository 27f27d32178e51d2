"""UCT Monte Carlo tree search with uniformly random rollouts, in Numba, for any game.

The search knows a game only through the primitives of `games.kernels`, so every game gets
it for free. Each searched game owns a slice of preallocated arrays holding its tree: node 0
is the root, each simulation adds at most one node (capacity sims + 1), and a node keeps its
own state row, so descending the tree needs no re-simulation (on Connect Four this measured
as fast as re-simulating from the root, since rollouts dominate, and it is simpler). A node's
value sum is from the point of view of the player who moved into it; every node also keeps
the rewards of the move that made it, so terminal nodes are scored exactly, without rollouts.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from agents.base import require_perfect_information, sample_legal
from agents.baselines import wins_at_once
from games import Game, State, get_threads, kernels
from games.batched import builds
from games.kernels import DONE, TO_PLAY
from games.rng import below, next_random

ROLLOUT_POLICIES = ("random", "greedy")  # how leaf rollouts move: see `_rollout`
# Below this many simulations per call, starting threads costs more than it saves.
PARALLEL_MIN_SIMS = 4096
# Bound on one agent's tree memory; larger batches are searched in chunks of trees.
TREE_BYTES = 256 * 2**20


@njit(cache=True)
def _greedy_action(g, scratch, scratch_legal, trial, step):
    """The first legal action that wins at once for the mover, else the first that blocks
    the opponent's win at once, else -1 (the greedy agent's rule)."""
    for offset in range(2):
        for a in range(scratch_legal.shape[1]):
            if scratch_legal[0, a] and wins_at_once(g, scratch, 0, a, offset, trial, step):
                return a
    return -1


@njit(cache=True)
def _rollout(g, scratch, scratch_legal, step, returns, rng, greedy, trial):
    """Legal moves from scratch[0] to the end of its game, adding each player's rewards to
    `returns`; returns the advanced random state. Moves are uniformly random or, if
    `greedy`, the greedy agent's (win, else block, else random), which costs a trial move
    per legal action a ply (`trial`: int64[1, W] work space) but keeps rollouts from
    missing the one-move tactics a random playout misses."""
    while scratch[0, DONE] == 0:
        n = kernels.legal_row(g, scratch, 0, scratch_legal)
        action = _greedy_action(g, scratch, scratch_legal, trial, step) if greedy else -1
        if action < 0:
            rng, bits = next_random(rng)
            k = below(bits, n)
            action = 0
            while not scratch_legal[0, action] or k > 0:
                k -= scratch_legal[0, action]
                action += 1
        kernels.apply_row(g, scratch, 0, action, step)
        for p in range(returns.shape[0]):
            returns[p] += step[0, p]
    return rng


@njit(cache=True)
def rollout_values(g, rows, num_actions, num_players, rollouts, seed, out, greedy=False):
    """out[i]: the mean return of `rollouts` rollouts (random or greedy, see `_rollout`)
    from state row i (int64[L, W]) for the player to move in it (AlphaGo's fast leaf
    evaluation); 0 for a finished game."""
    scratch = np.empty((1, rows.shape[1]), dtype=np.int64)
    trial = np.empty((1, rows.shape[1]), dtype=np.int64)
    scratch_legal = np.empty((1, num_actions), dtype=np.bool_)
    step = np.empty((1, num_players), dtype=np.float32)
    returns = np.empty(num_players, dtype=np.float64)
    rng = seed
    for i in range(rows.shape[0]):
        returns[:] = 0.0
        for _ in range(rollouts):
            scratch[0] = rows[i]
            rng = _rollout(g, scratch, scratch_legal, step, returns, rng, greedy, trial)
        out[i] = returns[rows[i, TO_PLAY]] / rollouts


@njit(cache=True)
def _search_one(
    g,
    roots,
    root_legal,
    b,
    sims,
    c,
    seed,
    children,
    legal,
    untried,
    visits,
    value_sums,
    rows,
    rewards,
):
    """Run sims simulations from game b of roots; leaves the tree in the per-game arrays.

    Node tables are 2-D like a batch (rows[node] is a state row, legal[node] its legal
    actions, rewards[node] the rewards of the move into it), so the kernel primitives act
    on them directly.
    """
    num_actions = children.shape[1]
    scratch_legal = np.empty((1, num_actions), dtype=np.bool_)
    path = np.empty(sims + 1, dtype=np.int64)
    returns = np.empty(rewards.shape[1], dtype=np.float64)
    step = np.empty((1, rewards.shape[1]), dtype=np.float32)
    scratch = np.empty((1, rows.shape[1]), dtype=np.int64)
    rng = seed

    rows[0] = roots[b]
    children[0] = 0
    visits[0] = 0
    value_sums[0] = 0.0
    rewards[0] = 0.0
    kernels.legal_row(g, rows, 0, legal)
    untried[0] = 0
    for a in range(num_actions):
        legal[0, a] = legal[0, a] and root_legal[b, a]
        untried[0] += legal[0, a]
    if untried[0] == 0:  # the caller's mask allows nothing: no search (and no endless loop)
        return
    size = 1

    for _ in range(sims):
        # Selection: descend through fully expanded nodes by UCB1, Q + c sqrt(ln N / n) with Q
        # from the mover's side; expand the first node that still has untried actions (one
        # of them, uniformly), or stop at a terminal node.
        node = 0
        depth = 0
        path[0] = 0
        while rows[node, DONE] == 0:
            if untried[node] > 0:
                rng, bits = next_random(rng)
                k = below(bits, untried[node])
                action = 0
                while not legal[node, action] or children[node, action] != 0 or k > 0:
                    k -= legal[node, action] and children[node, action] == 0
                    action += 1
                child = size
                size += 1
                rows[child] = rows[node]
                kernels.apply_row(g, rows, child, action, rewards)
                children[child] = 0
                visits[child] = 0
                value_sums[child] = 0.0
                untried[child] = kernels.legal_row(g, rows, child, legal)
                children[node, action] = child
                untried[node] -= 1
                depth += 1
                path[depth] = child
                node = child
                break
            explore = c * np.sqrt(np.log(visits[node]))
            best = -np.inf
            best_child = 0
            for a in range(num_actions):
                ch = children[node, a]
                if ch != 0:
                    n = visits[ch]
                    u = value_sums[ch] / n + explore / np.sqrt(n)
                    if u > best:
                        best = u
                        best_child = ch
            node = best_child
            depth += 1
            path[depth] = node

        returns[:] = 0.0
        if rows[node, DONE] == 0:
            scratch[0] = rows[node]
            # random rollouts: no trial moves, so scratch stands in for their work space
            rng = _rollout(g, scratch, scratch_legal, step, returns, rng, False, scratch)

        # Backup: a node's return counts the rewards from the move into it onwards, for the
        # player who made that move (the player to move at its parent).
        for d in range(depth, 0, -1):
            nd = path[d]
            for p in range(returns.shape[0]):
                returns[p] += rewards[nd, p]
            value_sums[nd] += returns[rows[path[d - 1], TO_PLAY]]
            visits[nd] += 1
        visits[0] += 1


def _search(
    g,
    roots,
    root_legal,
    sims,
    c,
    seeds,
    children,
    legal,
    untried,
    visits,
    value_sums,
    rows,
    rewards,
    child_visits,
    child_values,
):
    """Search every unfinished game; write its root's per-action visits and value sums."""
    for b in prange(roots.shape[0]):
        child_visits[b] = 0
        child_values[b] = 0.0
        if roots[b, DONE]:
            continue
        _search_one(
            g,
            roots,
            root_legal,
            b,
            sims,
            c,
            seeds[b],
            children[b],
            legal[b],
            untried[b],
            visits[b],
            value_sums[b],
            rows[b],
            rewards[b],
        )
        for a in range(children.shape[2]):
            ch = children[b, 0, a]
            if ch != 0:
                child_visits[b, a] = visits[b, ch]
                child_values[b, a] = value_sums[b, ch]


search, search_parallel = builds(_search)


class MCTSAgent:
    """UCT search with random rollouts; plays the most visited root action (ties at random)."""

    def __init__(
        self, game: Game | None = None, name: str = "mcts", sims: int = 400, c: float = 1.4
    ):
        if isinstance(sims, bool) or not isinstance(sims, (int, np.integer)) or sims <= 0:
            raise ValueError(f"mcts: sims must be a positive integer, got {sims!r}")
        if not c > 0:
            raise ValueError(f"mcts: c (exploration constant) must be > 0, got {c!r}")
        if game is not None:
            require_perfect_information(game, "mcts")
        self.name = name
        self.sims = int(sims)
        self.c = float(c)
        self.last_annotations: dict[str, np.ndarray] = {}
        self._tree: tuple[np.ndarray, ...] = ()
        self._shape: tuple[int, ...] = ()

    def _arrays(self, game: Game, batch: int) -> tuple[np.ndarray, ...]:
        """Trees for `batch` games (at most TREE_BYTES' worth), kept and grown across calls."""
        nodes = self.sims + 1
        actions, width, players = game.num_actions, game.row_width, game.num_players
        per_tree = nodes * (4 * actions + actions + 4 + 4 + 8 + 8 * width + 4 * players)
        trees = max(1, min(batch, TREE_BYTES // per_tree))
        shape = (actions, width, players)
        if not self._tree or self._tree[0].shape[0] < trees or self._shape != shape:
            self._shape = shape
            self._tree = (
                np.empty((trees, nodes, actions), dtype=np.int32),  # children, 0 = none
                np.empty((trees, nodes, actions), dtype=np.bool_),  # legal actions
                np.empty((trees, nodes), dtype=np.int32),  # untried legal actions
                np.empty((trees, nodes), dtype=np.int32),  # visits
                np.empty((trees, nodes), dtype=np.float64),  # value sums
                np.empty((trees, nodes, width), dtype=np.int64),  # state rows
                np.empty((trees, nodes, players), dtype=np.float32),  # rewards of the move in
            )
        return self._tree

    def _run(
        self, game: Game, state: State, legal_mask: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Search the batch; returns the root's (child visits int32[B, A], child value sums
        float64[B, A], value float32[B]).

        Values are returns for the player to move; the root value is the mean over all
        simulations (0 for finished games).
        """
        require_perfect_information(game, "mcts")
        batch = len(state)
        seeds = rng.integers(0, 2**63 - 1, size=batch, dtype=np.int64)
        legal_mask = np.ascontiguousarray(legal_mask, dtype=np.bool_)
        child_visits = np.empty((batch, game.num_actions), dtype=np.int32)
        child_values = np.empty((batch, game.num_actions), dtype=np.float64)
        tree = self._arrays(game, batch)
        chunk = tree[0].shape[0]
        for start in range(0, batch, chunk):
            part = slice(start, min(start + chunk, batch))
            size = part.stop - start
            parallel = get_threads() > 1 and size * self.sims >= PARALLEL_MIN_SIMS
            kernel = search_parallel if parallel and size > 1 else search
            kernel(
                game.params,
                state.data[part],
                legal_mask[part],
                self.sims,
                self.c,
                seeds[part],
                *tree,
                child_visits[part],
                child_values[part],
            )
        total = np.maximum(child_visits.sum(axis=1), 1)
        return child_visits, child_values, (child_values.sum(axis=1) / total).astype(np.float32)

    def act(
        self, game: Game, state: State, legal_mask: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """The most visited root action per game (0 for finished games)."""
        child_visits, _, value = self._run(game, state, legal_mask, rng)
        total = child_visits.sum(axis=1)
        shares = child_visits / np.maximum(total, 1)[:, None]
        logs = np.log(np.where(shares > 0, shares, 1.0))
        self.last_annotations = {
            "value": value,
            "policy_entropy": -(shares * logs).sum(axis=1).astype(np.float32),
            "visits": total.astype(np.int32),
            # UCT has no prior: every legal move starts alike (uniform over the legal moves)
            "prior": (legal_mask / np.maximum(legal_mask.sum(axis=1), 1)[:, None]).astype(
                np.float32
            ),
            "visit_counts": child_visits,
        }
        most = (child_visits == child_visits.max(axis=1, keepdims=True)) & (child_visits > 0)
        return sample_legal(most, rng)

    def evaluate(
        self,
        game: Game,
        state: State,
        legal_mask: np.ndarray,
        rng: np.random.Generator | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(root visit shares float32[B, A], root value float32[B]) from the mover's view.

        Without an rng the rollouts use a fixed seed, so equal inputs give equal results.
        """
        rng = np.random.default_rng(0) if rng is None else rng
        child_visits, _, value = self._run(game, state, legal_mask, rng)
        total = np.maximum(child_visits.sum(axis=1), 1)
        return (child_visits / total[:, None]).astype(np.float32), value

    def action_values(
        self, game: Game, state: State, legal_mask: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """(root visits int32[B, A], each move's mean return for the mover float32[B, A],
        NaN for moves not visited): how good the search found each move, not only which
        it prefers (the replay viewer grades moves with it)."""
        child_visits, child_values, _ = self._run(game, state, legal_mask, rng)
        with np.errstate(invalid="ignore", divide="ignore"):
            q = np.where(child_visits > 0, child_values / child_visits, np.nan)
        return child_visits, q.astype(np.float32)
