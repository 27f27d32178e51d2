"""A folder whose files are played as agent specs (`az:PATH,sims=S`) may not hold ',' or
'=' in its path: a league's run directory, a study's folder and its snapshots are refused
by one check (agents.spec.spec_path), with one message, before anything is written."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from agents.spec import parse, spec_path
from arena.config import ConfigError
from arena.league import resolve
from arena.study.grid import StudyGrid
from arena.study.rate import snapshot_players
from arena.study.run import run_study

RULE = (
    "may not contain ',' or '=': its files are played as agent specs PATH,key=value, which "
    "would split there"
)


def refusal(err: BaseException, path: Path) -> str:
    """The rule the message states about `path` (named absolute, as the spec would hold it)."""
    text = str(err)
    assert f"{path.absolute()} may not contain" in text, text
    return text[text.index("may not contain") :]


@pytest.mark.parametrize("name", ["a,b", "a=b"])
def test_league_study_and_rating_refuse_alike(tmp_path, name):
    folder = tmp_path / name
    with pytest.raises(ConfigError) as league:
        resolve({"game": "tic_tac_toe", "out": str(folder)})
    grid = StudyGrid.make("tic_tac_toe", "1x8", "0.02", "1", 0.1)
    with pytest.raises(ValueError) as study:
        run_study(grid, folder, log=lambda _: None)
    assert not folder.exists()  # refused before the folder was made
    snapshots = pa.table(
        {
            "snapshot": ["1x8@t0.02m"],
            "net": ["1x8"],
            "checkpoint": ["snapshots/1x8@t0.02m/model"],
            "train_seconds": [1.0],
            "train_flops": [1.0],
        }
    )
    with pytest.raises(ValueError) as rating:
        snapshot_players(folder, grid, snapshots)
    model = (folder / snapshots["checkpoint"][0].as_py()).absolute()
    rules = {
        refusal(league.value, folder),
        refusal(study.value, folder),
        refusal(rating.value, model),
    }
    assert rules == {RULE}
    assert "key 'out'" in str(league.value)  # the config says which key


def test_a_path_without_separators_passes_and_parses_back(tmp_path):
    path = spec_path(tmp_path / "run" / "model", "a snapshot")
    assert path.is_absolute()
    assert parse(f"az:{path},sims=4") == ("az", str(path), {"sims": "4"})
