"""Agent page: results against each opponent, rating history, checkpoints and lineage."""

import pyarrow as pa
import pyarrow.compute as pc
import streamlit as st

from arena.metrics import SCHEMAS
from dashboards import charts, data, ui
from dashboards.live import live
from dashboards.queries import EMPTY_SUMMARY


def relatives(population: pa.Table, agent: str) -> pa.Table:
    """The members of the agent's line: its ancestors, itself and its descendants."""
    parent = {m["agent"]: m["parent"] for m in population.to_pylist()}
    line, walk = {agent}, parent.get(agent)
    while walk and walk not in line:
        line.add(walk)
        walk = parent.get(walk)
    grew = True
    while grew:  # descendants: anything whose parent is already in the line
        children = {a for a, p in parent.items() if p in line and a not in line}
        line |= children
        grew = bool(children)
    return population.filter(pc.is_in(population["agent"], pa.array(sorted(line))))


def checkpoints(run: data.Run, agent: str) -> None:
    found = data.checkpoints(run, agent)
    if not found:
        st.info(
            f"No checkpoint metadata under {ui.code(f'agents/{agent}/')} (baseline agents have "
            "none)."
        )
        return
    st.dataframe(
        [
            {
                "file": path,
                "step": meta.get("step"),
                "created": meta.get("created_at"),
                "parent": meta.get("parent"),
                "architecture": (meta.get("architecture") or {}).get("architecture"),
                "blocks": (meta.get("architecture") or {}).get("blocks"),
                "channels": (meta.get("architecture") or {}).get("channels"),
            }
            for path, meta in found
        ],
        hide_index=True,
        key="checkpoints_table",
    )
    for path, meta in found:
        with st.expander(ui.code(path)):
            st.json(meta)


def agent_page(run: data.Run) -> None:
    """One agent's results, rating history, checkpoints and lineage."""
    summary = EMPTY_SUMMARY
    with ui.guard("Reading the games"):
        summary = data.summary(run)
    tables = {name: SCHEMAS[name].empty_table() for name in ("ratings", "population")}
    with ui.guard("Reading the league metrics"):
        tables = {name: data.metrics_table(run, name) for name in tables}
    population = data.latest_round(tables["population"])

    members = population["agent"].to_pylist()
    agents = members + sorted(set(summary.agents) - set(members))
    if not agents:
        st.info("No agents in this run yet: it has neither games nor a population.")
        return
    agent = st.selectbox("Agent", agents, key="agent")

    member = next((m for m in population.to_pylist() if m["agent"] == agent), None)
    if member is not None:
        st.markdown(
            f"Role **{ui.plain(member['role'])}**, created in round {member['created_round']}"
            + (f", from **{ui.plain(member['parent'])}**" if member["parent"] else "")
            + f"; spec {ui.code(member['spec'])}"
        )

    st.subheader("Results against each opponent")
    played_as = data.versions(agent, summary.agents)
    if played_as:
        if played_as != [agent]:
            shown = ", ".join(map(ui.plain, played_as[:3])) + (
                ", ..." if len(played_as) > 3 else ""
            )
            st.caption(f"Over the {len(played_as)} versions it played as: {shown}")
        with ui.guard("Computing results"):
            results = data.opponents(run, played_as).to_pandas()
            wins, draws, losses = (int(results[c].sum()) for c in ("wins", "draws", "losses"))
            st.markdown(
                f"{wins + draws + losses:,} games: {wins:,} won, {draws:,} drawn, {losses:,} lost."
            )
            st.dataframe(
                results,
                hide_index=True,
                key="opponents_table",
                column_config={
                    c: st.column_config.ProgressColumn(
                        c.replace("_", " "), format="percent", min_value=0, max_value=1
                    )
                    for c in ("score", "score_moving_first", "score_moving_second")
                },
            )
    else:
        st.info(f"{ui.plain(agent)} has no stored games.")

    st.subheader("Rating history")
    lines = data.rating_lines(tables["ratings"].to_pandas())
    history = lines[lines["line"] == agent]
    if len(history):
        st.altair_chart(charts.ratings_over_time(history), key="agent_rating_chart")
    elif agent in summary.agents:
        with ui.guard("Fitting ratings"):
            game = ui.pick_game(run)
            fitted = data.fitted_ratings(run, game)
            if agent in fitted.agents:
                i = fitted.agents.index(agent)
                st.metric("Elo over all games", f"{fitted.rating[i]:.0f}")
                st.caption(
                    f"95% interval [{fitted.ci_low[i]:.0f}, {fitted.ci_high[i]:.0f}]; leagues "
                    "also record a rating per evaluation round, this "
                    f"{ui.plain(run.kind)} does not."
                )
            else:
                st.info("No games of this agent in the game chosen.")
    else:
        st.info(f"No rating for {ui.plain(agent)} yet.")

    st.subheader("Checkpoints")
    checkpoints(run, agent)

    st.subheader("Lineage")
    if member is not None:
        line = relatives(population, agent)
        st.graphviz_chart(charts.lineage_dot(line, highlight=agent))
    else:
        st.info(
            f"{ui.plain(agent)} is not in the population table (this {ui.plain(run.kind)} "
            "records none for it)."
        )


ui.setup("Agent")
run = ui.current_run()
st.title("Agent")
ui.run_caption(run)
live(run, agent_page)
