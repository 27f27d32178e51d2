"""The Agent protocol: one call decides moves for a whole batch of games."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from games import Game, State
from games.layout import SIMULTANEOUS


@runtime_checkable
class Agent(Protocol):
    """Anything with a `name` and a batched `act` is an agent.

    `act` returns one legal action (int64) per game of the batch; `legal_mask` is
    `game.legal_mask(state)`, passed in so that callers compute it once per ply. Finished
    games may be in the batch; their action is ignored.

    At a simultaneous node (to_play == -2, in games where `game.simultaneous`) every seat
    moves and nobody in particular is to move: the match runner then passes the agent's seat
    as a keyword, `act(game, state, legal_mask, rng, player=seat)`, with `legal_mask` =
    `game.legal_mask(state, player=seat)`, and the agent observes `game.observe(state,
    player)`. Agents for such games accept the keyword; the runner passes it nowhere else
    (at a decision node the agent observes the mover, as in every game).

    Agents that can report beliefs also implement
    `evaluate(game, state, legal_mask) -> (policy float32[B, A], value float32[B])` (value
    from the point of view of the player to move; in simultaneous games with the same
    `player` keyword as `act`): what the agent believes, e.g. a search's visit shares.
    Agents whose moves are drawn from a distribution they can state also implement
    `strategy(game, state, legal_mask, player=None) -> float64[B, A]`: the probability
    that `act` plays each action (zero off the legal moves), which measures the agent's
    exploitability exactly (agents.tabular.query). After `act`, an agent may expose
    per-move annotations in `last_annotations`: a dict with any of `value` (float32[B]),
    `policy_entropy` (float32[B]) and `visits` (int32[B]); the match runner stores them.
    Agents that search also put their root's `prior` (float32[B, A], the policy the search
    started from) and `visit_counts` (int32[B, A]) there; the runner stores those only when
    asked (`record_search`), as the replay columns `search_prior` and `search_visits`.
    """

    name: str

    def act(
        self, game: Game, state: State, legal_mask: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray: ...


def require_perfect_information(game: Game, who: str, does: str = "searches") -> None:
    """Refuse a game that tree search cannot read: `who` (an agent or learner) expands the
    game tree from the state it is given, which assumes that state is the whole truth,
    every node has one mover and nothing is left to chance. The error reads "{who} {does}
    games of perfect information; {game} has ..."."""
    if game.perfect_information:
        return
    kinds = [
        kind
        for flag, kind in (
            (game.chance, "chance"),
            (game.simultaneous, "simultaneous moves"),
            (game.hidden, "hidden information"),
        )
        if flag
    ]
    listed = kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " and " + kinds[-1]
    raise ValueError(f"{who} {does} games of perfect information; {game.name} has {listed}")


def sample_legal(legal_mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random legal action per row (0 for rows with no legal action)."""
    noise = rng.random(legal_mask.shape)
    noise[~legal_mask] = -1.0
    return noise.argmax(axis=1).astype(np.int64)


def pure_strategy(actions: np.ndarray, legal_mask: np.ndarray) -> np.ndarray:
    """float64[B, A]: probability 1 on each row's action (a `strategy` of an agent that
    plays it for sure); rows with no legal action (finished games) all 0."""
    out = np.zeros(legal_mask.shape, dtype=np.float64)
    out[np.arange(len(out)), actions] = 1.0
    return out * legal_mask.any(axis=1, keepdims=True)


def random_step(game: Game, state: State, rng: np.random.Generator) -> np.ndarray:
    """Uniformly random legal actions for every game of `state`, as `game.step` takes them:
    int64[B], or in games with simultaneous nodes int64[B, num_players] (each player's own
    random action at those nodes; elsewhere every column holds the mover's action or a
    chance outcome, which is then uniform, not weighted by its probability)."""
    single = sample_legal(game.legal_mask(state), rng)
    if not game.simultaneous:
        return single
    joint = np.stack(
        [sample_legal(game.legal_mask(state, p), rng) for p in range(game.num_players)], axis=1
    )
    return np.where((state.to_play == SIMULTANEOUS)[:, None], joint, single[:, None])
