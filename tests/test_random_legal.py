"""The random legal pick is part of every stored replay: its results must never change."""

import numpy as np
import pytest

from games import batched
from games.rng import below, next_random


def reference_pick(mask: np.ndarray, rng: np.ndarray) -> np.ndarray:
    """The rule as first written: count the legal actions, draw k, walk to the k-th."""
    out = np.full(mask.shape[0], -1, dtype=np.int64)
    for i, row in enumerate(mask):
        legal = np.flatnonzero(row)
        if len(legal):
            rng[i], bits = next_random(rng[i])
            out[i] = legal[below(np.uint64(bits), len(legal))]
    return out


@pytest.mark.parametrize("kernel", [batched.random_legal, batched.random_legal_parallel])
def test_random_legal_matches_the_reference_rule_on_random_masks(kernel):
    gen = np.random.default_rng(5)
    for width in (1, 2, 7, 8, 9, 16, 65, 82, 121, 362):
        for density in (0.0, 0.02, 0.3, 0.9, 1.0):
            mask = gen.random((300, width)) < density
            mask[0] = False  # no legal action: -1, and the random state does not move
            mask[1] = False
            mask[1, -1] = True  # only the last action: the walk must reach the row's end
            seeds = gen.integers(0, 2**62, size=300)
            rng, expected_rng = seeds.copy(), seeds.copy()
            out = np.empty(300, dtype=np.int64)
            for _ in range(3):  # successive draws from the advanced states
                kernel(mask, rng, out)
                np.testing.assert_array_equal(out, reference_pick(mask, expected_rng))
                np.testing.assert_array_equal(rng, expected_rng)
