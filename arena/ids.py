"""The ids a league gives its matches, learner versions and snapshots: built and parsed here.

- A match of round 12: `r00012-eval-3f9a0c1b2d4e` (`train` or `eval`, then a digest of what
  identifies the match), so a resumed round recomputes the ids of the matches it already
  stored, and match ids sort by round (to round 99999, where the digits run out):
  `match_id >= round_tag(r)` selects rounds r onward.
- A learner playing during round 12: `main@r0012`. Every round makes a new agent id, so a
  learner's games are never pooled with those of its later, stronger self.
- A learner's frozen snapshots: `main-s1`, `main-s2`, ... (also their folders under agents/).
"""

from __future__ import annotations

import hashlib
import numbers
import re
from typing import NamedTuple

MATCH_KINDS = ("train", "eval")
DIGEST_LENGTH = 12  # hex digits of the match digest

# The games of the league's evaluation round-robins: fixed policies, which ratings describe
# (training games are played by exploring versions). A SQL condition on the replay rows.
EVAL_ONLY = "match_id LIKE 'r%-eval-%'"
# The round tag (`round_tag`) a match id starts with, as a SQL expression on the replay rows.
MATCH_ROUND_TAG = "split_part(match_id, '-', 1)"

_MATCH = re.compile(
    rf"r(?P<round>\d{{5,}})-(?P<kind>{'|'.join(MATCH_KINDS)})-[0-9a-f]{{{DIGEST_LENGTH}}}"
)
_VERSION = re.compile(r"(?P<learner>.+)@r(?P<round>\d{4,})")
_SNAPSHOT = re.compile(r"(?P<learner>.+)-s(?P<number>[1-9]\d*)")


class MatchId(NamedTuple):
    round: int
    kind: str


def round_tag(round_index: int) -> str:
    """`r00012`: how match ids (and a learner's save folders) name round 12."""
    _check_count("round", round_index, 0)
    return f"r{round_index:05d}"


def match_id(round_index: int, kind: str, *key: object) -> str:
    """The id of the `kind` match of a round identified by `key` (the same key, the same id)."""
    if kind not in MATCH_KINDS:
        raise ValueError(f"match kind must be one of {', '.join(MATCH_KINDS)}, got {kind!r}")
    digest = hashlib.sha256("|".join(map(str, key)).encode()).hexdigest()[:DIGEST_LENGTH]
    return f"{round_tag(round_index)}-{kind}-{digest}"


def parse_match_id(text: str) -> MatchId:
    """Round and kind of a league match id; ValueError for anything else."""
    found = _parse(_MATCH, text, "league match id", "rNNNNN-train|eval-<digest>")
    return MatchId(int(found["round"]), found["kind"])


def version_id(learner: str, round_index: int) -> str:
    """`main@r0012`: the agent id of `learner` while it plays round 12."""
    _check_name(learner)
    _check_count("round", round_index, 0)
    return f"{learner}@r{round_index:04d}"


def version_prefix(learner: str) -> str:
    """What every version id of `learner` starts with (for SQL `starts_with`)."""
    _check_name(learner)
    return f"{learner}@r"


def parse_version_id(agent: str) -> tuple[str, int]:
    """(learner, round) of a version id; ValueError for anything else."""
    found = _parse(_VERSION, agent, "learner version id", "NAME@rNNNN")
    return found["learner"], int(found["round"])


def learner_of(agent: str) -> str:
    """The learner an agent id is a version of (the id itself for any other agent)."""
    try:
        return parse_version_id(agent)[0]
    except ValueError:
        return agent


def snapshot_name(learner: str, number: int) -> str:
    """`main-s2`: the agent id (and folder) of the learner's second snapshot."""
    _check_name(learner)
    _check_count("snapshot number", number, 1)
    return f"{learner}-s{number}"


def parse_snapshot_name(agent: str) -> tuple[str, int]:
    """(learner, number) of a snapshot's agent id; ValueError for anything else."""
    found = _parse(_SNAPSHOT, agent, "snapshot name", "NAME-sN")
    return found["learner"], int(found["number"])


def _parse(pattern: re.Pattern, text: str, what: str, shape: str) -> re.Match:
    found = pattern.fullmatch(text)
    if not found:
        raise ValueError(f"not a {what}: {text!r} (expected {shape})")
    return found


def _check_name(learner: str) -> None:
    # A learner's name is also a folder under agents/, and must stay apart from the suffixes.
    if not re.fullmatch(r"[A-Za-z0-9_]+", learner):
        raise ValueError(f"a learner name is letters, digits and _, got {learner!r}")


def _check_count(what: str, value: int, smallest: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < smallest:
        raise ValueError(f"{what} must be an integer >= {smallest}, got {value!r}")
