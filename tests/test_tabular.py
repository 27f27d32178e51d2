"""The tabular core (agents.tabular) against OpenSpiel: the game tree node by node, NashConv
of the same policy, and CFR, CFR+ and external-sampling MCCFR at the same iteration count."""

import numpy as np
import pyspiel
import pytest
from open_spiel.python import policy as spiel_policy
from open_spiel.python.algorithms import cfr as spiel_cfr
from open_spiel.python.algorithms import exploitability as spiel_exploitability
from open_spiel.python.algorithms import external_sampling_mccfr

import games
from agents.tabular.cfr import Solver
from agents.tabular.exploitability import evaluate, exploitability, nash_conv
from agents.tabular.policy import TabularPolicy
from agents.tabular.tree import TERMINAL, GameTree, build_tree

# Our spec -> OpenSpiel's game (simultaneous games as OpenSpiel's turn-based conversion,
# which plays a simultaneous node as sub-steps in player order, as our tree does).
OPENSPIEL = {
    "kuhn_poker": "kuhn_poker",
    "kuhn_poker:players=3": "kuhn_poker(players=3)",
    "leduc_poker": "leduc_poker",
    "goofspiel:cards=4": "goofspiel(num_cards=4,imp_info=true,points_order=descending)",
    "goofspiel:cards=4,order=random": "goofspiel(num_cards=4,imp_info=true,points_order=random)",
    "matrix:name=pd": "matrix_pd",  # general-sum
}
TREES: dict[str, GameTree] = {}


def tree_of(spec: str) -> GameTree:
    """Each game's tree built once per test session (Leduc's compile is the slow part)."""
    if spec not in TREES:
        TREES[spec] = build_tree(games.make(spec))
    return TREES[spec]


def spiel_game(spec: str) -> pyspiel.Game:
    game = pyspiel.load_game(OPENSPIEL[spec])
    if game.get_type().dynamics == pyspiel.GameType.Dynamics.SIMULTANEOUS:
        game = pyspiel.convert_to_turn_based(game)
    return game


def spiel_nodes(game: pyspiel.Game) -> list:
    """OpenSpiel's histories breadth-first, children in ascending action order (our order)."""
    nodes = [game.new_initial_state()]
    for state in nodes:  # grows while walked
        if state.is_chance_node():
            nodes += [state.child(a) for a, _ in sorted(state.chance_outcomes())]
        elif not state.is_terminal():
            nodes += [state.child(a) for a in state.legal_actions()]
    return nodes


def to_spiel_policy(tree: GameTree, policy: TabularPolicy, game) -> spiel_policy.TabularPolicy:
    """The same policy as OpenSpiel's, keyed by our information strings (or, in OpenSpiel's
    turn-based form of a simultaneous game, by its strings at our representative nodes)."""
    if game.get_type().short_name == "turn_based_simultaneous_game":
        nodes = spiel_nodes(game)
        strings = [nodes[n].information_state_string() for n in tree.info_node]
    else:
        strings = [tree.information_string(i) for i in range(tree.num_info)]
    spiel = spiel_policy.TabularPolicy(game)
    for string, probs in zip(strings, policy.in_tree_order(tree), strict=True):
        row = spiel.policy_for_key(string)
        row[:] = probs[: len(row)]
    return spiel


@pytest.mark.parametrize("spec", list(OPENSPIEL))
def test_tree_matches_openspiel_node_by_node(spec):
    tree, game = tree_of(spec), spiel_game(spec)
    nodes = spiel_nodes(game)
    assert tree.num_nodes == len(nodes)
    actor = [TERMINAL if s.is_terminal() else s.current_player() for s in nodes]
    np.testing.assert_array_equal(tree.actor, actor)
    np.testing.assert_array_equal(tree.action[1:], [s.history()[-1] for s in nodes[1:]])
    terminal = np.flatnonzero(tree.terminal)
    np.testing.assert_allclose(tree.returns[terminal], [nodes[n].returns() for n in terminal])
    for n in range(1, len(nodes)):
        parent = nodes[tree.parent[n]]
        if parent.is_chance_node():
            assert tree.chance_prob[n] == dict(parent.chance_outcomes())[tree.action[n]]
    # Two decision nodes share an information set exactly when OpenSpiel's strings agree.
    decision = np.flatnonzero(tree.actor >= 0)
    strings = [nodes[n].information_state_string() for n in decision]
    ours = {(int(tree.info[n]), s) for n, s in zip(decision, strings, strict=True)}
    assert len(ours) == len(set(strings)) == tree.num_info
    if game.get_type().short_name != "turn_based_simultaneous_game":  # its own strings
        assert all(tree.information_string(i) == s for i, s in ours)
    for i in range(tree.num_info):
        node = nodes[tree.info_node[i]]
        assert node.current_player() == tree.info_player[i]
        assert np.flatnonzero(tree.info_legal[i]).tolist() == node.legal_actions()


def test_build_tree_refuses_games_it_cannot_enumerate():
    with pytest.raises(ValueError, match="tic_tac_toe is a game of perfect information"):
        build_tree(games.make("tic_tac_toe"))
    with pytest.raises(ValueError, match="leduc_poker has more than 5,000 game-tree nodes"):
        build_tree(games.make("leduc_poker"), max_nodes=5000)


def test_tabular_policy_lookup_and_bad_input():
    tree = tree_of("kuhn_poker")
    uniform = TabularPolicy.uniform(tree)
    np.testing.assert_allclose(uniform.probs.sum(axis=1), 1.0)
    assert not uniform.probs[~tree.info_legal].any()
    for i in (0, tree.num_info - 1):
        row = uniform.row(tree.info_player[i], tree.info_key[i])
        assert row == i
        assert uniform.action_probabilities(tree.info_player[i], tree.info_key[i])[1] == 0.5
    with pytest.raises(KeyError):
        uniform.row(0, -12345)
    with pytest.raises(ValueError, match="is not a probability distribution"):
        TabularPolicy(tree.spec, [0], [1], [[0.5, 0.6, 0.0]])
    with pytest.raises(ValueError, match="twice"):
        TabularPolicy(tree.spec, [0, 0], [1, 1], [[1.0, 0.0, 0.0]] * 2)
    partial = TabularPolicy(tree.spec, uniform.players[1:], uniform.keys[1:], uniform.probs[1:])
    with pytest.raises(
        ValueError, match=f"no strategy for player 0 .*'{tree.information_string(0)}'"
    ):
        nash_conv(tree, partial)
    illegal = uniform.probs.copy()
    illegal[0] = [0.0, 0.0, 1.0]  # action 2 is a chance outcome only
    with pytest.raises(ValueError, match="illegal action 2 for player 0"):
        TabularPolicy.from_tree(tree, illegal).rows_for(tree)
    with pytest.raises(
        ValueError, match="a policy for kuhn_poker:players=3 given for kuhn_poker:players=2"
    ):
        TabularPolicy.uniform(tree_of("kuhn_poker:players=3")).rows_for(tree)


@pytest.mark.parametrize("spec", list(OPENSPIEL))
def test_nash_conv_equals_openspiel_for_the_same_policy(spec):
    tree, game = tree_of(spec), spiel_game(spec)
    solver = Solver(tree, "cfr")
    solver.run(30)
    for policy in (TabularPolicy.uniform(tree), solver.average_policy(), solver.current_policy()):
        expected = spiel_exploitability.nash_conv(game, to_spiel_policy(tree, policy, game))
        assert nash_conv(tree, policy) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("spec", "value"), [("kuhn_poker", -1 / 18), ("leduc_poker", -0.0856064)])
def test_cfr_plus_average_policy_reaches_the_game_value(spec, value):
    tree = tree_of(spec)
    solver = Solver(tree, "cfr+")
    solver.run(10_000)
    result = evaluate(tree, solver.average_policy())
    assert result.on_policy[0] == pytest.approx(value, abs=1e-3)
    assert result.on_policy[1] == pytest.approx(-value, abs=1e-3)
    assert result.exploitability < 1e-3


@pytest.mark.parametrize(
    ("spec", "iterations"),
    [
        ("kuhn_poker", 1000),
        ("kuhn_poker:players=3", 300),
        # Leduc at 200: summing a regret's histories in another order than OpenSpiel's
        # parted from it by 1e-10 at 100 iterations and 2% at 200 (CFR+ amplifies).
        ("leduc_poker", 200),
        ("goofspiel:cards=4", 100),
        ("goofspiel:cards=4,order=random", 100),
        ("matrix:name=pd", 100),
    ],
)
@pytest.mark.parametrize(
    ("algorithm", "reference"), [("cfr", pyspiel.CFRSolver), ("cfr+", pyspiel.CFRPlusSolver)]
)
def test_cfr_as_exploitable_as_openspiel(spec, iterations, algorithm, reference):
    """The same iterations as OpenSpiel's solver of that name, rounding included."""
    tree, game = tree_of(spec), spiel_game(spec)
    solver = Solver(tree, algorithm)
    solver.run(iterations)
    theirs = reference(game)
    for _ in range(iterations):
        theirs.evaluate_and_update_policy()
    expected = pyspiel.nash_conv(game, theirs.average_policy())
    assert nash_conv(tree, solver.average_policy()) == pytest.approx(expected, rel=1e-9)


def test_cfr_simultaneous_updates_as_openspiel():
    tree, game = tree_of("kuhn_poker"), spiel_game("kuhn_poker")
    solver = Solver(tree, "cfr", alternating=False)
    solver.run(100)
    theirs = spiel_cfr._CFRSolver(
        game, regret_matching_plus=False, alternating_updates=False, linear_averaging=False
    )
    for _ in range(100):
        theirs.evaluate_and_update_policy()
    expected = spiel_exploitability.nash_conv(game, theirs.average_policy())
    assert nash_conv(tree, solver.average_policy()) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(("spec", "iterations"), [("kuhn_poker", 1000), ("leduc_poker", 150)])
def test_external_sampling_mccfr_within_openspiel_spread(spec, iterations):
    tree, game = tree_of(spec), spiel_game(spec)
    ours, theirs = [], []
    for seed in range(5):
        solver = Solver(tree, "mccfr", seed=seed)
        solver.run(iterations)
        ours.append(nash_conv(tree, solver.average_policy()))
        # OpenSpiel's python solver samples from numpy's global random state.
        np.random.seed(seed)  # noqa: NPY002
        reference = external_sampling_mccfr.ExternalSamplingSolver(game)
        for _ in range(iterations):
            reference.iteration()
        theirs.append(spiel_exploitability.nash_conv(game, reference.average_policy()))
    assert np.mean(ours) <= 1.5 * np.mean(theirs)
    assert len(set(ours)) == 5  # the seeds give different runs


@pytest.mark.parametrize("algorithm", ["cfr", "cfr+", "mccfr"])
def test_solver_resumes_from_its_arrays(algorithm):
    tree = tree_of("kuhn_poker:players=3")
    straight = Solver(tree, algorithm, seed=3)
    straight.run(50)
    first = Solver(tree, algorithm, seed=3)
    first.run(20)
    saved = {name: array.copy() for name, array in first.state().items()}
    resumed = Solver.restore(tree, algorithm, saved)
    resumed.run(30)
    assert resumed.iteration == straight.iteration == 50
    np.testing.assert_array_equal(resumed.regrets, straight.regrets)
    np.testing.assert_array_equal(resumed.strategy_sums, straight.strategy_sums)
    assert exploitability(tree, resumed.average_policy()) == exploitability(
        tree, straight.average_policy()
    )


def test_solver_bad_input():
    tree = tree_of("kuhn_poker")
    with pytest.raises(
        ValueError, match="unknown algorithm 'dcfr': choose one of cfr, cfr\\+, mccfr"
    ):
        Solver(tree, "dcfr")
    with pytest.raises(ValueError, match="only cfr can update them simultaneously"):
        Solver(tree, "cfr+", alternating=False)
    with pytest.raises(ValueError, match="iterations must be at least 0, got -1"):
        Solver(tree, "cfr").run(-1)
    other = Solver(tree_of("kuhn_poker:players=3"), "cfr").state()
    with pytest.raises(ValueError, match="a solver state of another game"):
        Solver.restore(tree, "cfr", other)
    del other["rng"]
    with pytest.raises(ValueError, match="the saved solver state lacks rng"):
        Solver.restore(tree, "cfr", other)


class _ActOnly:
    """An agent's `act` alone: agent_policy must then count its moves."""

    def __init__(self, agent):
        self.name, self.act = agent.name, agent.act


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_an_agent_is_measured_by_the_strategy_it_plays(temperature):
    """A network's strategy is what `act` draws from (its likeliest move at temperature 0),
    not the priors `evaluate` reports: stated and counted strategies agree."""
    import torch

    from agents.network import NetConfig, build_network
    from agents.neural import NeuralAgent
    from agents.tabular.query import agent_policy, query_method

    tree = build_tree(games.make("kuhn_poker"))
    torch.manual_seed(0)
    model = build_network(NetConfig.for_game(tree.game, "mlp", blocks=1, channels=16))
    agent = NeuralAgent(tree.game, model, temperature=temperature, device="cpu")
    assert query_method(agent) == "strategy" and query_method(_ActOnly(agent)) == "act"
    stated = agent_policy(agent, tree)
    counted = agent_policy(_ActOnly(agent), tree, samples=4000)
    np.testing.assert_allclose(stated.probs, counted.probs, atol=0 if temperature == 0 else 0.04)
    priors = agent.evaluate(tree.game, tree.info_states(), tree.info_legal.copy())[0]
    assert (temperature == 0) == (np.abs(stated.probs - priors).max() > 0.05)


@pytest.mark.parametrize("spec", ["random", "fixed:action=1"])
def test_baselines_state_the_strategy_they_play(spec):
    import agents
    from agents.tabular.query import agent_policy

    tree = build_tree(games.make("kuhn_poker"))
    agent = agents.make(spec, tree.game)
    stated = agent_policy(agent, tree)
    counted = agent_policy(_ActOnly(agent), tree, samples=4000)
    np.testing.assert_allclose(stated.probs, counted.probs, atol=0.04)
    if spec == "random":
        assert nash_conv(tree, stated) == pytest.approx(11 / 12, abs=1e-12)
