"""The Python examples of docs/replays.md, run against a real run made by the real writer,
so the documentation cannot drift from the code."""

import re
from pathlib import Path

import pytest

import replays
from replays import schema
from tests.test_replays import league_run

DOC = Path(__file__).resolve().parents[1] / "docs" / "replays.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_doc_describes_every_column_and_metadata_key():
    text = DOC.read_text()
    for name in replays.SCHEMA.names:
        assert f"| `{name}` |" in text, f"column {name} is not in the schema table"
    keys = [schema.VERSION_KEY, schema.GAME_KEY, schema.NUM_PLAYERS_KEY]
    keys += [schema.NUM_ACTIONS_KEY, schema.OBS_SHAPE_KEY, schema.REPLACES_KEY]
    for key in keys:
        assert f"| `{key.decode()}` |" in text, f"metadata key {key} is not documented"
    for termination in replays.TERMINATIONS:
        assert f"`{termination}`" in text


def test_doc_examples_run(tmp_path, monkeypatch, capsys):
    league_run(tmp_path / "run")  # 121 tic-tac-toe games in two part files
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks()
    assert len(blocks) >= 8
    for i, block in enumerate(blocks):
        try:
            # each block in its own namespace: every example must stand on its own
            exec(compile(block, f"{DOC.name}, python block {i}", "exec"), {})
        except Exception as e:
            pytest.fail(f"{DOC.name} python block {i} failed: {e!r}\n{block}")
    out = capsys.readouterr().out
    assert "121 games in 2 files" in out
    assert "1 merged files written, 2 files removed" in out
    assert "121 games, as before" in out
    assert replays.load_game("my-run", "m-0001", 1).winner == -1
