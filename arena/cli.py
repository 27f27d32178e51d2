"""The `arena` command line."""

from __future__ import annotations

import typer
from rich import box
from rich.table import Table

from arena.study.cli import study_app
from arena.terminal import DEBUG_ENV, ArenaGroup, console, exit_after, fail

app = typer.Typer(help="Self-play multi-agent arena.", no_args_is_help=True, cls=ArenaGroup)
bench_app = typer.Typer(help="Measure throughput.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
app.add_typer(study_app, name="study")

BACKEND_HELP = "Where matches are played: local (this process) or ray (a Ray cluster)."
ADDRESS_HELP = "Ray cluster address (default: join the one on this machine, else start one)."
WORKERS_HELP = "Ray: match tasks or rollout actors at once (default: the cluster's CPUs)."
GAME_HELP = "Game spec, NAME[:key=value,...], e.g. hex:size=7 (list them: arena games)."

# PettingZoo's own implementation of each game (by canonical spec), for comparison.
PETTINGZOO_REFERENCE = {
    "connect_four": "classic/connect_four-v3",
    "tic_tac_toe": "classic/tictactoe-v3",
}


PGX_BATCH = 4096  # Pgx's env is batched: compared at the batch size the targets name
MATRIX_AGENTS = 10


def run() -> None:
    """The console entry point (`arena`, `python -m arena`)."""
    exit_after(lambda: app(prog_name="arena"))


@app.callback()
def main(
    debug: bool = typer.Option(
        False, "--debug", envvar=DEBUG_ENV, help="Show full tracebacks instead of one-line errors."
    ),
) -> None:
    """Self-play multi-agent arena."""


@bench_app.command("engine")
def bench_engine(
    game: str = typer.Option("connect_four", help=GAME_HELP),
    batch: list[int] = typer.Option(
        [1, 16, 256, 4096, 65536], help="Batch sizes (repeat the option for several)."
    ),
    threads: int = typer.Option(1, help="Numba threads."),
    seconds: float = typer.Option(1.0, help="Seconds per measurement."),
    compare: bool = typer.Option(True, help="Also measure PettingZoo, OpenSpiel and Pgx."),
    first_call: bool = typer.Option(True, help="Also time a fresh process, cold and warm cache."),
) -> None:
    """Env steps/s of the batched self-play loop, against PettingZoo, OpenSpiel and Pgx.

    Pgx (JAX, batch 4,096) is measured when Pgx and JAX are installed (the package's
    optional extra "pgx"); pin the process (taskset -c 0) to compare on one core.
    """
    import functools

    import games
    from arena import bench_engine as bench
    from arena.machine import describe
    from games.openspiel import openspiel_name

    game = games.make(game).spec
    games.set_threads(threads)
    if any(b <= 0 for b in batch):
        fail(f"--batch sizes must be positive, got {batch}")
    console.print(f"machine: {describe()}; threads: {threads}")
    references: dict[str, float] = {}
    if compare:
        from games.pettingzoo import pettingzoo_steps_per_second

        if openspiel_name(game) is not None:
            references["OpenSpiel"] = bench.openspiel_steps_per_second(
                openspiel_name(game), seconds
            )
        references["arena PZ env"] = pettingzoo_steps_per_second(
            lambda: games.pettingzoo_env(game), seconds
        )
        if game in PETTINGZOO_REFERENCE:
            import pettingzoo

            env_id = PETTINGZOO_REFERENCE[game]
            references["PettingZoo"] = pettingzoo_steps_per_second(
                functools.partial(pettingzoo.make, "aec", env_id), seconds
            )
        if bench.pgx_id(game) is None:
            console.print(f"Pgx: no Pgx environment for {game}")
        elif not bench.pgx_installed():
            console.print("Pgx: not installed, no Pgx column (pip install 'arena[pgx]')")
        else:
            references["Pgx"] = bench.pgx_steps_per_second(bench.pgx_id(game), PGX_BATCH, seconds)
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
    if "Pgx" in references:
        console.print(f"Pgx = pgx.make({bench.pgx_id(game)!r}), batch {PGX_BATCH:,}, one jit step")
    if "PettingZoo" in references:
        ratio = references["arena PZ env"] / references["PettingZoo"]
        console.print(
            f"PettingZoo = its own {PETTINGZOO_REFERENCE[game]}; arena PZ env = "
            f"games.pettingzoo_env({game!r}), {ratio:.1f}x as fast"
        )
    if first_call:
        cold, warm = bench.first_call_seconds(game)
        console.print(f"first call in a fresh process: {cold:.2f} s cold cache, {warm:.2f} s warm")


@app.command("games")
def games_command() -> None:
    """List the games with their parameters, defaults and accepted values."""
    import games
    from games.spec import format_value

    table = Table(title="games (spec: NAME[:key=value,...])", box=box.SIMPLE)
    # Specs and accepted values stay on one line each, to be copied as they are; on an
    # 80-column terminal five columns cut them, so the meaning goes under the values.
    table.add_column("game", no_wrap=True)
    table.add_column("parameter=default", no_wrap=True)
    table.add_column("accepted values, meaning")
    for name in games.names():
        params = games.parameters(name)
        if not params:
            table.add_row(name, "", "no parameters")
        for k, (key, p) in enumerate(params.items()):
            default = format_value(p, p.default)
            table.add_row(name if k == 0 else "", f"{key}={default}", f"{p.describe()}\n{p.help}")
    console.print(table)


@app.command(
    "tournament",
    context_settings={"allow_extra_args": True},
)
def tournament(
    ctx: typer.Context,
    config: str = typer.Argument(None, help="TOML config file (options below override it)."),
    game: str = typer.Option(None, help=GAME_HELP),
    agents: list[str] = typer.Option(
        None, help="Agent specs (SPEC or name=SPEC): --agents random greedy mcts:sims=100"
    ),
    format: str = typer.Option(None, "--format", help="round-robin or gauntlet."),
    games_per_pair: int = typer.Option(None, help="Games between each pair of agents."),
    out: str = typer.Option(None, help="Run directory."),
    seed: int = typer.Option(None, help="Seed of the whole schedule."),
    concurrency: int = typer.Option(None, help="Games played at once per match."),
    opening_plies: int = typer.Option(None, help="Random opening moves, each from both seats."),
    record_search: bool = typer.Option(
        None, help="Store search agents' root priors and visit counts per move (replay viewer)."
    ),
    resume: bool = typer.Option(False, help="Continue a stopped run in --out."),
    progress: bool = typer.Option(True, help="Show a live progress bar."),
    flush_seconds: float = typer.Option(
        10.0, help="Longest wait before finished games go to disk (a crash loses at most these)."
    ),
    backend: str = typer.Option("local", help=BACKEND_HELP),
    address: str = typer.Option(None, help=ADDRESS_HELP),
    workers: int = typer.Option(None, help=WORKERS_HELP),
) -> None:
    """Play a round-robin or gauntlet tournament into a run directory and rate the agents."""
    from arena.config import load_toml
    from arena.tournament import run_tournament

    extra = list(ctx.args)
    values: dict = {}
    if config is not None and (config.endswith(".toml") or not agents):
        values = load_toml(config)
    elif config is not None:
        extra.insert(0, config)  # `--agents a b c`: b is parsed as the positional
    given = {
        "game": game,
        "agents": (list(agents) + extra) if agents else None,
        "format": format,
        "games_per_pair": games_per_pair,
        "out": out,
        "seed": seed,
        "concurrency": concurrency,
        "opening_plies": opening_plies,
        "record_search": record_search,
    }
    if extra and not agents:
        fail(f"unexpected arguments {extra}")
    values.update({k: v for k, v in given.items() if v is not None})
    with _backend(backend, address, workers) as runner:
        with _progress_bar("games", enabled=progress) as on_progress:
            report = run_tournament(
                values,
                resume=resume,
                on_progress=on_progress,
                flush_seconds=flush_seconds,
                backend=runner,
            )
    if report.games_played:
        console.print(
            f"played {report.games_played:,} games in {report.seconds:.1f} s "
            f"({report.games_played / report.seconds * 60:,.0f} games/min; writing replays "
            f"{report.write_seconds / report.seconds:.1%} of it)"
        )
    console.print(f"run directory: {report.run_dir}")
    _print_results(report.run_dir)


@app.command("ratings")
def ratings_command(
    run_dir: str = typer.Argument(..., help="Run directory."),
    anchor: str = typer.Option("random", help="Agent held at 0 Elo (mean 0 if absent)."),
    method: str = typer.Option(
        "elo",
        help="elo (Bradley-Terry, with the win-rate matrix), alpharank (α-Rank's stationary "
        "distribution; also per seat in two-player games whose seats differ) or nash-avg "
        "(Nash averaging: Nash mass and skill).",
    ),
    agents: list[str] = typer.Option(
        None,
        "--agent",
        help="alpharank, nash-avg: rank only these agents (repeatable; default: every agent, "
        "or a league's latest evaluation round).",
    ),
    exact: bool = typer.Option(
        False,
        help="alpharank, nash-avg: rank on the exact expected payoffs (agents that state "
        "their strategy, a game small enough to enumerate) instead of the games' means.",
    ),
) -> None:
    """Ratings of a run's agents: Bradley-Terry Elo with confidence intervals and the
    win-rate matrix, or α-Rank, or Nash averaging of the empirical payoffs.

    For a league, only its evaluation games count: training games are played by exploring
    versions of the learners, not by the fixed policies the ratings describe.
    """
    from arena import results
    from arena.population import METHODS
    from arena.rundir import read_run

    if method not in METHODS:
        fail(f"unknown --method {method!r}; methods: {', '.join(METHODS)}")
    kind = (read_run(run_dir) or {}).get("kind")
    if method == "elo" and (agents or exact):
        fail("--agent and --exact go with --method alpharank or nash-avg")
    names = results.game_names(run_dir)
    for game in names if len(names) > 1 else [None]:  # a run of several games: each apart
        if game is not None:
            console.rule(game, style="bold")
        if method == "elo":
            _print_results(run_dir, anchor, eval_only=kind == "league", game=game)
        else:
            _print_population_ranking(
                run_dir, method, agents or None, kind == "league", exact, game
            )


def _exact_tables(run_dir: str, names: list[str], game: str):
    """The exact per-seat payoff tables of the run's agents `names` in `game`
    (arena.exact_payoffs)."""
    import games
    from arena import exact_payoffs

    game = games.make(game)
    tables = exact_payoffs.seat_tables(game, exact_payoffs.run_agents(run_dir, names))
    if tables is None:
        fail(
            f"--exact: no exact payoffs of these agents in {game.spec} (it takes two players, a "
            f"tree of at most {exact_payoffs.MAX_NODES:,} nodes and agents that state their "
            "strategy)"
        )
    console.print("on exact expected payoffs (the agents' stated strategies, not their games)")
    return tables


def _print_population_ranking(
    run_dir: str,
    method: str,
    agents: list[str] | None,
    league: bool,
    exact: bool = False,
    game: str | None = None,
) -> None:
    """α-Rank or Nash averaging of the agents that met every other in `game` (default: the
    run's only game), best first."""
    import numpy as np

    import games
    from arena import ids, payoffs, population, results

    if league and agents is None:
        # Earlier rounds' learner versions never met the later ones: rank the latest.
        agents = results.latest_evaluation_agents(run_dir)
        console.print(f"the {len(agents)} agents of the league's latest evaluation round")
    tables = payoffs.load(run_dir, ids.EVAL_ONLY if league else None, game=game)
    if agents is not None:
        absent = [a for a in agents if a not in tables.agents]
        if absent:
            fail(f"no games of {', '.join(absent)} in {run_dir}")
        tables = tables.subset([tables.agents.index(a) for a in dict.fromkeys(agents)])
    completion = tables.complete()
    if completion.missing:
        console.print(completion.describe())
    names = list(completion.tables.agents)
    seat_tables = _exact_tables(run_dir, names, tables.game) if exact else None
    if seat_tables is None:
        a = completion.tables.antisymmetric()
    else:
        from arena.exact_payoffs import antisymmetric

        a = antisymmetric(seat_tables)
    rows = population.rows(method, names, a)
    # Nash averaging rates by skill (the mass says who is in the equilibrium); skills of
    # the equilibrium's agents are all 0 up to round-off, which must not order them.
    score = rows["mass"] if method == "alpharank" else np.round(rows["skill"], 9)
    order = sorted(range(len(names)), key=lambda i: (-score[i], -rows["mass"][i], names[i]))
    if method == "alpharank":
        title = f"α-Rank stationary distribution (single population, α = {rows['alpha'][0]:g})"
        headers = ("#", "agent", "mass")
    else:
        title = "Nash averaging (maximum-entropy Nash mixture; skill: mean payoff against it)"
        headers = ("#", "agent", "Nash mass", "skill")
    table = Table(title=title)
    for header in headers:
        table.add_column(header, justify="left" if header == "agent" else "right")
    for rank, i in enumerate(order, start=1):
        cells = [str(rank), names[i], f"{rows['mass'][i]:.4f}"]
        if method == "nash-avg":
            cells.append(f"{rows['skill'][i]:+.4f}")
        table.add_row(*cells)
    console.print(table)
    if method == "alpharank" and population.seats_differ(games.make(tables.game)):
        _print_alpharank_per_seat(tables, None if seat_tables is None else (names, seat_tables))


def _print_alpharank_per_seat(tables, exact: tuple[list[str], list] | None = None) -> None:
    """Multi-population α-Rank with the two seats as populations (as a league writes it to
    `alpharank_per_seat`), on the agents that played every profile, themselves included;
    with `exact` (agents, their exact per-seat tables), on those."""
    import numpy as np

    from arena import population
    from arena.alpharank import AlphaRankError

    if exact is None:
        completion = tables.complete(seats=True)
        if completion.missing:
            console.print(f"per-seat α-Rank: {completion.describe()}")
        kept, seat_tables = list(completion.tables.agents), None
        if kept:
            seat_tables = completion.tables.per_seat()
    else:
        kept, seat_tables = exact
    if not kept:
        console.print("per-seat α-Rank: no agent played every other and itself in both seats")
        return
    try:
        rows = population.alpharank_per_seat_rows(kept, seat_tables)
    except AlphaRankError as err:
        console.print(f"per-seat α-Rank: {err}")
        return
    n = len(kept)
    mass = np.reshape(rows["mass"], (2, n))
    order = sorted(range(n), key=lambda i: (-mass[:, i].sum(), kept[i]))
    table = Table(
        title=f"α-Rank per seat (two populations, α = {rows['alpha'][0]:g}): each seat's "
        "marginal mass"
    )
    for header in ("#", "agent", "seat 0", "seat 1"):
        table.add_column(header, justify="left" if header == "agent" else "right")
    for rank, i in enumerate(order, start=1):
        table.add_row(str(rank), kept[i], f"{mass[0, i]:.4f}", f"{mass[1, i]:.4f}")
    console.print(table)


def _print_results(
    run_dir, anchor: str = "random", eval_only: bool = False, game: str | None = None
) -> None:
    """Elo ratings and the win-rate matrix of the games of `game` (default: the run's only
    game)."""
    from arena import ids, results

    where = ids.EVAL_ONLY if eval_only else None
    fitted = results.ratings(run_dir, anchor=anchor, where=where, game=game)
    table = Table(
        title=f"ratings (Elo, {fitted.confidence:.0%} intervals; anchor: "
        f"{fitted.anchor or 'mean'} = {fitted.anchor_value:g})"
    )
    for header in fitted.headers:
        table.add_column(header, justify="left" if header == "agent" else "right")
    for row in fitted.rows():
        table.add_row(*row)
    console.print(table)
    console.print(
        f"first-move advantage: {fitted.first_move_advantage:+.0f} Elo; "
        f"draw rate between equals: {fitted.draw_rate_equal:.1%}"
    )
    order = [row[1] for row in fitted.rows()][:MATRIX_AGENTS]  # wider tables do not fit
    rate, count = results.win_rates(run_dir, order, where=where, game=game)
    shown = f", top {MATRIX_AGENTS} by rating" if len(fitted.agents) > MATRIX_AGENTS else ""
    # Columns are numbered as in a chess crosstable and cells hold bare percentages without
    # vertical rules: ten agents' names and rates then fit an 80-column terminal.
    matrix = Table(
        title=f"score rate of row vs column, % (draws count half{shown})",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        collapse_padding=True,
    )
    matrix.add_column("#", justify="right")
    matrix.add_column("agent")
    for j in range(len(order)):
        matrix.add_column(str(j + 1), justify="right")
    for i, name in enumerate(order):
        matrix.add_row(
            str(i + 1),
            name,
            *(
                "-" if i == j or count[i, j] == 0 else f"{100 * rate[i, j]:.0f}"
                for j in range(len(order))
            ),
        )
    console.print(matrix)


class _progress_bar:
    """A rich progress bar fed by `on_progress(done, total)` calls (a no-op when disabled)."""

    def __init__(self, unit: str, enabled: bool = True):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.enabled = enabled
        self.unit = unit
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            disable=not enabled,
        )
        self.task = None
        self.start_done = 0
        self.started = 0.0

    def __enter__(self):
        import time

        self.progress.__enter__()
        self.started = time.perf_counter()

        def update(done: int, total: int) -> None:
            elapsed = time.perf_counter() - self.started
            if self.task is None:
                self.start_done = done
                self.task = self.progress.add_task(self.unit, total=total, completed=done, rate="")
            speed = (done - self.start_done) / elapsed if elapsed > 0 else 0.0
            self.progress.update(
                self.task, completed=done, total=total, rate=f"{speed:,.0f} {self.unit}/s"
            )

        return update

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)


@app.command("sprt")
def sprt_command(
    run_dir: str = typer.Argument(..., help="Run directory."),
    a: str = typer.Argument(..., help="Tested agent id."),
    b: str = typer.Argument(..., help="Baseline agent id."),
    elo0: float = typer.Option(0.0, help="Elo difference under H0."),
    elo1: float = typer.Option(10.0, help="Elo difference under H1."),
    alpha: float = typer.Option(0.05, help="False positive rate."),
    beta: float = typer.Option(0.05, help="False negative rate."),
    model: str = typer.Option("logistic", help="Elo model: logistic or normalized."),
) -> None:
    """Pentanomial GSPRT of A against B over the game pairs of a run, as fishtest computes it."""
    from arena import results
    from arena.ratings import sprt

    if elo1 <= elo0:
        fail(f"--elo1 must be above --elo0, got {elo0} and {elo1}")
    if not (0 < alpha < 1 and 0 < beta < 1):
        fail("--alpha and --beta must lie strictly between 0 and 1")
    counts = results.pentanomial(run_dir, a, b)
    if counts.sum() == 0:
        fail(f"no game pairs between {a!r} and {b!r} in {run_dir}")
    result = sprt(counts, elo0, elo1, alpha, beta, elo_model=model)
    console.print(f"{a} vs {b}: {result.pairs} game pairs, pentanomial {counts.tolist()}")
    console.print(
        f"LLR {result.llr:.2f} [{result.lower_bound:.2f}, {result.upper_bound:.2f}]  "
        f"elo {result.elo:+.1f} [{result.elo_ci[0]:+.1f}, {result.elo_ci[1]:+.1f}] ({model})"
    )
    verdict = {"H0": f"H0 accepted (elo <= {elo0:g})", "H1": f"H1 accepted (elo >= {elo1:g})"}
    console.print(verdict.get(result.decision, "continue: not enough evidence yet"))


replays_app = typer.Typer(help="Inspect and maintain replay datasets.", no_args_is_help=True)
app.add_typer(replays_app, name="replays")


@replays_app.command("show")
def replays_show(
    run_dir: str = typer.Argument(..., help="Run directory."),
    match_id: str = typer.Argument(..., help="Match id."),
    # Bounded like the int32 game_index column of replays.schema: larger ones cannot exist.
    game_index: int = typer.Argument(
        ..., min=0, max=2**31 - 1, help="Game index within the match."
    ),
) -> None:
    """Print one stored game move by move as text boards."""
    import games
    import replays

    replay = replays.load_game(run_dir, match_id, game_index)
    game = games.make(replay.game)
    seats = ", ".join(f"seat {i}: {name}" for i, name in enumerate(replay.agents))
    console.print(f"{replay.game}, match {match_id} game {game_index} ({seats})")
    for ply in range(len(replay.states)):
        heading = "start" if ply == 0 else f"ply {ply}: {replay.actions[ply - 1]}"
        console.print(f"\n{heading}\n{game.render_text(replay.states, ply)}", highlight=False)
    result = "draw" if replay.winner < 0 else f"seat {replay.winner} wins"
    console.print(f"\nresult: {result} ({replay.termination})")


@replays_app.command("compact")
def replays_compact(
    run_dir: str = typer.Argument(..., help="Run directory."),
    target_rows: int = typer.Option(1_000_000, help="Games per merged file."),
) -> None:
    """Merge small replay part files into larger ones (safe to interrupt at any moment)."""
    import replays

    if target_rows < 1:
        fail(f"--target-rows must be positive, got {target_rows}")
    report = replays.compact(run_dir, target_rows=target_rows)
    console.print(
        f"wrote {len(report.created)} merged file(s), removed {len(report.removed)} file(s); "
        f"{replays.open(run_dir).count():,} games in {run_dir}"
    )


league_app = typer.Typer(help="Train a population by self-play (AlphaStar-style league).")
app.add_typer(league_app, name="league")


@league_app.command("run")
def league_run(
    config: str = typer.Argument(None, help="TOML config (defaults: the game's embedded one)."),
    game: str = typer.Option(
        None, help=GAME_HELP + " Its embedded default league config is the base."
    ),
    out: str = typer.Option(None, help="Run directory (default runs/<game>-league)."),
    minutes: float = typer.Option(None, help="Wall-clock budget in minutes."),
    rounds: int = typer.Option(
        None,
        help="Stop after this many rounds (0: no limit); psro: after iteration ROUNDS in all "
        "(a resumed run goes on to it).",
    ),
    resume: bool = typer.Option(False, help="Continue the league in --out."),
    device: str = typer.Option(None, help="Torch device: auto, cpu, cuda, cuda:N."),
    seed: int = typer.Option(None, help="Seed of the whole league."),
    mode: str = typer.Option(
        None, help="league (AlphaStar-style, the default) or psro (policy-space response oracles)."
    ),
    meta_solver: str = typer.Option(None, help="psro: nash, alpharank, uniform or prd."),
    oracle: str = typer.Option(None, help="psro: exact (a tabular best response), ppo, alphazero."),
    backend: str = typer.Option("local", help=BACKEND_HELP),
    address: str = typer.Option(None, help=ADDRESS_HELP),
    workers: int = typer.Option(None, help=WORKERS_HELP),
    trust_run_code: bool = typer.Option(
        False,
        "--trust-run-code",
        help="With --resume and no config: let package.module:Class specs stored in the run "
        "folder import their modules (only for runs you trust).",
    ),
) -> None:
    """Train a league, rating it as it goes; prints the final ratings table."""
    from pathlib import Path

    from arena.config import load_toml
    from arena.league import run_league
    from arena.rundir import CONFIG_FILE, read_run, require_run

    values: dict = load_toml(config) if config else {}
    from_run_folder = bool(resume and not values and not game and out)
    if from_run_folder:
        # A folder proved a league (or a PSRO run) before any file of it is read.
        require_run(out, "psro" if (read_run(Path(out)) or {}).get("kind") == "psro" else "league")
        stored = Path(out) / CONFIG_FILE
        values = load_toml(stored) if stored.is_file() else {}
    if mode is not None:
        values["mode"] = mode
    psro_options = {"meta_solver": meta_solver, "oracle": oracle}
    if values.get("mode") == "psro":
        section = values.setdefault("psro", {})
        if isinstance(section, dict):  # else resolve names the bad key
            section.update({k: v for k, v in psro_options.items() if v is not None})
    elif any(v is not None for v in psro_options.values()):
        fail("--meta-solver and --oracle apply to --mode psro")
    given = {
        "game": game,
        "out": out,
        "minutes": minutes,
        "rounds": rounds,
        "device": device,
        "seed": seed,
    }
    values.update({k: v for k, v in given.items() if v is not None})
    if "game" not in values:
        if out and (Path(out) / "config.toml").is_file():
            fail(f"{out} already holds a league; pass --resume to continue it")
        fail("give a config file or --game (games: " + ", ".join(_game_names()) + ")")
    # A folder name from the spec: hex:size=7 -> runs/hex-size7-league.
    slug = str(values["game"]).replace(":", "-").replace(",", "-").replace("=", "")
    values.setdefault("out", f"runs/{slug}-{values.get('mode', 'league')}")
    if values.get("mode") == "psro":
        _run_psro(values, resume, backend, address, workers)
        return
    with _backend(backend, address, workers) as runner:
        run_dir = run_league(
            values,
            resume=resume,
            log=lambda line: console.print(line),
            backend=runner,
            # Specs the user gave may import their modules; a run folder's own may not.
            allow_import=trust_run_code or not from_run_folder,
        )
    console.print(f"run directory: {run_dir}")
    _print_results(run_dir, eval_only=True)


def _run_psro(
    values: dict, resume: bool, backend: str, address: str | None, workers: int | None
) -> None:
    """`league run --mode psro`: iterate, then print the last iteration (arena.psro.summary)."""
    from arena import psro

    psro.check_backend(psro.resolve(values), backend)  # before a cluster starts for nothing
    with _backend(backend, address, workers) as runner:
        run_dir = psro.run_psro(
            values, resume=resume, log=lambda line: console.print(line), backend=runner
        )
    console.print(psro.summary(run_dir))
    console.print(f"run directory: {run_dir}")


def _backend(name: str, address: str | None, workers: int | None):
    """The backend the user chose, its size printed when it is not this process."""
    from arena.backends import make_backend

    runner = make_backend(name, address, workers)
    if runner.name != "local":
        console.print(f"{runner.name} backend: {runner.workers} workers")
    return runner


def _game_names() -> list[str]:
    import games

    return games.names()


@bench_app.command("backends")
def bench_backends_command(
    workers: str = typer.Option("1,2", help="Ray worker counts to compare, comma-separated."),
    games: int = typer.Option(200_000, help="Tournament games per run."),
    league_rounds: int = typer.Option(0, help="Measure a league of this many rounds instead."),
    repeats: int = typer.Option(3, help="Runs of every backend (the median is reported)."),
    address: str = typer.Option(None, help=ADDRESS_HELP),
) -> None:
    """Games/s of a random-vs-greedy tournament (or a league) locally and on Ray."""
    import statistics

    from arena.bench_backends import compare_backends
    from arena.machine import describe

    counts = [int(w) for w in workers.split(",") if w.strip().lstrip("-").isdigit()]
    if len(counts) != len(workers.split(",")):
        fail(f"--workers takes comma-separated counts such as 1,2; got {workers!r}")
    console.print(f"machine: {describe()}")
    rates = compare_backends(counts, repeats, games, league_rounds, address)
    base = statistics.median(rates["local"])
    what = f"league, {league_rounds} rounds" if league_rounds else f"tournament, {games:,} games"
    console.print(f"{what}; median of {repeats} runs")
    for name, runs in rates.items():
        rate = statistics.median(runs)
        spread = ", ".join(f"{r:,.1f}" for r in runs)
        console.print(
            f"{name:<15}{rate:10,.1f} games/s  ({rate / base:4.0%} of local; runs: {spread})",
            soft_wrap=True,  # one line per backend, however narrow the terminal
        )


@bench_app.command("mcts")
def bench_mcts_command(
    game: str = typer.Option("connect_four", help=GAME_HELP),
    sims: int = typer.Option(400, help="Simulations per move."),
    batch: int = typer.Option(64, help="Games searched per call."),
    seconds: float = typer.Option(5.0, help="Seconds to measure."),
) -> None:
    """Simulations/s of the Numba UCT search with random rollouts, on one thread."""
    from arena.bench_mcts import bench_mcts
    from arena.machine import describe

    if sims <= 0 or batch <= 0 or seconds <= 0:
        fail("--sims, --batch and --seconds must be positive")
    result = bench_mcts(game, sims=sims, batch=batch, seconds=seconds)
    console.print(f"machine: {describe()}")
    for phase in ("initial", "openings"):
        part = result[phase]
        console.print(
            f"{phase:>9}: {part['sims_per_second']:,.0f} sims/s "
            f"({part['sims_per_cpu_second']:,.0f} per CPU second)"
        )
    console.print(
        f"  overall: {result['sims_per_second']:,.0f} sims/s, "
        f"{result['sims_per_cpu_second']:,.0f} per CPU second "
        f"({game}, sims={sims}, batch={batch}, 1 thread)"
    )


SETS_HELP = "a shipped set: L1_R1 ... L3_R1, or L2_R2.moves etc. with per-column scores"


def _benchmark_files(names: list[str]) -> list[str]:
    """Every benchmark file named, found before any work starts (one-line errors)."""
    from agents.evaluation import resolve_set

    try:
        return [str(resolve_set(name)) for name in names]
    except (ValueError, FileNotFoundError) as err:
        fail(str(err))


@bench_app.command("solver")
def bench_solver_command(
    sets: list[str] = typer.Argument(..., help=f"Benchmark sets ({SETS_HELP}) or files."),
    limit: int = typer.Option(None, help="Only the first N positions of each file."),
) -> None:
    """Mean time per position of the exact Connect Four solver on benchmark files."""
    from agents.evaluation import benchmark_positions
    from arena.machine import describe

    paths = _benchmark_files(sets)
    console.print(f"machine: {describe()}")
    table = Table(title="exact solver (fresh transposition table per set)")
    for column in ("set", "positions", "correct", "mean ms", "mean CPU ms", "max ms"):
        table.add_column(column, justify="left" if column == "set" else "right")
    for name, path in zip(sets, paths, strict=True):
        try:
            r = benchmark_positions(path, limit)
        except (ValueError, FileNotFoundError) as err:
            fail(str(err))
        table.add_row(
            name.rsplit("/", 1)[-1],
            str(r["positions"]),
            str(r["correct"]),
            f"{r['mean_ms']:.3f}",
            f"{r['mean_cpu_ms']:.3f}",
            f"{r['max_ms']:.1f}",
        )
    console.print(table)


@bench_app.command("search")
def bench_search_command(
    blocks: int = typer.Option(4, help="Residual blocks."),
    channels: int = typer.Option(64, help="Channels."),
    sims: int = typer.Option(64, help="Simulations per move."),
    batch: int = typer.Option(512, help="Games searched together."),
    leaves: str = typer.Option(
        "256",
        help="Leaves per forward pass, comma-separated (e.g. 64,256,1024,4096,8192): network "
        "evaluations/s for each; the search breakdown uses the first.",
    ),
    seconds: float = typer.Option(1.0, help="Seconds to time each forward batch size."),
    device: str = typer.Option("auto", help="Torch device: auto, cpu, cuda, cuda:N."),
) -> None:
    """Network evaluations/s per forward batch size, and the share of AlphaZero search time
    spent in tree work vs the network (Connect Four)."""
    from agents.device import resolve_device
    from arena.bench_search import bench_search, forward_rates, leaf_sizes
    from arena.machine import describe

    try:
        sizes = leaf_sizes(leaves)
        resolve_device(device)
    except ValueError as err:
        fail(str(err))
    if blocks < 0 or min(channels, sims, batch) < 1 or not seconds > 0:
        fail("--channels, --sims, --batch and --seconds must be positive, --blocks >= 0")
    console.print(f"machine: {describe()}")
    for rate in forward_rates(sizes, blocks, channels, device, seconds=seconds):
        console.print(
            f"forward batch {rate['leaves']:>6,}: {rate['evals_per_second']:>10,.0f} evals/s "
            f"on {rate['device']} ({rate['batches']} batches, "
            f"{rate['observe_share']:.0%} building observations)"
        )
    r = bench_search(
        blocks=blocks,
        channels=channels,
        leaves_per_forward=sizes[0],
        sims=sims,
        batch=batch,
        device=device,
    )
    for key, value in r.items():
        console.print(f"{key}: {value}")


@bench_app.command("ratings")
def bench_ratings_command(
    agents_count: int = typer.Option(1000, "--agents", help="Synthetic players."),
    games_count: int = typer.Option(1_000_000, "--games", help="Synthetic games."),
) -> None:
    """Time a Bradley-Terry fit of synthetic players with known Elo, and its accuracy."""
    from arena.machine import describe
    from arena.ratings import benchmark_fit

    if agents_count < 2 or games_count < 1:
        fail("--agents must be >= 2 and --games >= 1")
    r = benchmark_fit(agents_count, games_count)
    console.print(f"machine: {describe()}")
    console.print(
        f"fit {r['num_agents']:,} agents, {r['num_games']:,} games ({r['num_pairs']:,} pairs): "
        f"{r['fit_seconds']:.2f} s; rating RMSE {r['rmse_elo']:.1f} Elo, "
        f"95% interval coverage {r['ci_coverage']:.1%}"
    )


@bench_app.command("population")
def bench_population_command(
    agents_count: int = typer.Option(200, "--agents", help="Synthetic agents."),
    games_count: int = typer.Option(1_000_000, "--games", help="Synthetic stored games."),
    run_dir: str = typer.Option(
        None, "--run", help="Evaluate this run's games instead (nothing is written)."
    ),
) -> None:
    """Time α-Rank and Nash averaging of a population from its stored games (payoff tables
    from the Parquet dataset included), on a synthetic rock-paper-scissors run."""
    import tempfile

    from arena.bench_population import benchmark, write_synthetic_run
    from arena.machine import describe

    if agents_count < 2 or games_count < 1:
        fail("--agents must be >= 2 and --games >= 1")
    with tempfile.TemporaryDirectory() as scratch:
        if run_dir is None:
            run_dir = scratch
            write_synthetic_run(run_dir, agents_count, games_count)
        r = benchmark(run_dir)
    console.print(f"machine: {describe()}")
    console.print(
        f"{r['agents']} agents, {r['games']:,} games: payoff tables "
        f"{r['payoffs_seconds']:.2f} s, α-Rank {r['alpharank_seconds']:.2f} s, Nash averaging "
        f"{r['nash_averaging_seconds']:.2f} s; total {r['total_seconds']:.2f} s "
        f"(Nash support {r['nash_support']}, α-Rank's top mass {r['alpharank_top_mass']:.3f})"
    )


eval_app = typer.Typer(help="Measure agents' move quality.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


@eval_app.command("positions")
def eval_positions(
    agent: str = typer.Option(..., help="Agent spec, e.g. mcts:sims=400 or az:PATH,sims=64."),
    set_path: list[str] = typer.Option(
        ..., "--set", help=f"Benchmark set ({SETS_HELP}) or file; repeatable."
    ),
    limit: int = typer.Option(None, help="Only the first N positions of each file."),
    seed: int = typer.Option(0, help="Seed for the agent's randomness."),
) -> None:
    """Share of benchmark positions where the agent's move is optimal (W/D/L and exact)."""
    import agents
    import games
    from agents.evaluation import evaluate_agent

    paths = _benchmark_files(set_path)
    game = games.make("connect_four")
    table = Table(title=f"move quality of {agent}")
    for column in ("set", "positions", "W/D/L optimal", "exact optimal", "illegal"):
        table.add_column(column, justify="left" if column == "set" else "right")
    try:
        player = agents.make(agent, game, allow_import=True)  # typed by the user
        for name, path in zip(set_path, paths, strict=True):
            r = evaluate_agent(player, game, path, limit=limit, seed=seed)
            table.add_row(
                name.rsplit("/", 1)[-1],
                str(r["positions"]),
                f"{r['wdl_rate']:.1%}",
                f"{r['exact_rate']:.1%}",
                str(r["illegal"]),
            )
    except (ValueError, FileNotFoundError) as err:
        fail(str(err))
    console.print(table)


@eval_app.command("exploitability")
def eval_exploitability(
    game: str = typer.Option(..., help=GAME_HELP + " exact: small enough to enumerate its tree."),
    agent: str = typer.Option(..., help="Agent spec, e.g. random or policy:PATH."),
    method: str = typer.Option(
        "exact",
        help="exact (best responses on the whole game tree) or trained (a lower bound: "
        "train an exploiter against the agent).",
    ),
    samples: int = typer.Option(
        1000, help="exact, for agents without `evaluate`: act calls per information state."
    ),
    seed: int = typer.Option(0, help="Seed for the agent's and the exploiter's randomness."),
    minutes: float = typer.Option(1.0, help="trained: the exploiter's training time."),
    algorithm: str = typer.Option(
        "ppo", help="trained: the exploiter, ppo or alphazero (games of perfect information)."
    ),
    eval_games: int = typer.Option(
        1000, help="trained: games per evaluation along the curve (the final one: 4x)."
    ),
    solver_games: int = typer.Option(
        10, help="trained, Connect Four: games against the exact solver (from 8-ply openings)."
    ),
) -> None:
    """NashConv of an agent's strategy and each player's best-response gain against it
    (exact), or a lower bound on its exploitability from a trained exploiter (trained).

    exact: the agent is asked at every information state: the `strategy` its moves are
    drawn from when it states one, else the empirical distribution of `samples` `act` calls
    (agents.tabular.query). trained: see arena.exploiter.
    """
    import agents
    import games
    from agents.tabular.exploitability import evaluate as measure
    from agents.tabular.query import agent_policy, query_method
    from agents.tabular.tree import build_tree

    if method not in EXPLOITABILITY_METHODS:
        fail(f"unknown --method {method!r}; methods: {', '.join(EXPLOITABILITY_METHODS)}")
    if method == "trained":
        _trained_exploitability(
            games.make(game), agent, minutes, algorithm, seed, eval_games, solver_games
        )
        return
    if samples < 1:
        fail(f"--samples must be positive, got {samples}")
    try:
        tree = build_tree(games.make(game))
    except ValueError as err:  # perfect information, or too large
        fail(f"{err}; --method trained bounds it instead")
    player = agents.make(agent, tree.game, allow_import=True)  # typed by the user
    result = measure(tree, agent_policy(player, tree, samples, seed))
    how = "strategy" if query_method(player) == "strategy" else f"act, {samples:,} samples"
    table = Table(title=f"{agent} on {tree.spec}: {tree.num_info:,} information states ({how})")
    for column in ("player", "value", "best response", "gain"):
        table.add_column(column, justify="right")
    for p in range(tree.num_players):
        table.add_row(
            str(p),
            f"{result.on_policy[p]:.6g}",
            f"{result.best_response[p]:.6g}",
            f"{result.gains[p]:.6g}",
        )
    console.print(table)
    console.print(f"NashConv {result.nash_conv:.6g}; exploitability {result.exploitability:.6g}")


EXPLOITABILITY_METHODS = ("exact", "trained")
SOLVER_OPENING_PLIES = 8  # the solver answers in seconds from here, minutes from the start


def _trained_exploitability(
    game, agent: str, minutes: float, algorithm: str, seed: int, eval_games: int, solver: int
) -> None:
    """`eval exploitability --method trained`: train, then print the curve and the bound."""
    import agents
    from arena.exploiter import (
        ExploiterError,
        check_game,
        learner_config,
        solver_match,
        train_exploiter,
    )

    if not minutes > 0:
        fail(f"--minutes must be positive, got {minutes}")
    if eval_games < 2 or solver < 0:
        fail(f"--eval-games must be >= 2 and --solver-games >= 0, got {eval_games}, {solver}")
    try:
        check_game(game)
        learner_config(game, algorithm)
        target = agents.make(agent, game, allow_import=True)  # typed by the user
    except ValueError as err:  # before any output: the error is the only line
        fail(str(err))
    console.print(
        f"{algorithm} exploiter against {agent} on {game.spec}, {minutes:g} minutes; the curve "
        f"(training time, games, train steps: bound on {eval_games:,} games, 95% interval):"
    )
    try:
        result = train_exploiter(
            game,
            [(agent, 1.0)],
            algorithm,
            minutes,
            seed,
            eval_games=eval_games,
            final_games=4 * eval_games,
            allow_import=True,
            log=lambda line: console.print(f"  {line}"),
        )
    except ExploiterError as err:
        fail(str(err))
    b = result.bound
    seats = ", ".join(f"seat {s}: {r:.4f}" for s, r in enumerate(b.seat_returns))
    console.print(
        f"exploitability lower bound {b.value:.4f}, 95% interval [{b.ci_low:.4f}, "
        f"{b.ci_high:.4f}] ({b.games:,} fresh games; the exploiter's mean return {seats})"
    )
    if b.ci_low <= 0:
        console.print("(an interval reaching 0 or below shows no edge yet: exploitability is >= 0)")
    if game.name == "connect_four" and solver:
        r = solver_match(game, target, solver, SOLVER_OPENING_PLIES, seed)
        console.print(
            f"against the exact solver: {agent} lost {r.losses} of {r.games} games "
            f"({r.draws} draws, {r.wins} wins) from random {SOLVER_OPENING_PLIES}-ply openings, "
            f"each played from both seats ({r.lost_openings} of those games started from an "
            "opening already lost for its seat)"
        )


@app.command("solve")
def solve_command(
    game: str = typer.Option(..., help=GAME_HELP),
    algorithm: str = typer.Option("cfr+", help="cfr, cfr+ or mccfr (external sampling)."),
    iterations: int = typer.Option(..., help="Iterations in all (a resumed run goes on to this)."),
    out: str = typer.Option(..., help="Run directory."),
    seed: int = typer.Option(0, help="Seed of mccfr's sampling."),
    eval_every: int = typer.Option(100, help="Iterations between exploitability evaluations."),
    resume: bool = typer.Option(False, help="Continue the solve run in --out."),
    progress: bool = typer.Option(True, help="Show a live progress bar."),
) -> None:
    """Solve a game of imperfect information with CFR, CFR+ or MCCFR, as a resumable run:
    the exploitability curve in OUT/metrics/, the average policy as the checkpoint OUT/policy
    (play it with the agent spec policy:OUT/policy)."""
    from arena.solve import run_solve

    with _progress_bar("iterations", enabled=progress) as on_progress:
        report = run_solve(
            game,
            algorithm,
            iterations,
            out,
            seed=seed,
            eval_every=eval_every,
            resume=resume,
            on_progress=on_progress,
        )
    console.print(
        f"{report.iterations_run:,} iterations in {report.seconds:.2f} s "
        f"({report.iterations:,} in all); exploitability of the average policy "
        f"{report.exploitability:.6g}"
    )
    console.print(f"policy checkpoint: {report.policy} (agent spec policy:{report.policy})")
    console.print(f"run directory: {report.run_dir}")


policy_app = typer.Typer(help="Export and import tabular policies.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")


@policy_app.command("export")
def policy_export(
    source: str = typer.Argument(
        ..., help="A solve or PSRO run directory, or a policy checkpoint."
    ),
    format: str = typer.Option("openspiel", "--format", help="openspiel (the only format)."),
    out: str = typer.Option(..., help="JSON file to write."),
) -> None:
    """Write a policy as OpenSpiel JSON: {information_state_string: [probability of each
    legal action, in ascending action order]} (a solve run: its final average policy; a PSRO
    run: its meta-strategy mixture, each member weighted by its reach of every state)."""
    from arena.solve import export_openspiel

    if format != "openspiel":
        fail(f"--format must be openspiel, got {format!r}")
    spec, count = export_openspiel(source, out)
    console.print(f"wrote {out}: {count:,} information states of {spec}")


@policy_app.command("import")
def policy_import(
    file: str = typer.Argument(..., help="OpenSpiel JSON policy file."),
    game: str = typer.Option(..., help=GAME_HELP),
    out: str = typer.Option(..., help="Checkpoint stem to write (STEM.parquet + STEM.json)."),
) -> None:
    """Read an OpenSpiel JSON policy of GAME into a policy checkpoint (agent spec policy:)."""
    from arena.solve import import_openspiel

    spec, count = import_openspiel(file, game, out)
    console.print(f"wrote {out}: {count:,} information states of {spec} (agent spec policy:{out})")


@bench_app.command("psro")
def bench_psro_command(
    game: str = typer.Option("kuhn_poker", help=GAME_HELP),
    meta_solver: str = typer.Option("nash", help="nash, alpharank, uniform or prd."),
    iterations: int = typer.Option(15, help="PSRO iterations of each (after the initial one)."),
    sampled: bool = typer.Option(
        False, help="Let psro_v2 estimate its payoffs from sampled games (default: exact)."
    ),
) -> None:
    """NashConv per iteration of our PSRO with exact best responses beside OpenSpiel's
    psro_v2 with its exact BestResponseOracle (same game, same meta-solver)."""
    import contextlib
    import io

    from arena import bench_psro
    from arena.machine import describe
    from games.openspiel import openspiel_name

    if iterations < 1:
        fail(f"--iterations must be positive, got {iterations}")
    name = openspiel_name(game)
    if name is None:
        fail(f"no OpenSpiel equivalent of {game}: nothing to compare with")
    console.print(f"machine: {describe()}")
    ours = bench_psro.ours(game, meta_solver, iterations)
    with contextlib.redirect_stdout(io.StringIO()):  # psro_v2 prints its settings
        theirs = bench_psro.openspiel(name, meta_solver, iterations, exact_payoffs=not sampled)
    table = Table(title=f"NashConv of the {meta_solver} meta-strategy mixture, {game}")
    for header in ("iteration", "arena", "OpenSpiel psro_v2"):
        table.add_column(header, justify="right")
    for k, (a, b) in enumerate(zip(ours.nash_conv, theirs.nash_conv, strict=True)):
        table.add_row(str(k), f"{a:.6f}", f"{b:.6f}")
    console.print(table)
    console.print(f"arena {ours.seconds:.1f} s, OpenSpiel {theirs.seconds:.1f} s")


@bench_app.command("cfr")
def bench_cfr_command(
    game: str = typer.Option("leduc_poker", help=GAME_HELP),
    iterations: int = typer.Option(1000, help="CFR+ iterations of each solver."),
) -> None:
    """CFR+ iterations/s, ours against OpenSpiel's C++ CFRPlusSolver, and the time of an
    exact exploitability (pin one core with taskset -c 0)."""
    from arena import bench_cfr
    from arena.machine import describe
    from games.openspiel import openspiel_name

    if iterations < 1:
        fail(f"--iterations must be positive, got {iterations}")
    console.print(f"machine: {describe()}")
    ours = bench_cfr.bench_ours(game, iterations)
    console.print(
        f"arena CFR+: {ours.iterations_per_second:,.1f} iterations/s ({iterations:,} "
        f"iterations; tree {ours.tree_seconds:.2f} s, first iteration {ours.warmup_seconds:.2f} s)"
    )
    console.print(
        f"arena exploitability: {ours.exploitability:.6g} in {ours.exploitability_seconds:.3f} s"
    )
    name = openspiel_name(game)
    try:
        import pyspiel  # noqa: F401  (optional: only this comparison needs it)
    except ImportError:
        console.print("OpenSpiel: not installed, no comparison (pip install open_spiel)")
        return
    if name is None:
        console.print(f"OpenSpiel: no OpenSpiel equivalent of {game}, no comparison")
        return
    theirs = bench_cfr.bench_openspiel(name, iterations)
    console.print(
        f"OpenSpiel CFRPlusSolver: {theirs.iterations_per_second:,.1f} iterations/s; arena is "
        f"{ours.iterations_per_second / theirs.iterations_per_second:.1f}x as fast"
    )
    console.print(
        f"OpenSpiel exploitability: {theirs.exploitability:.6g} in "
        f"{theirs.exploitability_seconds:.3f} s"
    )


@bench_app.command("query")
def bench_query_command(
    run_dir: str = typer.Argument(..., help="Run directory with stored games."),
    repeats: int = typer.Option(3, help="Timed repetitions (the best is reported)."),
) -> None:
    """Time the DuckDB query of results per agent pair over a run's replay dataset."""
    import time

    import replays
    from arena import results
    from arena.machine import describe

    count = replays.open(run_dir).count()
    timings = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        pairs = results.pair_table(run_dir)
        timings.append(time.perf_counter() - start)
    console.print(f"machine: {describe()}")
    console.print(
        f"{count:,} games, {pairs.num_rows} ordered pairs: win/draw/loss per pair in "
        f"{min(timings):.3f} s (best of {len(timings)}; opening the dataset included)"
    )


@app.command("dashboard")
def dashboard_command(
    runs_dir: str = typer.Argument(
        None, help="Folder of runs, or one run (default: $ARENA_RUNS, else ./runs)."
    ),
    port: int = typer.Option(8501, help="Port to serve on."),
    host: str = typer.Option(
        "127.0.0.1", help="Address to listen on (the app has no login: keep it on loopback)."
    ),
) -> None:
    """Browse runs in a Streamlit app: ratings, win rates, league history, replays, agents."""
    import os

    # One of the two places where `arena` imports `dashboards` (tests/test_layering.py).
    from dashboards import launch

    if not 0 < port < 65536:
        fail(f"--port must be between 1 and 65535, got {port}")
    folder = runs_dir or os.environ.get(launch.RUNS_ENV) or "runs"
    if not launch.is_loopback(host):
        console.print(
            f"warning: the dashboard has no authentication: anyone who can reach {host} "
            f"on port {port} can read every run in {folder}",
            style="yellow",
        )
    console.print(f"dashboard of {folder} on {launch.url(host, port)} (Ctrl-C stops it)")
    launch.serve(folder, port, host)


@bench_app.command("dashboard")
def bench_dashboard(
    run_dir: str = typer.Argument(..., help="Run directory whose games are listed."),
    generate: int = typer.Option(
        0, help="First create RUN_DIR: a tournament of this many games, random vs greedy."
    ),
) -> None:
    """Seconds for the replay browser's filtered listing on a run (cold, without cache)."""
    from arena.machine import describe
    from dashboards import bench  # the other place where `arena` imports `dashboards`

    if generate:
        bench.generate_run(run_dir, generate)
    result = bench.bench_listing(run_dir)
    console.print(f"machine: {describe()}")
    console.print(
        f"{result['games']:,} games in {result['files']} files; seconds: open "
        f"{result['open_seconds']:.3f}, summary {result['summary_seconds']:.3f}, "
        f"first view {result['first_view_seconds']:.3f}"
    )
    table = Table(title="filtered listing: count + first page of 100 (seconds)")
    for header in ("filter", "matches", "seconds"):
        table.add_column(header, justify="left" if header == "filter" else "right")
    for name, seconds in result["listing_seconds"].items():
        table.add_row(name, f"{result['matches'][name]:,}", f"{seconds:.3f}")
    console.print(table)
