"""A second process loads the engine's kernels from Numba's cache instead of compiling them."""

import json
import os
import subprocess
import sys

SNIPPET = """
import json, numpy as np, games
from games import batched
game = games.make("tic_tac_toe")
state = game.init(4)
mask = game.legal_mask(state)
game.step(state, game.random_legal(mask, np.arange(4)))
game.observe(state)
game.reset_done(state, 1)
game.play_sequences([[0]])
kernels = ["init", "legal", "random_legal", "step", "observe", "reset_done", "play_sequences"]
print(json.dumps({k: [sum(getattr(batched, k).stats.cache_hits.values()),
                      sum(getattr(batched, k).stats.cache_misses.values())] for k in kernels}))
"""


def run(cache_dir) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    out = subprocess.run(
        [sys.executable, "-c", SNIPPET], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_second_process_starts_warm(tmp_path):
    cold = run(tmp_path)
    assert all(misses >= 1 and hits == 0 for hits, misses in cold.values()), cold
    warm = run(tmp_path)
    assert all(hits >= 1 and misses == 0 for hits, misses in warm.values()), warm


ONE_GAME = """
import json, games
from games import batched
game = games.make("tic_tac_toe")
game.legal_mask(game.init(2))
print(json.dumps([str(sig[0]) for sig in batched.legal.signatures]))
"""


def test_a_game_compiles_only_its_own_kernels(tmp_path):
    """Using one game compiles the generic kernels for that game alone, however many games
    are registered (dispatch is by the type of the game's parameter tuple)."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", ONE_GAME], env=env, capture_output=True, text=True, check=True
    )
    compiled = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(compiled) == 1 and compiled[0].startswith("tic_tac_toe_params"), compiled
    cached = [p.name for p in tmp_path.rglob("batched._legal-*.nbc")]
    assert len(cached) == 1, cached


COMPILED = """
import json, numpy as np, games
from numba.core import event

compiled = []


class Names(event.Listener):
    def on_start(self, ev):
        compiled.append(ev.data["dispatcher"].py_func.__qualname__)

    def on_end(self, ev):
        pass


event.register("numba:compile", Names())
game = games.make("tic_tac_toe")
state = game.init(4)
game.step(state, game.random_legal(game.legal_mask(state), np.arange(4)))
game.observe(state)
print(json.dumps(compiled))
"""


def test_primitives_are_inlined_without_compiling_them(tmp_path):
    """The kernels take a game's primitives as inlined IR and nothing else: none is compiled
    on its own (Numba's overload(inline="always") compiled each in full, code never run)."""
    from games import registry

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", COMPILED], env=env, capture_output=True, text=True, check=True
    )
    compiled = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"_init", "_legal", "_step", "_observe"} <= set(compiled), compiled
    assert not set(compiled) & set(registry.PRIMITIVES), compiled
