"""α-Rank response graphs for the Population page (no Streamlit here).

α-Rank's Markov chain (arena.alpharank) moves from profile s to profile r with the
probability ρ[s, r] that a mutant playing r takes over a population playing s. The
response graph draws an edge s -> r where that mutant fixates more often than a neutral
one would (ρ > ρ_neutral): r beats s. A node is an agent (a league's single population)
or a strategy profile (one member per player in PSRO's populations), with its stationary
mass. Only the top nodes by mass are drawn, with the edges among them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from arena.alpharank import AlphaRankResult, alpharank

PROFILE_SEPARATOR = " · "  # between the players' members in a profile's label
LIMIT_EPSILON = 1e-6  # ε of the infinite-α α-Rank of PSRO populations (limit_alpharank)


@dataclass(frozen=True)
class ResponseGraph:
    """The top nodes of an α-Rank result and the edges among them."""

    nodes: pd.DataFrame  # node (label), mass; heaviest first
    edges: pd.DataFrame  # source, target (labels), rho, ratio (rho / rho_neutral)
    total: int  # nodes in the whole graph


def response_graph(result: AlphaRankResult, labels: Sequence[str], top: int) -> ResponseGraph:
    """The `top` heaviest nodes of `result` (labels in its profile order) and their edges."""
    shown = np.argsort(-result.pi, kind="stable")[:top]
    position = np.full(len(result.pi), -1)
    position[shown] = np.arange(len(shown))
    rho = result.rho.tocoo()
    keep = (
        (position[rho.row] >= 0)
        & (position[rho.col] >= 0)
        & (rho.row != rho.col)
        & (rho.data > result.rho_neutral)
    )
    # Heaviest source first, then its heaviest targets: a stable order for the table.
    order = np.lexsort((position[rho.col[keep]], position[rho.row[keep]]))
    rows, cols, values = rho.row[keep][order], rho.col[keep][order], rho.data[keep][order]
    return ResponseGraph(
        nodes=pd.DataFrame({"node": [labels[i] for i in shown], "mass": result.pi[shown]}),
        edges=pd.DataFrame(
            {
                "source": [labels[i] for i in rows],
                "target": [labels[i] for i in cols],
                "rho": values,
                "ratio": values / result.rho_neutral,
            }
        ),
        total=len(result.pi),
    )


def profile_labels(result: AlphaRankResult, members: Sequence[Sequence[str]]) -> list[str]:
    """A label per profile: the member of each player (`members[p]`), in player order."""
    return [
        PROFILE_SEPARATOR.join(members[p][k] for p, k in enumerate(profile))
        for profile in result.profiles
    ]


def psro_tables(payoffs: pa.Table, members: Sequence[str], players: int) -> list[np.ndarray]:
    """PSRO's payoff tables over `members` (one per player, shape [n] * players) from the
    rows of its `psro_payoffs` metrics table (each round adds its new member's entries).

    Raises ValueError naming a profile no row gives, rather than drawing a guess.
    """
    index = {name: k for k, name in enumerate(members)}
    tables = [np.full((len(members),) * players, np.nan) for _ in range(players)]
    for player, profile, payoff in zip(
        payoffs["player"].to_pylist(),
        payoffs["profile"].to_pylist(),
        payoffs["payoff"].to_pylist(),
        strict=True,
    ):
        if all(name in index for name in profile):
            tables[player][tuple(index[name] for name in profile)] = payoff
    for player, table in enumerate(tables):
        gaps = np.argwhere(np.isnan(table))
        if len(gaps):
            missing = PROFILE_SEPARATOR.join(members[k] for k in gaps[0])
            raise ValueError(
                f"the PSRO payoff table of player {player} lacks {len(gaps)} entries "
                f"(first: {missing}); its psro_payoffs metrics are incomplete"
            )
    return tables


def limit_alpharank(tables: Sequence[np.ndarray]) -> AlphaRankResult:
    """α-Rank in the infinite-α limit (what PSRO's alpharank meta-solver ranks by:
    scale-free, so chips and win rates alike), at one small ε.

    The meta-solver sweeps ε towards 0 (arena.alpharank.epsilon_sweep): at least a dozen
    solves, 56 s for the 3,721 profiles of 61 members (load 12), where one solve takes
    3.7 s. At ε = LIMIT_EPSILON the masses are within 1e-7 of the sweep's on random
    zero-sum tables and 6e-6 on a Kuhn poker PSRO run's (tested: below the 3 decimals
    shown), and the response graph's edges (ρ > 1/2) do not depend on ε at all.
    """
    return alpharank(tables, use_inf_alpha=True, inf_alpha_eps=LIMIT_EPSILON)
