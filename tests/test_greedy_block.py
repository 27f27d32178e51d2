"""Greedy's block asks which moves would win had the opponent the move. On Othello that is
checked against a plain-Python reading of the rules (the engine caches the mover's legal
placements, so a position with the other player to move must be rebuilt, not relabelled)."""

import numpy as np

import games
from agents.baselines import _winning_moves
from games.othello import DISCS

DIRECTIONS = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]


def flips(board, player, r, c):
    """Cells turned by `player` placing at (r, c) on an 8x8 board of -1/0/1 (empty -1)."""
    if board[r][c] != -1:
        return []
    turned = []
    for dr, dc in DIRECTIONS:
        line, rr, cc = [], r + dr, c + dc
        while 0 <= rr < 8 and 0 <= cc < 8 and board[rr][cc] == 1 - player:
            line.append((rr, cc))
            rr, cc = rr + dr, cc + dc
        if line and 0 <= rr < 8 and 0 <= cc < 8 and board[rr][cc] == player:
            turned += line
    return turned


def wins_at_once(board, player, r, c) -> bool:
    """Whether placing at (r, c) is legal for `player` and ends the game with it ahead."""
    turned = flips(board, player, r, c)
    if not turned:
        return False
    after = [row[:] for row in board]
    for rr, cc in [(r, c), *turned]:
        after[rr][cc] = player
    cells = [(rr, cc) for rr in range(8) for cc in range(8)]
    if any(flips(after, p, rr, cc) for p in (0, 1) for rr, cc in cells):
        return False
    flat = sum(after, [])
    return flat.count(player) > flat.count(1 - player)


def test_othello_blocks_are_the_opponents_immediate_wins():
    game = games.make("othello")
    rng = np.random.default_rng(0)
    flagged = 0
    for _ in range(60):
        state = game.init(1)
        for _ in range(int(rng.integers(40, 61))):
            legal = np.flatnonzero(game.legal_mask(state)[0])
            if state.done[0]:
                break
            game.step(state, np.array([rng.choice(legal)]))
        if state.done[0]:
            continue
        mover = int(state.to_play[0])
        board = [[-1] * 8 for _ in range(8)]
        for player in (0, 1):
            bits = int(state.data[0, DISCS + player]) & (2**64 - 1)
            for cell in range(64):
                if bits >> cell & 1:
                    board[cell // 8][cell % 8] = player
        mask = game.legal_mask(state)
        blocks = np.empty_like(mask)
        _winning_moves(game.params, state.data, mask, 1, blocks)
        expected = [
            bool(mask[0, a]) and wins_at_once(board, 1 - mover, a // 8, a % 8) for a in range(64)
        ]
        assert blocks[0, :64].tolist() == expected
        assert not blocks[0, 64]
        flagged += sum(expected)
    assert flagged > 0  # some positions had a win to block
