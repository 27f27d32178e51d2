"""The whole game tree of a small game of imperfect information, as flat arrays.

Enumerated once through the public kernel face (games.kernels), so the solvers and the
best response (agents.tabular.cfr, agents.tabular.exploitability) are plain Numba loops over
arrays that know nothing of the game. Nodes are in breadth-first order: a node's children
are contiguous and come after it, so a forward sweep over the indices visits parents before
children (reach probabilities) and a backward sweep children before parents (values).

A simultaneous node is a run of sequential sub-steps, one per player in player order (the
game buffers the actions): each sub-step is a decision node of its player, whose
information key does not see the earlier players' pending actions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from games import Game, State, kernels
from games.layout import CHANCE, DONE, TO_PLAY

TERMINAL = -3  # actor of a finished game (CHANCE is -1, players are 0..P-1)
MAX_NODES = 2_000_000  # default limit: rows alone are 8 * width bytes per node


@dataclass(frozen=True, eq=False)  # arrays: compared by identity
class GameTree:
    """Every history of `game`: N nodes in breadth-first order, I information sets.

    Per node: `node_rows` int64[N, width] (the game's state row, e.g. for
    game.information_string), `actor` (player, CHANCE or TERMINAL), `info` (index of the
    actor's information set, -1 at chance and terminal nodes), `parent` (-1 at the root),
    `action` (the action or chance outcome from the parent), `chance_prob` (probability of
    that outcome when the parent is a chance node, else 1), `first_child`/`num_children`
    (children are nodes first_child .. first_child + num_children - 1, in ascending action
    order), `returns` float64[N, P] (each player's total reward at terminal nodes, 0
    elsewhere).

    Per information set: `info_player`, `info_key` (the game's int64 key for that
    player), `info_legal` bool[I, A] (the actor's legal actions there), `info_node` (a
    representative node). Information sets are sorted by (player, key).
    """

    game: Game
    node_rows: np.ndarray
    actor: np.ndarray
    info: np.ndarray
    parent: np.ndarray
    action: np.ndarray
    chance_prob: np.ndarray
    first_child: np.ndarray
    num_children: np.ndarray
    returns: np.ndarray
    info_player: np.ndarray
    info_key: np.ndarray
    info_legal: np.ndarray
    info_node: np.ndarray

    @property
    def spec(self) -> str:
        return self.game.spec

    @property
    def num_nodes(self) -> int:
        return int(self.actor.shape[0])

    @property
    def num_info(self) -> int:
        return int(self.info_player.shape[0])

    @property
    def num_players(self) -> int:
        return self.game.num_players

    @property
    def num_actions(self) -> int:
        return self.game.num_actions

    @property
    def terminal(self) -> np.ndarray:
        return self.actor == TERMINAL

    def info_states(self) -> State:
        """Each information set's representative state (row k: information set k)."""
        return State(self.game.spec, np.ascontiguousarray(self.node_rows[self.info_node]))

    def information_string(self, info: int) -> str:
        """OpenSpiel's information_state_string of information set `info`."""
        node = int(self.info_node[info])
        state = State(self.game.spec, self.node_rows[node : node + 1].copy())
        return self.game.information_string(state, 0, int(self.info_player[info]))


def build_tree(game: Game, max_nodes: int = MAX_NODES) -> GameTree:
    """The game tree of `game` from its initial state; ValueError when the game has no
    information states (perfect information) or more than `max_nodes` nodes."""
    if not (game.hidden or game.simultaneous):
        raise ValueError(
            f"{game.spec} is a game of perfect information: it has no information states "
            "for a tabular solver"
        )
    root = game.init(1, seed=0).data
    capacity = min(1024, max_nodes)
    while True:
        arrays = _alloc(capacity, game)
        count = _enumerate(game.params, root, *arrays)
        if count >= 0:
            break
        if capacity >= max_nodes:
            raise ValueError(
                f"{game.spec} has more than {max_nodes:,} game-tree nodes: too large to "
                "enumerate for a tabular solver"
            )
        capacity = min(capacity * 4, max_nodes)
    rows, actor, keys, parent, action, chance_prob, first, nchild, returns = (
        a[:count] for a in arrays[:9]
    )
    decision = np.flatnonzero(actor >= 0)
    pairs = np.stack([actor[decision], keys[decision]], axis=1)
    unique, index, inverse = np.unique(pairs, axis=0, return_index=True, return_inverse=True)
    infoset = np.full(count, -1, dtype=np.int64)
    infoset[decision] = inverse.ravel()
    representative = decision[index]
    # The legal mask of a node is its children's actions (chance nodes excluded above).
    legal = np.zeros((len(unique), game.num_actions), dtype=np.bool_)
    for rank, node in enumerate(representative):
        legal[rank, action[first[node] : first[node] + nchild[node]]] = True
    return GameTree(
        game=game,
        node_rows=rows,
        actor=actor,
        info=infoset,
        parent=parent,
        action=action,
        chance_prob=chance_prob,
        first_child=first,
        num_children=nchild,
        returns=returns,
        info_player=unique[:, 0].copy(),
        info_key=unique[:, 1].copy(),
        info_legal=legal,
        info_node=representative,
    )


def _alloc(capacity: int, game: Game) -> tuple:
    return (
        np.empty((capacity, game.row_width), dtype=np.int64),  # rows
        np.empty(capacity, dtype=np.int64),  # actor
        np.empty(capacity, dtype=np.int64),  # info key
        np.empty(capacity, dtype=np.int64),  # parent
        np.empty(capacity, dtype=np.int64),  # action
        np.empty(capacity, dtype=np.float64),  # chance_prob
        np.empty(capacity, dtype=np.int64),  # first child
        np.empty(capacity, dtype=np.int64),  # number of children
        np.empty((capacity, game.num_players), dtype=np.float64),  # returns so far
        np.empty((1, game.row_width), dtype=np.int64),  # scratch row
        np.empty((1, game.num_actions), dtype=np.bool_),  # scratch legal mask
        np.empty((1, game.num_actions), dtype=np.float64),  # scratch chance probabilities
        np.empty((1, game.num_players), dtype=np.float32),  # scratch step rewards
    )


@njit(cache=True)
def _enumerate(
    g,
    root,
    rows,
    actor,
    keys,
    parent,
    action,
    chance_prob,
    first,
    nchild,
    returns,
    one,
    mask,
    probs,
    rw,
):
    """Breadth-first enumeration from root[0]; the node count, or -1 when it would pass the
    arrays' capacity. `returns` holds each node's rewards so far, zeroed at the end for
    non-terminal nodes."""
    capacity = rows.shape[0]
    rows[0, :] = root[0, :]
    parent[0] = -1
    action[0] = -1
    chance_prob[0] = 1.0
    returns[0, :] = 0.0
    count = 1
    n = 0
    while n < count:
        if rows[n, DONE]:
            actor[n] = TERMINAL
            keys[n] = -1
            first[n] = count
            nchild[n] = 0
            n += 1
            continue
        chance = rows[n, TO_PLAY] == CHANCE
        who = CHANCE if chance else kernels.actor_row(g, rows, n)
        actor[n] = who
        keys[n] = -1 if chance else kernels.info_key_row(g, rows, n, who)
        # The primitives write row i of their outputs: they work on a one-row copy of n.
        one[0, :] = rows[n, :]
        kernels.legal_row(g, one, 0, mask)
        if chance:
            kernels.chance_row(g, one, 0, probs)
        first[n] = count
        k = 0
        for a in range(mask.shape[1]):
            if not mask[0, a]:
                continue
            if count >= capacity:
                return -1
            c = count
            one[0, :] = rows[n, :]
            kernels.apply_row(g, one, 0, a, rw)
            rows[c, :] = one[0, :]
            parent[c] = n
            action[c] = a
            chance_prob[c] = probs[0, a] if chance else 1.0
            for p in range(returns.shape[1]):
                returns[c, p] = returns[n, p] + rw[0, p]
            count += 1
            k += 1
        nchild[n] = k
        n += 1
    for n in range(count):
        if actor[n] != TERMINAL:
            returns[n, :] = 0.0
    return count


@njit(cache=True, inline="always")
def node_value(n, actor, info, first, nchild, action, chance_prob, policy, value):
    """value[n] (float64[N, P], every player's) of a chance or decision node n: its
    children's values weighted by their chance probabilities or by the actor's strategy
    policy[info[n]] (float64[I, A]). Backward sweeps (children first) call it."""
    i = info[n]
    value[n, :] = 0.0
    for c in range(first[n], first[n] + nchild[n]):
        w = chance_prob[c] if actor[n] == CHANCE else policy[i, action[c]]
        for q in range(value.shape[1]):
            value[n, q] += w * value[c, q]
