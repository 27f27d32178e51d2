"""Small counter-based random numbers usable inside Numba kernels.

All arithmetic is on explicit uint64 values: Numba turns mixed int64/uint64 arithmetic
into float64, which would silently lose bits.
"""

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def splitmix64(x) -> np.uint64:
    """One SplitMix64 step: a well-mixed 64-bit value from any 64-bit input."""
    z = np.uint64(x) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def seed_for(seed, index) -> np.int64:
    """A per-game seed (non-negative int63) from a batch seed and a game index."""
    return np.int64(splitmix64(splitmix64(seed) ^ np.uint64(index)) >> np.uint64(1))


@njit(cache=True, inline="always")
def next_random(state) -> tuple:
    """Advance a non-negative int63 random state; returns (new_state, 64 random bits)."""
    bits = splitmix64(state)
    return np.int64(bits >> np.uint64(1)), bits


@njit(cache=True, inline="always")
def below(bits, n) -> np.int64:
    """An integer uniform in [0, n) from 64 random bits (multiply-shift, bias < 2**-32)."""
    return np.int64(((bits >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32))
