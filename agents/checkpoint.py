"""Checkpoints: safetensors weights plus a JSON sidecar, written atomically, never unpickled.

Layout: a checkpoint is a path stem PATH naming two files,

    PATH.safetensors   every tensor of the network's state_dict (CPU, contiguous)
    PATH.json          metadata: format, format_version, game, architecture (a NetConfig as
                       a dict), hyperparameters, parent, step, created_at (ISO 8601, UTC)
                       and weights = {file, bytes, sha256} of the safetensors file

e.g. `runs/r1/agents/a7/model` -> `model.safetensors` + `model.json`. `load_checkpoint`
accepts the stem or either file's path. Each file is written to a hidden temporary name
(`.model.json.<random>.tmp`), fsynced and renamed into place, weights first and metadata
last; the metadata's sha256 ties the pair together, so a crash between the two renames
(or a stray copy) is reported instead of loading mismatched weights.

Loading reads bytes and parses JSON and safetensors only (no torch.load, no pickle), so a
hostile file can at worst be rejected; the sidecar's architecture is bounded (MAX_BLOCKS,
MAX_CHANNELS) and checked against the tensor shapes in the safetensors header before any
network is built, so a small sidecar cannot force large work. The sha256 of the weights is
also a checkpoint's identity: runs record it for every checkpoint a user names.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import nn

from agents.device import resolve_device
from agents.network import NetConfig, build_network, state_shapes
from games import Game

FORMAT = "arena-checkpoint"
FORMAT_VERSION = 1
WEIGHTS_SUFFIX = ".safetensors"
META_SUFFIX = ".json"
_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit on the JSON header


class CheckpointError(ValueError):
    """A file that is not a valid checkpoint, or one that does not fit what was asked."""


def checkpoint_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """(weights file, metadata file) of the checkpoint at a stem or at either file."""
    path = Path(path)
    if path.suffix in (WEIGHTS_SUFFIX, META_SUFFIX):
        path = path.with_suffix("")
    return Path(f"{path}{WEIGHTS_SUFFIX}"), Path(f"{path}{META_SUFFIX}")


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    config: NetConfig,
    game_name: str,
    hyperparameters: dict | None = None,
    parent: str | None = None,
    step: int = 0,
) -> tuple[Path, Path]:
    """Write `model`'s weights and metadata at stem `path`; returns the two file paths."""
    if not isinstance(config, NetConfig):
        raise TypeError(f"config must be a NetConfig, got {type(config).__name__}")
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    _check_tensors(config, {k: tuple(v.shape) for k, v in tensors.items()}, "the model")
    weights = save_safetensors(tensors, metadata={"format": FORMAT})
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "game": str(game_name),
        "architecture": config.to_dict(),
        "hyperparameters": dict(hyperparameters or {}),
        "parent": parent,
        "step": int(step),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    weights_path, meta_path = checkpoint_paths(path)
    write_with_sidecar(weights_path, weights, meta_path, meta, "weights", "hyperparameters")
    return weights_path, meta_path


def write_with_sidecar(
    data_path: Path, data: bytes, meta_path: Path, meta: dict, key: str, what: str
) -> None:
    """Write safetensors bytes and their JSON sidecar atomically; the sidecar records the
    bytes' name, size and sha256 under `key`, so a torn pair is detected on load. `what`
    names the caller's fields in the error for values JSON cannot hold."""
    meta[key] = {"file": data_path.name, "bytes": len(data), "sha256": _sha256(data)}
    try:
        text = json.dumps(meta, indent=2, sort_keys=True, allow_nan=False) + "\n"
    except (TypeError, ValueError) as err:
        raise TypeError(f"{what} must be JSON-serialisable: {err}") from None
    data_path.parent.mkdir(parents=True, exist_ok=True)
    _write_pair_atomically([(data_path, data), (meta_path, text.encode())])


def load_checkpoint(
    path: str | os.PathLike,
    game: Game | str | None = None,
    expected_architecture: NetConfig | dict | None = None,
    device: str | torch.device = "auto",
) -> tuple[nn.Module, dict]:
    """(network in eval mode on `device`, metadata dict) of the checkpoint at `path`.

    Raises FileNotFoundError for a missing file and CheckpointError for a file that is not
    a checkpoint (pickles included), corrupt metadata, weights that do not match their
    metadata, a checkpoint of another game, or an architecture other than expected.
    """
    weights_path, meta_path = _existing_paths(Path(path))
    data = weights_path.read_bytes()
    header = check_safetensors_header(data, weights_path)
    if not meta_path.is_file():
        raise FileNotFoundError(
            f"checkpoint metadata {meta_path} is missing (next to {weights_path})"
        )
    meta = _read_meta(meta_path)
    if game is not None:
        want = game if isinstance(game, str) else game.spec
        if meta["game"] != want:
            raise CheckpointError(
                f"checkpoint {weights_path} is for {meta['game']!r}, not {want!r}"
            )
    if _sha256(data) != meta["weights"].get("sha256"):
        raise CheckpointError(
            f"{weights_path} does not match the sha256 in {meta_path}: the two files come "
            "from different saves (or one is damaged)"
        )
    try:
        config = NetConfig.from_dict(meta["architecture"])
    except (ValueError, TypeError) as err:
        raise CheckpointError(f"{meta_path}: invalid architecture: {err}") from None
    if expected_architecture is not None:
        _check_expected(config, expected_architecture, weights_path)
    _check_tensors(config, _header_shapes(header, weights_path), str(weights_path))
    try:
        tensors = load_safetensors(data)
    except SafetensorError as err:
        raise CheckpointError(f"{weights_path} is a damaged safetensors file: {err}") from None
    model = build_network(config)
    model.load_state_dict(tensors)
    return model.to(resolve_device(device)).eval(), meta


def weights_sha256(path: str | os.PathLike) -> str:
    """The sha256 of the weights of the checkpoint at `path` (stem or either file): what its
    sidecar records, and what identifies the checkpoint a run's agent was built from."""
    weights_path, _ = _existing_paths(Path(path))
    return _sha256(weights_path.read_bytes())


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _existing_paths(path: Path) -> tuple[Path, Path]:
    weights_path, meta_path = checkpoint_paths(path)
    if weights_path.is_file():
        return weights_path, meta_path
    if path.is_file() and path != meta_path:  # some other file was passed
        with open(path, "rb") as f:
            head = f.read(8)
        raise CheckpointError(
            f"{path} is {_describe(head)}; a checkpoint is STEM{WEIGHTS_SUFFIX} + STEM{META_SUFFIX}"
        )
    raise FileNotFoundError(f"no checkpoint at {path}: {weights_path} does not exist")


def _describe(head: bytes) -> str:
    """What a foreign file looks like, from its first bytes."""
    if head[:1] == b"\x80":
        return "a pickle (refused: checkpoints are never unpickled)"
    if head[:4] == b"PK\x03\x04":
        return "a zip or torch.save file (refused: checkpoints are never unpickled)"
    return f"not a safetensors checkpoint (first bytes {head!r})"


def check_safetensors_header(data: bytes, path: Path) -> dict:
    """The JSON header of safetensors bytes; anything else is rejected before any parser
    sees it. Safetensors is an 8-byte little-endian header length, then that many bytes of
    a JSON object (tensor name -> dtype, shape, offsets; plus "__metadata__")."""
    size = int.from_bytes(data[:8], "little") if len(data) >= 8 else -1
    header = None
    if 2 <= size <= min(len(data) - 8, _MAX_HEADER):
        try:
            header = json.loads(data[8 : 8 + size].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            header = None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path} is {_describe(data[:8])}")
    return header


def _header_shapes(header: dict, path: Path) -> dict[str, tuple]:
    """Tensor name -> shape as the header declares them (the data itself is checked when
    safetensors loads it, after the shapes fit the architecture)."""
    shapes = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        shape = entry.get("shape") if isinstance(entry, dict) else None
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            raise CheckpointError(f"{path} is a damaged safetensors file: bad entry {name!r}")
        shapes[name] = tuple(shape)
    return shapes


def read_sidecar(path: Path, fmt: str, version: int, required: tuple, what: str) -> dict:
    """A JSON sidecar of format `fmt` (at most `version`) holding the `required` keys;
    CheckpointError naming `what` and the file otherwise."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{what} {path} is not valid JSON: {err}") from None
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        raise CheckpointError(f"{path} is not {what} (no format={fmt!r})")
    found = meta.get("format_version")
    if not isinstance(found, int) or found > version:
        raise CheckpointError(
            f"{path} has format_version {found!r}; this code reads up to {version}"
        )
    missing = [k for k in required if k not in meta]
    if missing:
        raise CheckpointError(f"{what} {path} lacks {missing}")
    return meta


def _read_meta(path: Path) -> dict:
    required = ("game", "architecture", "weights", "step", "created_at")
    meta = read_sidecar(path, FORMAT, FORMAT_VERSION, required, "checkpoint metadata")
    if not isinstance(meta["weights"], dict):
        raise CheckpointError(f"checkpoint metadata {path} lacks ['weights']")
    return meta


def _check_expected(config: NetConfig, expected: NetConfig | dict, path: Path) -> None:
    if isinstance(expected, dict):
        expected = NetConfig.from_dict(expected)
    if config != expected:
        diff = ", ".join(
            f"{k}: {v!r} (expected {expected.to_dict()[k]!r})"
            for k, v in config.to_dict().items()
            if v != expected.to_dict()[k]
        )
        raise CheckpointError(f"checkpoint {path} has another architecture: {diff}")


def _check_tensors(config: NetConfig, shapes: dict[str, tuple], source: str) -> None:
    """Tensor names and shapes must be exactly those of a network built from `config`."""
    want = state_shapes(config)
    problems = [f"missing {k}" for k in sorted(want.keys() - shapes.keys())]
    problems += [f"unexpected {k}" for k in sorted(shapes.keys() - want.keys())]
    problems += [
        f"{k} has shape {list(shapes[k])}, config gives {list(want[k])}"
        for k in sorted(want.keys() & shapes.keys())
        if shapes[k] != want[k]
    ]
    if problems:
        shown = "; ".join(problems[:5]) + (
            f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        )
        raise CheckpointError(
            f"architecture mismatch: tensors of {source} do not fit {config.to_json()}: {shown}"
        )


def _write_pair_atomically(files: list[tuple[Path, bytes]]) -> None:
    """Write every file under a temporary name, fsync, then rename each into place in order."""
    staged = [(p.with_name(f".{p.name}.{uuid.uuid4().hex}.tmp"), p, data) for p, data in files]
    try:
        for temp, _, data in staged:
            with open(temp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        for temp, final, _ in staged:
            os.replace(temp, final)
    finally:
        for temp, _, _ in staged:
            temp.unlink(missing_ok=True)
    _fsync_dir(files[0][0].parent)


def _fsync_dir(directory: Path) -> None:
    """Make the renames durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
