"""Checkpoints: round trip, sidecar, atomic writes, and every kind of bad input."""

from __future__ import annotations

import json
import os
import pickle
from datetime import datetime
from pathlib import Path

import pytest
import torch

import games
from agents.checkpoint import (
    FORMAT,
    FORMAT_VERSION,
    CheckpointError,
    checkpoint_paths,
    load_checkpoint,
    save_checkpoint,
)
from agents.network import NetConfig, build_network

C4 = games.make("connect_four")


def small(seed=0, **sizes):
    torch.manual_seed(seed)
    config = NetConfig.for_game(C4, **{"blocks": 1, "channels": 8, **sizes})
    model = build_network(config)
    # Non-default batch-norm statistics, so that buffers must round-trip too.
    model.train()
    with torch.no_grad():
        model(torch.randn(16, *C4.obs_shape))
    return model.eval(), config


class Booby:
    """Unpickling this creates the file `marker` (as any code in a pickle could)."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


@pytest.fixture
def saved(tmp_path):
    model, config = small()
    stem = tmp_path / "agents" / "a1" / "model"
    save_checkpoint(stem, model, config, C4.name, {"lr": 0.001, "batch": 256}, "a0/model", 1200)
    return stem, model, config


def test_round_trip_weights_and_metadata(saved):
    stem, model, config = saved
    for path in (stem, f"{stem}.safetensors", f"{stem}.json"):
        loaded, meta = load_checkpoint(path, game=C4, expected_architecture=config, device="cpu")
        assert not loaded.training and loaded.config == config
        original, again = model.state_dict(), loaded.state_dict()
        assert original.keys() == again.keys()
        assert all(torch.equal(original[k], again[k]) for k in original)
    obs = torch.from_numpy(C4.observe(C4.play_sequences([[3, 3, 4]])))
    with torch.no_grad():
        torch.testing.assert_close(model(obs), loaded(obs), rtol=0, atol=0)
    assert meta["format"] == FORMAT and meta["format_version"] == FORMAT_VERSION
    assert meta["game"] == "connect_four"
    assert NetConfig.from_dict(meta["architecture"]) == config
    assert meta["hyperparameters"] == {"lr": 0.001, "batch": 256}
    assert meta["parent"] == "a0/model" and meta["step"] == 1200
    assert datetime.fromisoformat(meta["created_at"]).tzinfo is not None
    assert meta["weights"]["file"] == "model.safetensors"
    assert meta["weights"]["bytes"] == os.path.getsize(f"{stem}.safetensors")


def test_writes_only_the_two_files_and_overwrites_atomically(saved, monkeypatch):
    stem, _, config = saved
    assert sorted(os.listdir(stem.parent)) == ["model.json", "model.safetensors"]
    # A crash between the two renames: new weights next to old metadata.
    other, _ = small(seed=1)
    real_replace = os.replace

    def crash_on_metadata(src, dst):
        if str(dst).endswith(".json"):
            raise OSError("disk gone")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_metadata)
    with pytest.raises(OSError, match="disk gone"):
        save_checkpoint(stem, other, config, C4.name)
    monkeypatch.undo()
    assert sorted(os.listdir(stem.parent)) == ["model.json", "model.safetensors"]  # no temps
    with pytest.raises(CheckpointError, match="different saves"):
        load_checkpoint(stem, device="cpu")
    save_checkpoint(stem, other, config, C4.name, step=5)
    assert load_checkpoint(stem, device="cpu")[1]["step"] == 5


def test_missing_files(saved, tmp_path):
    stem, _, _ = saved
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "nothing")
    Path(f"{stem}.json").unlink()
    with pytest.raises(FileNotFoundError, match="metadata"):
        load_checkpoint(stem)


def test_pickles_and_other_foreign_files_are_refused_unopened(saved, tmp_path):
    stem, model, _ = saved
    marker = tmp_path / "unpickled"
    payload = pickle.dumps(Booby(marker))
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(payload)
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(evil)
    weights, _ = checkpoint_paths(stem)
    weights.write_bytes(payload)  # a pickle under the weights' name, metadata intact
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(stem)
    torch.save(model.state_dict(), weights)  # torch.save: a zip holding a pickle
    with pytest.raises(CheckpointError, match="zip or torch.save"):
        load_checkpoint(stem)
    weights.write_bytes(b"hello")
    with pytest.raises(CheckpointError, match="not a safetensors"):
        load_checkpoint(stem)
    assert not marker.exists()
    pickle.loads(pickle.dumps(Booby(tmp_path / "control")))  # the payload is live
    assert (tmp_path / "control").exists()


def test_damaged_weights_and_corrupt_metadata(saved):
    stem, _, _ = saved
    weights, meta_path = checkpoint_paths(stem)
    good = weights.read_bytes()
    weights.write_bytes(good[:-100])  # valid header, truncated data
    with pytest.raises(CheckpointError, match="different saves"):
        load_checkpoint(stem)
    weights.write_bytes(good)
    text = meta_path.read_text()
    meta_path.write_text(text[: len(text) // 2])
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(stem)
    meta_path.write_text("{}")
    with pytest.raises(CheckpointError, match="not checkpoint metadata"):
        load_checkpoint(stem)
    meta = json.loads(text)
    meta_path.write_text(json.dumps({**meta, "format_version": FORMAT_VERSION + 1}))
    with pytest.raises(CheckpointError, match="format_version"):
        load_checkpoint(stem)


def test_wrong_game_and_architecture(saved):
    stem, _, config = saved
    with pytest.raises(CheckpointError, match="is for 'connect_four', not 'tic_tac_toe'"):
        load_checkpoint(stem, game=games.make("tic_tac_toe"))
    with pytest.raises(CheckpointError, match="channels: 8 \\(expected 16\\)"):
        load_checkpoint(stem, expected_architecture={**config.to_dict(), "channels": 16})
    # Metadata describing another network than the weights hold.
    _, meta_path = checkpoint_paths(stem)
    meta = json.loads(meta_path.read_text())
    meta["architecture"]["blocks"] = 2
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="architecture mismatch.*missing tower.1"):
        load_checkpoint(stem)


def test_save_refuses_a_config_that_does_not_describe_the_model(tmp_path):
    model, config = small()
    with pytest.raises(CheckpointError, match="architecture mismatch"):
        save_checkpoint(tmp_path / "m", model, NetConfig.for_game(C4, blocks=1, channels=16), "x")
    with pytest.raises(TypeError, match="JSON"):
        save_checkpoint(tmp_path / "m", model, config, C4.name, {"schedule": object()})
    assert not list(tmp_path.iterdir())
