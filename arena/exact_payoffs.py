"""Exact payoff tables of agents that state their strategy, on a game small enough to enumerate.

A league's payoff tables (arena.payoffs) are means over sampled games: 64 games per pair of
rock-paper-scissors leave about ±0.12 in an entry, and α-Rank at α = 100 turns such noise
into one-way edges of its response graph. When every agent states the distribution it
plays from (`strategy()`: random, fixed, policy:, checkpoint: at its temperature) and the
game's tree can be enumerated (matrix games, Kuhn and Leduc poker, small Goofspiel), each
expected return is a sum over the tree's terminal histories (arena.psro.payoff_tables) and
needs no game at all: the same tables without the noise.

The tables are those of arena.payoffs, exact: `seat_tables` as its ``seat_payoffs`` (for
per-seat α-Rank), `antisymmetric` as ``PayoffTables.antisymmetric`` (Nash averaging,
diversity, single-population α-Rank). `arena ratings DIR --method alpharank|nash-avg
--exact` ranks a run's agents on them (`run_agents` rebuilds the agents from the run's own
record of their specs). A league's metrics and its dashboard stay on its stored games, the
one source every one of its rankings shares.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

import agents as agent_specs
import games
from agents.base import Agent
from agents.tabular.query import agent_policy, query_method
from agents.tabular.tree import GameTree, build_tree

# Larger trees are left to sampled games: bounds the cost of a ranking (and of finding out
# that a tree is too big) to a fraction of a second.
MAX_NODES = 100_000


def seat_tables(game: games.Game, agents: Mapping[str, Agent]) -> list[np.ndarray] | None:
    """[seat 0's table, seat 1's table] of `agents` (name -> agent, tables in that order):
    ``tables[s][i, j]`` is seat s's expected return when agent i sits first and agent j
    second. None where they cannot be computed: a game of more than two players or of
    perfect information, a tree of more than MAX_NODES nodes, or an agent that does not
    state its strategy (it can only be sampled: its games are the measure)."""
    if game.num_players != 2 or not all(query_method(a) == "strategy" for a in agents.values()):
        return None
    tree = _tree(game)
    if tree is None:
        return None
    from arena.psro import make_member, payoff_tables  # the contraction PSRO's exact payoffs use

    members = [
        make_member(tree, name, agent_policy(agent, tree).in_tree_order(tree))
        for name, agent in agents.items()
    ]
    return payoff_tables(tree, members)


def antisymmetric(tables: list[np.ndarray]) -> np.ndarray:
    """``(P - P^T) / 2`` of ``P[i, j]``, agent i's expected return against j with both
    seatings weighted alike (as arena.payoffs defines it), 0 on the diagonal."""
    first, second = tables
    p = (first + second.T) / 2.0
    a = (p - p.T) / 2.0
    np.fill_diagonal(a, 0.0)
    return a


def run_agents(run_dir: str | Path, names: Sequence[str]) -> dict[str, Agent]:
    """The agents `names` of a tournament or a league, rebuilt from the run's own record of
    their specs: a tournament's config, a league's metrics/population (a learner's version
    `main@r0066` is its slot's checkpoint of round 66). Specs from a run folder never import
    code (agents.spec). ValueError naming an agent the run holds no spec of."""
    from arena import ids, metrics
    from arena.config import load_toml
    from arena.league import ROLES
    from arena.rundir import CONFIG_FILE, read_run
    from arena.tournament import parse_agents

    run_dir = Path(run_dir)
    record = read_run(run_dir) or {}
    game = games.make(record.get("game", ""))
    specs: dict[str, str] = {}
    if record.get("kind") == "league":
        for row in metrics.read_table(run_dir, "population").to_pylist():
            specs[row["agent"]] = row["spec"]  # anchors and snapshots: the same every round
            if row["role"] in ROLES:
                specs[ids.version_id(row["agent"], row["round"])] = row["spec"]
    elif record.get("kind") == "tournament":
        specs = parse_agents(load_toml(run_dir / CONFIG_FILE)["agents"])
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise ValueError(f"{run_dir} holds no agent spec of {', '.join(unknown)}")
    return {n: agent_specs.make(specs[n], game, name=n) for n in names}


def _tree(game: games.Game) -> GameTree | None:
    """The game's tree, or None (perfect information, or too big)."""
    try:
        return build_tree(game, max_nodes=MAX_NODES)
    except ValueError:
        return None
