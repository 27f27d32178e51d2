"""`arena solve`: CFR, CFR+ or external-sampling MCCFR on a game's whole tree, as a run.

A solve run directory holds run.json and config.toml (arena.rundir), the exploitability
curve in `metrics/exploitability/` (one file per evaluation, every `eval_every` iterations
and at the end), the solver's arrays in `solver.safetensors`, and the final average policy
as the checkpoint `policy` (`policy.parquet` + `policy.json`, agents.tabular.checkpoint).

At each evaluation the metrics file is written first and then the solver's arrays, each
atomically; a run killed at any point resumes from its last saved arrays, and since the
solvers are deterministic (MCCFR's random state is saved with them) it ends exactly as an
uninterrupted run would, a metrics file written after the last save being written again
with the same values.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as load_arrays
from safetensors.numpy import save as save_arrays

import games
from agents.tabular.cfr import ALGORITHMS, Solver
from agents.tabular.checkpoint import load_policy, read_policy, save_policy
from agents.tabular.exploitability import evaluate as measure
from agents.tabular.openspiel_json import read_openspiel, write_openspiel
from agents.tabular.tree import build_tree
from arena import metrics
from arena.config import ConfigError
from arena.rundir import atomic_write, lock_run, open_run, read_run, require_run, write_config

KIND = "solve"
TABLE = "exploitability"
STATE_FILE = "solver.safetensors"
POLICY = "policy"  # the checkpoint stem in the run directory
POLICY_KINDS = (KIND, "psro")  # runs whose final policy is the checkpoint POLICY
DEFAULT_EVAL_EVERY = 100
# Iterations between progress reports: small next to an evaluation's work on any game here.
CHUNK = 10


@dataclass
class SolveReport:
    run_dir: Path
    iterations: int  # completed in all
    iterations_run: int  # by this call
    seconds: float  # solving time of this call (evaluations excluded)
    exploitability: float  # of the final average policy
    policy: Path  # the checkpoint stem


def run_solve(
    game_spec: str,
    algorithm: str,
    iterations: int,
    out: str | Path,
    *,
    seed: int = 0,
    eval_every: int = DEFAULT_EVAL_EVERY,
    resume: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> SolveReport:
    """Run `algorithm` on the game until `iterations` iterations are done in `out`.

    Every setting is checked and the game's tree built before anything is written, so a
    bad spec, algorithm or game leaves no run behind. Resuming continues a run of the same
    game, algorithm, seed and eval_every (`iterations` may grow, to solve further).
    """
    if algorithm not in ALGORITHMS:
        raise ConfigError(f"--algorithm must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
    if iterations < 1 or eval_every < 1:
        raise ConfigError(
            f"--iterations and --eval-every must be positive, got {iterations} and {eval_every}"
        )
    game = games.make(game_spec)
    tree = build_tree(game)  # refuses a game without information states
    identity = {"algorithm": algorithm, "seed": seed, "eval_every": eval_every}
    with lock_run(out, KIND, resume):
        run_dir, _ = open_run(out, KIND, game.spec, identity, resume)
        solver, elapsed = _restore(run_dir, tree, algorithm, seed)
        if solver.iteration > iterations:
            raise ConfigError(
                f"{run_dir} already holds {solver.iteration} iterations, more than "
                f"--iterations {iterations}"
            )
        write_config(run_dir, {"game": game.spec, "iterations": iterations, **identity})
        first = solver.iteration
        seconds = 0.0
        while solver.iteration < iterations:
            if on_progress is not None:
                on_progress(solver.iteration, iterations)
            boundary = min((solver.iteration // eval_every + 1) * eval_every, iterations)
            start = time.perf_counter()
            solver.run(min(CHUNK, boundary - solver.iteration))
            seconds += time.perf_counter() - start
            if solver.iteration == boundary:
                _evaluate(run_dir, solver, eval_every, elapsed + seconds)
                _save_state(run_dir, solver, elapsed + seconds)
        if on_progress is not None:
            on_progress(solver.iteration, iterations)
        policy = solver.average_policy()
        save_policy(
            run_dir / POLICY, game, policy, algorithm=algorithm, iterations=solver.iteration,
            tree=tree,
        )  # fmt: skip
        final = metrics.read_table(run_dir, TABLE).column(TABLE).to_numpy()
    return SolveReport(
        run_dir=run_dir,
        iterations=solver.iteration,
        iterations_run=solver.iteration - first,
        seconds=seconds,
        exploitability=float(final[-1]),
        policy=run_dir / POLICY,
    )


def policy_of_run(run_dir: str | Path) -> Path:
    """The final average policy checkpoint of a solve run, or the meta-strategy mixture of
    a PSRO run (arena.psro writes it under the same name); ConfigError when neither, or
    not finished."""
    kind = (read_run(Path(run_dir)) or {}).get("kind")
    require_run(run_dir, kind if kind in POLICY_KINDS else KIND)
    stem = Path(run_dir) / POLICY
    if not Path(f"{stem}.json").is_file():
        from arena.psro_sampled import is_sampled_run

        if kind == "psro" and is_sampled_run(Path(run_dir)):
            raise ConfigError(
                f"{run_dir} is a PSRO run with sampled payoffs: its members are networks, "
                "with no tabular policy to export (psro.json lists their agent specs)"
            )
        raise ConfigError(f"{run_dir} holds no final policy yet: finish it with --resume")
    return stem


def _evaluate(run_dir: Path, solver: Solver, eval_every: int, elapsed: float) -> None:
    """One row of the exploitability curve: the average policy after solver.iteration.
    Its round number is the evaluation's index, so a repeated evaluation rewrites its
    file."""
    result = measure(solver.tree, solver.average_policy())
    round_index = -(-solver.iteration // eval_every)  # ceil: the last one may be short
    metrics.write_round(
        run_dir,
        TABLE,
        round_index,
        {
            "iteration": [solver.iteration],
            "nash_conv": [result.nash_conv],
            "exploitability": [result.exploitability],
            "elapsed_seconds": [elapsed],
        },
    )


def _save_state(run_dir: Path, solver: Solver, elapsed: float) -> None:
    arrays = dict(solver.state())
    arrays["elapsed_seconds"] = np.array([elapsed], dtype=np.float64)
    data = save_arrays(arrays, metadata={"algorithm": solver.algorithm, "game": solver.tree.spec})
    atomic_write(run_dir / STATE_FILE, data)


def _restore(run_dir: Path, tree, algorithm: str, seed: int) -> tuple[Solver, float]:
    """(the solver saved in the run, solving seconds so far), or a new one."""
    path = run_dir / STATE_FILE
    if not path.is_file():
        return Solver(tree, algorithm, seed=seed), 0.0
    try:
        arrays = load_arrays(path.read_bytes())
    except SafetensorError as err:
        raise ConfigError(f"{path}: damaged solver state ({err})") from None
    missing = sorted(
        {"regrets", "strategy_sums", "iteration", "rng", "elapsed_seconds"} - set(arrays)
    )
    if missing:
        raise ConfigError(f"{path}: solver state lacks {missing}")
    try:
        solver = Solver.restore(tree, algorithm, arrays)
    except ValueError as err:
        raise ConfigError(f"{path}: {err}") from None
    return solver, float(arrays["elapsed_seconds"][0])


def export_openspiel(source: str | Path, out: str | Path) -> tuple[str, int]:
    """Write the policy of a solve run (its final average policy), of a PSRO run (its
    meta-strategy mixture as one behaviour policy) or of a checkpoint at `source` as
    OpenSpiel JSON at `out`; returns (game spec, information states)."""
    stem = policy_of_run(source) if read_run(Path(source)) is not None else Path(source)
    _, meta = read_policy(stem)
    game = games.make(str(meta["game"]))
    tree = build_tree(game)
    policy, _ = load_policy(stem, game, tree)
    write_openspiel(out, policy, tree)
    return game.spec, tree.num_info


def import_openspiel(file: str | Path, game_spec: str, out: str | Path) -> tuple[str, int]:
    """Read OpenSpiel JSON `file` as a policy of `game_spec` and save it as the checkpoint
    `out` (nothing is written when the file does not fit the game)."""
    game = games.make(game_spec)
    tree = build_tree(game)
    policy = read_openspiel(file, tree)
    save_policy(out, game, policy, algorithm=f"imported:{Path(file).name}", iterations=0, tree=tree)
    return game.spec, tree.num_info
