"""Kuhn poker for 2 to 10 players, as OpenSpiel's `kuhn_poker(players=N)`.

A deck of N + 1 cards (0 is the lowest); every player antes one chip. Chance deals one
card to each player in seat order (outcome = the card). Then each player in turn passes (0)
or bets (1) one chip: a round of passes goes to showdown, and after the first bet every
other player once calls (bet) or folds (pass). The highest card still in wins the pot.

The worked example of a game with chance and hidden information (docs/adding-a-game.md):
the history (deals, then bets) is the game's action list, as OpenSpiel's `history()`.
"""

import numpy as np
from numba import njit

from games import render
from games.contract import Param, Shape
from games.layout import CHANCE, DONE, HEADER, LAST_ACTION, PLY, TO_PLAY, WINNER, start_row

NAME = "kuhn_poker"
PARAMS = {"players": Param(int, 2, "number of players", low=2, high=10)}
PASS, BET = 0, 1

# Row columns after the header (N = players):
CARDS = HEADER  # N columns: the card dealt to each player, -1 before the deal
FIRST_BETTOR = HEADER + 10  # the first player to bet, -1 while nobody has
BETTORS = FIRST_BETTOR + 1  # bit p: player p has put a second chip in
BETTING = BETTORS + 1  # bit k: the k-th betting action was a bet (info states, strings)
DEALT = BETTING + 1  # bit c: card c has been dealt
WIDTH = DEALT + 1


def shape(g) -> Shape:
    n = int(g.players)
    # Observation: OpenSpiel's information-state tensor: the observer (one-hot), its card
    # (one-hot of N + 1), then each betting action so far as a one-hot pass/bet pair.
    obs = n + (n + 1) + 2 * (2 * n - 1)
    return Shape(n + 1, n, (obs,), n + 2 * n - 1, WIDTH, chance=True, hidden=True)


def symmetries(g) -> list[tuple[str, np.ndarray]]:
    return [("identity", np.arange(int(g.players) + 1))]


@njit(cache=True, inline="always")
def init_row(g, data, i, seed):
    start_row(data, i, seed)
    for p in range(g.players):
        data[i, CARDS + p] = -1
    data[i, FIRST_BETTOR] = -1
    data[i, TO_PLAY] = CHANCE


# The primitives have one exit each: Numba keeps a reference count increment and decrement
# of `data` around every call of an inlined primitive with several exits, which cost more
# than the primitive itself in the batched kernels (see games/leduc_poker.py).


@njit(cache=True, inline="always")
def is_legal(g, data, i, action):
    chance = data[i, TO_PLAY] == CHANCE
    free = (action <= g.players) & ((data[i, DEALT] >> (action & 15)) & 1 == 0)
    return (data[i, DONE] == 0) & (action >= 0) & (free if chance else action <= BET)


@njit(cache=True, inline="always")
def legal_row(g, data, i, mask):
    live = data[i, DONE] == 0
    chance = data[i, TO_PLAY] == CHANCE
    dealt = data[i, DEALT]
    count = 0
    for a in range(g.players + 1):
        legal = live & (((dealt >> a) & 1 == 0) if chance else a <= BET)
        mask[i, a] = legal
        count += legal
    return count


@njit(cache=True, inline="always")
def chance_row(g, data, i, probs):
    dealt = data[i, DEALT]
    odds = 1.0 / (g.players + 1 - data[i, PLY])  # each card not yet dealt, equally likely
    for card in range(g.players + 1):
        probs[i, card] = odds * (1 - ((dealt >> card) & 1))
    return g.players + 1 - data[i, PLY]


@njit(cache=True, inline="always")
def apply_row(g, data, i, action, rewards):
    n = g.players
    ply = data[i, PLY]
    data[i, PLY] = ply + 1
    data[i, LAST_ACTION] = action
    if ply < n:  # the deal: card `action` to player `ply`
        data[i, CARDS + ply] = action
        data[i, DEALT] |= np.int64(1) << action
        data[i, TO_PLAY] = CHANCE if ply + 1 < n else 0
        first, bettors, over = -1, np.int64(0), False
    else:
        player = data[i, TO_PLAY]
        bet = np.int64(action == BET)
        first = data[i, FIRST_BETTOR]
        first = player if bet & (first < 0) else first
        data[i, FIRST_BETTOR] = first
        bettors = data[i, BETTORS] | (bet << player)
        data[i, BETTORS] = bettors
        data[i, BETTING] |= bet << (ply - n)
        # Everyone passed, or everyone answered the first bet: showdown.
        over = ply + 1 - n == (n if first < 0 else n + first)
        after = player + 1
        data[i, TO_PLAY] = player if over else (0 if after == n else after)
    # The showdown is worked out at every step and counts only at the end: a loop inside a
    # branch would cost a reference count pair per call (see above).
    winner = -1  # the highest card among the players still in takes the pot
    best = -1
    pot = 0.0
    for p in range(n):
        card = data[i, CARDS + p]
        better = ((first < 0) | ((bettors >> p) & 1 == 1)) & (card > best)
        winner = p if better else winner
        best = card if better else best
        pot += 1.0 + ((bettors >> p) & 1)
    scale = np.float64(over)
    for p in range(n):
        rewards[i, p] = scale * (pot * (p == winner)) - scale * (1.0 + ((bettors >> p) & 1))
    data[i, DONE] = over
    data[i, WINNER] = winner if over else -1


@njit(cache=True, inline="always")
def info_key_row(g, data, i, player):
    """The player's card (+1, 0 before the deal), the number of betting actions and their
    pass/bet bits: exactly what OpenSpiel's information state string holds."""
    taken = max(data[i, PLY] - g.players, 0)
    card = data[i, CARDS + player] + 1
    return (data[i, BETTING] << 10 | taken << 5) | card


@njit(cache=True, inline="always")
def observe_row(g, data, i, player, out):
    n = g.players
    out[i, :] = 0.0
    out[i, player] = 1.0
    card = data[i, CARDS + player]
    if card >= 0:
        out[i, n + card] = 1.0
    base = 2 * n + 1
    for k in range(max(data[i, PLY] - n, 0)):
        out[i, base + 2 * k + ((data[i, BETTING] >> k) & 1)] = 1.0


def info_string(g, row: np.ndarray, player: int) -> str:
    """OpenSpiel's information_state_string: the player's card, then p/b per betting action."""
    n = int(g.players)
    card = int(row[CARDS + player])
    taken = max(int(row[PLY]) - n, 0)
    bets = "".join("b" if int(row[BETTING]) >> k & 1 else "p" for k in range(taken))
    return (str(card) if card >= 0 else "") + bets


def text(g, row: np.ndarray) -> str:
    """Every card face up, with whose it is, and the betting so far."""
    n = int(g.players)
    cards = " ".join(
        f"p{p}:{int(row[CARDS + p])}" if row[CARDS + p] >= 0 else f"p{p}:-" for p in range(n)
    )
    taken = max(int(row[PLY]) - n, 0)
    bets = "".join("b" if int(row[BETTING]) >> k & 1 else "p" for k in range(taken))
    return f"{cards} | {bets or '(no bets yet)'}"


def hands(g, row: np.ndarray) -> list[list[int]]:
    return [[int(row[CARDS + p])] for p in range(int(g.players))]


svg, rgb = render.card_pictures(text, hands)
