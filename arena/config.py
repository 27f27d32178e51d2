"""TOML configuration files checked against a declared schema.

Every error names the key, the expected type and, where there is a fixed set, the valid
values, so a user can fix a config without reading code.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

import tomli_w


class ConfigError(ValueError):
    """A configuration file or value is invalid; the message says where and why."""


@dataclass(frozen=True)
class Key:
    type: type | tuple[type, ...]
    default: Any = None
    choices: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None
    item_type: type | None = None  # for lists
    help: str = ""
    # Checks and normalises a value (e.g. a game spec to its canonical form); its ValueError
    # becomes the key's ConfigError.
    convert: Callable[[Any], Any] | None = None


def _type_name(t) -> str:
    if isinstance(t, tuple):
        return " or ".join(_type_name(x) for x in t)
    return {
        str: "string",
        int: "integer",
        float: "number",
        bool: "boolean",
        list: "list",
        dict: "table",
    }.get(t, t.__name__)


def check(values: dict[str, Any], schema: dict[str, Key], where: str) -> dict[str, Any]:
    """Validate `values` against `schema`; fill defaults. `where` prefixes error messages."""
    unknown = sorted(set(values) - set(schema))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r}; valid keys: {', '.join(sorted(schema))}"
        )
    out = {}
    for name, key in schema.items():
        if name not in values:
            out[name] = key.default
            continue
        value = values[name]
        expected = key.type if isinstance(key.type, tuple) else (key.type,)
        # bool is an int in Python; TOML keeps them apart, and so do we.
        wrong_bool = isinstance(value, bool) and bool not in expected
        if float in expected and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if wrong_bool or not isinstance(value, expected):
            raise ConfigError(
                f"{where}: key {name!r} must be a {_type_name(key.type)}, "
                f"got {type(value).__name__} {value!r}"
            )
        if key.item_type is not None:
            for item in value:
                if not isinstance(item, key.item_type):
                    raise ConfigError(
                        f"{where}: key {name!r} must be a list of {_type_name(key.item_type)}, "
                        f"got an item {item!r}"
                    )
        if key.choices is not None and value not in key.choices:
            raise ConfigError(
                f"{where}: key {name!r} must be one of {', '.join(map(str, key.choices))}, "
                f"got {value!r}"
            )
        if key.minimum is not None and value < key.minimum:
            raise ConfigError(f"{where}: key {name!r} must be >= {key.minimum}, got {value!r}")
        if key.maximum is not None and value > key.maximum:
            raise ConfigError(f"{where}: key {name!r} must be <= {key.maximum}, got {value!r}")
        if key.convert is not None:
            try:
                value = key.convert(value)
            except ValueError as err:
                raise ConfigError(f"{where}: key {name!r}: {err}") from None
        out[name] = value
    return out


def load_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    except UnicodeDecodeError as err:  # TOML is UTF-8 by definition
        raise ConfigError(f"{path}: not UTF-8 text, as TOML must be ({err})") from None


def loads_toml(text: str) -> dict[str, Any]:
    return tomllib.loads(text)


def dumps(values: dict[str, Any]) -> str:
    """TOML text of a config, dropping None values (TOML has no null)."""
    return tomli_w.dumps(_drop_none(values))


def _drop_none(value):
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    return value
