#!/usr/bin/env bash
# Set everything up from scratch and run the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
ARENA_EXTRAS="${ARENA_EXTRAS:-dev,ray}" bash scripts/setup.sh
bash scripts/install-browser.sh
.venv/bin/python -m pytest -q -n 2 --dist loadgroup "$@"
