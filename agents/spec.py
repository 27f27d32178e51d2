"""Agent spec strings: `name[:args]` -> an agent.

Forms: `random`, `greedy`, `fixed:action=N`, `mcts:sims=400,c=1.4`, `solver`, `checkpoint:PATH`,
`az:PATH,sims=64`, `policy:PATH` (a tabular policy), and
`package.module:ClassName[,key=value...]` for a user's own agent class (constructed as
`ClassName(game, name=spec, **params)` with string parameter values).
Every registered factory is called as `factory([path,] game=game, name=display, **params)`.

A `package.module:ClassName` spec imports that module, which runs its code. So `make` does
it only when its caller passes `allow_import=True`, which callers do for specs the user
typed on the command line or wrote in a config file they passed, never for specs read
from a run folder or typed into the dashboard.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.mcts import ROLLOUT_POLICIES
from games import Game


class UntrustedCode(ValueError):
    """A `package.module:ClassName` spec from a source not allowed to import code."""

    def __init__(self, spec: str):
        self.spec = spec
        super().__init__(
            f"agent spec {spec!r} would import and run module {spec.partition(':')[0]!r}, "
            "which only specs given on the command line or in a config file you pass may do "
            "(resuming a run that names it: pass a config file naming it, or --trust-run-code)"
        )


@dataclass(frozen=True)
class Param:
    type: type
    default: Any
    help: str
    check: Any = None  # optional predicate on the parsed value
    requirement: str = ""  # what check demands, for the error message


@dataclass(frozen=True)
class AgentKind:
    """One registered spec name: where its factory lives and the parameters it takes."""

    factory: str  # "module:callable", imported on first use
    help: str
    params: dict[str, Param] = field(default_factory=dict)
    path: bool = False  # takes a positional PATH argument first
    # "module:callable" giving the sha256 of the file PATH names (runs record it per PATH)
    sha256: str = "agents.checkpoint:weights_sha256"


def _positive(x) -> bool:
    return x > 0


def _non_negative(x) -> bool:
    return x >= 0


_DEVICE = Param(str, "auto", "torch device: auto (cuda when available), cpu, cuda, cuda:N")
_TEMPERATURE = Param(
    float, 0.0, "0 plays the best move; > 0 samples", _non_negative, "must be >= 0"
)

KINDS: dict[str, AgentKind] = {
    "random": AgentKind("agents.baselines:RandomAgent", "uniformly random legal moves"),
    "greedy": AgentKind(
        "agents.baselines:GreedyAgent", "win now if possible, else block, else random"
    ),
    "fixed": AgentKind(
        "agents.baselines:FixedAgent",
        "always action N where legal, else the lowest legal action (a pure strategy)",
        {"action": Param(int, 0, "the action played", _non_negative, "must be >= 0")},
    ),
    "mcts": AgentKind(
        "agents.mcts:MCTSAgent",
        "UCT search with random rollouts (Numba)",
        {
            "sims": Param(int, 400, "simulations per move", _positive, "must be > 0"),
            "c": Param(float, 1.4, "UCT exploration constant", _positive, "must be > 0"),
        },
    ),
    "solver": AgentKind(
        "agents.connect_four_solver:SolverAgent",
        "exact Connect Four solver: fastest win, slowest loss",
    ),
    "checkpoint": AgentKind(
        "agents.neural:load_neural_agent",
        "policy network from a checkpoint, no search",
        {"temperature": _TEMPERATURE, "device": _DEVICE},
        path=True,
    ),
    "az": AgentKind(
        "agents.alphazero:load_alphazero_agent",
        "policy-value network from a checkpoint with PUCT search",
        {
            "sims": Param(int, 64, "simulations per move", _positive, "must be > 0"),
            "c_puct": Param(float, 1.5, "PUCT exploration constant", _positive, "must be > 0"),
            "gumbel": Param(bool, False, "Gumbel root selection with sequential halving"),
            "rollout_mix": Param(
                float,
                0.0,
                "leaf value share of one random rollout (AlphaGo's lambda), the rest the network's",
                lambda x: 0 <= x <= 1,
                "must be in [0, 1]",
            ),
            "leaf_rollouts": Param(
                int,
                1,
                "rollouts averaged per leaf when rollout_mix > 0",
                _positive,
                "must be > 0",
            ),
            "rollout_policy": Param(
                str,
                "random",
                "how leaf rollouts move: random, or greedy (win, else block, else random)",
                lambda x: x in ROLLOUT_POLICIES,
                "must be random or greedy",
            ),
            "temperature": _TEMPERATURE,
            "device": _DEVICE,
        },
        path=True,
    ),
    "policy": AgentKind(
        "agents.tabular.agent:load_policy_agent",
        "tabular policy checkpoint (e.g. from arena solve), sampled per information state",
        path=True,
        sha256="agents.tabular.checkpoint:policy_sha256",
    ),
}


def _describe() -> str:
    lines = []
    for name, kind in sorted(KINDS.items()):
        args = ["PATH"] if kind.path else []
        args += [f"{k}={p.type.__name__} (default {p.default!r})" for k, p in kind.params.items()]
        lines.append(f"  {name}{':' + ','.join(args) if args else ''}  - {kind.help}")
    lines.append(
        "  package.module:ClassName  - a class of your own, built as Class(game, name=...)"
    )
    return "\n".join(lines)


def _convert(kind_name: str, key: str, raw: str, param: Param):
    try:
        if param.type is bool:
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            value = raw.lower() in ("true", "1", "yes")
        else:
            value = param.type(raw)
    except ValueError:
        raise ValueError(
            f"agent {kind_name!r}: parameter {key}={raw!r} is not a valid {param.type.__name__}"
        ) from None
    if param.check is not None and not param.check(value):
        raise ValueError(f"agent {kind_name!r}: {key}={raw} is invalid: {param.requirement}")
    return value


def parse(spec: str) -> tuple[str, str | None, dict[str, str]]:
    """Split a spec into (kind, positional path or None, raw key=value strings)."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"an agent spec must be a non-empty string, got {spec!r}")
    name, _, rest = spec.strip().partition(":")
    path = None
    raw: dict[str, str] = {}
    for i, item in enumerate(filter(None, rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq:
            if i == 0:
                path = item
                continue
            raise ValueError(f"agent spec {spec!r}: expected key=value, got {item!r}")
        if key.strip() in raw:
            raise ValueError(f"agent spec {spec!r}: parameter {key.strip()!r} given twice")
        raw[key.strip()] = value.strip()
    return name, path, raw


def spec_path(path: str | Path, what: str) -> Path:
    """`path` made absolute, to go into a spec `kind:PATH,key=value`: ValueError naming it
    as `what` (e.g. "a league's run directory") when it holds ',' or '=', where `parse`
    would split it. Checked before a run writes anything in a folder whose files will be
    played as specs (a league's or a study's snapshots)."""
    absolute = Path(path).absolute()
    if any(c in str(absolute) for c in ",="):
        raise ValueError(
            f"{what} {absolute} may not contain ',' or '=': its files are played as agent "
            "specs PATH,key=value, which would split there"
        )
    return absolute


def imports_code(spec: str) -> bool:
    """True for a `package.module:ClassName` spec: building it imports and runs the module."""
    kind_name, path, _ = parse(spec)
    return kind_name not in KINDS and "." in kind_name and path is not None


def checkpoint_path(spec: str) -> str | None:
    """The PATH of an `az:`, `checkpoint:` or `policy:` spec (None for other specs)."""
    kind_name, path, _ = parse(spec)
    return path if kind_name in KINDS and KINDS[kind_name].path else None


def with_checkpoint_path(spec: str, path: str | Path) -> str:
    """`spec` loading its checkpoint from `path` instead (an `az:`, `checkpoint:` or `policy:`
    spec; its other parameters kept)."""
    old = checkpoint_path(spec)
    if old is None:
        raise ValueError(f"agent spec {spec!r} loads no checkpoint")
    kind_name, _, rest = spec.strip().partition(":")
    return f"{kind_name}:{path}{rest[rest.index(old) + len(old) :]}"


def checkpoint_hashes(specs: Iterable[str]) -> dict[str, str]:
    """PATH -> sha256 of the weights of every checkpoint the specs load (PATH as written)."""
    hashers = {}
    for spec in specs:
        path = checkpoint_path(spec)
        if path is not None:
            hashers[path] = KINDS[parse(spec)[0]].sha256
    # Imported on use: a network checkpoint's hasher imports torch.
    return {path: _load(hashers[path])(path) for path in sorted(hashers)}


def _load(target: str):
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def make(
    spec: str, game: Game, name: str | None = None, *, allow_import: bool = False, **overrides
):
    """Build the agent described by `spec` for `game`; its display name defaults to spec.

    `allow_import` permits a `package.module:ClassName` spec, which imports that module:
    pass True only for a spec the user gave on the command line or in a config they passed.
    """
    kind_name, path, raw = parse(spec)
    display = name or spec.strip()
    kind = KINDS.get(kind_name)
    if kind is None:
        if imports_code(spec):
            if not allow_import:
                raise UntrustedCode(spec)
            return _user_agent(kind_name, path, raw, game, display)
        raise ValueError(f"unknown agent spec {spec!r}; valid specs:\n{_describe()}")
    if kind.path and path is None:
        raise ValueError(f"agent {kind_name!r} needs a path: {kind_name}:PATH[,key=value...]")
    if not kind.path and path is not None:
        raise ValueError(
            f"agent {kind_name!r} takes key=value parameters, got {path!r}; "
            f"parameters: {_param_list(kind)}"
        )
    params = {}
    for key, value in raw.items():
        if key not in kind.params:
            raise ValueError(
                f"agent {kind_name!r} has no parameter {key!r}; parameters: {_param_list(kind)}"
            )
        params[key] = _convert(kind_name, key, value, kind.params[key])
    params.update(overrides)
    args = (path,) if kind.path else ()
    return _load(kind.factory)(*args, game=game, name=display, **params)


def _param_list(kind: AgentKind) -> str:
    if not kind.params:
        return "none"
    return ", ".join(
        f"{k} ({p.type.__name__}, default {p.default!r})" for k, p in kind.params.items()
    )


def _user_agent(module_name: str, class_name: str, raw: dict[str, str], game: Game, display: str):
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"cannot load agent class {module_name}:{class_name}: {err}") from None
    try:  # parameters the class does not take are the spec's error, not a bug: say which
        inspect.signature(cls).bind(game, name=display, **raw)
    except TypeError as err:
        given = ", ".join(f"{k}={v}" for k, v in raw.items()) or "none"
        raise ValueError(
            f"agent class {module_name}:{class_name} does not take the parameters given "
            f"({given}): {err}"
        ) from None
    return cls(game, name=display, **raw)
