"""The registered games, and the check that a game module keeps the contract.

Adding a game is one game module (games/<name>.py, see docs/adding-a-game.md) plus its name
in GAMES. Everything else (the Numba dispatch in `games.kernels`, `games.make`, the tests
parametrized from `games.names()`) is built from this tuple.
"""

from __future__ import annotations

import importlib
import inspect
from collections import namedtuple
from types import ModuleType

from games.contract import Param
from games.spec import default_values, kernel_params

GAMES = (
    "connect_four",
    "tic_tac_toe",
    "othello",
    "hex",
    "go",
    "kuhn_poker",
    "goofspiel",
    "leduc_poker",
    "matrix",
)

# What a game module must define (see games.contract for the meaning of each).
CONSTANTS = ("NAME", "PARAMS")
FUNCTIONS = ("shape", "symmetries", "text", "svg", "rgb")
# The primitives and their parameters (the kernel face inlines them by these names).
PRIMITIVES = {
    "init_row": ("g", "data", "i", "seed"),
    "is_legal": ("g", "data", "i", "action"),
    "legal_row": ("g", "data", "i", "mask"),
    "apply_row": ("g", "data", "i", "action", "rewards"),
    "observe_row": ("g", "data", "i", "player", "out"),
}
# Primitives a game brings when it has the feature (a flag of its Shape, for its default
# parameters); without it, the game gets games.defaults' versions.
#   chance_row: outcome probabilities at a chance node into probs[i] (float64), their count.
#   legal_player_row: `player`'s legal actions at a simultaneous node, their count.
#   actor_row: whose action apply_row takes next; a simultaneous node takes one action per
#     player, in player order, before it resolves (as OpenSpiel's history() lists them).
#   info_key_row: an int64 key of `player`'s information state (equal exactly when
#     OpenSpiel's information_state_string is); `info_string(g, row, player)` is that string.
#   null_move_row: hand the move to the next player without a move (greedy's "block").
FEATURE_PRIMITIVES = {
    "chance_row": ("g", "data", "i", "probs"),
    "legal_player_row": ("g", "data", "i", "player", "mask"),
    "actor_row": ("g", "data", "i"),
    "info_key_row": ("g", "data", "i", "player"),
    "null_move_row": ("g", "data", "i"),
}
FEATURES = {  # Shape flag -> (feature primitives, feature functions) a game must then define
    "chance": (("chance_row",), ()),
    "simultaneous": (("legal_player_row", "actor_row", "info_key_row"), ("info_string",)),
    "hidden": (("info_key_row",), ("info_string",)),
    "perfect_information": (("null_move_row",), ()),
}


class ContractError(TypeError):
    """A game module does not keep the game-module contract."""


def check_module(module: ModuleType) -> ModuleType:
    """`module` if it keeps the contract; else ContractError naming it and what is wrong."""
    where = f"game module {module.__name__}"
    missing = [n for n in (*CONSTANTS, *FUNCTIONS, *PRIMITIVES) if not hasattr(module, n)]
    if missing:
        raise ContractError(f"{where} does not define {', '.join(missing)}")
    not_callable = [n for n in (*FUNCTIONS, *PRIMITIVES) if not callable(getattr(module, n))]
    if not_callable:
        raise ContractError(f"{where}: {', '.join(not_callable)} must be functions")
    # The primitives are inlined into the generic kernels, so they must be Numba functions.
    own = {**PRIMITIVES, **{n: p for n, p in FEATURE_PRIMITIVES.items() if hasattr(module, n)}}
    not_jitted = [n for n in own if not hasattr(getattr(module, n), "py_func")]
    if not_jitted:
        raise ContractError(f"{where}: {', '.join(not_jitted)} must be @njit functions")
    for name, params in own.items():
        got = tuple(inspect.signature(getattr(module, name).py_func).parameters)
        if got != params:
            raise ContractError(f"{where}: {name} must take ({', '.join(params)}), got {got}")
    if not isinstance(module.NAME, str) or not module.NAME.isidentifier():
        raise ContractError(f"{where}: NAME must be an identifier string, got {module.NAME!r}")
    params = module.PARAMS
    if not isinstance(params, dict) or not all(
        isinstance(k, str) and k.isidentifier() and isinstance(v, Param) for k, v in params.items()
    ):
        raise ContractError(f"{where}: PARAMS must map identifier names to games.contract.Param")
    check_features(module, module.shape(default_params(module)))
    return module


def check_features(module: ModuleType, shape) -> None:
    """ContractError unless the game defines what the features of `shape` (a Shape of one
    setting of its parameters) need: checked at registration for the default spec, and
    by games.make for every other."""
    needed = [
        n
        for flag, (prims, funcs) in FEATURES.items()
        if getattr(shape, flag)
        for n in (*prims, *funcs)
        if not hasattr(module, n)
    ]
    if needed:
        raise ContractError(
            f"game module {module.__name__}: its features need {', '.join(dict.fromkeys(needed))}"
        )


def default_params(module: ModuleType) -> tuple:
    """The parameter tuple of a game's default spec (what its primitives take as `g`)."""
    fields = kernel_params(module, default_values(module))
    return namedtuple("defaults", list(fields))(**fields)


def load(names: tuple[str, ...] = GAMES) -> dict[str, ModuleType]:
    """The game modules of `names` (games/<name>.py), checked, by NAME."""
    modules = {}
    for name in names:
        module = check_module(importlib.import_module(f"games.{name}"))
        if module.NAME != name:
            raise ContractError(f"game module games.{name} has NAME {module.NAME!r}, not {name!r}")
        modules[name] = module
    return modules
