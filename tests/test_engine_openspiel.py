"""The batched engine against OpenSpiel, move by move, on thousands of random games."""

import numpy as np
import pyspiel
import pytest

import games

GAMES_PER_NAME = 2000


@pytest.mark.parametrize("name", ["connect_four", "tic_tac_toe"])
def test_random_games_match_openspiel(name):
    game = games.make(name)
    reference = pyspiel.load_game(name)
    state = game.init(GAMES_PER_NAME, seed=7)
    spiel_states = [reference.new_initial_state() for _ in range(GAMES_PER_NAME)]
    returns = np.zeros((GAMES_PER_NAME, game.num_players), dtype=np.float32)
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
                assert returns[i].tolist() == [0.0, 0.0]
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
    assert plies_checked > GAMES_PER_NAME * 5
    # Both outcomes and draws occur, so every branch of the rules was exercised.
    assert {-1, 0, 1} <= set(state.winner.tolist())


@pytest.mark.parametrize("name", ["connect_four", "tic_tac_toe"])
def test_play_sequences_matches_openspiel_outcomes(name):
    game = games.make(name)
    reference = pyspiel.load_game(name)
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
