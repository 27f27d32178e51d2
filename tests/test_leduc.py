"""Leduc poker against OpenSpiel's `leduc_poker`, at every ply of 5,000 random games: the
player to act, legal actions, chance outcomes and their odds, information-state strings and
keys, observations (OpenSpiel's information-state tensor) and returns; and games played
with sampled chance replayed in OpenSpiel to the same returns.
"""

from collections import defaultdict

import numpy as np
import pyspiel
import pytest

import games

RANDOM_GAMES = 5000


@pytest.fixture(scope="module")
def game() -> games.Game:
    return games.make("leduc_poker")


@pytest.fixture(scope="module")
def reference():
    return pyspiel.load_game("leduc_poker")


def test_sizes_match_openspiel(game, reference):
    assert game.num_players == reference.num_players() == 2
    assert game.num_actions == max(
        reference.num_distinct_actions(), reference.max_chance_outcomes()
    )
    assert game.obs_shape == tuple(reference.information_state_tensor_shape())
    # OpenSpiel's max_game_length counts bets only; our plies count the three deals too.
    assert game.max_plies == reference.max_game_length() + 3
    assert game.chance and game.hidden and game.zero_sum and not game.perfect_information


def test_random_games_match_openspiel_at_every_ply(game, reference):
    count = RANDOM_GAMES
    state = game.init(count, seed=5)
    spiel_states = [reference.new_initial_state() for _ in range(count)]
    returns = np.zeros((count, 2), dtype=np.float32)
    rng = np.random.default_rng(11)
    # player -> our key -> OpenSpiel strings, and OpenSpiel string -> our keys
    strings_of_key = [defaultdict(set), defaultdict(set)]
    keys_of_string = [defaultdict(set), defaultdict(set)]
    plies = longest = 0
    while True:
        mask = game.legal_mask(state)
        probs = game.chance_outcomes(state)
        keys = [game.information_keys(state, p) for p in range(2)]
        observations = [game.observe(state, p) for p in range(2)]
        for i, spiel in enumerate(spiel_states):
            assert bool(state.done[i]) == spiel.is_terminal(), spiel.history()
            for p in range(2):
                expected = spiel.information_state_string(p)
                assert game.information_string(state, i, p) == expected, spiel.history()
                strings_of_key[p][keys[p][i]].add(expected)
                keys_of_string[p][expected].add(keys[p][i])
                np.testing.assert_array_equal(
                    observations[p][i], spiel.information_state_tensor(p), str(spiel.history())
                )
            if spiel.is_terminal():
                assert not mask[i].any()
                np.testing.assert_array_equal(returns[i], spiel.returns(), str(spiel.history()))
                assert state.ply[i] == len(spiel.history())
                longest = max(longest, len(spiel.history()))
                continue
            assert state.to_play[i] == spiel.current_player(), spiel.history()
            assert np.flatnonzero(mask[i]).tolist() == spiel.legal_actions(), spiel.history()
            expected_probs = np.zeros(game.num_actions)
            if spiel.is_chance_node():
                for outcome, p in spiel.chance_outcomes():
                    expected_probs[outcome] = p
            np.testing.assert_allclose(probs[i], expected_probs, rtol=1e-12)
            plies += 1
        if state.done.all():
            break
        noise = rng.random(mask.shape)
        noise[~mask] = -1
        actions = noise.argmax(axis=1)
        returns += game.step(state, actions)
        for i, spiel in enumerate(spiel_states):
            if not spiel.is_terminal():
                spiel.apply_action(int(actions[i]))
    # The keys partition the histories exactly as OpenSpiel's strings do, for each player.
    for p in range(2):
        assert all(len(s) == 1 for s in strings_of_key[p].values())
        assert all(len(k) == 1 for k in keys_of_string[p].values())
    assert plies > count * 6
    assert longest == game.max_plies  # some games went all the way
    # Both players won some games and some pots were split: every way to end was reached.
    assert {-1, 0, 1} <= set(state.winner.tolist())
    # play_sequences of the histories reaches the same rows as stepping them.
    replayed = game.play_sequences([s.history() for s in spiel_states], seed=5)
    np.testing.assert_array_equal(replayed.data, state.data)


def test_sampled_games_replay_in_openspiel_to_the_same_returns(game, reference):
    count = 2000
    state = game.init(count, seed=3)
    record = np.full((count, game.max_plies), -1, dtype=np.int64)
    returns = np.zeros((count, 2), dtype=np.float64)
    rng = np.arange(1, count + 1, dtype=np.int64)
    rows = np.arange(count)
    while True:
        returns += game.sample_chance(state, record)
        if state.done.all():
            break
        assert (state.to_play[~state.done] >= 0).all()  # chance nodes all resolved
        actions = game.random_legal(game.legal_mask(state), rng)
        live = ~state.done
        record[rows[live], state.ply[live]] = actions[live]
        returns += game.step(state, np.where(live, actions, 0))
    for i in range(count):
        history = [int(a) for a in record[i] if a >= 0]
        spiel = reference.new_initial_state()
        for action in history:
            spiel.apply_action(action)
        assert spiel.is_terminal(), history
        np.testing.assert_array_equal(returns[i], spiel.returns(), str(history))
    # The deals are fair: every card comes to player 0 about as often (1/6 each).
    first = np.bincount(record[:, 0], minlength=6) / count
    np.testing.assert_allclose(first, 1 / 6, atol=0.03)


def test_text_and_pictures_show_every_card_the_public_card_and_the_betting(game):
    # Player 0 gets K1 (4), player 1 J1 (0); call, call; the public card J2 (1); raise, call.
    state = game.play_sequences([[4, 0, 1, 1, 1, 2, 1]])
    assert state.done[0] and state.winner[0] == 1  # player 1 pairs the jack
    text = game.render_text(state)
    assert "p0:K1 p1:J1 public:J2" in text
    assert "round 1: call call" in text and "round 2: raise call" in text
    assert "player 1 wins" in text
    svg = game.render_svg(state)
    assert svg.startswith("<svg") and "public:J2" in svg
    image = game.render_rgb(state)
    assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8
    fresh = game.init(1)
    assert "p0:- p1:- public:-" in game.render_text(fresh)
    assert "chance to act" in game.render_text(fresh)
