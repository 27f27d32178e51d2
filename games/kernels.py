"""The public kernel face of `games`: the single-game primitives of every registered game,
for Numba kernels (batching here, search and solvers in `agents`), and the row header.

Every primitive takes the game's parameter tuple `g` first and acts on row i of batch-first
arrays: `data` int64[N, width] (header columns below, then the game's own), `mask`
bool[N, A], `rewards` float32[N, num_players], `out` float32[N, *obs_shape]. Indexing a 2-D
array directly is about twice as fast in Numba as passing row views around, and the same
call serves a batch, a search tree's node table or a 1-row scratch array.

Dispatch is by type: each registered game has its own namedtuple class for `g` (defined in
this module, so pickled by reference in Numba's cache index), and each primitive below has
one `overload` per game, chosen by that class and inlined. A generic kernel called with a
game's `g` is compiled for that game the first time the game is used, and cached per game;
a game nobody plays is never compiled into it. An unregistered type matches no overload:
a typing error, never a fall-through to another game.

Numba checks a cached kernel against its own source file only, so a params class is named
after a digest of its game module's source (and of this module and the row layout): an
edited game gets a new type, hence fresh compilations rather than stale cached code.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import namedtuple
from pathlib import Path

from numba import types
from numba.core import compiler, ir_utils, typed_passes
from numba.core.errors import NumbaIRAssumptionWarning
from numba.core.inline_closurecall import InlineWorker
from numba.core.registry import cpu_target
from numba.core.typing.templates import (
    Signature,
    _EmptyImplementationEntry,
    _inline_info,
    infer,
    infer_global,
    make_overload_template,
)

from games import defaults, layout, registry, spec
from games.layout import (
    CHANCE,
    DONE,
    HEADER,
    LAST_ACTION,
    PLY,
    RNG,
    SIMULTANEOUS,
    TO_PLAY,
    WINNER,
)

MODULES = registry.load()  # NAME -> game module, in registry order
PARAMS_CLASSES = {}  # NAME -> namedtuple class of the game's parameter tuple `g`


def init_row(g, data, i, seed):
    """Start a new game in data[i] from the random seed `seed` (player 0 to move)."""
    raise TypeError("games.kernels primitives run inside Numba kernels only")


def is_legal(g, data, i, action):
    """True when `action` is in range and legal in live game i."""
    raise TypeError("games.kernels primitives run inside Numba kernels only")


def legal_row(g, data, i, mask):
    """Fill mask[i] with game i's legal actions (all False once over); return their count."""
    raise TypeError("games.kernels primitives run inside Numba kernels only")


def apply_row(g, data, i, action, rewards):
    """Play a legal action in live game i; write the step's rewards, per player, to rewards[i]."""
    raise TypeError("games.kernels primitives run inside Numba kernels only")


def observe_row(g, data, i, player, out):
    """Write game i's observation planes from `player`'s point of view into out[i]."""
    raise TypeError("games.kernels primitives run inside Numba kernels only")


def null_move_row(g, data, i):
    """Hand the move in live game i to the next player without a move, as if the mover had
    passed (what greedy's "block" asks: which moves would win, had the opponent the move)."""
    raise TypeError("games.kernels primitives run inside Numba kernels only")


def chance_row(g, data, i, probs):
    """At a chance node of game i: each outcome's probability into probs[i] (float64[N, A],
    zero for impossible ones); returns how many outcomes are possible."""
    raise TypeError("games.kernels primitives run inside Numba kernels only")


def legal_player_row(g, data, i, player, mask):
    """At a simultaneous node of game i: `player`'s legal actions into mask[i]; their count."""
    raise TypeError("games.kernels primitives run inside Numba kernels only")


def actor_row(g, data, i):
    """Whose action apply_row takes next in game i: the player to move, CHANCE, or at a
    simultaneous node the next player in player order whose action it has not yet taken."""
    raise TypeError("games.kernels primitives run inside Numba kernels only")


def info_key_row(g, data, i, player):
    """An int64 key of `player`'s information state in game i (-1 in perfect-information
    games): two states share it exactly when OpenSpiel's information_state_string does."""
    raise TypeError("games.kernels primitives run inside Numba kernels only")


def _digest(module) -> str:
    sources = (module.__file__, __file__, layout.__file__, defaults.__file__)
    return hashlib.sha256(b"".join(Path(p).read_bytes() for p in sources)).hexdigest()[:16]


def _params_class(name: str, module) -> type:
    # The fields of `g` (games.spec.kernel_params: the parameters, then any hook's fields).
    fields = spec.kernel_params(module, spec.default_values(module))
    cls = namedtuple(f"{name}_params", list(fields))
    cls.__module__ = __name__
    cls.__qualname__ = f"{name}_params_{_digest(module)}"
    globals()[cls.__qualname__] = cls
    return cls


def _stale_class(qualname: str) -> type:
    """Stands in for a params class of an earlier source of a game, so that Numba can still
    read cache index entries naming it (they then match nothing and are recompiled)."""
    cls = namedtuple(qualname, [])
    cls.__module__ = __name__
    globals()[qualname] = cls
    return cls


def __getattr__(name: str):
    if "_params_" in name:
        return _stale_class(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _is(cls):
    """A typing test: is a Numba type that of the parameter tuples of `cls`?"""
    return lambda g: isinstance(g, types.BaseNamedTuple) and g.instance_class is cls


class _TypedOnce:
    """An always-inlined overload's typing, done once per argument types.

    Numba's own (`overload(inline="always")`) compiles the implementation in full, down to
    machine code that is never run (only its IR is inlined), and types it again each time
    type inference resolves a call site, several times per caller: Go's `apply_row` was
    typed 8 times and compiled once for a first step, 2.5 s of its 7.5 s cold first call.
    Numba pull requests 6667 and 6856 proposed the same cache; neither was merged. This
    types the implementation for inlining (what Numba's template does after compiling it)
    and keeps the result; the inliner reads `_inline_overloads` as before.
    """

    def generic(self, args, kws):
        args = tuple(args)
        if kws:  # the primitives are called positionally
            return super().generic(args, kws)
        if args not in self._typed:
            self._typed[args] = self._type_for_inlining(args)
        return self._typed[args]

    def _type_for_inlining(self, args):
        impl = self._overload_func(*args)
        if impl is None:  # another game's overload
            return None
        target = cpu_target.target_context
        flags = compiler.Flags()
        pipeline = compiler.Compiler(self.context, target, None, None, None, flags, None)
        worker = InlineWorker(self.context, target, {}, pipeline, flags, None)
        func_ir = worker.run_untyped_passes(impl, enable_ssa=True)
        typemap, return_type, calltypes, _ = typed_passes.type_inference_stage(
            self.context, target, func_ir, args, None
        )
        func_ir = typed_passes.PreLowerStripPhis()._strip_phi_nodes(func_ir)
        func_ir._definitions = ir_utils.build_definitions(func_ir.blocks)
        sig = Signature(return_type, args, None)
        self._compiled_overloads[args] = _EmptyImplementationEntry("always inlined")
        self._inline_overloads[args] = {
            "folded_args": args,
            "iinfo": _inline_info(func_ir, typemap, calltypes, sig),
        }
        return sig


def _inline_overload(func):
    """`numba.extending.overload(func, inline="always")`, typed once (`_TypedOnce`)."""

    def register(choose):
        # Numba's default options for overloads (they serve only a call with keywords).
        options = {"no_cpython_wrapper": True, "nopython": True}
        base = make_overload_template(func, choose, options, True, "always")
        template = type(base)(base.__name__, (_TypedOnce, base), {"_typed": {}})
        infer(template)
        infer_global(func, types.Function(template))
        return choose

    return register


def _register(cls, module) -> None:
    """One overload per primitive for the game of `module`, selected by `cls`: the
    primitive's own Python function, inlined into the caller's Numba IR (as a call, the
    legal-moves kernel measured 7% slower on Connect Four)."""
    is_game = _is(cls)
    prim = {name: getattr(module, name) for name in registry.PRIMITIVES}
    # A game without a feature gets the feature's do-nothing primitives (games.defaults).
    prim |= {n: getattr(module, n, getattr(defaults, n)) for n in registry.FEATURE_PRIMITIVES}

    @_inline_overload(init_row)
    def _init_row(g, data, i, seed):
        if is_game(g):
            return prim["init_row"].py_func

    @_inline_overload(is_legal)
    def _is_legal(g, data, i, action):
        if is_game(g):
            return prim["is_legal"].py_func

    @_inline_overload(legal_row)
    def _legal_row(g, data, i, mask):
        if is_game(g):
            return prim["legal_row"].py_func

    @_inline_overload(apply_row)
    def _apply_row(g, data, i, action, rewards):
        if is_game(g):
            return prim["apply_row"].py_func

    @_inline_overload(observe_row)
    def _observe_row(g, data, i, player, out):
        if is_game(g):
            return prim["observe_row"].py_func

    @_inline_overload(null_move_row)
    def _null_move_row(g, data, i):
        if is_game(g):
            return prim["null_move_row"].py_func

    @_inline_overload(chance_row)
    def _chance_row(g, data, i, probs):
        if is_game(g):
            return prim["chance_row"].py_func

    @_inline_overload(legal_player_row)
    def _legal_player_row(g, data, i, player, mask):
        if is_game(g):
            return prim["legal_player_row"].py_func

    @_inline_overload(actor_row)
    def _actor_row(g, data, i):
        if is_game(g):
            return prim["actor_row"].py_func

    @_inline_overload(info_key_row)
    def _info_key_row(g, data, i, player):
        if is_game(g):
            return prim["info_key_row"].py_func


# Numba's SSA pass flags variables of IR-inlined overloads inside some loops (MCTS rollouts)
# with this pedantic, internal warning; the compiled code is unaffected (Numba's own tests
# only check that it is not raised for simpler functions).
warnings.filterwarnings(
    "ignore", message="variable '.*' is not in scope", category=NumbaIRAssumptionWarning
)

for _name, _module in MODULES.items():
    PARAMS_CLASSES[_name] = _params_class(_name, _module)
    _register(PARAMS_CLASSES[_name], _module)


__all__ = [
    "CHANCE",
    "DONE",
    "HEADER",
    "LAST_ACTION",
    "MODULES",
    "PARAMS_CLASSES",
    "PLY",
    "RNG",
    "SIMULTANEOUS",
    "TO_PLAY",
    "WINNER",
    "actor_row",
    "apply_row",
    "chance_row",
    "info_key_row",
    "init_row",
    "is_legal",
    "legal_player_row",
    "legal_row",
    "null_move_row",
    "observe_row",
]
