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
WIDTH = BETTING + 1


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


@njit(cache=True, inline="always")
def _dealt(g, data, i, card):
    for p in range(g.players):
        if data[i, CARDS + p] == card:
            return True
    return False


@njit(cache=True, inline="always")
def is_legal(g, data, i, action):
    if data[i, DONE] or action < 0:
        return False
    if data[i, TO_PLAY] == CHANCE:
        return action <= g.players and not _dealt(g, data, i, action)
    return action <= BET


@njit(cache=True, inline="always")
def legal_row(g, data, i, mask):
    mask[i, :] = False
    if data[i, DONE]:
        return 0
    if data[i, TO_PLAY] == CHANCE:
        for card in range(g.players + 1):
            mask[i, card] = not _dealt(g, data, i, card)
        return g.players + 1 - data[i, PLY]
    mask[i, PASS] = True
    mask[i, BET] = True
    return 2


@njit(cache=True, inline="always")
def chance_row(g, data, i, probs):
    left = g.players + 1 - data[i, PLY]  # cards not yet dealt, each equally likely
    for card in range(g.players + 1):
        probs[i, card] = 0.0 if _dealt(g, data, i, card) else 1.0 / left
    return left


@njit(cache=True, inline="always")
def apply_row(g, data, i, action, rewards):
    n = g.players
    ply = data[i, PLY]
    rewards[i, :] = 0.0
    data[i, PLY] = ply + 1
    data[i, LAST_ACTION] = action
    if ply < n:  # the deal: card `action` to player `ply`
        data[i, CARDS + ply] = action
        data[i, TO_PLAY] = CHANCE if ply + 1 < n else 0
        return
    player = ply % n
    if action == BET:
        if data[i, FIRST_BETTOR] < 0:
            data[i, FIRST_BETTOR] = player
        data[i, BETTORS] |= np.int64(1) << player
        data[i, BETTING] |= np.int64(1) << (ply - n)
    actions = ply + 1 - n
    first = data[i, FIRST_BETTOR]
    if first < 0 and actions == n:  # everyone passed: showdown for the antes
        _showdown(g, data, i, rewards, False)
    elif first >= 0 and actions == n + first:  # everyone answered the first bet
        _showdown(g, data, i, rewards, True)
    else:
        data[i, TO_PLAY] = (ply + 1) % n


@njit(cache=True, inline="always")
def _showdown(g, data, i, rewards, betting):
    """The highest card among the players still in takes the pot."""
    n = g.players
    bettors = data[i, BETTORS]
    winner = -1
    best = -1
    for p in range(n):
        in_hand = not betting or (bettors >> p) & 1
        if in_hand and data[i, CARDS + p] > best:
            best = data[i, CARDS + p]
            winner = p
    pot = 0.0
    for p in range(n):
        pot += 1.0 + ((bettors >> p) & 1)
    for p in range(n):
        stake = 1.0 + ((bettors >> p) & 1)
        rewards[i, p] = pot - stake if p == winner else -stake
    data[i, DONE] = 1
    data[i, WINNER] = winner


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
