"""`arena study run`: one study from its grid to its report, inside one time budget.

The budget is split before anything trains: training takes every network up to the last
training point, one after the other (`StudyGrid.training_minutes`); rating gets what is
left when training ends. A resumed study counts the training its snapshots recorded as
spent, so the split stays the same. The folder is a run directory (`run.json`, kind
"study", the grid as its identity, under the run lock), so a folder of another game, of
another kind, or with another grid is refused before anything trains.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from agents.device import resolve_device
from agents.spec import spec_path
from arena.backends import Backend, LocalBackend
from arena.rundir import lock_run, open_run
from arena.study.grid import StudyGrid
from arena.study.rate import ANCHORS, rate_study
from arena.study.report import write_report
from arena.study.train import train_study, trained_seconds

KIND = "study"
# Kept from the rating for the report (its fits' bootstrap and plots): a 38-player report
# took 7.4 s on 2 loaded cores.
REPORT_SECONDS = 10


def run_study(
    grid: StudyGrid,
    out: str | Path,
    resume: bool = False,
    backend: Backend | None = None,
    device: str = "auto",
    log: Callable[[str], None] = print,
    started: float | None = None,
) -> Path:
    """Train, then rate the study `grid` in `out` within its budget, then write its report
    (arena.study.report); returns the folder. `started`: the time.monotonic() at which the
    budget began (the command's start, its imports included), else now."""
    started = time.monotonic() if started is None else started
    spec_path(out, "a study folder")  # its snapshots are played as specs `az:PATH,sims=S`
    resolve_device(device)  # an unknown or missing device: refused before the folder is made
    backend = backend or LocalBackend()
    with lock_run(out, KIND, resume):
        study_dir, _ = open_run(out, KIND, grid.game, grid.to_dict(), resume)
        grid.write(study_dir)
        spent = trained_seconds(study_dir)
        deadline = started + 60 * grid.budget_minutes - spent
        players = len(grid.nets) * len(grid.train_minutes) * len(grid.sims) + len(ANCHORS)
        log(
            f"plan: training {len(grid.nets)} network(s) x {grid.train_minutes[-1]:g} min = "
            f"{grid.training_minutes:g} min ({spent / 60:.2f} done), rating {players} players "
            f"in the remaining {grid.budget_minutes - grid.training_minutes:g} of "
            f"{grid.budget_minutes:g} min (what does not fit is left out and listed)"
        )
        train_study(study_dir, grid, backend, device, log)
        left = max(0.0, deadline - time.monotonic() - REPORT_SECONDS)
        log(
            f"training done; {left / 60:.2f} min left for rating "
            f"({REPORT_SECONDS} s kept for the report)"
        )
        log(rate_study(study_dir, left, backend).describe())
        log(write_report(study_dir))
    return study_dir
