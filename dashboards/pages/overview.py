"""Overview of a run: ratings, win rates, league history, lineage and throughput."""

import pandas as pd
import pyarrow as pa
import streamlit as st

from arena.metrics import SCHEMAS
from dashboards import charts, data, ui
from dashboards.live import live
from dashboards.queries import EMPTY_SUMMARY


def overview(run: data.Run) -> None:
    """The run's games, ratings, win rates, diversity, lineage and progress."""
    summary = EMPTY_SUMMARY
    with ui.guard("Reading the games"):
        summary = data.summary(run)

    tables: dict[str, pa.Table] = {name: schema.empty_table() for name, schema in SCHEMAS.items()}
    with ui.guard("Reading the league metrics"):
        tables = {name: data.metrics_table(run, name) for name in SCHEMAS}
    progress, population = tables["progress"], data.latest_round(tables["population"])

    # ---------------------------------------------------------------- games and throughput
    columns = st.columns(4)
    columns[0].metric("Games stored", f"{summary.games:,}")
    columns[1].metric("Agents", len(set(summary.agents) | set(population["agent"].to_pylist())))
    if progress.num_rows:
        last = progress.to_pylist()[-1]
        rate = last["games_total"] / last["elapsed_seconds"] if last["elapsed_seconds"] else None
        columns[3].metric("Rounds", last["round"])
        rate_help = "games stored / league running time"
    else:
        rate = summary.games_per_second
        rate_help = "games / time from the first game's start to the last game's end"
    columns[2].metric("Games/s", "-" if rate is None else f"{rate:,.1f}", help=rate_help)
    if summary.games == 0:
        st.info("No games are stored in this run yet.")

    # ---------------------------------------------------------------- ratings
    st.subheader("Ratings")
    history = tables["ratings"]
    now = None
    game = None  # the game rated, in a run holding several
    if history.num_rows:
        now = data.latest_round(history)
        source = f"from the league's evaluation in round {now['round'][0].as_py()}"
    elif summary.games:
        with ui.guard("Fitting ratings"):
            game = ui.pick_game(run)
            fitted = data.fitted_ratings(run, game)
            now = fitted.to_arrow()
            games = f"{summary.games:,} games" if game is None else f"its {ui.plain(game)} games"
            source = (
                f"Bradley-Terry fit of all {games}; "
                f"{ui.plain(fitted.anchor or 'the mean')} = {fitted.anchor_value:g}"
            )
    order: list[str] = []
    if now is not None:
        frame = now.to_pandas().sort_values("rating", ascending=False)
        order = frame["agent"].tolist()
        st.dataframe(
            pd.DataFrame(
                {
                    "agent": frame["agent"],
                    "Elo": frame["rating"].round(0),
                    "±": ((frame["ci_high"] - frame["ci_low"]) / 2).round(0),
                    "CI low": frame["ci_low"].round(0),
                    "CI high": frame["ci_high"].round(0),
                    "games": frame["games"],
                }
            ),
            hide_index=True,
            key="ratings_table",
        )
        st.caption(f"Elo with 95% confidence intervals, {source}.")

    st.subheader("Ratings over time")
    if history.num_rows:
        lines = data.rating_lines(history.to_pandas())
        st.altair_chart(charts.ratings_over_time(lines), key="ratings_chart")
    else:
        st.info(
            f"Leagues record ratings at each evaluation round; this {ui.plain(run.kind)} has none."
        )

    # ---------------------------------------------------------------- win rates
    st.subheader("Win rates")
    rows = None
    if tables["winrates"].num_rows:
        rows = data.latest_round(tables["winrates"]).to_pandas()
        st.caption("Score of the row agent against the column agent in the latest evaluation.")
    elif order:
        with ui.guard("Computing win rates"):
            rate, count = data.win_rates(run, order, game)
            rows = charts.matrix_rows(order, rate, count)
            st.caption("Score of the row agent against the column agent over all games.")
    if rows is not None and len(rows):
        present = set(rows["agent"]) | set(rows["opponent"])
        order = [a for a in order if a in present] + sorted(present - set(order))
        st.altair_chart(
            charts.win_rate_heatmap(rows, order),
            height=charts.heatmap_height(len(order)),
            key="winrate_chart",
        )
    else:
        st.info("No results to compare yet.")

    # ---------------------------------------------------------------- diversity
    st.subheader("Diversity")
    diversity = tables["diversity"].to_pandas()
    if len(diversity):
        names = sorted(diversity["metric"].unique())
        grid = st.columns(3)
        for k, name in enumerate(names):
            one = diversity[diversity["metric"] == name]
            grid[k % 3].altair_chart(
                charts.metric_over_rounds(one, "value", name), key=f"div_{name}"
            )
    else:
        st.info(
            "Leagues record diversity metrics per evaluation round; this "
            f"{ui.plain(run.kind)} has none."
        )

    # ---------------------------------------------------------------- lineage
    st.subheader("Population lineage")
    if population.num_rows:
        st.graphviz_chart(charts.lineage_dot(population))
        st.dataframe(
            population.select(["agent", "role", "parent", "created_round", "spec"]).to_pandas(),
            hide_index=True,
            key="population_table",
        )
    else:
        st.info(
            "Leagues record which snapshot came from which learner; this "
            f"{ui.plain(run.kind)} has none."
        )

    # ---------------------------------------------------------------- progress
    if progress.num_rows:
        st.subheader("Progress")
        frame = progress.to_pandas()
        left, right = st.columns(2)
        left.altair_chart(
            charts.metric_over_rounds(frame, "games_total", "games stored"), key="games_chart"
        )
        right.altair_chart(
            charts.metric_over_rounds(frame, "games_per_second", "games/s in the round"),
            key="rate_chart",
        )


ui.setup("Overview")
run = ui.current_run()
st.title(ui.plain(run.name))
ui.run_caption(run)
live(run, overview)
