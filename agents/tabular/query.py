"""Any agent as a tabular policy: its strategy read at every information state of a game.

Each information set is asked about at its representative state (the tree's `info_node`),
so an agent that looks at more than its own information (a cheat) is measured there only.
An agent with `strategy` states the distribution its `act` draws from (renormalised over the
legal actions); any other agent is asked to `act` `samples` times on copies of that state and
its strategy is the empirical distribution of its moves (exact for deterministic agents,
within about 1/sqrt(samples) otherwise). Never `evaluate`: that is what an agent believes
(a search's visit shares, a network's priors), not what it plays. At a simultaneous node
both calls get `player=` the seat.
"""

from __future__ import annotations

import numpy as np

from agents.base import Agent
from agents.tabular.policy import TabularPolicy
from agents.tabular.tree import GameTree
from games import State
from games.layout import SIMULTANEOUS

ROWS_PER_CALL = 65_536  # states per act call: bounds the memory of the sampled copies


def query_method(agent: Agent) -> str:
    """How `agent_policy` reads `agent`: "strategy" or "act"."""
    return "strategy" if callable(getattr(agent, "strategy", None)) else "act"


def agent_policy(agent: Agent, tree: GameTree, samples: int = 1000, seed: int = 0) -> TabularPolicy:
    """The tabular policy `agent` plays on the game of `tree` (see the module docstring);
    ValueError naming the information state where it plays an illegal action."""
    if samples < 1:
        raise ValueError(f"samples must be positive, got {samples}")
    game = tree.game
    state = tree.info_states()
    simultaneous = state.to_play == SIMULTANEOUS
    probs = np.zeros((tree.num_info, tree.num_actions), dtype=np.float64)
    rng = np.random.default_rng(seed)
    per_call = ROWS_PER_CALL if query_method(agent) == "strategy" else ROWS_PER_CALL // samples
    per_call = max(per_call, 1)
    for player in [None, *range(game.num_players)]:
        if player is None:  # decision nodes: each state's player to move
            group = np.flatnonzero(~simultaneous)
            kwargs = {}
        else:
            group = np.flatnonzero(simultaneous & (tree.info_player == player))
            kwargs = {"player": player}
        for start in range(0, group.size, per_call):
            idx = group[start : start + per_call]
            if query_method(agent) == "strategy":
                probs[idx] = _stated(agent, state.take(idx), tree, idx, kwargs)
            else:
                probs[idx] = _sampled(agent, state, tree, idx, samples, rng, kwargs)
    return TabularPolicy.from_tree(tree, probs)


def _stated(agent, sub: State, tree: GameTree, idx: np.ndarray, kwargs) -> np.ndarray:
    legal = tree.info_legal[idx]
    policy = agent.strategy(tree.game, sub, legal.copy(), **kwargs)
    probs = np.where(legal, np.asarray(policy, dtype=np.float64), 0.0)
    total = probs.sum(axis=1, keepdims=True)
    empty = np.flatnonzero(total[:, 0] <= 0)
    if empty.size:
        raise ValueError(
            f"{agent.name} gives no probability to any legal action in information state "
            f"{tree.information_string(int(idx[empty[0]]))!r}"
        )
    return probs / total


def _sampled(agent, state: State, tree: GameTree, idx, samples, rng, kwargs) -> np.ndarray:
    copies = np.repeat(idx, samples)
    legal = tree.info_legal[copies]
    moves = np.asarray(agent.act(tree.game, state.take(copies), legal.copy(), rng, **kwargs))
    ok = (moves >= 0) & (moves < tree.num_actions)
    ok[ok] = legal[np.flatnonzero(ok), moves[ok]]
    if not ok.all():
        k = int(np.flatnonzero(~ok)[0])
        raise ValueError(
            f"{agent.name} played illegal action {moves[k]} in information state "
            f"{tree.information_string(int(copies[k]))!r}"
        )
    counts = np.zeros((idx.size, tree.num_actions), dtype=np.float64)
    np.add.at(counts, (np.repeat(np.arange(idx.size), samples), moves), 1.0)
    return counts / samples
