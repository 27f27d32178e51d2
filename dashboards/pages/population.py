"""Population page: α-Rank's response graph, the Nash mixture over rounds and the
exploitability measures, beside Elo.

A league's evaluation rounds (metrics `alpharank`, `nash_averaging`, `ratings`,
`exploitability_bounds`), a PSRO run's iterations (`psro_meta_strategy`, `psro_payoffs`,
`exploitability`), or, for a run with neither, α-Rank and Nash averaging of its games.
Agent names are data: they reach the page only through tables, charts and escaped
Graphviz labels, never through markdown.
"""

import pandas as pd
import pyarrow as pa
import streamlit as st

from arena.alpharank import AlphaRankResult
from arena.ids import EVAL_ONLY, learner_of
from arena.metrics import SCHEMAS
from dashboards import charts, data, queries, responses, ui
from dashboards.live import live
from dashboards.queries import EMPTY_SUMMARY

DEFAULT_TOP = 8  # nodes drawn unless the slider says otherwise
TABLES = (
    "alpharank",
    "alpharank_per_seat",
    "nash_averaging",
    "ratings",
    "exploitability_bounds",
    "exploitability",
    "psro_meta_strategy",
    "psro_payoffs",
)


def pick_round(table: pa.Table, what: str) -> int:
    """The round (or iteration) to show: the latest unless picked. "Latest" is an option
    of its own, so a page refreshed while a league runs follows its new rounds."""
    rounds = sorted(set(table["round"].to_pylist()))
    chosen = st.selectbox(
        what,
        [None, *rounds],
        format_func=lambda r: f"latest ({rounds[-1]})" if r is None else str(r),
        key="population_round",
    )
    return rounds[-1] if chosen is None else chosen


def draw_graph(result: AlphaRankResult, labels: list[str], how: str) -> None:
    """The response graph of the heaviest nodes, and its edges as a table."""
    total = len(labels)
    top = total
    if total > 2:
        top = st.slider(
            "Nodes drawn (the heaviest)", 2, total, min(DEFAULT_TOP, total), key="graph_top"
        )
    graph = responses.response_graph(result, labels, top)
    st.graphviz_chart(charts.response_graph_dot(graph.nodes, graph.edges))
    st.caption(
        f"{how}. The {len(graph.nodes)} heaviest of {graph.total} nodes, labelled with their "
        "stationary mass; an arrow s → r where a mutant r takes over a population playing s "
        "more often than a neutral mutant would (r beats s), thicker as it fixates more surely."
    )
    st.dataframe(
        graph.edges.rename(
            columns={"source": "from", "target": "to", "rho": "fixation ρ", "ratio": "ρ / neutral"}
        ),
        hide_index=True,
        key="edges_table",
    )


def mixture_lines(frame: pd.DataFrame) -> pd.DataFrame:
    """A league's mixture rows with a `line` per agent, a learner's versions as one."""
    return frame.assign(line=frame["agent"].map(learner_of))


def exploitability_section(tables: dict[str, pa.Table], kind: str) -> None:
    st.subheader("NashConv and exploitability bounds")
    shown = False
    if tables["exploitability"].num_rows:
        frame = tables["exploitability"].to_pandas()
        st.altair_chart(
            charts.metric_over_rounds(frame, "nash_conv", "NashConv (exact)"), key="nash_conv_chart"
        )
        shown = True
    if tables["exploitability_bounds"].num_rows:
        frame = mixture_lines(tables["exploitability_bounds"].to_pandas())
        st.altair_chart(charts.bounds_over_rounds(frame), key="bounds_chart")
        st.caption(
            "The main exploiters' mean return against each main agent in the round's "
            "evaluation games, minus the game's value: a lower bound on its exploitability, "
            "with a 95% interval."
        )
        shown = True
    if not shown:
        st.info(
            f"This {ui.plain(kind)} records no NashConv or exploitability bounds: PSRO and "
            "`arena solve` "
            "runs write NashConv per iteration (`metrics/exploitability`), leagues with main "
            "exploiters a lower bound per evaluation round (`metrics/exploitability_bounds`)."
        )


def league_rounds(run: data.Run, tables: dict[str, pa.Table]) -> None:
    """A league with α-Rank metrics: the chosen evaluation round and the history."""
    chosen = pick_round(tables["alpharank"], "Evaluation round")
    ranked = tables["alpharank"].to_pandas()
    ranked = ranked[ranked["round"] == chosen]
    st.subheader("α-Rank response graph")
    with ui.guard("Computing the response graph"):
        alpha = float(ranked["alpha"].iloc[0])
        found = data.ranking(run, queries.evaluation_through(chosen), list(ranked["agent"]), alpha)
        labels = list(found.completion.tables.agents)
        draw_graph(
            found.alpharank,
            labels,
            f"Single-population α-Rank (α = {alpha:g}) of round {chosen}'s evaluation games",
        )

    st.subheader("Rankings next to Elo")
    nash = tables["nash_averaging"].to_pandas()
    nash = nash[nash["round"] == chosen].set_index("agent")
    elo = tables["ratings"].to_pandas()
    elo = elo[elo["round"] == chosen].set_index("agent")
    frame = pd.DataFrame(
        {
            "agent": ranked["agent"].to_numpy(),
            "α-Rank mass": ranked["mass"].to_numpy(),
            "Nash mass": ranked["agent"].map(nash["mass"]).to_numpy(),
            "Nash skill": ranked["agent"].map(nash["skill"]).to_numpy(),
            "Elo": ranked["agent"].map(elo["rating"]).round(0).to_numpy(),
            "±": ranked["agent"].map((elo["ci_high"] - elo["ci_low"]) / 2).round(0).to_numpy(),
        }
    ).sort_values(["α-Rank mass", "agent"], ascending=[False, True])
    # Where the seats differ: each seat's marginal of two-population α-Rank (arena.population).
    per_seat = tables["alpharank_per_seat"].to_pandas()
    per_seat = per_seat[per_seat["round"] == chosen]
    for seat, rows in per_seat.groupby("seat", sort=True):
        mass = frame["agent"].map(rows.set_index("agent")["mass"])
        frame.insert(2 + int(seat), f"α-Rank seat {seat}", mass.to_numpy())
    st.dataframe(frame, hide_index=True, key="rankings_table")
    st.caption(
        f"Round {chosen}: α-Rank's stationary mass, the maximum-entropy Nash mixture and each "
        "agent's skill (mean payoff) against it, and the Bradley-Terry Elo with its 95% "
        "interval. Only agents that met every other are ranked by α-Rank and Nash."
        + (
            " α-Rank seat 0 and seat 1: each seat's mass in α-Rank with the two seats as "
            "populations (the seats differ in this game), of the agents that played every "
            "other and themselves in both seats."
            if len(per_seat)
            else ""
        )
    )

    st.subheader("Over the rounds")
    left, middle, right = st.columns(3)
    lines = data.rating_lines(tables["ratings"].to_pandas())
    left.altair_chart(charts.ratings_over_time(lines), key="elo_chart")
    middle.altair_chart(
        charts.mixture_over_rounds(
            mixture_lines(tables["nash_averaging"].to_pandas()), "mass", "Nash mixture"
        ),
        key="nash_mixture_chart",
    )
    right.altair_chart(
        charts.mixture_over_rounds(
            mixture_lines(tables["alpharank"].to_pandas()), "mass", "α-Rank mass"
        ),
        key="alpharank_chart",
    )
    exploitability_section(tables, run.kind)


def psro_iterations(run: data.Run, tables: dict[str, pa.Table]) -> None:
    """A PSRO run: the chosen iteration's populations and the meta-strategies over time."""
    chosen = pick_round(tables["psro_meta_strategy"], "Iteration")
    st.subheader("α-Rank response graph")
    with ui.guard("Computing the response graph"):
        members, result = data.psro_alpharank(run, chosen)
        draw_graph(
            result,
            responses.profile_labels(result, members),
            f"Multi-population α-Rank (infinite α, one population per player) of the exact "
            f"payoff tables after iteration {chosen}; a node is a profile, one member per "
            "player in player order",
        )

        st.subheader("Meta-strategy and α-Rank per player")
        meta = tables["psro_meta_strategy"].to_pandas()
        meta = meta[meta["round"] == chosen]
        frame = pd.DataFrame({"agent": members[0]})
        for player, mixture in enumerate(result.marginals):
            mine = meta[meta["player"] == player].set_index("agent")["probability"]
            frame[f"meta-strategy {player}"] = frame["agent"].map(mine).to_numpy()
            frame[f"α-Rank {player}"] = mixture
        st.dataframe(frame, hide_index=True, key="rankings_table")
        st.caption(
            "Each player's meta-strategy (its mixture over the members) and α-Rank's mass of "
            "each member for that player. PSRO compares members by expected payoffs (exact, or "
            "sampled from stored games where the game tree cannot be enumerated); it fits no "
            "Elo ratings."
        )

    st.subheader("Meta-strategy over the iterations")
    history = tables["psro_meta_strategy"].to_pandas()
    columns = st.columns(history["player"].nunique())
    for player, rows in history.groupby("player", sort=True):
        columns[player].altair_chart(
            charts.mixture_over_rounds(
                rows.assign(line=rows["agent"]), "probability", f"player {player}"
            ),
            key=f"meta_chart_{player}",
        )
    exploitability_section(tables, run.kind)


def from_games(run: data.Run, tables: dict[str, pa.Table]) -> None:
    """A run without evaluation-round metrics: α-Rank and Nash averaging of its games."""
    league = run.kind == "league"
    st.info(
        f"This {ui.plain(run.kind)} has no α-Rank or Nash averaging per round: leagues write "
        "them at "
        "every evaluation round and PSRO runs at every iteration"
        + (" (this league predates them)" if league else "")
        + ". Below they are computed from "
        + ("the games of its latest evaluation round's agents." if league else "all its games.")
    )
    summary = EMPTY_SUMMARY
    with ui.guard("Reading the games"):
        summary = data.summary(run)
    if summary.games == 0:
        st.info("No games are stored in this run yet.")
        exploitability_section(tables, run.kind)
        return
    st.subheader("α-Rank response graph")
    with ui.guard("Computing the response graph"):
        game = ui.pick_game(run)
        where, agents = (EVAL_ONLY, data.latest_evaluation_agents(run)) if league else (None, None)
        found = data.ranking(run, where, agents, game=game)
        completion = found.completion
        if completion.missing:
            st.warning(
                f"{len(completion.missing)} pairs of agents never played each other (in every "
                f"seating): ranked are the {len(completion.tables.agents)} agents that met every "
                f"other, without {len(completion.dropped)} (below)."
            )
            st.dataframe(
                pd.DataFrame(completion.missing, columns=["agent", "opponent"]),
                hide_index=True,
                key="missing_pairs_table",
            )
        labels = list(completion.tables.agents)
        draw_graph(
            found.alpharank,
            labels,
            f"Single-population α-Rank (α = {found.alpharank.alpha:g}) of the stored games",
        )
        st.subheader("Rankings next to Elo")
        fitted = data.fitted_ratings(run, game)
        elo = dict(zip(fitted.agents, fitted.rating, strict=True))
        frame = pd.DataFrame(
            {
                "agent": labels,
                "α-Rank mass": found.alpharank.pi,
                "Nash mass": found.nash.p,
                "Nash skill": found.nash.skill,
                "Elo": [round(elo[a]) if a in elo else None for a in labels],
            }
        ).sort_values(["α-Rank mass", "agent"], ascending=[False, True])
        st.dataframe(frame, hide_index=True, key="rankings_table")
        st.caption("Elo: the Bradley-Terry fit of all the run's games.")
    exploitability_section(tables, run.kind)


def population(run: data.Run) -> None:
    """A league's rounds, a PSRO run's iterations, or the run's games ranked."""
    tables = {name: SCHEMAS[name].empty_table() for name in TABLES}
    with ui.guard("Reading the metrics"):
        tables = {name: data.metrics_table(run, name) for name in TABLES}
    if tables["alpharank"].num_rows:
        league_rounds(run, tables)
    elif tables["psro_meta_strategy"].num_rows:
        psro_iterations(run, tables)
    else:
        from_games(run, tables)


ui.setup("Population")
run = ui.current_run()
st.title("Population")
ui.run_caption(run)

live(run, population)
