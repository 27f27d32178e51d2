"""Leduc poker for two players, as OpenSpiel's `leduc_poker` (its default parameters).

A deck of six cards, two suits of three ranks: card c has rank c // 2 (jack, queen, king)
and OpenSpiel's card numbers are the chance outcomes. Each player antes one chip and
chance deals one private card to each, in seat order. Two betting rounds follow, player 0
first in each: fold (0, only when facing a raise), call or check (1), raise (2, at most two
per round; by 2 chips in the first round and 4 in the second). After the first round chance
turns up the public card. A player pairing the public card wins the showdown, else the
higher rank does; equal hands split the pot.

The history (deals, bets, the public card, bets) is the game's action list, as OpenSpiel's
`history()`; see games/kuhn_poker.py for the pattern of a chance + hidden-information game.
"""

import numpy as np
from numba import njit

from games import render
from games.contract import Param, Shape
from games.layout import CHANCE, DONE, HEADER, LAST_ACTION, PLY, TO_PLAY, WINNER, start_row

NAME = "leduc_poker"
PARAMS: dict[str, Param] = {}  # two players only: OpenSpiel's default game
FOLD, CALL, RAISE = 0, 1, 2
DECK = 6  # cards 0..5; card c is rank c // 2 of suit c % 2
MAX_RAISES = 2  # per round
FIRST_RAISE = 2  # chips a raise adds in the first round; twice that in the second
BETS_PER_ROUND = 4  # the longest round: call, raise, raise, call
STARTING_MONEY = 100  # OpenSpiel's chips per player (its strings show what is left)
NO_CARD = -10000  # OpenSpiel's kInvalidCard, as its strings print an undealt card

# Row columns after the header:
CARDS = HEADER  # 2 columns: each player's private card, -1 before the deal
PUBLIC = HEADER + 2  # the public card, -1 before it is turned up
DEALT = PUBLIC + 1  # bit c: card c has left the deck
ROUND = DEALT + 1  # the betting round, 1 or 2
STAKES = ROUND + 1  # what each player must have put in to stay in
ANTE = STAKES + 1  # 2 columns: what each player has put in
RAISES = ANTE + 2  # raises so far in this round
CALLS = RAISES + 1  # calls since the last raise (or the round's start)
# Per round: its actions as 2-bit digits of action + 1 (so the code alone tells sequences
# of different lengths apart), and their count.
SEQ = CALLS + 1  # 2 columns, round 1 and round 2
LEN = SEQ + 2  # 2 columns
WIDTH = LEN + 2


def shape(g) -> Shape:
    # Observation: OpenSpiel's information-state tensor: the observer (one-hot), its card and
    # the public card (one-hot of six each), then each round's bets as call/raise bit pairs.
    obs = 2 + 2 * DECK + 2 * BETS_PER_ROUND * 2
    # Longest history: three deals and two rounds of four bets.
    return Shape(DECK, 2, (obs,), 3 + 2 * BETS_PER_ROUND, WIDTH, chance=True, hidden=True)


def symmetries(g) -> list[tuple[str, np.ndarray]]:
    return [("identity", np.arange(DECK))]


@njit(cache=True, inline="always")
def init_row(g, data, i, seed):
    start_row(data, i, seed)
    data[i, CARDS] = -1
    data[i, CARDS + 1] = -1
    data[i, PUBLIC] = -1
    data[i, ROUND] = 1
    data[i, STAKES] = 1
    data[i, ANTE] = 1
    data[i, ANTE + 1] = 1
    data[i, TO_PLAY] = CHANCE


# The primitives below have one exit and no branches on the action (selects and 0/1
# arithmetic instead). Random play makes such branches unpredictable; and Numba keeps a
# reference count increment and decrement of `data` around each call of a primitive with
# several exits, inlined into a batched kernel, which cost more than the rest of the step.


@njit(cache=True, inline="always")
def is_legal(g, data, i, action):
    player = data[i, TO_PLAY]
    dealt = data[i, DEALT]
    facing_raise = data[i, STAKES] > data[i, ANTE + (player & 1)]
    may_raise = data[i, RAISES] < MAX_RAISES
    bet = (action == CALL) | ((action == RAISE) & may_raise) | ((action == FOLD) & facing_raise)
    deal = (action < DECK) & ((dealt >> (action & 7)) & 1 == 0)
    return (data[i, DONE] == 0) & (action >= 0) & (deal if player == CHANCE else bet)


@njit(cache=True, inline="always")
def legal_row(g, data, i, mask):
    live = data[i, DONE] == 0
    player = data[i, TO_PLAY]
    chance = player == CHANCE
    dealt = data[i, DEALT]
    fold = data[i, STAKES] > data[i, ANTE + (player & 1)]
    raise_ = data[i, RAISES] < MAX_RAISES
    count = 0
    for a in range(DECK):
        bet = (a == CALL) | ((a == RAISE) & raise_) | ((a == FOLD) & fold)
        legal = live & (((dealt >> a) & 1 == 0) if chance else bet)
        mask[i, a] = legal
        count += legal
    return count


@njit(cache=True, inline="always")
def chance_row(g, data, i, probs):
    dealt = data[i, DEALT]
    # Cards still in the deck, each equally likely: two private cards, then the public one.
    left = DECK - (data[i, CARDS] >= 0) - (data[i, CARDS + 1] >= 0) - (data[i, PUBLIC] >= 0)
    odds = 1.0 / left
    for card in range(DECK):
        probs[i, card] = odds * (1 - ((dealt >> card) & 1))
    return left


@njit(cache=True, inline="always")
def apply_row(g, data, i, action, rewards):
    data[i, PLY] += 1
    data[i, LAST_ACTION] = action
    player = data[i, TO_PLAY]
    if player == CHANCE:
        # The next card: player 0's, player 1's, then the public card (PUBLIC == CARDS + 2).
        dealt = (data[i, CARDS] >= 0) + (data[i, CARDS + 1] >= 0)
        data[i, CARDS + dealt] = action
        data[i, DEALT] |= np.int64(1) << action
        data[i, TO_PLAY] = CHANCE if dealt == 0 else 0
        rewards[i, 0] = 0.0
        rewards[i, 1] = 0.0
    else:
        r = data[i, ROUND] - 1
        bets = data[i, LEN + r]
        data[i, SEQ + r] |= np.int64(action + 1) << (2 * bets)
        data[i, LEN + r] = bets + 1
        fold = np.int64(action == FOLD)
        raise_ = np.int64(action == RAISE)
        stakes = data[i, STAKES] + raise_ * (FIRST_RAISE << r)
        data[i, STAKES] = stakes
        # A call or raise brings the player's chips in the pot up to the stakes.
        ante = data[i, ANTE + player]
        data[i, ANTE + player] = max(ante, stakes * (1 - fold))
        raises = data[i, RAISES] + raise_
        calls = (data[i, CALLS] + 1) * (1 - raise_)
        # The round ends when both checked, or when the last raise was called.
        over = (action == CALL) & (calls >= 2 - (raises > 0))
        next_round = np.int64(over & (r == 0))
        done = np.int64(fold | (over & (r == 1)))
        data[i, RAISES] = raises * (1 - next_round)
        data[i, CALLS] = calls * (1 - next_round)
        data[i, ROUND] = r + 1 + next_round
        # The player who acted last stays in TO_PLAY once the game is over, as in OpenSpiel;
        # chance (-1) is next after the first round.
        mover = 1 - player + done * (2 * player - 1)
        data[i, TO_PLAY] = mover - next_round * (mover + 1)
        # The winner: the other player after a fold, else the stronger hand (-1: split pot).
        public = data[i, PUBLIC] >> 1
        first = _strength(data[i, CARDS] >> 1, public)
        second = _strength(data[i, CARDS + 1] >> 1, public)
        showdown = np.int64(second > first) - np.int64(first == second)
        winner = showdown + fold * (1 - player - showdown)
        data[i, DONE] = done
        data[i, WINNER] = (winner + 1) * done - 1
        # The loser's chips go to the winner: the folder's, or at a showdown either (equal).
        won = data[i, ANTE + player] * (done * ((winner == 0) * 1 - (winner == 1) * 1))
        rewards[i, 0] = won
        rewards[i, 1] = -won


@njit(cache=True, inline="always")
def _strength(rank, public):
    """Orders hands as OpenSpiel's RankHand does: a pair with the public card beats every
    other hand, else the higher rank then the lower one decides (ranks 0..2)."""
    return (rank == public) * 64 + max(rank, public) * 8 + min(rank, public)


@njit(cache=True, inline="always")
def info_key_row(g, data, i, player):
    """Everything OpenSpiel's information state string holds: the player's card and the
    public card (+1, 0 before the deal), both rounds' bets, the player whose turn it is and,
    in a finished game, who won (the string's chip counts; bets alone fix the rest)."""
    key = data[i, CARDS + player] + 1
    key |= (data[i, PUBLIC] + 1) << 3
    key |= data[i, SEQ] << 6
    key |= data[i, SEQ + 1] << 14
    key |= (data[i, TO_PLAY] + 1) << 22
    key |= (data[i, DONE] * (data[i, WINNER] + 2)) << 24
    return key


@njit(cache=True, inline="always")
def observe_row(g, data, i, player, out):
    out[i, :] = 0.0
    out[i, player] = 1.0
    card = data[i, CARDS + player]
    if card >= 0:
        out[i, 2 + card] = 1.0
    if data[i, PUBLIC] >= 0:
        out[i, 2 + DECK + data[i, PUBLIC]] = 1.0
    for r in range(2):
        base = 2 + 2 * DECK + 2 * BETS_PER_ROUND * r
        seq = data[i, SEQ + r]
        for k in range(data[i, LEN + r]):
            digit = (seq >> (2 * k)) & 3  # action + 1: call as 10, raise as 01, fold 00
            if digit > 1:
                out[i, base + 2 * k + digit - 2] = 1.0


def _bets(row: np.ndarray, r: int) -> list[int]:
    seq = int(row[SEQ + r])
    return [(seq >> (2 * k) & 3) - 1 for k in range(int(row[LEN + r]))]


def _money(row: np.ndarray) -> tuple[list[int], int]:
    """Each player's chips left, and the pot, as OpenSpiel keeps them (a finished game has
    paid out its pot)."""
    ante = [int(row[ANTE]), int(row[ANTE + 1])]
    money = [STARTING_MONEY - a for a in ante]
    pot = sum(ante)
    if row[DONE]:
        winners = [int(row[WINNER])] if row[WINNER] >= 0 else [0, 1]
        for p in winners:
            money[p] += pot // len(winners)
        pot = 0
    return money, pot


def info_string(g, row: np.ndarray, player: int) -> str:
    """OpenSpiel's information_state_string: the observer's card, round, player to act,
    pot, chips, the public card once up, and both rounds' bets."""
    card = int(row[CARDS + player])
    money, pot = _money(row)
    public = f"[Public: {int(row[PUBLIC])}]" if row[PUBLIC] >= 0 else ""
    rounds = "".join(f"[Round{r + 1}: {' '.join(map(str, _bets(row, r)))}]" for r in range(2))
    return (
        f"[Observer: {player}][Private: {card if card >= 0 else NO_CARD}]"
        f"[Round {int(row[ROUND])}][Player: {int(row[TO_PLAY])}][Pot: {pot}]"
        f"[Money: {money[0]} {money[1]}]{public}{rounds}"
    )


CARD_NAMES = ("J1", "J2", "Q1", "Q2", "K1", "K2")  # rank and suit of OpenSpiel's card c
BET_NAMES = ("fold", "call", "raise")


def _card(card: int) -> str:
    return CARD_NAMES[card] if card >= 0 else "-"


def text(g, row: np.ndarray) -> str:
    """Every card face up, with whose it is, the public card, each round's betting, and the
    pot or the result."""
    cards = " ".join(f"p{p}:{_card(int(row[CARDS + p]))}" for p in range(2))
    lines = [f"{cards} public:{_card(int(row[PUBLIC]))}"]
    for r in range(2):
        bets = " ".join(BET_NAMES[a] for a in _bets(row, r))
        lines.append(f"round {r + 1}: {bets or '-'}")
    money, pot = _money(row)
    if row[DONE]:
        result = "split pot" if row[WINNER] < 0 else f"player {int(row[WINNER])} wins"
        lines.append(f"{result}; chips {money[0]} {money[1]}")
    else:
        mover = "chance" if row[TO_PLAY] == CHANCE else f"player {int(row[TO_PLAY])}"
        lines.append(f"pot {pot}; {mover} to act")
    return "\n".join(lines)


def hands(g, row: np.ndarray) -> list[list[int]]:
    """Each player's hand as the showdown ranks it: the private card's rank, then the
    public card's (-1 while face down)."""
    public = int(row[PUBLIC]) // 2 if row[PUBLIC] >= 0 else -1
    return [[int(row[CARDS + p]) // 2 if row[CARDS + p] >= 0 else -1, public] for p in range(2)]


svg, rgb = render.card_pictures(text, hands)
