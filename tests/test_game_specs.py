"""Game specs, the game-module contract check and the type dispatch of games.kernels."""

import pickle
import types

import numba
import numpy as np
import pytest

import games
from games import batched, kernels, registry, spec
from games.contract import Param, Shape
from games.openspiel import EQUIVALENTS

# A parametrized stand-in game for the spec parser (no registered game needs to have
# parameters for these tests to mean something).
FAKE = types.SimpleNamespace(
    NAME="fake",
    PARAMS={
        "size": Param(int, 11, "board side", low=3, high=13),
        "komi": Param(float, 7.5, "points for player 1", low=0, high=20),
        "swap": Param(bool, False, "pie rule"),
        "order": Param(str, "descending", "move order", choices=("descending", "random")),
    },
)
MODULES = {"fake": FAKE, "other": types.SimpleNamespace(NAME="other", PARAMS={})}


def test_canonical_spec_fills_defaults_in_params_order():
    module, canonical, values = spec.resolve("fake: swap=true , size=7", MODULES)
    assert module is FAKE
    assert canonical == "fake:size=7,komi=7.5,swap=true,order=descending"
    assert values == {"size": 7, "komi": 7.5, "swap": True, "order": "descending"}
    assert spec.resolve(canonical, MODULES)[1] == canonical  # canonical specs are fixed points
    assert spec.resolve("other", MODULES)[1] == "other"  # no parameters: just the name


@pytest.mark.parametrize(
    "text, message",
    [
        ("chess", "unknown game 'chess'; available games: fake, other"),
        ("fake:depth=3", r"fake has no parameter 'depth'; its parameters: size \(int 3..13, "),
        ("fake:size=14", r"fake: parameter size must be int 3..13, got '14'"),
        ("fake:size=2", r"must be int 3..13, got '2'"),
        ("fake:size=7.5", r"must be int 3..13, got '7.5'"),
        ("fake:komi=nan", r"komi must be float 0..20, got 'nan'"),
        ("fake:swap=maybe", r"swap must be true or false, got 'maybe'"),
        ("fake:order=up", r"order must be one of descending, random, got 'up'"),
        ("fake:size", r"expected key=value, got 'size'"),
        ("fake:", r"expected key=value, got ''"),
        ("fake:size=7,size=8", r"parameter 'size' given twice"),
    ],
)
def test_bad_specs_name_what_is_accepted(text, message):
    with pytest.raises(ValueError, match=message):
        spec.resolve(text, MODULES)


def test_parameter_listing_names_defaults_and_ranges():
    assert spec.describe(FAKE.PARAMS) == (
        "size (int 3..13, default 11), komi (float 0..20, default 7.5), "
        "swap (true or false, default false), order (one of descending, random, default "
        "descending)"
    )


@pytest.mark.parametrize("name", games.names())
def test_every_game_makes_from_its_name_and_its_canonical_spec(name):
    game = games.make(name)
    assert game.name == name and games.make(game.spec) is game
    assert games.parameters(name) == game.module.PARAMS
    assert isinstance(game.params, kernels.PARAMS_CLASSES[name])
    state = game.init(2)
    assert state.game == game.spec


@pytest.mark.parametrize("name", games.names())
def test_bad_input_for_every_game(name):
    game = games.make(name)
    with pytest.raises(ValueError, match=f"{name} has no parameter 'nonsense'"):
        games.make(f"{name}:nonsense=1")
    with pytest.raises(ValueError, match="available games: " + ", ".join(games.names())):
        games.parameters(name + "_nope")
    state = game.init(3)
    with pytest.raises(ValueError, match=r"game 1: action -1.*game 2: action \d+"):
        game.step(state, np.array([first_legal(game), -1, game.num_actions]))
    with pytest.raises(ValueError, match=f"{game.spec}: sequence 1, ply 0: action -5"):
        game.play_sequences([[], [-5]])
    with pytest.raises(ValueError, match="player must be in"):
        game.observe(state, game.num_players)


def first_legal(game) -> int:
    return int(np.flatnonzero(game.legal_mask(game.init(1))[0])[0])


def test_openspiel_table_keys_are_valid_specs():
    for key in EQUIVALENTS:
        games.make(key)


def fake_module(**drop):
    """A module with the whole contract (Tic-tac-toe's, with the feature primitives its
    features need), minus the names in `drop`."""
    module = types.ModuleType("games.fake_game")
    source = games.make("tic_tac_toe").module
    features = [n for n in registry.FEATURE_PRIMITIVES if hasattr(source, n)]
    for name in (*registry.CONSTANTS, *registry.FUNCTIONS, *registry.PRIMITIVES, *features):
        if name not in drop:
            setattr(module, name, getattr(source, name))
    return module


def test_contract_check_accepts_a_complete_module():
    assert registry.check_module(fake_module()) is not None


@pytest.mark.parametrize("missing", ["PARAMS", "symmetries", "observe_row", "svg"])
def test_contract_check_names_the_module_and_what_is_missing(missing):
    with pytest.raises(registry.ContractError, match=f"games.fake_game does not define {missing}"):
        registry.check_module(fake_module(**{missing: True}))


def test_contract_check_wants_numba_primitives_and_param_objects():
    module = fake_module()
    module.apply_row = lambda g, data, i, action, rewards: None
    with pytest.raises(registry.ContractError, match="apply_row must be @njit functions"):
        registry.check_module(module)
    module = fake_module()
    module.is_legal = numba.njit(lambda g, data, i, a: True)
    with pytest.raises(registry.ContractError, match=r"is_legal must take \(g, data, i, action\)"):
        registry.check_module(module)
    module = fake_module()
    module.PARAMS = {"size": 9}
    with pytest.raises(registry.ContractError, match="PARAMS must map"):
        registry.check_module(module)


def test_an_unregistered_parameter_type_has_no_kernels():
    Stranger = __import__("collections").namedtuple("Stranger", [])
    with pytest.raises(numba.core.errors.TypingError):
        batched.legal(Stranger(), np.zeros((1, 8), np.int64), np.zeros((1, 9), np.bool_))


def test_parameter_tuples_pickle_and_old_class_names_still_resolve():
    game = games.make("connect_four")
    assert pickle.loads(pickle.dumps(game.params)) == game.params
    # A Numba cache index written for an earlier source of a game names a class that no
    # longer exists; it must load (and then match nothing) rather than fail.
    stale = kernels.connect_four_params_0123456789abcdef
    assert stale is not kernels.PARAMS_CLASSES["connect_four"]
    assert not hasattr(kernels, "no_such_name")


def test_shape_is_the_contract_dataclass():
    for name in games.names():
        module = games.make(name).module
        assert isinstance(module.shape(games.make(name).params), Shape)


@pytest.mark.parametrize("name", games.names())
def test_every_game_has_an_embedded_league_config_for_its_specs(name):
    from arena.league import default_config

    config = default_config(name)
    assert config["game"] == games.make(name).spec
