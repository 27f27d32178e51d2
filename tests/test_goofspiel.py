"""Goofspiel beyond the table-driven OpenSpiel tests (tests/test_engine_openspiel.py
compares its entries in games/openspiel.py, 5,000 random games each, node by node, and
cards=4 on every history): information keys at the largest decks, the engine's
simultaneous-move path on it (half-played turns, joint steps, sampled and recorded
histories), exact NashConv through its tree, and its pictures."""

import xml.etree.ElementTree as ElementTree

import numpy as np
import pyspiel
import pytest

import games
from games.layout import RNG, SIMULTANEOUS
from games.openspiel import EQUIVALENTS


def _random_step(spiel, rng) -> None:
    """A random chance outcome, or both players' random bids, in OpenSpiel."""
    if spiel.is_chance_node():
        spiel.apply_action(int(rng.choice(spiel.legal_actions())))
    else:
        spiel.apply_actions([int(rng.choice(spiel.legal_actions(p))) for p in range(2)])


def test_default_spec_is_small_and_spec_errors_are_clear():
    game = games.make("goofspiel")
    assert game.spec == "goofspiel:cards=4,order=descending"
    assert game.simultaneous and game.hidden and not game.chance and game.zero_sum
    assert games.make("goofspiel:order=random").chance
    with pytest.raises(ValueError, match="cards must be int 3..13"):
        games.make("goofspiel:cards=14")
    with pytest.raises(ValueError, match="order must be one of descending, random"):
        games.make("goofspiel:order=ascending")


@pytest.mark.parametrize(
    "spec",
    ["goofspiel:cards=10,order=random", "goofspiel:cards=13", "goofspiel:cards=13,order=random"],
)
def test_information_keys_partition_large_decks(spec):
    """The keys' packing near its limits: 10 cards in random order (the largest exact one),
    13 in descending order, and 13 in random order (a hash of the exact pair). Each key goes
    with one OpenSpiel string and each string with one key, at every node of random games."""
    game = games.make(spec)
    order = "random" if game.chance else "descending"
    reference = pyspiel.load_game(
        f"goofspiel(num_cards={game.num_actions},imp_info=true,points_order={order})"
    )
    rng = np.random.default_rng(1)
    nodes = []
    for _ in range(300):
        spiel = reference.new_initial_state()
        nodes.append(spiel.clone())
        while not spiel.is_terminal():
            _random_step(spiel, rng)
            nodes.append(spiel.clone())
    state = game.play_sequences([node.history() for node in nodes])
    for p in range(2):
        keys = game.information_keys(state, p)
        assert (keys >= 0).all()
        strings = [node.information_state_string(p) for node in nodes]
        pairs = set(zip(keys.tolist(), strings, strict=True))
        assert len({k for k, _ in pairs}) == len({s for _, s in pairs}) == len(pairs)
        assert len(pairs) > 1000


def test_a_half_played_turn_looks_like_the_turn_before_it():
    """OpenSpiel's history lists player 0's bid before player 1's: a replay that stops
    between them is still at the simultaneous node, with player 1's bid next, and neither
    player's information state shows player 0's bid yet."""
    game = games.make("goofspiel:cards=4,order=random")
    before = game.play_sequences([[2]])  # point card 3 is up
    half = game.play_sequences([[2, 3]])  # player 0 bid 4
    assert half.to_play[0] == SIMULTANEOUS
    assert np.flatnonzero(game.legal_mask(half)[0]).tolist() == [0, 1, 2, 3]  # player 1's
    for p in range(2):
        assert game.information_string(half, 0, p) == game.information_string(before, 0, p)
        assert game.information_keys(half, p)[0] == game.information_keys(before, p)[0]
        np.testing.assert_array_equal(game.observe(half, p), game.observe(before, p))
    # A joint step there takes the bid of the player yet to act (player 1: column 1).
    rewards = game.step(half, np.array([[0, 1]]))
    np.testing.assert_array_equal(half.data, game.play_sequences([[2, 3, 1]]).data)
    assert not rewards.any()


def test_joint_step_with_an_illegal_bid_leaves_the_batch_unchanged():
    game = games.make("goofspiel:cards=4")
    state = game.play_sequences([[3, 0], [3, 0], [1, 2]])
    before = state.data.copy()
    # Game 1: player 1 bids card 1 again (played at the first turn).
    with pytest.raises(ValueError, match=r"game 1: action \[2, 0\]") as error:
        game.step(state, np.array([[2, 1], [2, 0], [2, 1]]))
    assert "game 0" not in str(error.value) and "game 2" not in str(error.value)
    np.testing.assert_array_equal(state.data, before)
    with pytest.raises(ValueError, match="one action per player"):
        game.step(state, np.array([2, 2, 2]))  # a simultaneous node needs both bids
    np.testing.assert_array_equal(state.data, before)
    game.step(state, np.array([[2, 1], [2, 1], [3, 0]]))
    np.testing.assert_array_equal(state.ply, [4, 4, 4])
    assert game.information_string(state, 2, 1).startswith("P1 hand: 2 4 \n")


def test_sampled_chance_histories_replay_in_openspiel():
    """A batched run resolving chance with sample_chance and recording every history
    entry: each recorded history replays in OpenSpiel (both bids of a turn, player 0's
    first) to the same returns, and in play_sequences to the same rows."""
    spec = "goofspiel:cards=4,order=random"
    game, reference = games.make(spec), pyspiel.load_game(EQUIVALENTS[spec].openspiel)
    count = 500
    state = game.init(count, seed=3)
    seeds = state.data[:, RNG].copy()
    record = np.full((count, game.max_plies), -1, dtype=np.int64)
    returns = np.zeros((count, 2), dtype=np.float32)
    rng = np.arange(count, dtype=np.int64)
    while not state.done.all():
        returns += game.sample_chance(state, record)
        live = np.flatnonzero(~state.done)
        joint = np.stack([game.random_legal(game.legal_mask(state, p), rng) for p in range(2)], 1)
        record[live, state.ply[live]] = joint[live, 0]
        record[live, state.ply[live] + 1] = joint[live, 1]
        returns += game.step(state, np.maximum(joint, 0))
    histories = [[int(a) for a in row if a >= 0] for row in record]
    assert all(len(h) == game.max_plies for h in histories)
    for history, got in zip(histories, returns, strict=True):
        spiel = reference.new_initial_state()
        k = 0
        while not spiel.is_terminal():
            if spiel.is_chance_node():
                spiel.apply_action(history[k])
                k += 1
            else:
                spiel.apply_actions(history[k : k + 2])
                k += 2
        assert spiel.history() == history
        np.testing.assert_array_equal(got, spiel.returns())
    replayed = game.play_sequences(histories, seeds=seeds)
    columns = np.arange(game.row_width) != RNG  # sampling advanced the RNG
    np.testing.assert_array_equal(replayed.data[:, columns], state.data[:, columns])


def test_pictures_show_both_hands_the_point_cards_and_the_bids():
    game = games.make("goofspiel:cards=4")
    state = game.play_sequences([[3, 0, 1, 2], [3, 0, 1, 2, 0]])
    text = game.render_text(state, 0)
    assert text.splitlines() == [
        "p0 hand: 1 3 (points 4)",
        "p1 hand: 2 4 (points 3)",
        "turn 1: point card 4; p0 bid 4, p1 bid 1: p0 takes it",
        "turn 2: point card 3; p0 bid 2, p1 bid 3: p1 takes it",
        "turn 3: point card 2",
        "both players to bid",
    ]
    assert "turn 3: point card 2; p0 bid 1, p1 to bid" in game.render_text(state, 1)
    svg = ElementTree.fromstring(game.render_svg(state, 0))
    faces = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert faces[:6] == ["player 0", "1", "3", "player 1", "2", "4"]
    image = game.render_rgb(state, 0)
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    over = game.play_sequences([[3, 0, 2, 1, 1, 2]])
    assert game.render_text(over).splitlines()[-1] == "player 0 wins"


@pytest.mark.parametrize("spec", ["goofspiel:cards=4", "goofspiel:cards=4,order=random"])
def test_exact_nash_conv_of_a_random_policy_equals_openspiels(spec):
    """The whole tree through the simultaneous nodes' sub-steps, keyed by information
    state: a random policy's NashConv equals OpenSpiel's on its turn-based form, where
    the policy is looked up by OpenSpiel's own information strings."""
    from open_spiel.python import policy as openspiel_policy
    from open_spiel.python.algorithms import exploitability as openspiel_exploitability

    from agents.tabular.checkpoint import information_strings
    from agents.tabular.exploitability import nash_conv
    from agents.tabular.policy import TabularPolicy
    from agents.tabular.tree import build_tree

    game = games.make(spec)
    tree = build_tree(game)
    probs = tree.info_legal * np.random.default_rng(0).random(tree.info_legal.shape)
    probs /= probs.sum(axis=1, keepdims=True)
    ours = nash_conv(tree, TabularPolicy(game.spec, tree.info_player, tree.info_key, probs))
    turn_based = pyspiel.load_game_as_turn_based(EQUIVALENTS[spec].openspiel)
    strings = information_strings(tree)
    by_string = {
        f"Current player: {player}\n{string}": row
        for player, string, row in zip(tree.info_player, strings, probs, strict=True)
    }

    class Lookup(openspiel_policy.Policy):
        def action_probabilities(self, state, player_id=None):
            row = by_string[state.information_state_string(state.current_player())]
            return {a: row[a] for a in state.legal_actions()}

    theirs = openspiel_exploitability.nash_conv(turn_based, Lookup(turn_based, [0, 1]))
    assert ours == pytest.approx(theirs, abs=1e-9)
    assert ours > 0.1  # a random policy is far from an equilibrium: the check has teeth
