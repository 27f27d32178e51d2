"""AlphaZero PUCT search and Gumbel search, with trees in preallocated Numba arrays.

Many games are searched together, each in its own slice of the arrays (node 0 is the root;
each simulation adds at most one node, so sims + 1 nodes suffice). Every round, `_select`
walks down each tree (several walks per game when virtual loss is on) and collects the new
leaves' state rows; the caller's evaluator scores all of them in one batched call; and
`_expand_backup` stores the priors and backs the values up. A walk that ends in a finished
game is backed up at once with the exact result and costs no evaluation.

Values are for two-player zero-sum games: a node's value is from the view of the player to
move in it, and flips sign where the mover changes (so pass moves need no special case).

Gumbel mode follows Danihelka et al. 2022, "Policy improvement by planning with Gumbel", as
in DeepMind's mctx: Gumbel-top-k sampling of root actions with sequential halving, the
deterministic improved-policy selection below the root, and softmax(logits + sigma(completed
Q)) as the improved policy, with sigma(q) = (c_visit + max_b N(b)) * c_scale * q and q
mapped from [-1, 1] to [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter
from typing import NamedTuple

import numpy as np
from numba import njit

from games import Game, kernels
from games.kernels import DONE, TO_PLAY, WINNER

# (state rows int64[L, W]) -> (priors float32[L, A], values float32[L], mover's view)
Evaluator = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]

PENDING = 0  # created, waiting for its evaluation
EXPANDED = 1
TERMINAL = 2
MIN_PRIOR = 1e-12  # floor before taking logs: a legal move never gets a -inf logit
# Each walk in flight through a node counts as this much of a lost visit. A full loss (1)
# makes a sure win with a walk in flight look like a draw (Q = (1 - 1) / 2), so the next
# walk goes to a drawing move and visits split; half a loss still spreads the walks.
VIRTUAL_LOSS = 0.5


@dataclass(frozen=True)
class SearchConfig:
    """Search options. The defaults are AlphaZero's PUCT without exploration noise.

    leaves_per_forward: the leaf batch aimed at per evaluator call; when fewer games are
    searched than that, each game sends up to max_leaves_per_game leaves per call, kept
    apart by virtual loss (a walk in flight counts as half a lost visit). More leaves per
    game make the search broader and less sequential, hence the cap.
    """

    sims: int = 64
    c_puct: float = 1.5
    gumbel: bool = False
    max_considered: int = 16  # Gumbel: most root actions sampled without replacement (m)
    c_visit: float = 50.0  # Gumbel: sigma's visit offset
    c_scale: float = 1.0  # Gumbel: sigma's scale
    dirichlet_alpha: float = 0.3  # root noise for self-play, used when noise_fraction > 0
    noise_fraction: float = 0.0
    leaves_per_forward: int = 256
    max_leaves_per_game: int = 8

    def __post_init__(self) -> None:
        for key in ("sims", "max_considered", "leaves_per_forward", "max_leaves_per_game"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be >= 1, got {getattr(self, key)}")
        for key in ("c_puct", "c_visit", "c_scale", "dirichlet_alpha"):
            if not getattr(self, key) > 0:
                raise ValueError(f"{key} must be > 0, got {getattr(self, key)}")
        if not 0 <= self.noise_fraction <= 1:
            raise ValueError(f"noise_fraction must be in [0, 1], got {self.noise_fraction}")

    def considered_moves(self) -> int:
        """Gumbel's m: max_considered, but no more than half the simulations, so that every
        considered move is visited at least twice. With one visit each, the final pick
        compares single leaf values: on Connect Four 4 simulations over 4 moves scored 33%
        against 1 simulation, over 2 moves 58% (docs/results.md)."""
        return min(self.max_considered, max(1, self.sims // 2))


@dataclass
class SearchResult:
    """Root statistics of one search per game; finished games get zeros and action 0."""

    action: np.ndarray  # int64[B] the move chosen
    visits: np.ndarray  # int32[B, A] root visit counts
    policy: np.ndarray  # float32[B, A] improved policy (training target), see `search`
    value: np.ndarray  # float32[B] root value from the mover's view
    prior: np.ndarray  # float32[B, A] the evaluator's root priors (before root noise)
    forwards: int = 0  # evaluator calls
    leaves: int = 0  # states evaluated
    tree_seconds: float = 0.0  # everything but the evaluator calls
    eval_seconds: float = 0.0


class _Tree(NamedTuple):
    """Node arrays of all trees: first index game, second node (Numba takes NamedTuples)."""

    rows: np.ndarray  # int64[G, N, W] the node's state
    status: np.ndarray  # int8[G, N] PENDING, EXPANDED or TERMINAL
    legal: np.ndarray  # bool[G, N, A]
    prior: np.ndarray  # float32[G, N, A]
    raw_value: np.ndarray  # float32[G, N] evaluator's value, mover's view
    child: np.ndarray  # int32[G, N, A] node index, -1 while the move is unexplored
    parent: np.ndarray  # int32[G, N], -1 at the root
    visits: np.ndarray  # int32[G, N] finished simulations through the node
    virtual: np.ndarray  # int32[G, N] simulations in flight through the node
    value_sum: np.ndarray  # float64[G, N] backed-up values, mover's view
    num_nodes: np.ndarray  # int32[G]
    sims_done: np.ndarray  # int32[G]


class _Leaves(NamedTuple):
    """The leaves of one round: state rows for the evaluator, and where each one sits."""

    rows: np.ndarray  # int64[L, W]
    game: np.ndarray  # int64[L]
    node: np.ndarray  # int64[L]


class _Options(NamedTuple):
    sims: int
    per_game: int  # leaves per game and round
    gumbel: bool
    c_puct: float
    c_visit: float
    c_scale: float


class _Root(NamedTuple):
    """Root data of Gumbel search (placeholders for PUCT, which never reads them)."""

    logits: np.ndarray  # float64[G, A] log of the root priors
    gumbel: np.ndarray  # float64[G, A] Gumbel noise, scaled by the temperature
    table: np.ndarray  # int64[M + 1, sims] `considered_visits_table`
    considered: np.ndarray  # int64[G] moves sampled at each root, min(M, legal moves)


def _allocate(games: int, nodes: int, actions: int, width: int) -> _Tree:
    # Nothing is cleared here: a node's fields are set when it is created.
    return _Tree(
        np.empty((games, nodes, width), np.int64),
        np.empty((games, nodes), np.int8),
        np.empty((games, nodes, actions), np.bool_),
        np.empty((games, nodes, actions), np.float32),
        np.empty((games, nodes), np.float32),
        np.empty((games, nodes, actions), np.int32),
        np.empty((games, nodes), np.int32),
        np.empty((games, nodes), np.int32),
        np.empty((games, nodes), np.int32),
        np.empty((games, nodes), np.float64),
        np.empty(games, np.int32),
        np.empty(games, np.int32),
    )


@njit(cache=True)
def _new_node(t, g, n, parent_node):
    """Fields of a fresh node whose row is already set; one simulation is in flight in it."""
    t.status[g, n] = TERMINAL if t.rows[g, n, DONE] else PENDING
    t.child[g, n, :] = -1
    t.parent[g, n] = parent_node
    t.visits[g, n] = 0
    t.virtual[g, n] = 1
    t.value_sum[g, n] = 0.0


@njit(cache=True)
def _edge(t, g, n, a):
    """(visits incl. in-flight, Q from n's mover view with in-flight walks as losses)."""
    c = t.child[g, n, a]
    if c < 0:
        return 0, 0.0
    count = t.visits[g, c] + t.virtual[g, c]  # >= 1 for every created node
    v = t.value_sum[g, c]
    if t.rows[g, c, TO_PLAY] != t.rows[g, n, TO_PLAY]:
        v = -v
    return count, (v - VIRTUAL_LOSS * t.virtual[g, c]) / count


@njit(cache=True)
def _backup(t, g, leaf, value):
    """Add `value` (leaf mover's view) along the path to the root; ends one in-flight walk."""
    mover = t.rows[g, leaf, TO_PLAY]
    n = leaf
    while n >= 0:
        t.value_sum[g, n] += value if t.rows[g, n, TO_PLAY] == mover else -value
        t.visits[g, n] += 1
        t.virtual[g, n] -= 1
        n = t.parent[g, n]


@njit(cache=True)
def _completed_q(t, g, n, out):
    """out[a] = Q(n, a) for visited legal moves, else the mixed value v_mix (Gumbel paper,
    appendix D): the network value averaged with the prior-weighted Q of visited moves.
    Returns max_a N(a)."""
    total = 0
    most = 0
    p_sum = 0.0
    pq_sum = 0.0
    for a in range(out.shape[0]):
        out[a] = 0.0
        if t.legal[g, n, a] and t.child[g, n, a] >= 0:
            count, q = _edge(t, g, n, a)
            p = max(t.prior[g, n, a], MIN_PRIOR)
            out[a] = q
            total += count
            most = max(most, count)
            p_sum += p
            pq_sum += p * q
    mixed = t.raw_value[g, n]
    if total > 0:
        mixed = (t.raw_value[g, n] + total * pq_sum / p_sum) / (total + 1)
    for a in range(out.shape[0]):
        if t.legal[g, n, a] and t.child[g, n, a] < 0:
            out[a] = mixed
    return most


@njit(cache=True, inline="always")
def _sigma(q, most, c_visit, c_scale):
    return (c_visit + most) * c_scale * (q + 1.0) * 0.5


@njit(cache=True)
def _puct_action(t, g, n, c_puct):
    """argmax Q + c_puct P sqrt(N) / (1 + N(a)); unvisited moves take the node's own mean
    value as Q (first-play urgency), so a good position is explored before exploited."""
    total = 0
    for a in range(t.prior.shape[2]):
        total += _edge(t, g, n, a)[0]
    explore = c_puct * math.sqrt(total + 1)
    fpu = t.value_sum[g, n] / t.visits[g, n]
    best = -1
    best_score = -np.inf
    for a in range(t.prior.shape[2]):
        if t.legal[g, n, a]:
            count, q = _edge(t, g, n, a)
            if count == 0:
                q = fpu
            score = q + explore * t.prior[g, n, a] / (1 + count)
            if score > best_score:
                best, best_score = a, score
    return best


@njit(cache=True)
def _gumbel_interior_action(t, g, n, options, buf):
    """argmax pi'(a) - N(a) / (1 + sum N): visits follow the improved policy pi'."""
    most = _completed_q(t, g, n, buf)
    high = -np.inf
    for a in range(buf.shape[0]):
        if t.legal[g, n, a]:
            logit = math.log(max(t.prior[g, n, a], MIN_PRIOR))
            buf[a] = logit + _sigma(buf[a], most, options.c_visit, options.c_scale)
            high = max(high, buf[a])
    z = 0.0
    total = 0
    for a in range(buf.shape[0]):
        if t.legal[g, n, a]:
            buf[a] = math.exp(buf[a] - high)
            z += buf[a]
            total += _edge(t, g, n, a)[0]
    best = -1
    best_score = -np.inf
    for a in range(buf.shape[0]):
        if t.legal[g, n, a]:
            score = buf[a] / z - _edge(t, g, n, a)[0] / (1.0 + total)
            if score > best_score:
                best, best_score = a, score
    return best


@njit(cache=True)
def _gumbel_root_action(t, g, root, options, buf):
    """Sequential halving: among the moves whose visit count is the one the schedule asks
    for next, the best g(a) + logits(a) + sigma(completed Q(a))."""
    most = _completed_q(t, g, 0, buf)
    sim = 0
    for a in range(buf.shape[0]):
        sim += _edge(t, g, 0, a)[0]
    wanted = root.table[root.considered[g], sim]
    best = -1
    best_score = -np.inf
    for gated in (True, False):  # ungated only as a fallback; the schedule always fits
        for a in range(buf.shape[0]):
            if t.legal[g, 0, a] and not (gated and _edge(t, g, 0, a)[0] != wanted):
                score = root.gumbel[g, a] + root.logits[g, a]
                score += _sigma(buf[a], most, options.c_visit, options.c_scale)
                if score > best_score:
                    best, best_score = a, score
        if best >= 0:
            break
    return best


@njit(cache=True)
def _terminal_value(row):
    """Exact value of a finished game from the view of its player to move."""
    if row[WINNER] < 0:
        return 0.0
    return 1.0 if row[WINNER] == row[TO_PLAY] else -1.0


@njit(cache=True)
def _init_roots(t, roots, leaves):
    """Every root becomes a leaf waiting for its evaluation."""
    for g in range(roots.shape[0]):
        t.rows[g, 0] = roots[g]
        _new_node(t, g, 0, -1)
        t.num_nodes[g] = 1
        t.sims_done[g] = 0
        leaves.rows[g] = roots[g]
        leaves.game[g] = g
        leaves.node[g] = 0


@njit(cache=True)
def _select(t, params, options, root, rewards, leaves):
    """Walks from the root until each game has options.per_game new leaves in flight (or
    its budget is spent); returns the number of leaves to evaluate, listed in `leaves`.
    Walks into finished games are backed up here and do not count as leaves. A walk that
    reaches a leaf still waiting for its evaluation gives up and ends this game's round:
    retrying would only find the same leaf."""
    buf = np.empty(t.prior.shape[2], np.float64)
    count = 0
    for g in range(t.rows.shape[0]):
        in_flight = 0
        while in_flight < options.per_game:
            sim = t.sims_done[g] + in_flight
            if sim >= options.sims:
                break
            # Sequential halving ranks root moves once they all have the same visit count:
            # a walk starting a new count level waits until the walks in flight are back.
            if options.gumbel and in_flight:
                schedule = root.table[root.considered[g]]
                if schedule[sim] != schedule[sim - 1]:
                    break
            n = 0
            t.virtual[g, 0] += 1
            collided = False
            while True:
                if t.status[g, n] == TERMINAL:
                    _backup(t, g, n, _terminal_value(t.rows[g, n]))
                    t.sims_done[g] += 1
                    break
                if t.status[g, n] == PENDING:
                    while n >= 0:
                        t.virtual[g, n] -= 1
                        n = t.parent[g, n]
                    collided = True
                    break
                if options.gumbel and n == 0:
                    a = _gumbel_root_action(t, g, root, options, buf)
                elif options.gumbel:
                    a = _gumbel_interior_action(t, g, n, options, buf)
                else:
                    a = _puct_action(t, g, n, options.c_puct)
                c = t.child[g, n, a]
                if c >= 0:
                    t.virtual[g, c] += 1
                    n = c
                    continue
                c = t.num_nodes[g]
                t.num_nodes[g] += 1
                t.rows[g, c] = t.rows[g, n]
                kernels.apply_row(params, t.rows[g], c, a, rewards)
                _new_node(t, g, c, n)
                t.child[g, n, a] = c
                if t.status[g, c] == PENDING:
                    leaves.rows[count] = t.rows[g, c]
                    leaves.game[count] = g
                    leaves.node[count] = c
                    count += 1
                    in_flight += 1
                    break
                n = c  # a finished game: scored exactly on the next pass of the loop
            if collided:
                break
    return count


@njit(cache=True)
def _expand_backup(t, params, leaves, count, priors, values, is_simulation):
    """Store each evaluated leaf's legal moves and renormalised priors, back its value up."""
    for i in range(count):
        g = leaves.game[i]
        n = leaves.node[i]
        kernels.legal_row(params, t.rows[g], n, t.legal[g])
        total = 0.0
        moves = 0
        for a in range(t.legal.shape[2]):
            p = priors[i, a] if t.legal[g, n, a] and priors[i, a] > 0 else 0.0
            t.prior[g, n, a] = p
            total += p
            moves += t.legal[g, n, a]
        for a in range(t.legal.shape[2]):
            if total > 0:
                t.prior[g, n, a] /= total
            elif t.legal[g, n, a]:  # no prior mass on any legal move: uniform
                t.prior[g, n, a] = 1.0 / moves
        t.raw_value[g, n] = values[i]
        t.status[g, n] = EXPANDED
        _backup(t, g, n, values[i])
        if is_simulation:
            t.sims_done[g] += 1


@njit(cache=True)
def _root_summary(t, out_visits, out_q):
    """Root visit counts and completed Q-values (mover's view) of every game."""
    for g in range(t.rows.shape[0]):
        _completed_q(t, g, 0, out_q[g])
        for a in range(out_visits.shape[1]):
            c = t.child[g, 0, a]
            out_visits[g, a] = t.visits[g, c] if c >= 0 else 0


def considered_visits_table(max_considered: int, sims: int) -> np.ndarray:
    """int64[max_considered + 1, sims]: row m is the sequential-halving schedule with m root
    moves, the visit count the next simulation's move must have (as in mctx)."""
    table = np.zeros((max_considered + 1, sims), np.int64)
    for m in range(1, max_considered + 1):
        if m == 1:
            table[m] = np.arange(sims)
            continue
        log2m = math.ceil(math.log2(m))
        sequence: list[int] = []
        visits = [0] * m
        considered = m
        while len(sequence) < sims:
            extra = max(1, int(sims / (log2m * considered)))
            for _ in range(extra):
                sequence.extend(visits[:considered])
                for i in range(considered):
                    visits[i] += 1
            considered = max(2, considered // 2)
        table[m] = sequence[:sims]
    return table


def search(
    game: Game,
    roots: np.ndarray,
    evaluate: Evaluator,
    config: SearchConfig = SearchConfig(),
    rng: np.random.Generator | None = None,
    temperature: float = 0.0,
) -> SearchResult:
    """Search every live game of `roots` (int64[B, W] state rows) with `config.sims`
    simulations; `evaluate` scores batches of leaf rows.

    The move: PUCT plays the most visited move at temperature 0 (ties to the higher Q), else
    samples N(a)^(1/T). Gumbel scales its root noise by the temperature (0: deterministic)
    and plays the sequential-halving winner. `policy`, the training target, is the visit
    distribution for PUCT and softmax(logits + sigma(completed Q)) for Gumbel.
    """
    start = perf_counter()
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    rng = np.random.default_rng() if rng is None else rng
    roots = np.ascontiguousarray(roots, dtype=np.int64)
    if roots.ndim != 2 or roots.shape[1] != game.row_width:
        raise ValueError(f"roots must be {game.name} rows (B, {game.row_width}), got {roots.shape}")
    batch, num_actions = len(roots), game.num_actions
    result = SearchResult(
        action=np.zeros(batch, np.int64),
        visits=np.zeros((batch, num_actions), np.int32),
        policy=np.zeros((batch, num_actions), np.float32),
        value=np.zeros(batch, np.float32),
        prior=np.zeros((batch, num_actions), np.float32),
    )
    live = np.flatnonzero(roots[:, DONE] == 0)
    games = live.size
    if games == 0:
        return result
    tree = _allocate(games, config.sims + 1, num_actions, game.row_width)
    per_game = min(config.max_leaves_per_game, config.sims, -(-config.leaves_per_forward // games))
    leaves = _Leaves(
        np.empty((games * per_game, game.row_width), np.int64),
        np.empty(games * per_game, np.int64),
        np.empty(games * per_game, np.int64),
    )

    def evaluate_leaves(count: int, is_simulation: bool) -> None:
        t = perf_counter()
        priors, values = evaluate(leaves.rows[:count])
        result.eval_seconds += perf_counter() - t
        priors = np.ascontiguousarray(priors, np.float32)
        values = np.ascontiguousarray(values, np.float32)
        if priors.shape != (count, num_actions) or values.shape != (count,):
            raise ValueError(
                f"evaluator returned priors {priors.shape} and values {values.shape} for "
                f"{count} leaves; expected ({count}, {num_actions}) and ({count},)"
            )
        _expand_backup(tree, game.params, leaves, count, priors, values, is_simulation)
        result.forwards += 1
        result.leaves += count

    _init_roots(tree, roots[live], leaves)
    evaluate_leaves(games, is_simulation=False)
    root_legal = tree.legal[:, 0]
    result.prior[live] = tree.prior[:, 0]
    if config.noise_fraction > 0:
        noise = rng.gamma(config.dirichlet_alpha, size=root_legal.shape) * root_legal
        noise /= np.maximum(noise.sum(axis=1, keepdims=True), 1e-30)
        mixed = (1 - config.noise_fraction) * tree.prior[:, 0] + config.noise_fraction * noise
        tree.prior[:, 0] = mixed
    logits = np.log(np.maximum(tree.prior[:, 0], MIN_PRIOR)).astype(np.float64)
    if config.gumbel:
        considered = config.considered_moves()
        root = _Root(
            logits,
            rng.gumbel(size=logits.shape) * temperature,
            considered_visits_table(considered, config.sims),
            np.minimum(considered, root_legal.sum(axis=1)).astype(np.int64),
        )
    else:  # same types as above, so that one compiled kernel serves both
        root = _Root(logits, logits, np.zeros((1, 1), np.int64), np.zeros(1, np.int64))
    options = _Options(
        int(config.sims),
        int(per_game),
        bool(config.gumbel),
        float(config.c_puct),
        float(config.c_visit),
        float(config.c_scale),
    )
    rewards = np.zeros((config.sims + 1, game.num_players), np.float32)  # per node, unused
    while (tree.sims_done < config.sims).any():
        count = _select(tree, game.params, options, root, rewards, leaves)
        if count:
            evaluate_leaves(count, is_simulation=True)

    visits = np.empty((games, num_actions), np.int32)
    q = np.empty((games, num_actions), np.float64)
    _root_summary(tree, visits, q)
    result.visits[live] = visits
    result.value[live] = tree.value_sum[:, 0] / tree.visits[:, 0]
    if config.gumbel:
        most = visits.max(axis=1, keepdims=True)
        scores = root.logits + (config.c_visit + most) * config.c_scale * (q + 1) / 2
        scores = np.where(root_legal, scores, -np.inf)
        improved = np.exp(scores - scores.max(axis=1, keepdims=True))
        result.policy[live] = improved / improved.sum(axis=1, keepdims=True)
        final = np.where(visits == most, scores + root.gumbel, -np.inf)
    else:
        result.policy[live] = visits / visits.sum(axis=1, keepdims=True)
        if temperature > 0:  # Gumbel-max sample of N(a)^(1/T)
            with np.errstate(divide="ignore"):
                final = np.log(visits) / temperature + rng.gumbel(size=visits.shape)
        else:  # (q + 1) / 4 < 1 breaks ties between equal visit counts only
            final = np.where(root_legal, visits + (q + 1) / 4, -np.inf)
    result.action[live] = final.argmax(axis=1)
    result.tree_seconds = perf_counter() - start - result.eval_seconds
    return result
