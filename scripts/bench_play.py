"""How long the play page's agent takes to answer: `dashboards.playing.Game.reply` with
`mcts:sims=800`, against random moves, in Connect Four, Othello, Hex 11x11 and Go 9x9.

    .venv/bin/python scripts/bench_play.py

Prints per game the number of answers timed (the first two plies of each game left out),
their median and maximum, and the visits at the root of the last search (800).
"""

import numpy as np

import agents
import games
from dashboards.playing import Game

SPEC = "mcts:sims=800"

for name in ["connect_four", "othello", "hex", "go:size=9"]:
    rules = games.make(name)
    agent = agents.make(SPEC, rules)
    rng = np.random.default_rng(0)
    times = []
    for seed in range(3):
        game = Game(name, seed, ["human:bench", SPEC], 0)
        while not game.over and len(game.history) < 60:
            game.play(int(rng.choice(np.flatnonzero(game.legal()))))
            game.reply(agent, rng)
            if game.think_seconds is not None and len(game.history) > 2:
                times.append(game.think_seconds)
    visits = int(np.sum(agent.last_annotations["visit_counts"]))
    print(
        f"{rules.spec}: {len(times)} answers, median {np.median(times):.3f} s, "
        f"max {max(times):.3f} s, root visits {visits}"
    )
