"""Game specs: `NAME[:key=value,...]`, e.g. `hex:size=7` or `go:size=9,komi=7.5`.

Parsed and checked here only. The canonical spec names the game and every parameter, in
the order of the game's PARAMS, defaults filled in (a game without parameters: just its
name), so two specs of the same game settings store the same string. A parameter whose
value is None (unset, e.g. a matrix game's `file` when it is given by `name`) is left out.

A game module may refine this with two optional hooks: `resolve_values(values, given)`
checks and completes the parsed values (e.g. reads a file and fills in its digest), and
`kernel_fields(values)` gives the extra fields of the parameter tuple `g` that a value
stands for (e.g. a payoff table as a float64 array), so that one compiled kernel serves
every table.
"""

from __future__ import annotations

import math
from types import ModuleType

import numpy as np

from games.contract import Param

_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


def split(spec: str, known: list[str]) -> tuple[str, dict[str, str]]:
    """(game name, {key: value text}) of a spec; ValueError on a malformed one or an unknown
    name (listing `known`)."""
    if not isinstance(spec, str):
        raise ValueError(f"a game spec must be a string like 'hex:size=7', got {spec!r}")
    name, colon, rest = spec.strip().partition(":")
    name = name.strip()
    if name not in known:
        raise ValueError(f"unknown game {name!r}; available games: {', '.join(known)}")
    values: dict[str, str] = {}
    if not colon:
        return name, values
    for item in rest.split(","):
        key, eq, value = (part.strip() for part in item.partition("="))
        if not eq or not key or not value:
            raise ValueError(f"game spec {spec!r}: expected key=value, got {item.strip()!r}")
        if key in values:
            raise ValueError(f"game spec {spec!r}: parameter {key!r} given twice")
        values[key] = value
    return name, values


def describe(params: dict[str, Param]) -> str:
    """The parameters of a game, e.g. 'size (int 3..13, default 11), swap (...)'."""
    if not params:
        return "none"
    return ", ".join(
        f"{key} ({p.describe()}, default {format_value(p, p.default)})" for key, p in params.items()
    )


def parse_value(name: str, key: str, param: Param, text: str) -> object:
    """The value of `text` for a parameter; ValueError naming the accepted values."""
    where = f"{name}: parameter {key} must be {param.describe()}, got {text!r}"
    if param.kind is str and not param.choices:
        return text  # free text (a path, a digest): the game module checks it
    if param.kind is bool:
        if text.lower() not in _TRUE + _FALSE:
            raise ValueError(where)
        return text.lower() in _TRUE
    if param.choices:
        if text not in param.choices:
            raise ValueError(where)
        return text
    try:
        value = param.kind(text)
    except ValueError:
        raise ValueError(where) from None
    if (
        not math.isfinite(value)
        or (param.low is not None and value < param.low)
        or (param.high is not None and value > param.high)
    ):
        raise ValueError(where)
    return value


def format_value(param: Param, value: object) -> str:
    if value is None:
        return "unset"
    if param.kind is bool:
        return "true" if value else "false"
    return str(value)


def resolve(spec: str, modules: dict[str, ModuleType]) -> tuple[ModuleType, str, dict]:
    """(game module, canonical spec, {parameter: value} in PARAMS order) of a spec."""
    name, given = split(spec, sorted(modules))
    module = modules[name]
    params: dict[str, Param] = module.PARAMS
    unknown = [key for key in given if key not in params]
    if unknown:
        raise ValueError(
            f"{name} has no parameter {unknown[0]!r}; its parameters: {describe(params)}"
        )
    values = {
        key: parse_value(name, key, p, given[key]) if key in given else p.default
        for key, p in params.items()
    }
    if hasattr(module, "resolve_values"):
        values = module.resolve_values(values, set(given))
    parts = [
        f"{key}={format_value(p, values[key])}"
        for key, p in params.items()
        if values[key] is not None
    ]
    return module, name + (":" + ",".join(parts) if parts else ""), values


def kernel_value(param: Param, value: object) -> np.int64 | np.float64:
    """A parameter as the primitives see it: ints, bools and choices (their index, -1 when
    unset) as int64, floats as float64, so that one compiled kernel serves every value."""
    if param.kind is float:
        return np.float64(value)
    if param.choices:
        return np.int64(-1 if value is None else param.choices.index(value))
    return np.int64(value)


def kernel_params(module: ModuleType, values: dict[str, object]) -> dict[str, object]:
    """The fields of a game's parameter tuple `g`, in order: the kernel value of each
    parameter (free text, such as a file name, means nothing to a kernel and is left out),
    then the fields of the module's `kernel_fields(values)` hook when it has one."""
    fields = {
        key: kernel_value(p, values[key])
        for key, p in module.PARAMS.items()
        if p.kind is not str or p.choices
    }
    if hasattr(module, "kernel_fields"):
        fields |= module.kernel_fields(values)
    return fields


def default_values(module: ModuleType) -> dict[str, object]:
    """The parameter values of a game's default spec."""
    return {key: p.default for key, p in module.PARAMS.items()}
