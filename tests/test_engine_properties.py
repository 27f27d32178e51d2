"""Property tests (hypothesis) for the batched engine's contract.

The games come from the registry and the table of OpenSpiel equivalents (every spec
there, so parametrized games are tested at the sizes listed), so a new game is covered
without edits here.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import games
from games.contract import transform_planes
from games.kernels import RNG, TO_PLAY
from games.openspiel import covered_specs

NAMES = covered_specs()
# Games whose move adds one stone of the mover's and changes nothing else (the tests of
# plane contents below rely on it).
PLACEMENT_GAMES = ["connect_four", "tic_tac_toe"]


def random_sequence(game, seed: int, max_len: int) -> list[int]:
    """A random legal action list (possibly ending the game) from a fixed seed."""
    rng = np.random.default_rng(seed)
    state = game.init(1)
    actions: list[int] = []
    while not state.done[0] and len(actions) < max_len:
        action = int(rng.choice(np.flatnonzero(game.legal_mask(state)[0])))
        game.step(state, np.array([action]))
        actions.append(action)
    return actions


sequence_args = st.tuples(st.sampled_from(NAMES), st.integers(0, 2**31), st.integers(0, 400))


@settings(max_examples=60, deadline=None)
@given(st.lists(sequence_args, min_size=1, max_size=8))
def test_play_sequences_equals_stepping_one_by_one(cases):
    for name, seed, length in cases:
        game = games.make(name)
        actions = random_sequence(game, seed, length)
        played = game.play_sequences([actions])
        stepped = game.init(1)
        for action in actions:
            game.step(stepped, np.array([action]))
        np.testing.assert_array_equal(played.data, stepped.data)


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
        np.testing.assert_array_equal(game.observe(batch)[i], game.observe(alone)[0])
        np.testing.assert_array_equal(game.legal_mask(batch)[i], game.legal_mask(alone)[0])


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(NAMES), st.integers(0, 2**31), st.integers(1, 64), st.integers(0, 2**40))
def test_reset_done_restarts_finished_games_only(name, seed, batch, reset_seed):
    game = games.make(name)
    rng = np.random.default_rng(seed)
    state = game.init(batch, seed)
    for _ in range(int(rng.integers(0, game.max_plies + 1))):
        mask = game.legal_mask(state)
        noise = rng.random(mask.shape)
        noise[~mask] = -1
        game.step(state, noise.argmax(axis=1))
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
    mover = game.observe(state)
    for i, p in enumerate(state.to_play):
        np.testing.assert_array_equal(mover[i], by_player[p][i])


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
    np.testing.assert_array_equal(
        game.observe(image)[0], transform_planes(game.observe(state)[0], transform)
    )
    legal, legal_image = game.legal_mask(state)[0], game.legal_mask(image)[0]
    np.testing.assert_array_equal(legal_image[perm], legal)
    assert (image.done[0], image.winner[0]) == (state.done[0], state.winner[0])


def start_symmetries(game) -> list:
    start = game.init(1)
    obs, legal = game.observe(start)[0], game.legal_mask(start)[0]
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
    for player in range(game.num_players):
        game.observe(state, player)
    game.observe(state)
    np.testing.assert_array_equal(state.data, before)
