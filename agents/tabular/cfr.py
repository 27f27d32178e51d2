"""Counterfactual regret minimization over a flat game tree (agents.tabular.tree): CFR, CFR+
and external-sampling Monte Carlo CFR, for two or more players, as OpenSpiel runs them: CFR
and CFR+ do OpenSpiel's arithmetic in its order, so after N iterations their policies are
OpenSpiel's to the last bit:

- `cfr`: OpenSpiel's CFRSolver: regret matching, alternating updates (player 0's pass, then
  its new policy for player 1's pass, ...), the average weighted by the player's own reach.
- `cfr+`: OpenSpiel's CFRPlusSolver: as `cfr`, with regrets floored at 0 after each pass
  (regret matching+) and iteration t's strategy weighted by t in the average (no delay).
- `mccfr`: OpenSpiel's python ExternalSamplingSolver (simple averaging): per iteration one
  sampled traversal per player, sampling chance and the other players' actions and walking
  all of the player's own; regrets and sums start at 1e-6 per legal action, as there.

The solver's state is plain arrays (regrets, strategy sums, iteration, random state), so a
run saves and resumes it (`state`, `Solver.restore`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from agents.tabular.policy import TabularPolicy
from agents.tabular.tree import TERMINAL, GameTree, node_value
from games.layout import CHANCE
from games.rng import next_random, seed_for

ALGORITHMS = ("cfr", "cfr+", "mccfr")
MCCFR_START = 1e-6  # OpenSpiel's MCCFR starts every regret and sum there (a uniform policy)


class Solver:
    """One of ALGORITHMS on `tree`. `regrets` and `strategy_sums` are float64[I, A] in the
    tree's information-set order; `iteration` counts completed iterations; `rng` is the
    random state of `mccfr` (from `seed`). `alternating=False` gives CFR's simultaneous
    updates (every player's regrets from one pass)."""

    def __init__(
        self, tree: GameTree, algorithm: str, seed: int = 0, alternating: bool = True
    ) -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(
                f"unknown algorithm {algorithm!r}: choose one of {', '.join(ALGORITHMS)}"
            )
        if not alternating and algorithm != "cfr":
            raise ValueError(
                f"{algorithm} updates the players in turn: only cfr can update them simultaneously"
            )
        self.tree = tree
        self.algorithm = algorithm
        self.alternating = alternating
        self.legal = tree.info_legal
        start = MCCFR_START if algorithm == "mccfr" else 0.0
        self.regrets = self.legal * start
        self.strategy_sums = self.legal * start
        self.iteration = 0
        self.rng = int(seed_for(seed, 0))
        depth = _depths(tree.parent)
        self._depth = int(depth.max()) + 1
        self._visit = _post_order_decisions(tree.actor, tree.first_child, tree.num_children)

    def state(self) -> dict[str, np.ndarray]:
        """The arrays that resume this solver (`Solver.restore`)."""
        return {
            "regrets": self.regrets,
            "strategy_sums": self.strategy_sums,
            "iteration": np.array([self.iteration], dtype=np.int64),
            "rng": np.array([self.rng], dtype=np.int64),
        }

    @classmethod
    def restore(
        cls, tree: GameTree, algorithm: str, state: dict[str, np.ndarray], alternating: bool = True
    ) -> Solver:
        """The solver `state()` saved, on the same game's tree."""
        solver = cls(tree, algorithm, alternating=alternating)
        missing = [name for name in solver.state() if name not in state]
        if missing:
            raise ValueError(f"the saved solver state lacks {', '.join(missing)}")
        expected = solver.regrets.shape
        for name in ("regrets", "strategy_sums"):
            got = np.asarray(state[name]).shape
            if got != expected:
                raise ValueError(
                    f"saved {name} have shape {got}, but {tree.spec} has {expected} "
                    "(information sets, actions): a solver state of another game"
                )
        solver.regrets = np.array(state["regrets"], dtype=np.float64)
        solver.strategy_sums = np.array(state["strategy_sums"], dtype=np.float64)
        solver.iteration = int(np.asarray(state["iteration"]).ravel()[0])
        solver.rng = int(np.asarray(state["rng"]).ravel()[0])
        return solver

    def run(self, iterations: int) -> None:
        """`iterations` more iterations, in place."""
        if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)):
            raise TypeError(f"iterations must be an int, got {type(iterations).__name__}")
        if iterations < 0:
            raise ValueError(f"iterations must be at least 0, got {iterations}")
        t = self.tree
        if self.algorithm == "mccfr":
            self.rng = _mccfr(
                iterations, self.rng, self._depth, t.num_players, t.actor, t.info,
                t.first_child, t.num_children, t.action, t.chance_prob, t.returns,
                self.legal, self.regrets, self.strategy_sums,
            )  # fmt: skip
        else:
            _cfr(
                iterations, self.iteration, self.algorithm == "cfr+", self.alternating,
                t.num_players, t.actor, t.info, t.parent, t.first_child, t.num_children,
                t.action, t.chance_prob, t.returns, t.info_player, self.legal, self._visit,
                self.regrets, self.strategy_sums,
            )  # fmt: skip
        self.iteration += iterations

    def current_policy(self) -> TabularPolicy:
        """The policy of the next iteration: regret matching on the regrets."""
        probs = np.empty_like(self.regrets)
        _regret_matching(self.regrets, self.legal, np.arange(len(probs)), probs)
        return TabularPolicy.from_tree(self.tree, probs)

    def average_policy(self) -> TabularPolicy:
        """The average strategy (what converges to equilibrium); uniform where its sums are 0."""
        sums = self.strategy_sums.sum(axis=1, keepdims=True)
        uniform = self.legal / self.legal.sum(axis=1, keepdims=True)
        probs = np.where(sums > 0, self.strategy_sums / np.where(sums > 0, sums, 1.0), uniform)
        return TabularPolicy.from_tree(self.tree, probs)


@njit(cache=True)
def _depths(parent):
    depth = np.zeros(parent.shape[0], dtype=np.int64)
    for n in range(1, parent.shape[0]):
        depth[n] = depth[parent[n]] + 1
    return depth


@njit(cache=True)
def _post_order_decisions(actor, first, nchild):
    """The decision nodes in the order OpenSpiel's recursive CFR updates them (depth-first,
    children in ascending action order, a node after its children): a regret or strategy
    sum adds its histories' terms in this order, so the rounding is OpenSpiel's."""
    order = np.empty(actor.shape[0], dtype=np.int64)
    stack = np.empty(actor.shape[0], dtype=np.int64)
    walked = np.zeros(actor.shape[0], dtype=np.int64)  # children of stack[d] walked so far
    count = 0
    top = 0
    stack[0] = 0
    while top >= 0:
        n = stack[top]
        if walked[top] < nchild[n]:
            stack[top + 1] = first[n] + walked[top]
            walked[top] += 1
            top += 1
            walked[top] = 0
            continue
        if actor[n] >= 0:
            order[count] = n
            count += 1
        top -= 1
    return order[:count]


@njit(cache=True)
def _regret_matching(regrets, legal, infos, policy):
    """policy[i] for each information set i in `infos`: positive regrets normalized, or
    uniform over the legal actions when none is positive."""
    for i in infos:
        _match(regrets, legal, i, policy, i)


@njit(cache=True)
def _cfr(
    iterations, done, plus, alternating, num_players, actor, info, parent, first, nchild,
    action, chance_prob, returns, info_player, legal, visit, regrets, sums,
):  # fmt: skip
    """`iterations` CFR or CFR+ iterations after `done` ones, on regrets and sums in place.

    One pass for a set of updated players: a forward sweep (parents first) of every player's
    reach probability (chance's in the last column), a backward sweep (children first) of
    every player's expected value under the current policy, then, at the updated players'
    nodes in `visit` order (OpenSpiel's), their regrets (weighted by the others' reach) and
    strategy sums (by their own reach)."""
    num_nodes = actor.shape[0]
    num_info = legal.shape[0]
    policy = np.empty_like(regrets)
    everyone = np.arange(num_info)
    _regret_matching(regrets, legal, everyone, policy)
    reach = np.ones((num_nodes, num_players + 1))
    value = np.zeros((num_nodes, num_players))
    passes = num_players if alternating else 1
    own = [np.flatnonzero(info_player == p) for p in range(num_players)]
    for t in range(done + 1, done + iterations + 1):
        weight = float(t) if plus else 1.0  # linear averaging in CFR+
        for k in range(passes):
            updated = k if alternating else -1
            for n in range(1, num_nodes):
                par = parent[n]
                who = actor[par]
                for q in range(num_players + 1):
                    reach[n, q] = reach[par, q]
                if who == CHANCE:
                    reach[n, num_players] *= chance_prob[n]
                else:
                    reach[n, who] *= policy[info[par], action[n]]
            for n in range(num_nodes - 1, -1, -1):
                who = actor[n]
                if who == TERMINAL:
                    for q in range(num_players):
                        value[n, q] = returns[n, q]
                    continue
                node_value(n, actor, info, first, nchild, action, chance_prob, policy, value)
            for n in visit:
                who = actor[n]
                if updated >= 0 and who != updated:
                    continue
                # OpenSpiel skips a node no player reaches (chance aside): its terms are 0.
                reached = False
                for q in range(num_players):
                    reached = reached or reach[n, q] != 0.0
                if not reached:
                    continue
                i = info[n]
                counterfactual = 1.0
                for q in range(num_players + 1):
                    if q != who:
                        counterfactual *= reach[n, q]
                for c in range(first[n], first[n] + nchild[n]):
                    a = action[c]
                    regrets[i, a] += counterfactual * (value[c, who] - value[n, who])
                    sums[i, a] += weight * reach[n, who] * policy[i, a]
            infos = own[updated] if alternating else everyone
            if plus:
                for i in infos:
                    for a in range(regrets.shape[1]):
                        regrets[i, a] = max(regrets[i, a], 0.0)
            _regret_matching(regrets, legal, infos, policy)


@njit(cache=True)
def _mccfr(
    iterations, rng, max_depth, num_players, actor, info, first, nchild, action, chance_prob,
    returns, legal, regrets, sums,
):  # fmt: skip
    """External-sampling MCCFR iterations in place; returns the advanced random state.

    Each traversal is a depth-first walk with an explicit stack (Numba compiles no
    recursion over these arrays as cheaply): a node at depth d keeps its policy in
    policy[d], its children's values in values[d] and in mode[d] either SAMPLED (one child
    was sampled: its value is the node's) or how many of its children were walked."""
    sampled = -1
    node = np.zeros(max_depth, dtype=np.int64)
    mode = np.zeros(max_depth, dtype=np.int64)
    policy = np.zeros((max_depth, regrets.shape[1]))
    values = np.zeros((max_depth, regrets.shape[1]))
    for _ in range(iterations):
        for p in range(num_players):
            d = 0
            node[0] = 0
            entering = True
            v = 0.0
            while True:
                if entering:
                    n = node[d]
                    who = actor[n]
                    if who == TERMINAL:
                        v = returns[n, p]
                        entering = False
                        continue
                    if who != CHANCE:
                        i = info[n]
                        _match(regrets, legal, i, policy, d)
                        if who == p:  # walk all of the player's own actions
                            mode[d] = 0
                            d += 1
                            node[d] = first[n]
                            continue
                        if who == (p + 1) % num_players:  # simple averaging, as OpenSpiel
                            for a in range(regrets.shape[1]):
                                sums[i, a] += policy[d, a]
                    rng, bits = next_random(rng)
                    u = np.float64(bits >> np.uint64(11)) * 2.0**-53
                    pick = first[n] + nchild[n] - 1  # rounding left over: the last
                    for c in range(first[n], first[n] + nchild[n]):
                        u -= chance_prob[c] if who == CHANCE else policy[d, action[c]]
                        if u < 0.0:
                            pick = c
                            break
                    mode[d] = sampled
                    d += 1
                    node[d] = pick
                    continue
                # v is the value of node[d]: hand it to its parent.
                d -= 1
                if d < 0:
                    break
                if mode[d] == sampled:
                    continue
                n = node[d]
                values[d, mode[d]] = v
                mode[d] += 1
                if mode[d] < nchild[n]:
                    node[d + 1] = first[n] + mode[d]
                    d += 1
                    entering = True
                    continue
                i = info[n]
                v = 0.0
                for k in range(nchild[n]):
                    v += policy[d, action[first[n] + k]] * values[d, k]
                for k in range(nchild[n]):
                    regrets[i, action[first[n] + k]] += values[d, k] - v
    return rng


@njit(cache=True, inline="always")
def _match(regrets, legal, i, policy, d):
    """Regret matching of information set i into policy[d]."""
    total = 0.0
    for a in range(regrets.shape[1]):
        if regrets[i, a] > 0.0:
            total += regrets[i, a]
    count = 0
    for a in range(regrets.shape[1]):
        count += legal[i, a]
    for a in range(regrets.shape[1]):
        if total > 0.0:
            policy[d, a] = regrets[i, a] / total if regrets[i, a] > 0.0 else 0.0
        else:
            policy[d, a] = 1.0 / count if legal[i, a] else 0.0
