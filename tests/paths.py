"""Where the tests find the public Connect Four benchmark positions.

`ARENA_BENCHMARKS` wins; otherwise the `shared/benchmarks` folder that sits beside the
repository (as on the developers' machines and in CI).
"""

import os
from pathlib import Path

BENCHMARKS = Path(
    os.environ.get(
        "ARENA_BENCHMARKS", Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
    )
)
CONNECT4 = BENCHMARKS / "connect4"
