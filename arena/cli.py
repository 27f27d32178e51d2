"""The `arena` command line."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Self-play multi-agent arena.", no_args_is_help=True)
bench_app = typer.Typer(help="Measure throughput.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
console = Console()

# PettingZoo's own implementation of each game, for comparison.
PETTINGZOO_REFERENCE = {
    "connect_four": "classic/connect_four-v3",
    "tic_tac_toe": "classic/tictactoe-v3",
}


def fail(message: str) -> None:
    """Print a clear error and exit with status 2 (no traceback for user errors)."""
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(2)


@bench_app.command("engine")
def bench_engine(
    game: str = typer.Option("connect_four", help="Game name."),
    batch: list[int] = typer.Option(
        [1, 16, 256, 4096, 65536], help="Batch sizes (repeat the option for several)."
    ),
    threads: int = typer.Option(1, help="Numba threads."),
    seconds: float = typer.Option(1.0, help="Seconds per measurement."),
    compare: bool = typer.Option(True, help="Also measure PettingZoo and OpenSpiel."),
    first_call: bool = typer.Option(True, help="Also time a fresh process, cold and warm cache."),
) -> None:
    """Env steps/s of the batched self-play loop, against PettingZoo and OpenSpiel."""
    import functools

    import games
    from arena import bench_engine as bench
    from arena.machine import describe

    try:
        games.make(game)
        bench.set_threads(threads)
    except ValueError as err:
        fail(str(err))
    if any(b <= 0 for b in batch):
        fail(f"--batch sizes must be positive, got {batch}")
    console.print(f"machine: {describe()}; threads: {threads}")
    references: dict[str, float] = {}
    if compare:
        from games.pettingzoo import pettingzoo_steps_per_second

        references["OpenSpiel"] = bench.openspiel_steps_per_second(game, seconds)
        references["arena PZ env"] = pettingzoo_steps_per_second(
            lambda: games.pettingzoo_env(game), seconds
        )
        if game in PETTINGZOO_REFERENCE:
            import pettingzoo

            env_id = PETTINGZOO_REFERENCE[game]
            references["PettingZoo"] = pettingzoo_steps_per_second(
                functools.partial(pettingzoo.make, "aec", env_id), seconds
            )
    table = Table(title=f"{game}: env steps/s, random self-play loop")
    table.add_column("batch", justify="right")
    table.add_column("steps/s", justify="right")
    for name in references:
        table.add_column(f"x {name}", justify="right")
    for size in batch:
        rate = bench.engine_steps_per_second(game, size, seconds)
        table.add_row(
            f"{size:,}", f"{rate:,.0f}", *(f"{rate / r:,.1f}" for r in references.values())
        )
    console.print(table)
    for name, rate in references.items():
        console.print(f"{name}: {rate:,.0f} steps/s")
    if "PettingZoo" in references:
        ratio = references["arena PZ env"] / references["PettingZoo"]
        console.print(
            f"PettingZoo = its own {PETTINGZOO_REFERENCE[game]}; arena PZ env = "
            f"games.pettingzoo_env({game!r}), {ratio:.1f}x as fast"
        )
    if first_call:
        cold, warm = bench.first_call_seconds(game)
        console.print(f"first call in a fresh process: {cold:.2f} s cold cache, {warm:.2f} s warm")
