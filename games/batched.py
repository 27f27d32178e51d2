"""Batched kernels built from the single-game primitives of `games.kernels`.

Each kernel exists twice: a serial build, and a `parallel=True` build (prange over the
batch) used for large batches when Numba has more than one thread. Both come from one
Python function, so the two can never disagree. Every kernel takes the game's parameter
tuple `g` first; Numba compiles (and caches) one specialisation per game.
"""

import types

import numpy as np
from numba import njit, prange

from games import kernels
from games.kernels import CHANCE, DONE, PLY, RNG, SIMULTANEOUS, TO_PLAY
from games.layout import inner_njit
from games.rng import below, next_random, seed_for

ERR_RANGE = 1  # action outside [0, num_actions)
ERR_ILLEGAL = 2  # action not legal in the position
ERR_AFTER_END = 3  # action given after the game ended


def _init(g, data, seed):
    for i in prange(data.shape[0]):
        kernels.init_row(g, data, i, seed_for(seed, i))


def _init_seeded(g, data, seeds):
    for i in prange(data.shape[0]):
        kernels.init_row(g, data, i, seeds[i])


def _legal(g, data, out):
    for i in prange(data.shape[0]):
        kernels.legal_row(g, data, i, out)


# The step kernel's rarely taken branches call these: a loop or an inlined primitive inside
# a branch of the per-game loop made Numba keep a reference count increment and decrement
# per game (2 ns of a Leduc poker step). Rows are copied by a loop: a slice assignment
# compiles Numba's shape check and its error message, 2 s of every game's first call.


@inner_njit
def _play_simultaneous(g, data, i, actions, rewards, scratch, joint):
    """Play a simultaneous node's actions on a copy of row i in scratch; whether all were
    legal. A later player's action may be legal only once the earlier ones are taken (the
    game buffers them), and nothing changes on error."""
    _copy_row(data, scratch, i)
    ok = joint
    # From the first player yet to act: a node half played by play_sequences already holds
    # the earlier players' actions.
    for p in range(kernels.actor_row(g, data, i), actions.shape[1] if joint else 0):
        if not kernels.is_legal(g, scratch, i, actions[i, p]):
            ok = False
            break
        kernels.apply_row(g, scratch, i, actions[i, p], rewards)
    return ok


@inner_njit
def _copy_row(source, target, i):
    for k in range(source.shape[1]):
        target[i, k] = source[i, k]


@inner_njit
def _zero_rewards(rewards, i):
    for p in range(rewards.shape[1]):
        rewards[i, p] = 0.0


def _step(g, data, actions, rewards, bad, scratch):
    """Check every live game's action, then play them all; returns the number of bad actions.

    actions is int64[B, 1] (one action or chance outcome per game) or int64[B, num_players]
    (one per player: a decision node takes its mover's, a chance node column 0, and a
    simultaneous node those of the players yet to act there, in player order). When any
    action is out of range or illegal, bad[i] marks the culprits and no game is changed: a
    caller's mistake must never leave half a batch stepped. `scratch` (int64[B, width];
    None for games without simultaneous nodes) holds a simultaneous node's row while its
    actions are checked.
    """
    num_bad = 0
    joint = actions.shape[1] == rewards.shape[1] and actions.shape[1] > 1
    for i in prange(data.shape[0]):
        bad[i] = False
        if data[i, DONE]:
            continue
        mover = data[i, TO_PLAY]
        simultaneous = False
        # `scratch is None` (a game without simultaneous nodes) is settled when Numba types
        # the kernel, which then drops this branch: a second inlined copy of the game's
        # rules for a path it never takes cost a second of every game's first call.
        if scratch is not None:
            if mover == SIMULTANEOUS:
                simultaneous = True
                bad[i] = not _play_simultaneous(g, data, i, actions, rewards, scratch, joint)
        if not simultaneous:
            a = actions[i, mover] if joint and mover >= 0 else actions[i, 0]
            bad[i] = not kernels.is_legal(g, data, i, a)
        num_bad += bad[i]
    if num_bad:
        return num_bad
    for i in prange(data.shape[0]):
        mover = data[i, TO_PLAY]
        if data[i, DONE]:
            _zero_rewards(rewards, i)
            continue
        simultaneous = False
        if scratch is not None:
            if mover == SIMULTANEOUS:
                simultaneous = True
                _copy_row(scratch, data, i)  # played above; its rewards are the last action's
        if not simultaneous:
            a = actions[i, mover] if joint and mover >= 0 else actions[i, 0]
            kernels.apply_row(g, data, i, a, rewards)
    return 0


def _sample_chance(g, data, probs, record, rewards, step_rewards):
    """Resolve every pending chance node by sampling its outcome from the game's own random
    state (data[:, RNG]), until each game is at a decision node or over. Each outcome is
    written at its ply into record[i] (when record has that column: it is the caller's
    table of the game's actions); rewards[i] sums the rewards of these steps. probs and
    step_rewards are scratch. Returns how many outcomes were sampled."""
    # First the games at a chance node, listed without a branch (a serial pass, cheap):
    # whether a game is at one is random in play, and a branch per game on it was
    # mispredicted often enough to cost 3-5 ns a game (Leduc and Kuhn poker).
    pending = np.empty(data.shape[0], dtype=np.int64)
    count = 0
    for i in range(data.shape[0]):
        for p in range(rewards.shape[1]):
            rewards[i, p] = 0.0
        pending[count] = i
        count += (data[i, DONE] == 0) & (data[i, TO_PLAY] == CHANCE)
    total = 0
    for j in prange(count):
        i = pending[j]
        while data[i, DONE] == 0 and data[i, TO_PLAY] == CHANCE:
            kernels.chance_row(g, data, i, probs)
            data[i, RNG], bits = next_random(data[i, RNG])
            u = np.float64(bits >> np.uint64(11)) * 2.0**-53  # uniform in [0, 1)
            # The last possible outcome whose cumulative probability before it is <= u (so
            # the last one takes any rounding left over). A select per outcome rather than a
            # break where the running sum passes u: that branch is mispredicted about once
            # a sample, which measured slower than walking every outcome (Leduc poker).
            outcome = -1
            before = 0.0
            for a in range(probs.shape[1]):
                p = probs[i, a]
                outcome = a if (p > 0.0) & (before <= u) else outcome
                before += p
            if data[i, PLY] < record.shape[1]:
                record[i, data[i, PLY]] = outcome
            kernels.apply_row(g, data, i, outcome, step_rewards)
            for p in range(rewards.shape[1]):
                rewards[i, p] += step_rewards[i, p]
            total += 1
    return total


def _chance_probs(g, data, out):
    """Outcome probabilities at every game's chance node (all zero elsewhere)."""
    for i in prange(data.shape[0]):
        if data[i, DONE] == 0 and data[i, TO_PLAY] == CHANCE:
            kernels.chance_row(g, data, i, out)
        else:
            out[i, :] = 0.0


def _legal_for(g, data, player, out):
    """`player`'s legal actions in every game: at its decision nodes and at simultaneous
    nodes; none elsewhere (chance nodes, the others' turns, finished games)."""
    for i in prange(data.shape[0]):
        mover = data[i, TO_PLAY]
        if data[i, DONE]:
            out[i, :] = False
        elif mover == SIMULTANEOUS:
            kernels.legal_player_row(g, data, i, player, out)
        elif mover == player:
            kernels.legal_row(g, data, i, out)
        else:
            out[i, :] = False


def _info_keys(g, data, player, out):
    """`player`'s information-state key in every game."""
    for i in prange(data.shape[0]):
        out[i] = kernels.info_key_row(g, data, i, player)


def _observe(g, data, player, out):
    """Observations from `player`'s side in every game, or the mover's when player < 0
    (the caller makes sure that every live game then has a mover)."""
    for i in prange(data.shape[0]):
        who = data[i, TO_PLAY] if player < 0 else player
        # A finished game may have ended at a chance or simultaneous node: player 0's view.
        kernels.observe_row(g, data, i, max(who, 0), out)


def _reset_done(g, data, seed):
    """Start a new game in every finished row; the new game's seed mixes seed, index, old seed."""
    # The finished rows listed first, without a branch (as in _sample_chance).
    done = np.empty(data.shape[0], dtype=np.int64)
    count = 0
    for i in range(data.shape[0]):
        done[count] = i
        count += data[i, DONE] != 0
    for j in prange(count):
        i = done[j]
        kernels.init_row(g, data, i, seed_for(seed ^ data[i, RNG], i))
    return count


def _random_legal(mask, rng, out):
    """A uniformly random legal action per row of a legal mask (-1 where none is legal).

    rng holds one int63 random state per game and is advanced in place, so the result does
    not depend on the number of threads.
    """
    n = mask.shape[1]
    for i in prange(mask.shape[0]):
        count = 0
        for a in range(n):
            count += np.int64(mask[i, a])
        if count == 0:
            out[i] = -1
            continue
        rng[i], bits = next_random(rng[i])
        k = below(bits, count)
        # The k-th legal action (from 0). A branch per cell on a random mask is mispredicted
        # about every other cell, so whole blocks of 8 are counted without one and only the
        # block holding the action is walked cell by cell.
        seen = 0
        a = 0
        while a + 8 <= n:
            block = 0
            for j in range(8):
                block += np.int64(mask[i, a + j])
            if seen + block > k:
                break
            seen += block
            a += 8
        while True:
            seen += np.int64(mask[i, a])
            if seen > k:
                break
            a += 1
        out[i] = a


def _play_sequences(g, data, sequences, lengths, rewards, num_actions):
    """Play padded action lists; returns (sequence, ply, error code) of the first error or -1s."""
    for i in range(data.shape[0]):
        for p in range(lengths[i]):
            a = sequences[i, p]
            if data[i, DONE]:
                return i, p, ERR_AFTER_END
            if a < 0 or a >= num_actions:
                return i, p, ERR_RANGE
            if not kernels.is_legal(g, data, i, a):
                return i, p, ERR_ILLEGAL
            kernels.apply_row(g, data, i, a, rewards)
    return -1, -1, 0


def _twin(f, suffix: str):
    """A copy of f under another name, so the parallel build gets its own cache entry."""
    g = types.FunctionType(f.__code__, f.__globals__, f.__name__ + suffix, f.__defaults__)
    g.__qualname__ = f.__qualname__ + suffix
    return g


def builds(f):
    """(serial build, parallel build) of a kernel written with prange."""
    return njit(cache=True)(f), njit(cache=True, parallel=True)(_twin(f, "_parallel"))


init, init_parallel = builds(_init)
init_seeded, init_seeded_parallel = builds(_init_seeded)
legal, legal_parallel = builds(_legal)
step, step_parallel = builds(_step)
sample_chance, sample_chance_parallel = builds(_sample_chance)
chance_probs, chance_probs_parallel = builds(_chance_probs)
legal_for, legal_for_parallel = builds(_legal_for)
info_keys, info_keys_parallel = builds(_info_keys)
observe, observe_parallel = builds(_observe)
reset_done, reset_done_parallel = builds(_reset_done)
random_legal, random_legal_parallel = builds(_random_legal)
play_sequences = njit(cache=True)(_play_sequences)
