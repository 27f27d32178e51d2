"""Who the play page can face: a registered agent kind, or a snapshot of a league.

Only names from the agent registry (agents.spec.KINDS) are offered, and a league snapshot
is rebuilt from its own folder under the league's run, so nothing typed into the page, nor
read from a run, can name code to import (a `module:Class` spec is never built here).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import agents
import games
from agents.spec import KINDS, parse
from dashboards import data

LEAGUE_STATE = "league.json"  # arena.league.STATE_FILE (importing it loads torch)
SNAPSHOT_MODEL = "model"  # a league saves snapshot N of a learner as agents/<id>/model


@dataclass(frozen=True)
class Opponent:
    """`id` names it in the replays: the spec for a registered kind, `LEAGUE/AGENT` for a
    snapshot (snapshot names repeat across leagues); `spec` builds it."""

    id: str
    spec: str
    label: str

    @property
    def searches(self) -> bool:
        """Whether it takes a simulation budget (`sims`)."""
        return "sims" in KINDS[parse(self.spec)[0]].params

    @property
    def sims(self) -> int | None:
        """The budget its spec names (a snapshot plays at its league's), else None."""
        raw = parse(self.spec)[2].get("sims")
        return int(raw) if raw and raw.isdigit() else None

    def with_budget(self, sims: int) -> Opponent:
        """This opponent at `sims` simulations per move (itself when that is its own, or
        when it does not search). A snapshot's id then says its budget."""
        if not self.searches or sims == self.sims:
            return self
        kind, path, raw = parse(self.spec)
        args = ([path] if path else []) + [f"{k}={v}" for k, v in {**raw, "sims": sims}.items()]
        spec = f"{kind}:{','.join(args)}"
        return Opponent(spec if path is None else f"{self.id}:sims={sims}", spec, self.label)

    def build(self, game):
        return agents.make(self.spec, game, name=self.id)


def registered(game_spec: str) -> list[Opponent]:
    """Every registered agent kind that needs no file (the others come as snapshots) and
    plays `game_spec` (search needs perfect information, the solver Connect Four)."""
    return [
        Opponent(name, name, f"{name}: {kind.help}")
        for name, kind in sorted(KINDS.items())
        if not kind.path and _plays(name, game_spec)
    ]


@functools.cache
def _plays(kind: str, game_spec: str) -> bool:
    """Whether the kind, at its defaults, can be built for the game (they refuse at once)."""
    try:
        agents.make(kind, games.make(game_spec))
    except ValueError:
        return False
    return True


def snapshots(runs_dir: str | Path, game_spec: str) -> list[Opponent]:
    """The frozen snapshots of every league of `game_spec` in the runs folder."""
    found = []
    for run in data.find_runs(str(runs_dir)):
        if run.kind != "league" or run.game != game_spec:
            continue
        try:
            state = json.loads((Path(run.path) / LEAGUE_STATE).read_text(encoding="utf-8"))
            members = [m for m in state["population"] if m.get("role") == "snapshot"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a league before its first round, or being written: nothing to offer
        for member in members:
            opponent = _snapshot(run, member)
            if opponent is not None:
                found.append(opponent)
    return found


def _snapshot(run: data.Run, member: dict) -> Opponent | None:
    """A snapshot from its own folder; None when its spec is not a registered file kind."""
    name = str(member.get("agent", ""))
    try:
        kind, _, raw = parse(str(member.get("spec", "")))
    except ValueError:
        return None
    if kind not in KINDS or not KINDS[kind].path or Path(name).name != name or name in ("", ".."):
        return None
    path = Path(run.path) / "agents" / name / SNAPSHOT_MODEL
    spec = ",".join([f"{kind}:{path}", *(f"{k}={v}" for k, v in raw.items())])
    league_id = f"{run.name}/{name}"
    return Opponent(league_id, spec, f"{league_id}: snapshot of {run.name} ({kind})")
