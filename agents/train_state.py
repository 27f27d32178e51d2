"""A learner's training state on disk: optimizer state and buffers, never pickled.

`torch.save(optimizer.state_dict())` would be a pickle, and loading a pickle runs code. So
the state is split into what safetensors can hold and what JSON can hold:

    DIR/train_state.safetensors   optimizer/<param id>/<name>  per-parameter tensors
                                  (Adam: exp_avg, exp_avg_sq, step), and
                                  array/<name>                 the caller's numpy arrays
                                  (replay or rollout buffers)
    DIR/train_state.json          format, format_version, the optimizer's class name, its
                                  param_groups (hyperparameters), any non-tensor per-parameter
                                  state, the caller's JSON, and tensors = {file, bytes, sha256}

Both files are written under hidden temporary names, fsynced and renamed into place, tensors
first and JSON last (as `agents.checkpoint` does); the sha256 in the JSON ties the pair, so a
crash between the renames is reported instead of loading a mismatched pair.

To tie the training state to the network it trains, a learner saves its checkpoint first and
puts the checkpoint's weights sha256 in `extra_json`, then checks it on load.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from agents.checkpoint import (
    CheckpointError,
    check_safetensors_header,
    read_sidecar,
    write_with_sidecar,
)

FORMAT = "arena-train-state"
FORMAT_VERSION = 1
STEM = "train_state"
_OPTIMIZER = "optimizer/"
_ARRAY = "array/"


def training_state_paths(directory: str | os.PathLike) -> tuple[Path, Path]:
    """(tensors file, JSON file) of the training state in `directory`."""
    directory = Path(directory)
    return directory / f"{STEM}.safetensors", directory / f"{STEM}.json"


def save_training_state(
    directory: str | os.PathLike,
    optimizer: torch.optim.Optimizer,
    extra_arrays: dict[str, np.ndarray] | None = None,
    extra_json: dict | None = None,
) -> tuple[Path, Path]:
    """Write `optimizer`'s full state plus `extra_arrays` and `extra_json` into `directory`
    atomically; returns the two file paths."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict] = {}  # non-tensor per-parameter state (some optimizers keep floats)
    for param_id, entries in state["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{_OPTIMIZER}{param_id}/{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(param_id), {})[key] = value
    for name, array in (extra_arrays or {}).items():
        if not isinstance(name, str):
            raise TypeError(f"extra array names must be strings, got {name!r}")
        array = np.asarray(array)
        if array.dtype == object:
            raise TypeError(f"extra array {name!r} holds Python objects; use a numeric dtype")
        tensors[f"{_ARRAY}{name}"] = torch.from_numpy(np.ascontiguousarray(array))
    data = save_safetensors(tensors, metadata={"format": FORMAT})
    tensors_path, json_path = training_state_paths(directory)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "optimizer": {
            "class": type(optimizer).__name__,
            "param_groups": state["param_groups"],
            "scalars": scalars,
        },
        "arrays": sorted(extra_arrays or {}),
        "extra": dict(extra_json or {}),
    }
    write_with_sidecar(tensors_path, data, json_path, meta, "tensors", "training state")
    return tensors_path, json_path


def load_training_state(
    directory: str | os.PathLike, optimizer: torch.optim.Optimizer
) -> tuple[dict[str, np.ndarray], dict]:
    """Load the optimizer state saved in `directory` into `optimizer` (built over the same
    parameters, in the same order); returns (extra arrays, extra JSON).

    Raises FileNotFoundError when a file is missing and CheckpointError for files that are
    not a training state, do not belong together, or were saved from another optimizer.
    """
    tensors_path, json_path = training_state_paths(directory)
    for path in (tensors_path, json_path):
        if not path.is_file():
            raise FileNotFoundError(f"no training state at {directory}: {path} does not exist")
    meta = _read_meta(json_path)
    data = tensors_path.read_bytes()
    check_safetensors_header(data, tensors_path)
    if hashlib.sha256(data).hexdigest() != meta["tensors"].get("sha256"):
        raise CheckpointError(
            f"{tensors_path} does not match the sha256 in {json_path}: the two files come "
            "from different saves (or one is damaged)"
        )
    try:
        tensors = load_safetensors(data)
    except SafetensorError as err:
        raise CheckpointError(f"{tensors_path} is a damaged safetensors file: {err}") from None

    saved = meta["optimizer"]
    if saved["class"] != type(optimizer).__name__:
        raise CheckpointError(
            f"{json_path} holds a {saved['class']} state, not a {type(optimizer).__name__} one"
        )
    state: dict[int, dict] = {}
    for key, tensor in tensors.items():
        if key.startswith(_OPTIMIZER):
            param_id, _, name = key[len(_OPTIMIZER) :].partition("/")
            state.setdefault(int(param_id), {})[name] = tensor
    for param_id, entries in saved["scalars"].items():
        state.setdefault(int(param_id), {}).update(entries)
    if len(saved["param_groups"]) != len(optimizer.param_groups):
        raise CheckpointError(
            f"{json_path} has {len(saved['param_groups'])} parameter groups, "
            f"this optimizer {len(optimizer.param_groups)}"
        )
    # JSON turned tuples (Adam's betas) into lists; give them back the optimizer's own types.
    groups = [
        {k: tuple(v) if isinstance(current.get(k), tuple) else v for k, v in group.items()}
        for group, current in zip(saved["param_groups"], optimizer.param_groups, strict=True)
    ]
    try:
        optimizer.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, KeyError) as err:  # another parameter layout
        raise CheckpointError(f"{json_path} does not fit this optimizer: {err}") from None

    arrays = {name: tensors[f"{_ARRAY}{name}"].numpy() for name in meta["arrays"]}
    return arrays, meta["extra"]


def _read_meta(path: Path) -> dict:
    required = ("optimizer", "arrays", "extra", "tensors")
    return read_sidecar(path, FORMAT, FORMAT_VERSION, required, "training state")
