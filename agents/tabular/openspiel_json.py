"""A tabular policy as OpenSpiel's users write one in JSON.

The file is one object, `{information_state_string: [probability of each legal action, in
ascending action order]}`, with OpenSpiel's information_state_string (the game's
`information_string`) as keys: what `open_spiel.python.policy.TabularPolicy` holds in its
`state_lookup` and the legal columns of its `action_probability_array`.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from agents.tabular.checkpoint import information_strings
from agents.tabular.policy import TabularPolicy
from agents.tabular.tree import GameTree


def to_openspiel(policy: TabularPolicy, tree: GameTree) -> dict[str, list[float]]:
    """{information_state_string: legal actions' probabilities in ascending action order}."""
    probs = policy.in_tree_order(tree)
    return {name: probs[i, tree.info_legal[i]].tolist() for i, name in enumerate(_names(tree))}


def write_openspiel(path: str | os.PathLike, policy: TabularPolicy, tree: GameTree) -> None:
    Path(path).write_text(json.dumps(to_openspiel(policy, tree), indent=1) + "\n")


def read_openspiel(path: str | os.PathLike, tree: GameTree) -> TabularPolicy:
    """The policy an OpenSpiel JSON file gives for the game of `tree`; ValueError naming the
    file and the place for malformed JSON, a state the game lacks, a state missing, a list
    of the wrong length or not a distribution."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(
            f"{path}: not valid JSON at line {err.lineno}, column {err.colno}: {err.msg}"
        ) from None
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    if not isinstance(data, dict):
        raise ValueError(
            f"{path}: expected an object {{information_state_string: [probabilities]}}, "
            f"got a JSON {type(data).__name__}"
        )
    names = _names(tree)
    index = {name: i for i, name in enumerate(names)}
    probs = np.zeros((tree.num_info, tree.num_actions), dtype=np.float64)
    for name, values in data.items():
        i = index.get(name)
        if i is None:
            raise ValueError(f"{path}: {name!r} is not an information state of {tree.spec}")
        legal = np.flatnonzero(tree.info_legal[i])
        if not _numbers(values) or len(values) != legal.size:
            raise ValueError(
                f"{path}: {name!r} needs a list of {legal.size} probabilities (legal actions "
                f"{legal.tolist()} in order), got {values!r}"
            )
        if min(values) < 0 or abs(sum(values) - 1.0) > 1e-6:
            raise ValueError(f"{path}: {name!r}: {values!r} is not a probability distribution")
        probs[i, legal] = values
    missing = [name for name in names if name not in data]
    if missing:
        raise ValueError(
            f"{path} lacks information state {missing[0]!r} of {tree.spec} "
            f"({len(missing)} of {len(names)} missing)"
        )
    return TabularPolicy.from_tree(tree, probs)


def _names(tree: GameTree) -> list[str]:
    """The information strings of the tree's information sets, refused when two players'
    coincide: the JSON, keyed by the string alone, could not tell them apart."""
    names = information_strings(tree)
    if len(set(names)) != len(names):
        raise ValueError(
            f"{tree.spec}: two players share an information state string, so an OpenSpiel "
            "JSON policy (keyed by the string) cannot describe its policies"
        )
    return names


def _numbers(values) -> bool:
    return isinstance(values, list) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values
    )
