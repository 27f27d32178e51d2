"""Engine throughput: the loop a self-play system runs, and the same game elsewhere.

The loop per step: legal mask -> a random legal action per game -> step -> reset finished
games -> resolve chance nodes. Every game of the batch is live at each step (finished ones
restart at once), so a step of a batch of B games counts as B env steps. Steps are decisions:
chance outcomes are sampled within the step that leads to them, as Pgx's step does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import games


def engine_steps_per_second(spec: str, batch: int, seconds: float = 1.0, seed: int = 0) -> float:
    """Env steps per second of the batched self-play loop on the current Numba threads."""
    game = games.make(spec)
    state = game.init(batch, seed)
    rng = np.arange(1, batch + 1, dtype=np.int64)
    mask = np.empty((batch, game.num_actions), dtype=np.bool_)

    # Simultaneous games step jointly: a random legal action per player (each its own random
    # state); a decision node reads its mover's column only.
    player_rngs = [rng + batch * p for p in range(game.num_players)]

    def actions() -> np.ndarray:
        if not game.simultaneous:
            return game.random_legal(game.legal_mask(state, out=mask), rng)
        return np.stack(
            [
                game.random_legal(game.legal_mask(state, player=p, out=mask), player_rngs[p])
                for p in range(game.num_players)
            ],
            axis=1,
        )

    def one_step(k: int) -> None:
        game.step(state, actions())
        game.reset_done(state, k)
        if game.chance:
            game.sample_chance(state)

    if game.chance:
        game.sample_chance(state)
    for k in range(3):  # compile or load kernels outside the timing
        one_step(k)
    steps, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(max(1, 4096 // batch)):
            one_step(steps)
            steps += 1
    return steps * batch / elapsed


def openspiel_steps_per_second(name: str, seconds: float = 1.0, seed: int = 0) -> float:
    """Env steps per second of OpenSpiel's Python API in the same random-play loop (`name`:
    a `pyspiel.load_game` string, see games.openspiel); chance outcomes are sampled, not
    counted as steps."""
    import pyspiel

    game = pyspiel.load_game(name)
    rng = np.random.default_rng(seed)
    state = game.new_initial_state()
    steps, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(1000):
            if state.is_chance_node():
                outcomes = state.chance_outcomes()
                u, k = rng.random(), 0
                while k + 1 < len(outcomes) and u >= outcomes[k][1]:
                    u -= outcomes[k][1]
                    k += 1
                state.apply_action(outcomes[k][0])
                continue
            if state.is_simultaneous_node():
                joint = []
                for player in range(game.num_players()):
                    legal = state.legal_actions(player)
                    joint.append(legal[int(rng.integers(len(legal)))])
                state.apply_actions(joint)
            else:
                legal = state.legal_actions()
                state.apply_action(legal[int(rng.integers(len(legal)))])
            steps += 1
            if state.is_terminal():
                state = game.new_initial_state()
    return steps / elapsed


_FIRST_CALL = """
import time
start = time.perf_counter()
import numpy as np, games
game = games.make({spec!r})
state = game.init(8)
game.sample_chance(state)
if game.simultaneous:
    actions = np.stack([game.random_legal(game.legal_mask(state, player=p), np.arange(8) + p)
                        for p in range(game.num_players)], axis=1)
else:
    actions = game.random_legal(game.legal_mask(state), np.arange(8))
game.step(state, actions)
game.observe(state, 0)
game.reset_done(state, 1)
game.play_sequences([[int(np.flatnonzero(game.legal_mask(game.init(1))[0])[0])]])
print(time.perf_counter() - start)
"""


def first_call_seconds(spec: str) -> tuple[float, float]:
    """Seconds to import and run every kernel once in a fresh process: (cold cache, warm cache).

    The cold run uses an empty Numba cache directory, so it measures compilation; the warm run
    reuses what the cold run wrote.
    """
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        timings = []
        for _ in range(2):
            out = subprocess.run(
                [sys.executable, "-c", _FIRST_CALL.format(spec=spec)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            timings.append(float(out.stdout.strip().splitlines()[-1]))
    return timings[0], timings[1]


# Pgx (JAX) environments of our games, by canonical spec. Pgx's Hex is 11x11 and always
# offers the swap (one extra legal action, on the second move only), so it stands for both
# 11x11 variants; its Go 9x9 uses komi 7.5 as ours.
PGX_IDS = {
    "connect_four": "connect_four",
    "tic_tac_toe": "tic_tac_toe",
    "othello": "othello",
    "hex:size=11,swap=false": "hex",
    "hex:size=11,swap=true": "hex",
    "go:size=9,komi=7.5": "go_9x9",
    "kuhn_poker:players=2": "kuhn_poker",
    "leduc_poker": "leduc_holdem",
}
# XLA reads these when jax starts: one thread, as the engine's default of one Numba thread.
XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def pgx_id(spec: str) -> str | None:
    """The Pgx environment id of a game spec, or None when Pgx has no such game."""
    return PGX_IDS.get(games.canonical(spec))


def pgx_installed() -> bool:
    """Whether Pgx and JAX can be imported (the optional extra `arena[pgx]`)."""
    from importlib.util import find_spec

    return find_spec("pgx") is not None and find_spec("jax") is not None


def pgx_steps_per_second(
    env_id: str, batch: int = 4096, seconds: float = 1.0, seed: int = 0
) -> float:
    """Env steps per second of Pgx's environment in the same loop: a uniformly random legal
    action per game, one jitted jax.vmap step, finished games restarted (Pgx's auto_reset).

    Pgx runs on one XLA thread when jax was not imported before (XLA reads its flags once);
    pin the process (`taskset -c 0`) to hold it to one core.
    """
    if "jax" not in sys.modules:
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {XLA_ONE_THREAD}".strip()
    import jax
    import jax.numpy as jnp
    import pgx
    from pgx.experimental import auto_reset

    env = pgx.make(env_id)
    step = jax.vmap(auto_reset(env.step, env.init))

    @jax.jit
    def one_step(state, key):
        key, pick, restart = jax.random.split(key, 3)
        logits = jnp.where(state.legal_action_mask, 0.0, -jnp.inf)
        action = jax.random.categorical(pick, logits, axis=-1)
        return step(state, action, jax.random.split(restart, batch)), key

    key = jax.random.PRNGKey(seed)
    state = jax.jit(jax.vmap(env.init))(jax.random.split(key, batch))
    for _ in range(3):  # compile outside the timing
        state, key = one_step(state, key)
    jax.block_until_ready(state)
    steps, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        state, key = one_step(state, key)
        jax.block_until_ready(state)  # dispatch is asynchronous: count finished steps only
        steps += 1
    return steps * batch / elapsed
