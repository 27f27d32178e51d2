"""Charts of the dashboard: Altair specs and Graphviz text built from Arrow tables."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import pyarrow as pa

from replays import Replay

# Colours of population roles in the lineage graph.
ROLE_COLOURS = {
    "main": "#1f77b4",
    "main_exploiter": "#d62728",
    "league_exploiter": "#9467bd",
    "snapshot": "#aec7e8",
    "anchor": "#c7c7c7",
}
MAX_LABELLED_CELLS = 400  # heatmap cells beyond which the numbers are left out
ROUND = alt.X("round:Q", title="round", axis=alt.Axis(format="d", tickMinStep=1))


def ratings_over_time(history: pd.DataFrame) -> alt.LayerChart | alt.Chart:
    """Rating by round, one line per `line` (an agent, or all versions of a learner);
    with a single line, its confidence interval as a band."""
    base = alt.Chart(history).encode(x=ROUND)
    line = base.mark_line(point=True).encode(
        y=alt.Y("rating:Q", title="Elo"),
        color=alt.Color("line:N", title="agent"),
        tooltip=["agent", "round", alt.Tooltip("rating:Q", format=".0f"), "games"],
    )
    if history["line"].nunique() == 1:
        return base.mark_area(opacity=0.2).encode(y="ci_low:Q", y2="ci_high:Q") + line
    return line


def matrix_rows(agents: list[str], rate: np.ndarray, games: np.ndarray) -> pd.DataFrame:
    """A win-rate matrix as rows (agent, opponent, score, games), pairs that met only."""
    i, j = np.nonzero(games > 0)
    return pd.DataFrame(
        {
            "agent": [agents[k] for k in i],
            "opponent": [agents[k] for k in j],
            "score": rate[i, j],
            "games": games[i, j],
        }
    )


def win_rate_heatmap(rows: pd.DataFrame, order: list[str]) -> alt.LayerChart | alt.Chart:
    """Score rate of the row agent against the column agent (draws count half)."""
    base = alt.Chart(rows).encode(
        x=alt.X("opponent:N", sort=order, title="opponent", axis=alt.Axis(labelAngle=-40)),
        y=alt.Y("agent:N", sort=order, title="agent"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("score:Q", scale=alt.Scale(scheme="redblue", domain=[0, 1])),
        tooltip=["agent", "opponent", alt.Tooltip("score:Q", format=".1%"), "games"],
    )
    chart = cells
    if len(rows) <= MAX_LABELLED_CELLS:
        chart = cells + base.mark_text(fontSize=11).encode(text=alt.Text("score:Q", format=".0%"))
    return chart


def heatmap_height(agents: int) -> int:
    """Pixels for a heatmap of this many rows (Streamlit needs it given explicitly)."""
    return max(120, 40 * agents)


def metric_over_rounds(frame: pd.DataFrame, y: str, title: str) -> alt.Chart:
    return (
        alt.Chart(frame, height=180, title=title)
        .mark_line(point=True)
        .encode(x=ROUND, y=alt.Y(f"{y}:Q", title=None), tooltip=["round", y])
    )


def _dot_text(*lines: str) -> str:
    """A quoted Graphviz string of one or more lines."""
    escaped = (line.replace("\\", "\\\\").replace('"', '\\"') for line in lines)
    return '"' + "\\n".join(escaped) + '"'


def lineage_dot(population: pa.Table, highlight: str | None = None) -> str:
    """Graphviz text of a population: an arrow from each parent to what came from it."""
    lines = ["digraph lineage {", "rankdir=LR;", 'node [shape=box, style="rounded,filled"];']
    members = population.to_pylist()
    known = {m["agent"] for m in members}
    for m in members:
        colour = ROLE_COLOURS.get(m["role"], "#ffffff")
        width = 3 if m["agent"] == highlight else 1
        label = _dot_text(m["agent"], f"{m['role']} · round {m['created_round']}")
        lines.append(
            f'{_dot_text(m["agent"])} [label={label}, fillcolor="{colour}", penwidth={width}];'
        )
    for m in members:
        parent = m["parent"]
        if parent:
            if parent not in known:  # a learner that left the population still has a node
                lines.append(f'{_dot_text(parent)} [style="rounded,dashed"];')
                known.add(parent)
            lines.append(f"{_dot_text(parent)} -> {_dot_text(m['agent'])};")
    lines.append("}")
    return "\n".join(lines)


def _mass_colour(share: float) -> str:
    """White for no mass to a saturated blue for the heaviest node."""
    low, high = np.array([255, 255, 255]), np.array([66, 133, 244])
    red, green, blue = np.rint(low + (high - low) * share).astype(int)
    return f"#{red:02x}{green:02x}{blue:02x}"


def response_graph_dot(nodes: pd.DataFrame, edges: pd.DataFrame) -> str:
    """Graphviz text of an α-Rank response graph (dashboards.responses): a node per agent
    or profile, labelled with its stationary mass and sized and shaded by it, and an
    arrow s -> r where r's mutants take over s more often than neutral ones, thicker as
    they fixate more surely. Nodes are named n0, n1, ...: labels are only text."""
    lines = ["digraph alpharank {", 'node [shape=ellipse, style=filled, fontname="Helvetica"];']
    heaviest = float(nodes["mass"].max()) if len(nodes) else 1.0
    ids = {}
    for k, (label, mass) in enumerate(zip(nodes["node"], nodes["mass"], strict=True)):
        ids[label] = f"n{k}"
        share = float(np.sqrt(mass / heaviest)) if heaviest > 0 else 0.0
        lines.append(
            f"n{k} [label={_dot_text(label, f'{mass:.3f}')}, width={0.75 + 1.5 * share:.2f}, "
            f'fillcolor="{_mass_colour(share)}"];'
        )
    for source, target, rho in zip(edges["source"], edges["target"], edges["rho"], strict=True):
        tip = _dot_text(f"{source} -> {target}: fixation probability {rho:.3g}")
        lines.append(
            f"{ids[source]} -> {ids[target]} [penwidth={0.5 + 2.5 * rho:.2f}, tooltip={tip}];"
        )
    lines.append("}")
    return "\n".join(lines)


def mixture_over_rounds(frame: pd.DataFrame, value: str, title: str) -> alt.Chart:
    """A stacked bar per round of how `value` (a mixture's mass) splits over the `line`s."""
    return (
        alt.Chart(frame, height=220, title=title)
        .mark_bar()
        .encode(
            x=alt.X("round:O", title="round"),
            y=alt.Y(f"sum({value}):Q", title=None, scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("line:N", title="agent"),
            tooltip=["round", "agent", alt.Tooltip(f"{value}:Q", format=".3f")],
        )
    )


def bounds_over_rounds(frame: pd.DataFrame) -> alt.LayerChart:
    """Lower bounds on exploitability by round, one line per `line`, 95% interval as a band."""
    base = alt.Chart(frame).encode(x=ROUND, color=alt.Color("line:N", title="agent"))
    band = base.mark_area(opacity=0.2).encode(y="ci_low:Q", y2="ci_high:Q")
    line = base.mark_line(point=True).encode(
        y=alt.Y("bound:Q", title=None),
        tooltip=["round", "agent", "exploiter", alt.Tooltip("bound:Q", format=".3f"), "games"],
    )
    return (band + line).properties(height=220, title="exploitability lower bound")


def annotation_frame(replay: Replay) -> pd.DataFrame:
    """One row per move: mover (or chance), agent, action and whatever annotations were
    stored."""
    plies = replay.plies
    frame = pd.DataFrame(
        {
            "move": np.arange(1, plies + 1),
            "player": [f"{m}: {replay.agents[m]}" if m >= 0 else "chance" for m in replay.movers],
            "action": replay.actions.astype(int),
        }
    )
    if replay.values is not None:
        frame["value"] = replay.values
    if replay.policy_entropy is not None:
        frame["policy entropy"] = replay.policy_entropy
    if replay.visits is not None:
        frame["visits"] = np.where(replay.visits >= 0, replay.visits, np.nan)
    return frame


def per_move(frame: pd.DataFrame, column: str, current: int, kind: str = "line") -> alt.Chart:
    """`column` per move, coloured by mover, with a rule at the position shown."""
    rows = frame.dropna(subset=[column])
    base = alt.Chart(rows, height=200).encode(x=alt.X("move:Q", title="move"))
    if kind == "line":
        marks = base.mark_line(point=True).encode(
            y=alt.Y(f"{column}:Q", scale=alt.Scale(domain=[-1, 1])),
            color=alt.Color("player:N"),
            tooltip=["move", "player", "action", column],
        )
    else:
        marks = base.mark_bar().encode(
            y=alt.Y(f"{column}:Q"),
            color=alt.Color("player:N"),
            tooltip=["move", "player", "action", column],
        )
    return marks + _position_rule(current)


def _position_rule(current: int) -> alt.Chart:
    """A vertical rule at the position shown (moves played)."""
    return alt.Chart(pd.DataFrame({"move": [current]})).mark_rule(color="black").encode(x="move:Q")


def value_graph(values: np.ndarray, current: int) -> alt.LayerChart:
    """The root value of every move over the game from player 0's view (+1: player 0
    wins), one line, with a rule at the position shown."""
    column = "value for player 0"
    rows = pd.DataFrame({"move": np.arange(1, len(values) + 1), column: values}).dropna()
    line = (
        alt.Chart(rows, height=200)
        .mark_line(point=True)
        .encode(
            x=alt.X("move:Q", title="move"),
            y=alt.Y(f"{column}:Q", scale=alt.Scale(domain=[-1, 1])),
            tooltip=["move", column],
        )
    )
    return line + _position_rule(current)


def study_training(frame: pd.DataFrame) -> alt.LayerChart:
    """A study's Elo against training FLOPs (log), a line per simulation budget and
    network, with each rating's interval."""
    base = alt.Chart(frame).encode(
        x=alt.X("train_flops:Q", scale=alt.Scale(type="log"), title="training compute (FLOPs)"),
        color=alt.Color("sims:O", title="simulations", scale=alt.Scale(scheme="viridis")),
        detail="net:N",
    )
    lines = base.mark_line(point=True).encode(
        y=alt.Y("rating:Q", title="Elo (random = 0)"),
        shape=alt.Shape("net:N", title="network"),
        tooltip=["agent", "net", "sims", alt.Tooltip("rating:Q", format=".0f"), "games"],
    )
    return base.mark_rule().encode(y="ci_low:Q", y2="ci_high:Q") + lines


def study_equal_time(frame: pd.DataFrame) -> alt.LayerChart:
    """Elo against seconds per move (log): a line per `line` (a snapshot over its
    simulation budgets, or rollout search over its anchors)."""
    base = alt.Chart(frame).encode(
        x=alt.X("seconds_per_move:Q", scale=alt.Scale(type="log"), title="seconds per move"),
        color=alt.Color("line:N", title="player"),
    )
    lines = base.mark_line(point=True).encode(
        y=alt.Y("rating:Q", title="Elo (random = 0)"),
        tooltip=[
            "agent",
            alt.Tooltip("seconds_per_move:Q", format=".2g"),
            alt.Tooltip("rating:Q", format=".0f"),
        ],
    )
    return base.mark_rule().encode(y="ci_low:Q", y2="ci_high:Q") + lines
