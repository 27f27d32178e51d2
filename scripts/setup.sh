#!/usr/bin/env bash
# Create .venv and install the project with its dev tools, from scratch if need be.
# torch: a machine with an NVIDIA GPU gets pip's default (CUDA) build; a CPU-only machine
# gets the CPU build pinned in ARENA_CPU_TORCH, so the multi-GB CUDA wheels are never fetched.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
EXTRAS=${ARENA_EXTRAS:-dev}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
if ! python -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    python -m pip install --quiet "${ARENA_GPU_TORCH:-torch>=2.4}"
  else
    python -m pip install --quiet "${ARENA_CPU_TORCH:-torch==2.13.0}"
  fi
fi
python -m pip install --quiet -e ".[${EXTRAS}]"
