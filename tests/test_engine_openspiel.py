"""The batched engine against OpenSpiel, node by node, on thousands of random games and, for
the small games of the table, on every history.

Parametrized from the table of OpenSpiel equivalents (games/openspiel.py): a new game is
tested here by adding its entry there. At every node: whether the game is over, `to_play`
(OpenSpiel's current_player: -1 chance, -2 simultaneous), the legal actions (per player at
simultaneous nodes), the chance outcomes and their probabilities, and for games of hidden
information or simultaneous moves each player's information state: our
`information_string` is OpenSpiel's information_state_string, and two nodes share our
`information_keys` exactly when they share that string; at the end, the returns and the
winner (the unique highest return, else -1).

Simultaneous nodes. OpenSpiel's simultaneous game has no node between the players' actions;
our engine takes them one at a time (a half-played node holds the earlier players'
actions). So the simultaneous form is compared at whole nodes (joint steps), and the
half-played nodes against OpenSpiel's turn-based form of the game
(`pyspiel.load_game_as_turn_based`, which OpenSpiel's own CFR and exploitability use): its
history is the same flat list, and at every node the acting player's key partitions the
nodes as that player's turn-based information_state_string does (the strings themselves
differ: they name the current player).
"""

import itertools

import numpy as np
import pyspiel
import pytest

import games
from games.layout import CHANCE, SIMULTANEOUS
from games.openspiel import EQUIVALENTS

SPECS = list(EQUIVALENTS)
EXHAUSTIVE = [spec for spec, entry in EQUIVALENTS.items() if entry.exhaustive]
SIMULTANEOUS_SPECS = [spec for spec in SPECS if games.make(spec).simultaneous]


def reference(spec: str):
    return pyspiel.load_game(EQUIVALENTS[spec].openspiel)


def test_every_registered_game_has_an_openspiel_equivalent():
    tabled = {games.make(spec).name for spec in EQUIVALENTS}
    assert tabled == set(games.names())


class Partition:
    """Our information-state keys against OpenSpiel's strings, per player, over every node
    seen: each key must go with one string and each string with one key."""

    def __init__(self):
        self.string_of = {}
        self.key_of = {}

    def add(self, player: int, key: int, string: str, where) -> None:
        known = self.string_of.setdefault((player, key), string)
        assert known == string, f"player {player}: key {key} for {known!r} and {string!r} {where}"
        known_key = self.key_of.setdefault((player, string), key)
        assert known_key == key, f"player {player}: {string!r} has keys {known_key}, {key} {where}"

    def __len__(self) -> int:
        return len(self.key_of)


def snapshot(game, state, tensor: bool) -> dict:
    """Everything the checks read, for the whole batch at once."""
    players = range(game.num_players)
    return {
        "mask": game.legal_mask(state),
        "per_player": [game.legal_mask(state, p) for p in players],
        "probs": game.chance_outcomes(state),
        "keys": None
        if game.perfect_information
        else [game.information_keys(state, p) for p in players],
        "obs": [game.observe(state, p) for p in players] if tensor else None,
    }


def check_node(game, state, snap, i, spiel, partition, tensor) -> None:
    """Node i of our batch against the OpenSpiel state of the same history."""
    where = f"after {spiel.history()}"
    assert bool(state.done[i]) == spiel.is_terminal(), where
    if not spiel.is_terminal():
        mover = spiel.current_player()
        assert state.to_play[i] == mover, where
        mask = np.flatnonzero(snap["mask"][i]).tolist()
        per_player = [np.flatnonzero(m[i]).tolist() for m in snap["per_player"]]
        if mover == CHANCE:
            expected = np.zeros(game.num_actions)
            for outcome, probability in spiel.chance_outcomes():
                expected[outcome] = probability
            np.testing.assert_allclose(snap["probs"][i], expected, err_msg=where)
            assert mask == spiel.legal_actions(), where
            assert not any(per_player), where
        else:
            assert not snap["probs"][i].any(), where
            if mover == SIMULTANEOUS:
                for p, legal in enumerate(per_player):
                    assert legal == spiel.legal_actions(p), (where, p)
                assert mask == spiel.legal_actions(0), where  # the history takes player 0's first
            else:
                assert mask == spiel.legal_actions(), where
                for p, legal in enumerate(per_player):
                    assert legal == (mask if p == mover else []), (where, p)
    if not game.perfect_information:
        for p in range(game.num_players):
            string = spiel.information_state_string(p)
            assert game.information_string(state, i, p) == string, (where, p)
            partition.add(p, int(snap["keys"][p][i]), string, where)
    if tensor and not spiel.is_terminal():
        for p in range(game.num_players):
            np.testing.assert_array_equal(
                snap["obs"][p][i], spiel.information_state_tensor(p), err_msg=f"{where} {p}"
            )


def check_end(state, i, returns, spiel) -> None:
    np.testing.assert_allclose(returns[i], spiel.returns(), err_msg=str(spiel.history()))
    best = np.flatnonzero(np.asarray(spiel.returns()) == max(spiel.returns()))
    assert state.winner[i] == (best[0] if best.size == 1 else -1), spiel.history()


def apply(spiel, joint: np.ndarray) -> None:
    """A joint action row of our step, in OpenSpiel: every player's at a simultaneous
    node, the mover's at a decision node, column 0 at a chance node."""
    mover = spiel.current_player()
    if mover == SIMULTANEOUS:
        spiel.apply_actions([int(a) for a in joint])
    else:
        spiel.apply_action(int(joint[max(mover, 0)]))


def random_joint(game, state, snap, rng) -> np.ndarray:
    """int64[B, num_players]: a random legal action for every player who acts, a random
    chance outcome in column 0 at a chance node, zeros elsewhere."""
    joint = np.zeros((len(state), game.num_players), dtype=np.int64)
    at_chance = (state.to_play == CHANCE)[:, None]
    for p in range(game.num_players):
        noise = rng.random(snap["mask"].shape)
        noise[~(snap["per_player"][p] | (snap["mask"] & at_chance & (p == 0)))] = -1
        joint[:, p] = noise.argmax(axis=1)
    return joint


def random_step(spiel, rng) -> None:
    """A random legal move in OpenSpiel (every player's at a simultaneous node)."""
    if spiel.current_player() == SIMULTANEOUS:
        players = range(spiel.num_players())
        spiel.apply_actions([int(rng.choice(spiel.legal_actions(p))) for p in players])
    else:
        spiel.apply_action(int(rng.choice(spiel.legal_actions())))


@pytest.mark.parametrize("spec", SPECS)
def test_random_games_match_openspiel(spec):
    game = games.make(spec)
    entry = EQUIVALENTS[spec]
    count = entry.random_games
    state = game.init(count, seed=7)
    spiel_states = [reference(spec).new_initial_state() for _ in range(count)]
    returns = np.zeros((count, game.num_players), dtype=np.float32)
    rng = np.random.default_rng(42)
    partition = Partition()
    nodes = 0
    while True:
        snap = snapshot(game, state, entry.tensor)
        for i, spiel in enumerate(spiel_states):
            check_node(game, state, snap, i, spiel, partition, entry.tensor)
            if spiel.is_terminal():
                check_end(state, i, returns, spiel)
            else:
                assert not returns[i].any()
                nodes += 1
        if state.done.all():
            break
        joint = random_joint(game, state, snap, rng)
        # Sequential games step with one action per game (the mover's or chance's),
        # simultaneous ones with a joint action.
        single = joint[np.arange(count), np.maximum(state.to_play, 0)]
        returns += game.step(state, joint if game.simultaneous else single)
        for i, spiel in enumerate(spiel_states):
            if not spiel.is_terminal():
                apply(spiel, joint[i])
    assert nodes >= count
    # Every player wins some games, so every branch of the rules was exercised.
    assert set(range(game.num_players)) <= set(state.winner.tolist())
    if not game.perfect_information:
        assert len(partition) > game.num_players


def children(spiel) -> list[list[int]]:
    """Every joint action row (as `apply` takes it) out of a live OpenSpiel node."""
    mover = spiel.current_player()
    if mover == SIMULTANEOUS:
        return [
            list(j)
            for j in itertools.product(*map(spiel.legal_actions, range(spiel.num_players())))
        ]
    actions = [a for a, _ in spiel.chance_outcomes()] if mover == CHANCE else spiel.legal_actions()
    column = max(mover, 0)
    return [[a if p == column else 0 for p in range(spiel.num_players())] for a in actions]


@pytest.mark.parametrize("spec", EXHAUSTIVE)
def test_every_history_matches_openspiel(spec):
    """Level by level through the whole game tree: our nodes stepped from their parents
    (joint steps at simultaneous nodes) against OpenSpiel's."""
    game = games.make(spec)
    tensor = EQUIVALENTS[spec].tensor
    spiel_states = [reference(spec).new_initial_state()]
    state = game.init(1)
    returns = np.zeros((1, game.num_players), dtype=np.float32)
    partition = Partition()
    terminals = 0
    while spiel_states:
        snap = snapshot(game, state, tensor)
        parents, rows, next_spiel = [], [], []
        for i, spiel in enumerate(spiel_states):
            check_node(game, state, snap, i, spiel, partition, tensor)
            if spiel.is_terminal():
                check_end(state, i, returns, spiel)
                terminals += 1
                continue
            for joint in children(spiel):
                child = spiel.clone()
                apply(child, np.array(joint))
                parents.append(i)
                rows.append(joint)
                next_spiel.append(child)
        if not parents:
            break
        state = state.take(parents)
        returns = returns[parents] + game.step(state, np.array(rows, dtype=np.int64))
        spiel_states = next_spiel
    assert terminals > 1


def turn_based_histories(spec: str, rng) -> list:
    """OpenSpiel turn-based states (one per node, half-played simultaneous nodes included):
    all of them for a small game, else every node of random games."""
    turn_based = pyspiel.load_game_as_turn_based(EQUIVALENTS[spec].openspiel)
    nodes = []
    if spec in EXHAUSTIVE:
        stack = [turn_based.new_initial_state()]
        while stack:
            node = stack.pop()
            nodes.append(node)
            if not node.is_terminal():
                stack += [node.child(a) for a in node.legal_actions()]
        return nodes
    for _ in range(min(EQUIVALENTS[spec].random_games, 2000)):
        node = turn_based.new_initial_state()
        while not node.is_terminal():
            nodes.append(node)
            node = node.clone()
            random_step(node, rng)
    return nodes


@pytest.mark.parametrize("spec", SIMULTANEOUS_SPECS)
def test_half_played_simultaneous_nodes_match_openspiel_turn_based(spec):
    game = games.make(spec)
    nodes = turn_based_histories(spec, np.random.default_rng(5))
    state = game.play_sequences([node.history() for node in nodes])
    mask = game.legal_mask(state)
    keys = [game.information_keys(state, p) for p in range(game.num_players)]
    partition = Partition()
    half_played = 0
    for i, node in enumerate(nodes):
        where = f"after {node.history()}"
        assert bool(state.done[i]) == node.is_terminal(), where
        if node.is_terminal() or node.is_chance_node():
            continue  # the simultaneous form's checks cover these
        player = node.current_player()
        assert state.to_play[i] == SIMULTANEOUS, where
        assert np.flatnonzero(mask[i]).tolist() == node.legal_actions(), where
        partition.add(player, int(keys[player][i]), node.information_state_string(player), where)
        half_played += player > 0
    assert half_played > 0


@pytest.mark.parametrize("spec", SPECS)
def test_play_sequences_matches_openspiel_outcomes(spec):
    """OpenSpiel histories (a simultaneous node's actions listed in player order) replay
    with play_sequences to the same node."""
    game = games.make(spec)
    rng = np.random.default_rng(3)
    sequences = []
    for _ in range(300):
        spiel = reference(spec).new_initial_state()
        while not spiel.is_terminal() and rng.random() > 0.03:
            random_step(spiel, rng)
        sequences.append(spiel)
    state = game.play_sequences([spiel.history() for spiel in sequences])
    for i, spiel in enumerate(sequences):
        assert bool(state.done[i]) == spiel.is_terminal()
        assert state.ply[i] == len(spiel.history())
        if not spiel.is_terminal():
            assert state.to_play[i] == spiel.current_player()


def replay(spec: str, history: list[int]):
    """The OpenSpiel state after a flat history (a simultaneous node's actions in order)."""
    spiel = reference(spec).new_initial_state()
    k = 0
    while k < len(history):
        if spiel.current_player() == SIMULTANEOUS:
            spiel.apply_actions(history[k : k + spiel.num_players()])
            k += spiel.num_players()
        else:
            spiel.apply_action(history[k])
            k += 1
    return spiel


@pytest.mark.parametrize("spec", [spec for spec in SPECS if games.make(spec).chance])
def test_sampled_chance_is_recorded_and_replays_in_openspiel(spec):
    """Fast play: sample_chance resolves chance from each game's own seed and writes the
    outcomes into the game's record, which then replays in OpenSpiel to the same returns."""
    game = games.make(spec)
    count = 300
    state = game.init(count, seed=11)
    record = np.full((count, game.max_plies), -1, dtype=np.int64)
    returns = np.zeros((count, game.num_players), dtype=np.float32)
    rng = np.random.default_rng(8)
    while True:
        returns += game.sample_chance(state, record)
        if state.done.all():
            break
        joint = random_joint(game, state, snapshot(game, state, tensor=False), rng)
        for i in np.flatnonzero(~state.done):
            ply, mover = state.ply[i], state.to_play[i]
            if mover == SIMULTANEOUS:
                record[i, ply : ply + game.num_players] = joint[i]
            else:
                record[i, ply] = joint[i, mover]
        returns += game.step(state, joint)
    for i in range(count):
        history = record[i, : state.ply[i]].tolist()
        assert min(history) >= 0 and (record[i, state.ply[i] :] == -1).all()
        spiel = replay(spec, history)
        assert spiel.is_terminal(), history
        np.testing.assert_allclose(returns[i], spiel.returns(), err_msg=str(history))
    # The seeds differ game to game, so do the deals.
    first_outcomes = {tuple(row[: game.num_players]) for row in record}
    assert len(first_outcomes) > 1
