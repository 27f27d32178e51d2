"""Goofspiel for two players, as OpenSpiel's `goofspiel(num_cards=N, imp_info=true,
points_order=descending|random)` with its default win/loss returns.

Each player holds the cards 1..N; a deck of point cards 1..N is turned up one at a time,
from N down (`order=descending`) or shuffled (`order=random`: a chance node deals each
point card, outcome = card value - 1). At each turn both players bid one of their cards at
once (a simultaneous node; action = card value - 1); the higher bid takes the point card's
value, equal bids discard it, and the bid cards are gone. The last turn has no choice and is
played by itself, as in OpenSpiel: the game ends after N - 1 bidding turns. The player with
more points gets +1 and the other -1 (0 each on equal points). Bids stay hidden
(imp_info): a player sees its own bids, the point cards and who won each turn.

The history (OpenSpiel's `history()`) lists each turn's chance outcome, then player 0's bid,
then player 1's: the row buffers player 0's bid (`actor_row` says whose is next) and resolves
the turn at player 1's, so a half-bid turn looks to both players like the turn before it.

The default is 4 cards: small enough for the exact solvers to enumerate. With the point
cards in descending order it has 576 complete games and 162 information states where a
player acts; with random ones 13,824 games and 3,608 states. Five cards in random order
already make 1.7 million games.

Information keys (`info_key_row`) are exact, i.e. equal exactly when OpenSpiel's
information_state_string is, for every N in descending order and for N <= 10 in random
order: the key ranks the player's own bids and the point cards (permutation prefixes,
Lehmer digits), whether a point card is up, and the turn winners (a ternary string, its
length the turns played), in 63 bits. With random order and N >= 11 that packing needs
about 2 * log2(N!) + N * log2(3) > 63 bits (the point cards alone take log2(N!)), so
the key is a 63-bit hash of its two exact halves: equal strings still give equal keys, and
two distinct states share one with odds about n**2 / 2**64 among n states, fine for
sampled methods. Games that large are far beyond what the exact solvers enumerate.
"""

import numpy as np
from numba import njit

from games import render
from games.contract import Param, Shape
from games.layout import (
    CHANCE,
    DONE,
    HEADER,
    LAST_ACTION,
    PLY,
    SIMULTANEOUS,
    TO_PLAY,
    WINNER,
    start_row,
)
from games.rng import splitmix64

NAME = "goofspiel"
ORDERS = ("descending", "random")
PARAMS = {
    "cards": Param(int, 4, "cards per player and point cards (values 1..N)", low=3, high=13),
    "order": Param(str, "descending", "order of the point cards", choices=ORDERS),
}
DESCENDING, RANDOM = 0, 1  # kernel values of `order` (its index in ORDERS)
MAX_CARDS = 13
TIE = -3  # a tied turn's winner (OpenSpiel's kInvalidPlayer, as its win sequence shows it)
EXACT_RANDOM_KEYS = 10  # the largest N whose random-order keys are exact (module docstring)

# Row columns after the header (card c has the value c + 1):
HANDS = HEADER  # 2 columns: bit c set while card c is in player p's hand
SCORE = HEADER + 2  # 2 columns: points won so far
TURN = HEADER + 4  # turns resolved (N once over: the last one is played by itself)
DEALT = HEADER + 5  # point cards turned up
DECK = HEADER + 6  # bit c set while point card c is still face down
PENDING = HEADER + 7  # player 0's bid at this turn, -1 until given
POINT_CARDS = HEADER + 8  # MAX_CARDS columns: the point card of each turn
BIDS = POINT_CARDS + MAX_CARDS  # 2 * MAX_CARDS columns: BIDS + 2 * turn + player
WINNERS = BIDS + 2 * MAX_CARDS  # MAX_CARDS columns: each turn's winner, or TIE
WIDTH = WINNERS + MAX_CARDS


@njit(cache=True, inline="always")
def _point_slots(n):
    """Possible point totals 0..1+2+...+N (OpenSpiel's one-hot width per player)."""
    return n * (n + 1) // 2 + 1


def shape(g) -> Shape:
    n = int(g.cards)
    random = int(g.order) == RANDOM
    # Observation: OpenSpiel's information-state tensor (fixed size): both point totals
    # (one-hot, the observer's first), the observer's hand, the turn winners (one-hot per
    # turn, none on a tie), the point cards in order and the observer's own bids.
    obs = 2 * int(_point_slots(n)) + n + 2 * n + 2 * n * n
    plies = (3 if random else 2) * (n - 1)  # (a deal and) two bids per turn but the last
    # Both players hold the same cards, bid at once and see the same things: symmetric seats.
    return Shape(
        n,
        2,
        (obs,),
        plies,
        WIDTH,
        chance=random,
        simultaneous=True,
        hidden=True,
        seat_symmetric=True,
    )


def symmetries(g) -> list[tuple[str, np.ndarray]]:
    return [("identity", np.arange(int(g.cards)))]


@njit(cache=True, inline="always")
def _deal(data, i, card):
    data[i, POINT_CARDS + data[i, DEALT]] = card
    data[i, DEALT] += 1
    data[i, DECK] &= ~(np.int64(1) << card)


@njit(cache=True, inline="always")
def init_row(g, data, i, seed):
    start_row(data, i, seed)
    full = (np.int64(1) << g.cards) - 1
    data[i, HANDS] = full
    data[i, HANDS + 1] = full
    data[i, DECK] = full
    data[i, PENDING] = -1
    if g.order == RANDOM:
        data[i, TO_PLAY] = CHANCE
    else:
        _deal(data, i, g.cards - 1)
        data[i, TO_PLAY] = SIMULTANEOUS


@njit(cache=True, inline="always")
def _actor(data, i):
    return 0 if data[i, PENDING] < 0 else 1


@njit(cache=True, inline="always")
def actor_row(g, data, i):
    if data[i, TO_PLAY] == SIMULTANEOUS:
        return _actor(data, i)
    return data[i, TO_PLAY]


@njit(cache=True, inline="always")
def _choices(data, i):
    """The cards the next history entry may take: the deck at a chance node, else the
    hand of the player whose bid comes next."""
    if data[i, TO_PLAY] == CHANCE:
        return data[i, DECK]
    return data[i, HANDS + _actor(data, i)]


@njit(cache=True, inline="always")
def is_legal(g, data, i, action):
    if data[i, DONE] or action < 0 or action >= g.cards:
        return False
    return ((_choices(data, i) >> action) & 1) == 1


@njit(cache=True, inline="always")
def _mask_bits(g, bits, mask, i):
    count = 0
    for c in range(g.cards):
        mask[i, c] = ((bits >> c) & 1) == 1
        count += mask[i, c]
    return count


@njit(cache=True, inline="always")
def legal_row(g, data, i, mask):
    mask[i, :] = False
    if data[i, DONE]:
        return 0
    return _mask_bits(g, _choices(data, i), mask, i)


@njit(cache=True, inline="always")
def legal_player_row(g, data, i, player, mask):
    mask[i, :] = False
    return _mask_bits(g, data[i, HANDS + player], mask, i)


@njit(cache=True, inline="always")
def chance_row(g, data, i, probs):
    left = g.cards - data[i, DEALT]  # face-down point cards, each equally likely
    for c in range(g.cards):
        probs[i, c] = 1.0 / left if (data[i, DECK] >> c) & 1 else 0.0
    return left


@njit(cache=True, inline="always")
def _lowest(bits):
    c = 0
    while ((bits >> c) & 1) == 0:
        c += 1
    return c


@njit(cache=True, inline="always")
def _resolve(data, i, bid0, bid1):
    """Both bids are in: the higher takes the turn's point card, and both cards are gone."""
    t = data[i, TURN]
    data[i, BIDS + 2 * t] = bid0
    data[i, BIDS + 2 * t + 1] = bid1
    data[i, HANDS] &= ~(np.int64(1) << bid0)
    data[i, HANDS + 1] &= ~(np.int64(1) << bid1)
    winner = 0 if bid0 > bid1 else 1 if bid1 > bid0 else TIE
    if winner != TIE:
        data[i, SCORE + winner] += data[i, POINT_CARDS + t] + 1
    data[i, WINNERS + t] = winner
    data[i, TURN] = t + 1


@njit(cache=True, inline="always")
def apply_row(g, data, i, action, rewards):
    rewards[i, 0] = 0.0
    rewards[i, 1] = 0.0
    data[i, PLY] += 1
    data[i, LAST_ACTION] = action
    if data[i, TO_PLAY] == CHANCE:
        _deal(data, i, action)
        data[i, TO_PLAY] = SIMULTANEOUS
        return
    if data[i, PENDING] < 0:  # player 0's bid waits for player 1's
        data[i, PENDING] = action
        return
    _resolve(data, i, data[i, PENDING], action)
    data[i, PENDING] = -1
    n = g.cards
    if data[i, TURN] < n - 1:
        if g.order == RANDOM:
            data[i, TO_PLAY] = CHANCE
        else:
            _deal(data, i, n - 1 - data[i, TURN])
        return
    # The last turn has one card each and one point card left: OpenSpiel plays it at once.
    if g.order == RANDOM:
        _deal(data, i, _lowest(data[i, DECK]))
    else:
        _deal(data, i, 0)
    _resolve(data, i, _lowest(data[i, HANDS]), _lowest(data[i, HANDS + 1]))
    data[i, DONE] = 1
    lead = data[i, SCORE] - data[i, SCORE + 1]
    if lead != 0:  # win/loss returns: +1 for more points, -1 for fewer
        winner = 0 if lead > 0 else 1
        data[i, WINNER] = winner
        rewards[i, winner] = 1.0
        rewards[i, 1 - winner] = -1.0


@njit(cache=True, inline="always")
def _prefix_rank(g, data, i, column, step, length):
    """A prefix of `length` distinct cards (data[i, column + step * k]) as Lehmer digits
    over N - 1 positions (radices N, N - 1, ..., 2), zero past the prefix: < N!, and unique
    among prefixes of the same length."""
    rank = np.int64(0)
    left = (np.int64(1) << g.cards) - 1
    for k in range(g.cards - 1):
        digit = 0
        if k < length:
            card = data[i, column + step * k]
            for c in range(card):
                digit += (left >> c) & 1
            left &= ~(np.int64(1) << card)
        rank = rank * (g.cards - k) + digit
    return rank


@njit(cache=True, inline="always")
def info_key_row(g, data, i, player):
    """The player's own bids, whether the turn's point card is up, the turn winners and
    (random order) the point cards: what its information-state string holds; the hand,
    points and end flag follow from them. Exact up to the limits in the module docstring."""
    turns = data[i, TURN]
    wins = np.int64(0)
    count = np.int64(1)  # 3 ** turns
    for t in range(turns):
        w = data[i, WINNERS + t]
        wins += count * (2 if w == TIE else w)
        count *= 3
    # Winner strings of every length up to N, shortest first: (3 ** (N + 1) - 1) / 2 of them.
    win_rank = (count - 1) // 2 + wins
    win_strings = np.int64(1)
    for _ in range(g.cards + 1):
        win_strings *= 3
    win_strings = (win_strings - 1) // 2
    own = _prefix_rank(g, data, i, BIDS + player, 2, turns)
    ahead = data[i, DEALT] - turns  # 1 when this turn's point card is up
    key = (own * 2 + ahead) * win_strings + win_rank
    if g.order != RANDOM:
        return key  # the point cards follow from the turn
    points = _prefix_rank(g, data, i, POINT_CARDS, 1, data[i, DEALT])
    if g.cards <= EXACT_RANDOM_KEYS:
        factorial = np.int64(1)
        for k in range(2, g.cards + 1):
            factorial *= k
        return key * factorial + points
    return np.int64(splitmix64(splitmix64(key) ^ np.uint64(points)) >> np.uint64(1))


@njit(cache=True, inline="always")
def observe_row(g, data, i, player, out):
    n = g.cards
    out[i, :] = 0.0
    slots = _point_slots(n)
    for k in range(2):  # the observer's points first
        out[i, k * slots + data[i, SCORE + (player + k) % 2]] = 1.0
    base = 2 * slots
    for c in range(n):
        out[i, base + c] = (data[i, HANDS + player] >> c) & 1
    base += n
    for t in range(data[i, TURN]):
        w = data[i, WINNERS + t]
        if w != TIE:
            out[i, base + 2 * t + w] = 1.0
    base += 2 * n
    for t in range(data[i, DEALT]):
        out[i, base + n * t + data[i, POINT_CARDS + t]] = 1.0
    base += n * n
    for t in range(data[i, TURN]):
        out[i, base + n * t + data[i, BIDS + 2 * t + player]] = 1.0


def _hand(row: np.ndarray, player: int, n: int) -> list[int]:
    """A player's cards in hand, by value (1..N)."""
    return [c + 1 for c in range(n) if int(row[HANDS + player]) >> c & 1]


def _spaced(values) -> str:
    return "".join(f"{v} " for v in values)


def info_string(g, row: np.ndarray, player: int) -> str:
    """OpenSpiel's information_state_string (imp_info): the observer's hand and own bids,
    the point cards, the turn winners, the points and whether the game is over."""
    n, turns = int(g.cards), int(row[TURN])
    bids = (int(row[BIDS + 2 * t + player]) for t in range(turns))
    points = (int(row[POINT_CARDS + t]) + 1 for t in range(int(row[DEALT])))
    winners = (int(row[WINNERS + t]) for t in range(turns))
    return (
        f"P{player} hand: {_spaced(_hand(row, player, n))}\n"
        f"P{player} action sequence: {_spaced(bids)}\n"
        f"Point card sequence: {_spaced(points)}\n"
        f"Win sequence: {_spaced(winners)}\n"
        f"Points: {int(row[SCORE])} {int(row[SCORE + 1])} \n"
        f"Terminal?: {int(row[DONE])}\n"
    )


def text(g, row: np.ndarray) -> str:
    """Both hands face up, each turn's point card and bids (card values 1..N; an action
    is a value - 1), and whose move it is or the result."""
    n = int(g.cards)
    lines = [
        f"p{p} hand: {' '.join(map(str, _hand(row, p, n))) or '-'} (points {int(row[SCORE + p])})"
        for p in range(2)
    ]
    for t in range(int(row[DEALT])):
        line = f"turn {t + 1}: point card {int(row[POINT_CARDS + t]) + 1}"
        if t < int(row[TURN]):
            winner = int(row[WINNERS + t])
            bids = f"p0 bid {int(row[BIDS + 2 * t]) + 1}, p1 bid {int(row[BIDS + 2 * t + 1]) + 1}"
            line += f"; {bids}: " + ("tie, discarded" if winner == TIE else f"p{winner} takes it")
        elif row[PENDING] >= 0:
            line += f"; p0 bid {int(row[PENDING]) + 1}, p1 to bid"
        lines.append(line)
    if row[DONE]:
        lines.append("draw" if row[WINNER] < 0 else f"player {int(row[WINNER])} wins")
    elif row[TO_PLAY] == CHANCE:
        lines.append("chance turns up a point card")
    else:
        lines.append("player 1 to bid" if row[PENDING] >= 0 else "both players to bid")
    return "\n".join(lines)


def hands(g, row: np.ndarray) -> list[list[int]]:
    """Each player's cards in hand, as ranks from 0 (a card's value is its rank + 1)."""
    return [[v - 1 for v in _hand(row, p, int(g.cards))] for p in range(2)]


svg, rgb = render.card_pictures(text, hands, face=lambda rank: str(rank + 1))
