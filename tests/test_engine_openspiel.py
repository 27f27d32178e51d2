"""The batched engine against OpenSpiel, move by move, on thousands of random games.

Parametrized from the table of OpenSpiel equivalents (games/openspiel.py): a new game is
tested here by adding its entry there.
"""

import numpy as np
import pyspiel
import pytest

import games
from games.openspiel import EQUIVALENTS

SPECS = list(EQUIVALENTS)


def test_every_registered_game_has_an_openspiel_equivalent():
    tabled = {games.make(spec).name for spec in EQUIVALENTS}
    assert tabled == set(games.names())


@pytest.mark.parametrize("spec", SPECS)
def test_random_games_match_openspiel(spec):
    game = games.make(spec)
    reference = pyspiel.load_game(EQUIVALENTS[spec].openspiel)
    count = EQUIVALENTS[spec].random_games
    state = game.init(count, seed=7)
    spiel_states = [reference.new_initial_state() for _ in range(count)]
    returns = np.zeros((count, game.num_players), dtype=np.float32)
    rng = np.random.default_rng(42)
    plies_checked = 0
    while True:
        mask = game.legal_mask(state)
        for i, spiel in enumerate(spiel_states):
            assert bool(state.done[i]) == spiel.is_terminal(), (i, spiel.history())
            if spiel.is_terminal():
                assert not mask[i].any()
                np.testing.assert_array_equal(returns[i], spiel.returns(), err_msg=str(i))
                expected_winner = (
                    int(np.argmax(spiel.returns())) if max(spiel.returns()) > 0 else -1
                )
                assert state.winner[i] == expected_winner
            else:
                assert np.flatnonzero(mask[i]).tolist() == spiel.legal_actions(), i
                assert state.to_play[i] == spiel.current_player()
                assert not returns[i].any()
                plies_checked += 1
        if state.done.all():
            break
        noise = rng.random(mask.shape)
        noise[~mask] = -1
        actions = noise.argmax(axis=1)
        returns += game.step(state, actions)
        for i, spiel in enumerate(spiel_states):
            if not spiel.is_terminal():
                spiel.apply_action(int(actions[i]))
    assert plies_checked > count * 5
    # Every player wins some games, so every branch of the rules was exercised.
    assert set(range(game.num_players)) <= set(state.winner.tolist())


@pytest.mark.parametrize("spec", SPECS)
def test_play_sequences_matches_openspiel_outcomes(spec):
    game = games.make(spec)
    reference = pyspiel.load_game(EQUIVALENTS[spec].openspiel)
    rng = np.random.default_rng(3)
    sequences = []
    for _ in range(300):
        spiel = reference.new_initial_state()
        actions = []
        while not spiel.is_terminal() and rng.random() > 0.03:
            action = int(rng.choice(spiel.legal_actions()))
            spiel.apply_action(action)
            actions.append(action)
        sequences.append((actions, spiel))
    state = game.play_sequences([s for s, _ in sequences])
    for i, (actions, spiel) in enumerate(sequences):
        assert bool(state.done[i]) == spiel.is_terminal()
        assert state.ply[i] == len(actions)
        if not spiel.is_terminal():
            assert state.to_play[i] == spiel.current_player()
