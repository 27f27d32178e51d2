"""Torch device choice: `auto` takes CUDA when there is a GPU, else the CPU."""

from __future__ import annotations

import os
import re

import torch

_CUDA = re.compile(r"cuda(?::(\d+))?")


_threads_configured = False


def configure_cpu_threads() -> None:
    """Give torch one intra-op CPU thread unless ARENA_TORCH_THREADS asks for more.

    Our forward passes are small (tens to hundreds of board positions); with two threads on
    a busy 2-core machine each one waited on a descheduled peer, and a forward of a 2-block
    net took 100 ms instead of 2 ms (measured). Runs once per process.
    """
    global _threads_configured
    if not _threads_configured:
        torch.set_num_threads(int(os.environ.get("ARENA_TORCH_THREADS", "1")))
        _threads_configured = True


def resolve_device(spec: str | torch.device = "auto") -> torch.device:
    """The torch device for `spec`: "auto", "cpu", "cuda" or "cuda:N".

    Resolving to the CPU also applies `configure_cpu_threads`.

    Raises ValueError for an unknown name, or for a CUDA device this machine does not have,
    rather than failing later inside the first forward pass.
    """
    if isinstance(spec, torch.device):
        spec = str(spec)
    if not isinstance(spec, str):
        raise TypeError(f"device must be a string or torch.device, got {type(spec).__name__}")
    name = spec.strip().lower()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        configure_cpu_threads()
        return torch.device("cpu")
    match = _CUDA.fullmatch(name)
    if match is None:
        raise ValueError(f"unknown device {spec!r}; use auto, cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise ValueError(
            f"device {spec!r} requested but CUDA is not available here "
            f"(torch {torch.__version__}); use cpu or auto"
        )
    index = int(match.group(1) or 0)
    count = torch.cuda.device_count()
    if index >= count:
        raise ValueError(f"device {spec!r} does not exist: this machine has {count} CUDA device(s)")
    return torch.device("cuda", index)
