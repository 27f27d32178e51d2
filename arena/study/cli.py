"""`arena study ...`: the study commands, registered in arena/cli.py as `arena study`.

Imported when the `arena` CLI starts: the heavy modules load inside the commands.
"""

from __future__ import annotations

import typer

from arena.terminal import console

study_app = typer.Typer(
    help="Studies of training compute against search at play time.", no_args_is_help=True
)


@study_app.command("run")
def study_run(
    game: str = typer.Option(..., help="Game spec, NAME[:key=value,...], e.g. hex:size=5."),
    nets: str = typer.Option("2x32", help="Network sizes BLOCKSxCHANNELS, comma-separated."),
    train_minutes: str = typer.Option(
        ..., help="Snapshot points in minutes of training per network, comma-separated."
    ),
    sims: str = typer.Option(..., help="Simulations per move to rate, comma-separated."),
    budget_minutes: float = typer.Option(..., help="The whole study: training and rating."),
    out: str = typer.Option(..., help="Study folder."),
    resume: bool = typer.Option(False, help="Continue the study in --out (same grid)."),
    seed: int = typer.Option(0, help="Seed of the whole study."),
    device: str = typer.Option("auto", help="Torch device: auto, cpu, cuda, cuda:N."),
    backend: str = typer.Option("local", help="Where matches are played: local or ray."),
    address: str = typer.Option(None, help="Ray cluster address (default: this machine's)."),
    workers: int = typer.Option(None, help="Ray: rollout actors or match tasks at once."),
) -> None:
    """Train a learner per network with snapshots, rate them at each budget, and report."""
    import time

    started = time.monotonic()  # the budget counts the imports below
    from arena.cli import _backend
    from arena.study.grid import StudyGrid
    from arena.study.run import run_study

    # The grid is checked before a cluster starts or anything is written.
    grid = StudyGrid.make(game, nets, train_minutes, sims, budget_minutes, seed)
    with _backend(backend, address, workers) as runner:
        study_dir = run_study(grid, out, resume, runner, device, console.print, started)
    console.print(f"study folder: {study_dir}")


@study_app.command("report")
def study_report(
    study_dir: str = typer.Argument(..., help="Study folder (the --out of arena study run)."),
) -> None:
    """Fit the compute frontier, write the plots and report.md, and print the report."""
    from arena.rundir import require_run
    from arena.study.report import write_report
    from arena.study.run import KIND

    require_run(study_dir, KIND)  # before anything is read from a folder from elsewhere
    console.print(write_report(study_dir))
