"""League metrics files: written per round atomically, read back in round order."""

import pytest

from arena import metrics


def test_rounds_round_trip_in_order(tmp_path):
    for r in (2, 0, 1):
        metrics.write_round(tmp_path, "diversity", r, {"metric": ["a", "b"], "value": [r, r + 0.5]})
    assert metrics.rounds(tmp_path, "diversity") == [0, 1, 2]
    table = metrics.read_table(tmp_path, "diversity")
    assert table["round"].to_pylist() == [0, 0, 1, 1, 2, 2]
    assert table["value"].to_pylist() == [0, 0.5, 1, 1.5, 2, 2.5]
    leftovers = [
        p for p in (tmp_path / "metrics" / "diversity").iterdir() if p.suffix != ".parquet"
    ]
    assert leftovers == []


def test_missing_table_reads_empty_and_unknown_table_is_an_error(tmp_path):
    assert metrics.read_table(tmp_path, "ratings").num_rows == 0
    with pytest.raises(ValueError, match="unknown metrics table 'elo'"):
        metrics.write_round(tmp_path, "elo", 0, {})


def test_wrong_columns_are_refused(tmp_path):
    with pytest.raises(KeyError):
        metrics.write_round(tmp_path, "diversity", 0, {"metric": ["a"]})
    assert metrics.rounds(tmp_path, "diversity") == []
