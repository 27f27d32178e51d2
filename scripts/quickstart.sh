#!/usr/bin/env bash
# Set everything up from scratch and run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/arena bench engine --game connect_four
