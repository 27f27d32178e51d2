"""The registered games, and the check that a game module keeps the contract.

Adding a game is one game module (games/<name>.py, see docs/adding-a-game.md) plus its name
in GAMES. Everything else (the Numba dispatch in `games.kernels`, `games.make`, the tests
parametrized from `games.names()`) is built from this tuple.
"""

from __future__ import annotations

import importlib
import inspect
from types import ModuleType

from games.contract import Param

GAMES = (
    "connect_four",
    "tic_tac_toe",
    "othello",
    "hex",
    "go",
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
    "null_move_row": ("g", "data", "i"),
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
    not_jitted = [n for n in PRIMITIVES if not hasattr(getattr(module, n), "py_func")]
    if not_jitted:
        raise ContractError(f"{where}: {', '.join(not_jitted)} must be @njit functions")
    for name, params in PRIMITIVES.items():
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
    return module


def load(names: tuple[str, ...] = GAMES) -> dict[str, ModuleType]:
    """The game modules of `names` (games/<name>.py), checked, by NAME."""
    modules = {}
    for name in names:
        module = check_module(importlib.import_module(f"games.{name}"))
        if module.NAME != name:
            raise ContractError(f"game module games.{name} has NAME {module.NAME!r}, not {name!r}")
        modules[name] = module
    return modules
