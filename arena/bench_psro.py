"""`arena bench psro`: our PSRO (exact oracle) beside OpenSpiel's `psro_v2`, per iteration.

OpenSpiel's side is `psro_v2.PSROSolver` with its exact `BestResponseOracle`, started from
the uniform random policy, with the same meta-solver, and the NashConv of its meta-strategy
mixture aggregated by `policy_aggregator` and measured by `exploitability.nash_conv`, as
OpenSpiel's psro_v2_example does. psro_v2 estimates each payoff entry from sampled games
(`sims_per_entry`); with `exact_payoffs` its estimate is replaced by the exact expected
returns (`expected_game_score.policy_value`), so both sides solve the same meta-games.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from arena import metrics
from arena.psro import EXACT_TABLE, run_psro

# OpenSpiel's psro_v2_example settings of its projected replicator dynamics.
OPENSPIEL_PRD = {"prd_iterations": 50_000, "prd_gamma": 1e-10}


@dataclass
class PsroCurve:
    nash_conv: list[float]  # of the mixture after each iteration, the initial population first
    seconds: float


def ours(spec: str, meta_solver: str, iterations: int) -> PsroCurve:
    """NashConv per iteration of `arena league run --mode psro --oracle exact` (a run in a
    temporary directory)."""
    out = tempfile.mkdtemp(prefix="psro-bench-")
    try:
        start = time.perf_counter()
        config = {"game": spec, "out": f"{out}/run", "mode": "psro", "rounds": iterations}
        config.update(minutes=0.0, psro={"meta_solver": meta_solver, "oracle": "exact"})
        run_dir = run_psro(config, log=lambda line: None)
        seconds = time.perf_counter() - start
        curve = metrics.read_table(run_dir, EXACT_TABLE).column("nash_conv").to_pylist()
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return PsroCurve(curve, seconds)


def openspiel(
    name: str, meta_solver: str, iterations: int, *, exact_payoffs: bool = True,
    sims_per_entry: int = 1000,
) -> PsroCurve:  # fmt: skip
    """NashConv per iteration of OpenSpiel's psro_v2 with exact best responses on its game
    `name` (ImportError without OpenSpiel and cvxpy)."""
    import pyspiel
    from open_spiel.python import policy
    from open_spiel.python.algorithms import expected_game_score, exploitability, policy_aggregator
    from open_spiel.python.algorithms.psro_v2 import best_response_oracle, psro_v2

    class ExactPayoffs(psro_v2.PSROSolver):
        def sample_episodes(self, policies, num_episodes):
            state = self._game.new_initial_state()
            return np.asarray(expected_game_score.policy_value(state, policies))

    game = pyspiel.load_game(name)
    start = time.perf_counter()
    uniform = policy.TabularPolicy(game)
    solver = (ExactPayoffs if exact_payoffs else psro_v2.PSROSolver)(
        game,
        best_response_oracle.BestResponseOracle(game=game, policy=uniform),
        sims_per_entry=sims_per_entry,
        initial_policies=[uniform.__copy__() for _ in range(game.num_players())],
        meta_strategy_method=meta_solver,
        training_strategy_selector="probabilistic",  # a start for trained oracles: unused
        sample_from_marginals=True,
        **OPENSPIEL_PRD,
    )
    curve = []
    for k in range(iterations + 1):
        if k:
            solver.iteration()
        aggregated = policy_aggregator.PolicyAggregator(game).aggregate(
            range(game.num_players()), solver.get_policies(), solver.get_meta_strategies()
        )
        curve.append(float(exploitability.nash_conv(game, aggregated)))
    return PsroCurve(curve, time.perf_counter() - start)
