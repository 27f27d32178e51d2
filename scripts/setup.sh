#!/usr/bin/env bash
# Create .venv and install the project with its dev tools, from scratch if need be.
# torch: a machine with an NVIDIA GPU gets pip's default (CUDA) build; a CPU-only machine
# gets the CPU build pinned in ARENA_CPU_TORCH, so the multi-GB CUDA wheels are never fetched.
set -euo pipefail

# PyTorch's own CPU-only wheel index (what pytorch.org's install selector gives for "CPU"):
# on PyPI the same version is a CUDA build with several GB of NVIDIA libraries.
TORCH_CPU_INDEX=${ARENA_TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}

# Install torch $1 from the CPU index when it answers within a few seconds; otherwise (a
# closed network, a mirror-only machine) fall back to the plain version pin from pip's
# configured indexes. The probe is separate from pip so that the fallback is a decision we
# print, not pip's silent retry loop.
install_cpu_torch() {
  if python - "$TORCH_CPU_INDEX" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1].rstrip("/") + "/torch/", timeout=5).close()
except Exception:
    sys.exit(1)
PY
  then
    echo "installing $1 from PyTorch's CPU index $TORCH_CPU_INDEX"
    python -m pip install --quiet --timeout 10 --retries 0 --index-url "$TORCH_CPU_INDEX" "$1"
  else
    echo "PyTorch's CPU index $TORCH_CPU_INDEX did not answer; installing $1 from pip's indexes"
    python -m pip install --quiet "$1"
  fi
}
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
    install_cpu_torch "${ARENA_CPU_TORCH:-torch==2.13.0}"
  fi
fi
python -m pip install --quiet -e ".[${EXTRAS}]"
