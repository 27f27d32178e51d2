"""Property tests (hypothesis) for the batched engine's contract.

The games come from the registry and the table of OpenSpiel equivalents (every spec
there, so parametrized games are tested at the sizes listed), so a new game is covered
without edits here.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import games
from agents import random_step
from games.contract import transform_planes
from games.kernels import RNG, SIMULTANEOUS, TO_PLAY
from games.openspiel import covered_specs

NAMES = covered_specs()
# Games whose move adds one stone of the mover's and changes nothing else (the tests of
# plane contents below rely on it).
PLACEMENT_GAMES = ["connect_four", "tic_tac_toe"]


def history_entries(game, state, actions: np.ndarray) -> list[int]:
    """The history entries a `step` with `actions` adds to game 0 (one per player at a
    simultaneous node, in player order)."""
    if actions.ndim == 1:
        return [int(actions[0])]
    if state.to_play[0] == SIMULTANEOUS:
        return [int(a) for a in actions[0]]
    return [int(actions[0, 0])]


def random_sequence(game, seed: int, max_len: int) -> list[int]:
    """A random legal history (possibly ending the game) from a fixed seed, about max_len
    entries long (a simultaneous node's entries are never cut apart)."""
    rng = np.random.default_rng(seed)
    state = game.init(1)
    actions: list[int] = []
    while not state.done[0] and len(actions) < max_len:
        step = random_step(game, state, rng)
        actions += history_entries(game, state, step)
        game.step(state, step)
    return actions


def step_history(game, actions: list[int]):
    """A game stepped through a history entry by entry (a simultaneous node's entries as
    one joint step), as the match runner plays; returns the state."""
    state = game.init(1)
    k = 0
    while k < len(actions):
        if state.to_play[0] == SIMULTANEOUS:
            step = np.array([actions[k : k + game.num_players]])
        else:
            step = np.array([actions[k]])
        game.step(state, step)
        k += step.size
    return state


sequence_args = st.tuples(st.sampled_from(NAMES), st.integers(0, 2**31), st.integers(0, 400))


@settings(max_examples=60, deadline=None)
@given(st.lists(sequence_args, min_size=1, max_size=8))
def test_play_sequences_equals_stepping_one_by_one(cases):
    for name, seed, length in cases:
        game = games.make(name)
        actions = random_sequence(game, seed, length)
        played = game.play_sequences([actions])
        np.testing.assert_array_equal(played.data, step_history(game, actions).data)


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(NAMES),
    st.lists(st.tuples(st.integers(0, 2**31), st.integers(0, 400)), min_size=1, max_size=16),
)
def test_batch_equals_games_played_alone(name, cases):
    game = games.make(name)
    sequences = [random_sequence(game, seed, length) for seed, length in cases]
    batch = game.play_sequences(sequences)
    for i, actions in enumerate(sequences):
        alone = game.play_sequences([actions])
        # Rows agree except for the per-game random seed, which depends on the index.
        columns = np.arange(batch.data.shape[1]) != RNG
        np.testing.assert_array_equal(batch.data[i, columns], alone.data[0, columns])
        np.testing.assert_array_equal(game.legal_mask(batch)[i], game.legal_mask(alone)[0])
        np.testing.assert_array_equal(
            game.chance_outcomes(batch)[i], game.chance_outcomes(alone)[0]
        )
        for p in range(game.num_players):
            np.testing.assert_array_equal(game.observe(batch, p)[i], game.observe(alone, p)[0])
            np.testing.assert_array_equal(
                game.legal_mask(batch, p)[i], game.legal_mask(alone, p)[0]
            )
            np.testing.assert_array_equal(
                game.information_keys(batch, p)[i], game.information_keys(alone, p)[0]
            )


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(NAMES), st.integers(0, 2**31), st.integers(1, 64), st.integers(0, 2**40))
def test_reset_done_restarts_finished_games_only(name, seed, batch, reset_seed):
    game = games.make(name)
    rng = np.random.default_rng(seed)
    state = game.init(batch, seed)
    for _ in range(int(rng.integers(0, game.max_plies + 1))):
        game.step(state, random_step(game, state, rng))
    before = state.copy()
    count = game.reset_done(state, reset_seed)
    assert count == int(before.done.sum())
    fresh = game.init(1)
    for i in range(batch):
        if before.done[i]:
            columns = np.arange(state.data.shape[1]) != RNG
            np.testing.assert_array_equal(state.data[i, columns], fresh.data[0, columns])
        else:
            np.testing.assert_array_equal(state.data[i], before.data[i])
    assert not state.done.any()


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(NAMES), st.integers(0, 2**31), st.lists(st.integers(0, 400), max_size=8))
def test_observe_defaults_to_the_mover_and_takes_any_player(name, seed, lengths):
    game = games.make(name)
    state = game.play_sequences(
        [random_sequence(game, seed + k, n) for k, n in enumerate(lengths)] or [[]]
    )
    by_player = [game.observe(state, p) for p in range(game.num_players)]
    # At a chance or simultaneous node nobody in particular is to move: no default.
    nobody = ~state.done & (state.to_play < 0)
    if nobody.any():
        with pytest.raises(ValueError, match="needs a player"):
            game.observe(state)
    movers = np.flatnonzero(~nobody)
    mover = game.observe(state.take(movers)) if movers.size else []
    for k, i in enumerate(movers):
        # A finished game may have stopped at a chance or simultaneous node: player 0's view.
        np.testing.assert_array_equal(mover[k], by_player[max(state.to_play[i], 0)][i])


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(PLACEMENT_GAMES), st.integers(0, 2**31), st.integers(0, 42))
def test_colour_swapped_position_gives_swapped_planes(name, seed, length):
    game = games.make(name)
    state = game.play_sequences([random_sequence(game, seed, length)])
    stones = game.module.STONES
    swapped = state.copy()
    # The same stones with the colours exchanged, and the other colour to move.
    swapped.data[0, stones], swapped.data[0, stones + 1] = (
        state.data[0, stones + 1],
        state.data[0, stones],
    )
    swapped.data[0, TO_PLAY] = 1 - state.data[0, TO_PLAY]
    obs, obs_swapped = game.observe(state)[0], game.observe(swapped)[0]
    # Seen from the mover, nothing changes: both positions put the mover's stones in plane 0.
    np.testing.assert_array_equal(obs, obs_swapped)
    # And the planes count the right stones.
    mover = state.to_play[0]
    own = bin(int(state.data[0, stones + mover])).count("1")
    theirs = bin(int(state.data[0, stones + 1 - mover])).count("1")
    assert obs[0].sum() == own and obs[1].sum() == theirs
    assert obs.dtype == np.float32 and obs.shape == game.obs_shape


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(PLACEMENT_GAMES), st.integers(0, 2**31), st.integers(1, 42))
def test_after_a_move_the_planes_swap_sides(name, seed, length):
    """The stones that were the mover's (plane 0) are the opponent's (plane 1) next ply."""
    game = games.make(name)
    actions = random_sequence(game, seed, length)
    before = game.play_sequences([actions[:-1]])
    after = game.play_sequences([actions])
    obs_before, obs_after = game.observe(before)[0], game.observe(after)[0]
    np.testing.assert_array_equal(obs_before[1], obs_after[0])
    added = obs_after[1] - obs_before[0]
    assert added.sum() == 1 and added.min() == 0


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(NAMES), st.data(), st.integers(0, 2**31), st.integers(0, 400))
def test_symmetric_game_gives_symmetric_planes_moves_and_outcome(name, data, seed, length):
    """A symmetry (plane transform, action permutation) applied to a game's moves gives the
    transformed observations and legal moves at the end, and the same outcome.

    Played from the start, so only the symmetries that keep the start position apply (all of
    them but Othello's quarter turns and reflections, which swap the colours of its start;
    those still map positions to equivalent ones, which is what augmentation needs)."""
    game = games.make(name)
    transform, perm = data.draw(st.sampled_from(start_symmetries(game)), label="symmetry")
    actions = random_sequence(game, seed, length)
    state = game.play_sequences([actions])
    image = game.play_sequences([[int(perm[a]) for a in actions]])
    for p in range(game.num_players):
        np.testing.assert_array_equal(
            game.observe(image, p)[0], transform_planes(game.observe(state, p)[0], transform)
        )
    legal, legal_image = game.legal_mask(state)[0], game.legal_mask(image)[0]
    np.testing.assert_array_equal(legal_image[perm], legal)
    assert (image.done[0], image.winner[0]) == (state.done[0], state.winner[0])


def start_symmetries(game) -> list:
    start = game.init(1)
    # Player 0's view: at the start of a game of perfect information, the mover's.
    obs, legal = game.observe(start, 0)[0], game.legal_mask(start)[0]
    return [
        (transform, perm)
        for transform, perm in game.symmetries
        if np.array_equal(transform_planes(obs, transform), obs)
        and (legal[np.argsort(perm)] == legal).all()
    ]


def test_symmetries_start_with_identity_and_permute_actions():
    for name in NAMES:
        game = games.make(name)
        first, perm = game.symmetries[0]
        assert first == "identity" and perm.tolist() == list(range(game.num_actions))
        for transform, perm in game.symmetries:
            assert sorted(perm.tolist()) == list(range(game.num_actions)), (name, transform)


def test_mirror_actions_follow_the_left_right_symmetry():
    game = games.make("connect_four")
    assert game.mirror_actions.tolist() == [6, 5, 4, 3, 2, 1, 0]


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(NAMES), st.integers(0, 2**31), st.integers(0, 400))
def test_reading_a_state_never_changes_it(name, seed, length):
    """legal_mask and observe are reads: a kernel that kept scratch in the row would make
    the same game differ by what was asked of it."""
    game = games.make(name)
    state = game.play_sequences([random_sequence(game, seed, length)])
    before = state.data.copy()
    game.legal_mask(state)
    game.chance_outcomes(state)
    for player in range(game.num_players):
        game.observe(state, player)
        game.legal_mask(state, player)
        game.information_keys(state, player)
    if state.done[0] or state.to_play[0] >= 0:
        game.observe(state)
    np.testing.assert_array_equal(state.data, before)
