"""A study's report: the frontier fitted again from the ratings, PNG plots, and the text.

`write_report(DIR)` (also `arena study report DIR`) reads `tables/ratings.parquet`, writes
`tables/frontier.parquet` and `tables/equal_time.parquet` (arena.study.frontier), the plots
under `plots/` and the text as `report.md`, each replaced atomically:

- `plots/elo_vs_training.png`: Elo against training FLOPs, one line per simulation budget
  (one marker per network), the anchors as horizontal lines;
- `plots/iso_elo.png`: Elo over the plane of training FLOPs and simulations, with its
  iso-Elo contours, one panel per network;
- `plots/equal_time.png`: Elo against seconds per move, one line per snapshot and one for
  rollout search, so that the two meet at equal time.

Matplotlib draws on its Agg canvas through `Figure` (no pyplot, no display, no global
state), to bytes written like any other file of the study.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.tri import Triangulation

from arena.rundir import atomic_write
from arena.study import frontier
from arena.study.grid import StudyGrid
from arena.study.tables import PAIRINGS, RATINGS, read_table

PLOTS_DIR = "plots"
REPORT_FILE = "report.md"
PLOTS = ("elo_vs_training.png", "iso_elo.png", "equal_time.png")


def write_report(study_dir: Path) -> str:
    """Fit, plot and write the report of the study in `study_dir`; returns its text."""
    study_dir = Path(study_dir)
    ratings = read_table(study_dir, RATINGS)
    if ratings is None:
        raise ValueError(
            f"{study_dir} has no ratings yet (tables/{RATINGS}.parquet): rate it first"
        )
    fit = frontier.write_frontier(study_dir)
    times = frontier.equal_time(ratings)
    figures = (training_figure(ratings), iso_elo_figure(ratings), equal_time_figure(ratings))
    for name, figure in zip(PLOTS, figures, strict=True):
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=120)
        atomic_write(study_dir / PLOTS_DIR / name, buffer.getvalue())
    text = report_text(study_dir, ratings, fit, times, read_table(study_dir, PAIRINGS))
    atomic_write(study_dir / REPORT_FILE, text.encode())
    return text


# --------------------------------------------------------------------------- plots


def _snapshots(ratings: pa.Table) -> list[dict]:
    return [r for r in ratings.to_pylist() if r["kind"] == "snapshot"]


def _marker(nets: Sequence[str], net: str) -> str:
    return "os^Dv<>p"[sorted(set(nets)).index(net) % 8]


def _colors(count: int) -> list:
    return [colormaps["viridis"](i / max(1, count - 1)) for i in range(count)]


def training_figure(ratings: pa.Table) -> Figure:
    """Elo against training FLOPs: a line per (simulations, network), the anchors flat."""
    rows = [r for r in _snapshots(ratings) if r["train_flops"] > 0]
    nets = sorted({r["net"] for r in rows})
    budgets = sorted({r["sims"] for r in rows})
    figure = Figure(figsize=(7, 4.5), layout="constrained")
    ax = figure.subplots()
    for s, color in zip(budgets, _colors(len(budgets)), strict=True):
        for net in nets:
            line = sorted(
                (r for r in rows if r["sims"] == s and r["net"] == net),
                key=lambda r: r["train_flops"],
            )
            ax.errorbar(
                [r["train_flops"] for r in line],
                [r["rating"] for r in line],
                yerr=_error_bars(line),
                color=color,
                marker=_marker(nets, net),
                capsize=2,
                label=f"{s} sims" if net == nets[0] else None,
            )
    _anchor_lines(ax, ratings)
    ax.set_xscale("log")
    ax.set_xlabel("training compute (FLOPs)")
    ax.set_ylabel("Elo (random = 0)")
    markers = ", ".join(f"{_marker(nets, n)} {n}" for n in nets)
    ax.set_title(f"Elo against training compute, a line per search budget ({markers})", fontsize=9)
    if budgets:
        ax.legend(fontsize=7)
    return figure


def iso_elo_figure(ratings: pa.Table) -> Figure:
    """Elo over (training FLOPs, simulations) with iso-Elo contours, a panel per network."""
    rows = [r for r in _snapshots(ratings) if r["train_flops"] > 0]
    nets = sorted({r["net"] for r in rows}) or ["(no snapshots rated)"]
    figure = Figure(figsize=(5.5 * len(nets), 4.5), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(nets), squeeze=False)[0])
    values = [r["rating"] for r in rows]
    # Round Elo levels (every 50 or 100 ...), shared by the panels so colours compare.
    levels = MaxNLocator(8).tick_values(min(values), max(values)) if len(set(values)) > 1 else None
    for ax, net in zip(axes, nets, strict=True):
        own = [r for r in rows if r["net"] == net]
        x = np.log10([r["train_flops"] for r in own])
        y = np.log2([r["sims"] for r in own])
        z = np.array([r["rating"] for r in own])
        if levels is not None and len(set(x)) > 1 and len(set(y)) > 1:
            mesh = Triangulation(x, y)
            filled = ax.tricontourf(mesh, z, levels=levels, cmap="viridis")
            lines = ax.tricontour(mesh, z, levels=levels, colors="white", linewidths=0.7)
            ax.clabel(lines, fmt="%.0f", fontsize=7)
            figure.colorbar(filled, ax=ax, label="Elo")
        ax.scatter(x, y, c="black", s=10)
        ax.set_xlabel("log10 training FLOPs")
        ax.set_ylabel("log2 simulations per move")
        ax.set_title(f"iso-Elo curves, network {net}", fontsize=9)
    return figure


def equal_time_figure(ratings: pa.Table) -> Figure:
    """Elo against seconds per move: a line per snapshot (its budgets), one for rollout
    search (the mcts anchors)."""
    rows = [r for r in ratings.to_pylist() if _timed(r)]
    snapshots = sorted(
        {r["snapshot"]: r["train_flops"] for r in rows if r["kind"] == "snapshot"}.items(),
        key=lambda item: item[1],
    )
    figure = Figure(figsize=(7, 4.5), layout="constrained")
    ax = figure.subplots()
    for (snapshot, _), color in zip(snapshots, _colors(len(snapshots)), strict=True):
        line = sorted((r for r in rows if r["snapshot"] == snapshot), key=_per_move)
        ax.errorbar(
            [r["seconds_per_move"] for r in line],
            [r["rating"] for r in line],
            yerr=_error_bars(line),
            color=color,
            marker="o",
            capsize=2,
            label=snapshot,
        )
    search = sorted((r for r in rows if r["kind"] == "anchor" and r["sims"]), key=_per_move)
    if search:
        ax.errorbar(
            [r["seconds_per_move"] for r in search],
            [r["rating"] for r in search],
            yerr=_error_bars(search),
            color="black",
            marker="s",
            linestyle="--",
            capsize=2,
            label="rollout search (mcts)",
        )
    ax.set_xscale("log")
    ax.set_xlabel("seconds per move (measured in the rating games)")
    ax.set_ylabel("Elo (random = 0)")
    ax.set_title("Elo at equal time per move", fontsize=9)
    if rows:
        ax.legend(fontsize=7)
    return figure


def _per_move(row: dict) -> float:
    return row["seconds_per_move"]


def _timed(row: dict) -> bool:
    seconds = row["seconds_per_move"]
    searched = row["kind"] == "snapshot" or row["sims"] > 0
    return searched and seconds is not None and math.isfinite(seconds) and seconds > 0


def _error_bars(rows: list[dict]) -> list[list[float]]:
    return [
        [r["rating"] - r["ci_low"] for r in rows],
        [r["ci_high"] - r["rating"] for r in rows],
    ]


def _anchor_lines(ax, ratings: pa.Table) -> None:
    for r in ratings.to_pylist():
        if r["kind"] == "anchor":
            ax.axhline(r["rating"], color="grey", linewidth=0.6, linestyle=":")
            ax.annotate(
                r["agent"],
                (0.01, r["rating"]),
                xycoords=("axes fraction", "data"),
                fontsize=7,
                color="grey",
                va="bottom",
            )


# --------------------------------------------------------------------------- text


def report_text(
    study_dir: Path,
    ratings: pa.Table,
    fit: frontier.Frontier,
    times: pa.Table,
    pairings: pa.Table | None,
) -> str:
    """The report as Markdown."""
    grid = StudyGrid.load(study_dir)
    lines = [
        f"# Study of {grid.game}: training compute against search",
        "",
        f"Grid: networks {', '.join(grid.nets)}; training points "
        f"{', '.join(f'{m:g}' for m in grid.train_minutes)} min; simulations "
        f"{', '.join(map(str, grid.sims))}; budget {grid.budget_minutes:g} min.",
        "",
    ]
    lines += _rating_section(ratings, pairings)
    confidence = f"{fit.confidence:.0%}"
    lines += [
        "## The frontier",
        "",
        f"Fitted on {fit.points} snapshot players below saturation ({fit.saturated} on the "
        f"plateau left out); {confidence} bootstrap intervals.",
        "",
        f"- Elo per 10x of training compute: {fit.elo_per_10x_training}",
        f"- Elo per doubling of simulations: {fit.elo_per_doubling_sims}",
        "- Exchange rate (x of simulations worth 10x of training compute at equal Elo): "
        f"{fit.exchange_rate}",
        "",
        "| simulations | Elo per 10x of training |",
        "|---:|---|",
        *(f"| {s} | {e} |" for s, e in sorted(fit.per_budget.items())),
        "",
    ]
    lines += _monotone_section(frontier.steps_in_sims(ratings, fit.confidence))
    lines += _equal_time_section(times, ratings)
    lines += [
        "## Ratings",
        "",
        "| player | Elo | interval | games | seconds per move |",
        "|---|---:|---|---:|---:|",
        *(
            f"| {r['agent']} | {r['rating']:.0f} | [{r['ci_low']:.0f}, {r['ci_high']:.0f}] "
            f"| {r['games']} | {_seconds(r['seconds_per_move'])} |"
            for r in sorted(ratings.to_pylist(), key=lambda r: -r["rating"])
        ),
        "",
        "Plots: " + ", ".join(f"`{PLOTS_DIR}/{name}`" for name in PLOTS) + ".",
        "",
    ]
    return "\n".join(lines)


def _seconds(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2g}"


def _rating_section(ratings: pa.Table, pairings: pa.Table | None) -> list[str]:
    games = sum(ratings["games"].to_pylist()) // 2
    lines = ["## Rating", "", f"{ratings.num_rows} players rated from {games} games."]
    if pairings is not None:
        left = pairings.filter(pc.equal(pairings["status"], "left out")).to_pylist()
        if left:
            pairs = {(r["first"], r["second"]) for r in left}
            lines.append(
                f"Left out to stay within the budget: {len(left)} matches "
                f"({sum(r['games'] for r in left)} games) of {len(pairs)} pairs, "
                f"in rounds {min(r['round'] for r in left)} to {max(r['round'] for r in left)} "
                "(tables/pairings.parquet lists them)."
            )
        else:
            lines.append("Every planned match was played.")
    return [*lines, ""]


def _monotone_section(steps: pa.Table) -> list[str]:
    rows = steps.to_pylist()
    ups = sum(r["change"] > 0 for r in rows)
    drops = [r for r in rows if r["change"] < -r["half_width"]]
    lines = [
        "## Strength in simulations",
        "",
        f"{ups} of {len(rows)} steps to the next simulation budget gain Elo; "
        f"{len(drops)} lose it beyond their interval.",
    ]
    lines += [
        f"- {r['snapshot']}: {r['sims_from']} -> {r['sims_to']} sims: {r['change']:+.0f} "
        f"(± {r['half_width']:.0f})"
        for r in drops
    ]
    return [*lines, ""]


def _equal_time_section(times: pa.Table, ratings: pa.Table) -> list[str]:
    lines = ["## At equal time per move", ""]
    if times.num_rows == 0:
        timed = [r for r in ratings.to_pylist() if _timed(r)]
        search = [r for r in timed if r["kind"] == "anchor"]
        nets = [r for r in timed if r["kind"] == "snapshot"]
        text = "No snapshot's budgets span a rollout search anchor's time per move."
        if search and nets:
            # The closest in time per move: the nearest thing to an equal-time contest.
            a, b = min(
                ((a, b) for a in search for b in nets),
                key=lambda pair: abs(math.log(_per_move(pair[0]) / _per_move(pair[1]))),
            )
            text += (
                " The closest in time: "
                + " against ".join(
                    f"{r['agent']} ({_per_move(r):.2g} s a move, Elo {r['rating']:.0f})"
                    for r in (a, b)
                )
                + "."
            )
        return [*lines, text, ""]
    lines += [
        "Each rollout search anchor against each snapshot's search at the same seconds per "
        "move (the snapshot's Elo interpolated between its budgets).",
        "",
        "| rollout search | seconds per move | its Elo | snapshot | snapshot's Elo | difference |",
        "|---|---:|---:|---|---:|---:|",
        *(
            f"| {r['anchor']} | {r['seconds_per_move']:.2g} | {r['anchor_elo']:.0f} "
            f"| {r['snapshot']} | {r['snapshot_elo']:.0f} | {r['snapshot_minus_anchor']:+.0f} |"
            for r in times.to_pylist()
        ),
        "",
    ]
    return lines
