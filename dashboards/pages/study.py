"""Study page: an `arena study`'s ratings, compute frontier and equal-time comparison.

Reads the study's tables (`tables/ratings.parquet`, `pairings.parquet`) and fits the
frontier from the ratings as `arena study report` does (cached until the ratings change),
so the page is current even before a report is written. Player names are data: they reach
the page only through tables and charts.
"""

import math

import pandas as pd
import pyarrow as pa
import streamlit as st

from arena.study.frontier import Estimate, equal_time, steps_in_sims
from arena.study.tables import PAIRINGS, RATINGS
from dashboards import charts, data, ui

STUDY_KIND = "study"  # arena.study.run.KIND (importing it loads torch)
ROLLOUT_LINE = "rollout search (mcts)"


def interval(estimate: Estimate, digits: str = ".0f") -> str:
    if math.isnan(estimate.value):
        return "not fitted"
    return f"{estimate.ci_low:{digits}} to {estimate.ci_high:{digits}}"


def frontier_section(run: data.Run) -> None:
    fit = data.study_frontier(run)
    columns = st.columns(3)
    for column, label, estimate, digits, what in (
        (columns[0], "Elo per 10x training", fit.elo_per_10x_training, ".0f", ""),
        (columns[1], "Elo per doubling of simulations", fit.elo_per_doubling_sims, ".0f", ""),
        (columns[2], "Exchange rate", fit.exchange_rate, ".3g", "x simulations = 10x training"),
    ):
        value = "-" if math.isnan(estimate.value) else f"{estimate.value:{digits}}"
        column.metric(label, value, help=what or None)
        column.caption(f"{fit.confidence:.0%} interval: {interval(estimate, digits)}")
    st.caption(
        f"Fitted on {fit.points} snapshot players below saturation ({fit.saturated} on the "
        "plateau left out): Elo = a per network + b log10 FLOPs + c log2 simulations, "
        "with a bootstrap of the whole fit."
    )
    slopes = pd.DataFrame(
        [
            {"simulations": s, "Elo per 10x training": e.value, "interval": interval(e)}
            for s, e in sorted(fit.per_budget.items())
        ]
    )
    st.dataframe(slopes, hide_index=True, key="slopes_table")


def equal_time_section(ratings: pd.DataFrame, table: pa.Table) -> None:
    timed = ratings[ratings["seconds_per_move"].notna() & (ratings["seconds_per_move"] > 0)]
    searched = timed[(timed["kind"] == "snapshot") | (timed["sims"] > 0)]
    if searched.empty:
        st.info("No player's seconds per move is measured yet.")
        return
    lines = searched.assign(
        line=searched["snapshot"].where(searched["kind"] == "snapshot", ROLLOUT_LINE)
    )
    st.altair_chart(charts.study_equal_time(lines), key="equal_time_chart")
    st.dataframe(table.to_pandas(), hide_index=True, key="equal_time_table")
    st.caption(
        "Seconds per move are fitted to the wall time of the rating matches; each rollout "
        "search anchor is compared with each snapshot at the same time per move (the "
        "snapshot's Elo interpolated between its simulation budgets)."
    )


ui.setup("Study")
run = ui.current_run()
st.title("Study")
ui.run_caption(run)
if run.kind != STUDY_KIND:
    st.info(
        "This page shows the folders of `arena study run` (pick one in the sidebar): the "
        "ratings of every (snapshot, simulations) player and the compute frontier."
    )
    st.stop()

ratings_table = None
with ui.guard("Reading the ratings"):
    ratings_table = data.study_table(run, RATINGS)
if ratings_table is None or ratings_table.num_rows == 0:
    st.info("No ratings yet: the study is still training, or its rating has not begun.")
    st.stop()
ratings = ratings_table.to_pandas()

st.subheader("Compute frontier")
with ui.guard("Fitting the frontier"):
    frontier_section(run)

st.subheader("Elo against training compute")
snapshots = ratings[(ratings["kind"] == "snapshot") & (ratings["train_flops"] > 0)]
st.altair_chart(charts.study_training(snapshots), key="training_chart")

st.subheader("Strength in simulations")
steps = steps_in_sims(ratings_table).to_pandas()
drops = steps[steps["change"] < -steps["half_width"]]
st.caption(
    f"{int((steps['change'] > 0).sum())} of {len(steps)} steps to the next simulation budget "
    f"gain Elo; {len(drops)} lose it beyond their interval."
)
st.dataframe(steps, hide_index=True, key="sims_steps_table")

st.subheader("At equal time per move")
equal_time_section(ratings, equal_time(ratings_table))

st.subheader("Ratings")
st.dataframe(ratings.sort_values("rating", ascending=False), hide_index=True, key="ratings_table")
pairings = data.study_table(run, PAIRINGS)
if pairings is not None:
    left = pairings.to_pandas().query("status == 'left out'")
    if len(left):
        st.warning(f"{len(left)} planned matches were left out to stay within the budget (below).")
        st.dataframe(left, hide_index=True, key="left_out_table")
