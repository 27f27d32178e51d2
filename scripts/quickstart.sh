#!/usr/bin/env bash
# Set everything up from scratch and run the main job: a Connect Four league that trains on
# 2 CPU cores in about 10 minutes and prints the final ratings table.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/arena league run --game connect_four --out runs/quickstart --minutes "${ARENA_MINUTES:-8}"
