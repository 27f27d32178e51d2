"""Text, SVG and RGB pictures of grid games (a board of cells owned by player 0, 1 or nobody).

Shared drawing helpers for the games' own `text`, `svg` and `rgb` functions: a game passes
its board (int8[rows, cols], -1 empty, else the owner's index), the (row, column) of the
last move or None, and its state row (for whose turn it is, or the result). `Board` says
where a board game's picture draws each cell (`games.board(game)`): click targets, overlays
and move numbers are placed with it. Every picture opens with `svg_open`, so it shrinks
to fit a phone's screen.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from games.layout import DONE, TO_PLAY, WINNER

SYMBOLS = "xo"
COLOURS = ("#d62728", "#f2c500")  # player 0 red, player 1 yellow
CELL = 48  # SVG pixels per cell
RGB_CELL = 32
RGB_COLOURS = np.array([(214, 39, 40), (242, 197, 0)], dtype=np.uint8)


def svg_open(width: float, height: float) -> str:
    """The root element of a picture `width` x `height` user units big. It shrinks to fit
    a narrower container (a phone's 390 px) and never grows past its own size."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" style="max-width:100%;height:auto">'
    )


@dataclass(frozen=True)
class Board:
    """Where a board game's picture (its `svg`) draws each cell, in the picture's own units
    (its viewBox): for click targets, overlays such as a heat map, and move numbers.
    `games.board(game)` gives it; cells are indexed as the picture's `data-cell` marks."""

    centres: np.ndarray  # float[rows, cols, 2]: (x, y) of the centre of cell (row, col)
    cell: float  # the distance between neighbouring centres in a row (a cell's width)
    cells: Callable[[np.ndarray], np.ndarray]  # a state row -> int8[rows, cols] owners (-1)
    columns_are_moves: bool = False  # Connect Four: move c drops into column c

    @property
    def shape(self) -> tuple[int, int]:
        return self.centres.shape[0], self.centres.shape[1]

    def action_cell(self, action: int) -> tuple[int, int] | None:
        """The cell a move places on (a column's top cell where moves are columns); None
        for a move without one (pass, swap)."""
        rows, cols = self.shape
        if self.columns_are_moves:
            return (0, action) if 0 <= action < cols else None
        return divmod(action, cols) if 0 <= action < rows * cols else None

    def action_box(self, action: int) -> tuple[float, float, float, float] | None:
        """(x, y, width, height) of what a move is clicked on: a cell's square, or a whole
        column where moves are columns; None for a move without a cell."""
        cell = self.action_cell(action)
        if cell is None:
            return None
        x, y = (float(v) for v in self.centres[cell])
        half = self.cell / 2
        if self.columns_are_moves:
            bottom = float(self.centres[-1, action, 1])
            return x - half, y - half, self.cell, bottom - y + self.cell
        return x - half, y - half, self.cell, self.cell

    def targets(self) -> str:
        """Transparent click targets, one per move with a cell, marked `data-action`: drawn
        last, they take the clicks, so a click means one move whatever lies under it."""
        rows, cols = self.shape
        parts = []
        for action in range(cols if self.columns_are_moves else rows * cols):
            x, y, w, h = self.action_box(action)
            parts.append(
                f'<rect class="target" data-action="{action}" x="{x:.1f}" y="{y:.1f}" '
                f'width="{w:.1f}" height="{h:.1f}" fill="transparent"/>'
            )
        return "".join(parts)

    def move_numbers(self, rows: np.ndarray) -> dict[tuple[int, int], int]:
        """For a game's positions `rows` (start first), the move that placed each stone of
        the last one: the ply at which its cell last became occupied."""
        numbers: dict[tuple[int, int], int] = {}
        before = self.cells(rows[0])
        for ply in range(1, len(rows)):
            after = self.cells(rows[ply])
            for r, c in np.argwhere((before < 0) & (after >= 0)):
                numbers[int(r), int(c)] = ply
            for r, c in np.argwhere(after < 0):
                numbers.pop((int(r), int(c)), None)  # captured
            before = after
        return numbers

    def numbered(self, svg: str, rows: np.ndarray) -> str:
        """`svg`, the picture of the last of the positions `rows`, with each stone labelled
        with the number of the move that placed it."""
        size = self.cell * 0.38
        labels = "".join(
            f'<text class="move-number" x="{self.centres[r, c, 0]:.1f}" '
            f'y="{self.centres[r, c, 1] + size * 0.36:.1f}" font-size="{size:.1f}" '
            f'text-anchor="middle" font-family="sans-serif" font-weight="bold" fill="#fff" '
            f'stroke="#000" stroke-width="{size / 5:.1f}" paint-order="stroke" '
            f'pointer-events="none">{n}</text>'
            for (r, c), n in sorted(self.move_numbers(rows).items())
        )
        # Under the click targets (so clicks still reach them), above the stones.
        cut = svg.find('<rect class="target"')
        cut = svg.rfind("</svg>") if cut < 0 else cut
        return svg[:cut] + labels + svg[cut:]


def grid_board(
    rows: int,
    cols: int,
    cells: Callable[[np.ndarray], np.ndarray],
    columns_are_moves: bool = False,
    cell: float = CELL,
) -> Board:
    """The `Board` of a picture of square cells `cell` units wide from its top left corner
    (as `svg` below and Othello's draw them)."""
    r, c = np.mgrid[0:rows, 0:cols]
    centres = np.stack([(c + 0.5) * cell, (r + 0.5) * cell], axis=-1).astype(float)
    return Board(centres, float(cell), cells, columns_are_moves)


def status(row: np.ndarray) -> str:
    if row[DONE]:
        return "draw" if row[WINNER] < 0 else f"{SYMBOLS[row[WINNER]]} (player {row[WINNER]}) wins"
    return f"{SYMBOLS[row[TO_PLAY]]} (player {row[TO_PLAY]}) to play"


def text(
    board: np.ndarray, last: tuple[int, int] | None, row: np.ndarray, column_numbers: bool
) -> str:
    """The board as text: x and o for the players, the last move in capitals."""
    lines = []
    if column_numbers:
        lines.append(" ".join(str(c) for c in range(board.shape[1])))
    for r in range(board.shape[0]):
        marks = []
        for c in range(board.shape[1]):
            owner = board[r, c]
            mark = "." if owner < 0 else SYMBOLS[owner]
            marks.append(mark.upper() if (r, c) == last else mark)
        lines.append(" ".join(marks))
    lines.append(status(row))
    return "\n".join(lines)


def svg(
    board: np.ndarray, last: tuple[int, int] | None, row: np.ndarray, discs: bool, targets: str
) -> str:
    """A standalone SVG of the board (`discs`: Connect Four's blue frame with round holes,
    else a grid); the last move is ringed in black; `targets` (click targets) go on top."""
    rows, cols = board.shape
    width, height = cols * CELL, rows * CELL
    parts = [
        svg_open(width, height + 24),
        f'<rect width="{width}" height="{height}" rx="{CELL / 6 if discs else 0:g}" '
        f'fill="{"#1f4fa8" if discs else "#ffffff"}"/>',
    ]
    if not discs:
        for k in range(1, cols):
            parts.append(
                f'<line x1="{k * CELL}" y1="0" x2="{k * CELL}" y2="{height}" stroke="#333"/>'
            )
        for k in range(1, rows):
            parts.append(
                f'<line x1="0" y1="{k * CELL}" x2="{width}" y2="{k * CELL}" stroke="#333"/>'
            )
    radius = CELL * 0.4
    for r in range(rows):
        for c in range(cols):
            cx, cy = c * CELL + CELL / 2, r * CELL + CELL / 2
            owner = int(board[r, c])
            fill = COLOURS[owner] if owner >= 0 else ("#ffffff" if discs else "none")
            if owner >= 0 or discs:
                parts.append(
                    f'<circle cx="{cx}" cy="{cy}" r="{radius}" fill="{fill}"'
                    f' data-cell="{r},{c}" data-owner="{owner}"/>'
                )
            if (r, c) == last:
                parts.append(
                    f'<circle class="last-move" cx="{cx}" cy="{cy}" r="{radius * 0.55}" '
                    'fill="none" stroke="#000" stroke-width="4"/>'
                )
    parts.append(
        f'<text x="4" y="{height + 17}" font-family="sans-serif" font-size="14">'
        f"{status(row)}</text>"
    )
    parts.append(targets)
    parts.append("</svg>")
    return "".join(parts)


def disc_masks(cell: int, disc: float, dot: float) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks of a disc and a dot centred in a cell x cell tile, their radii given
    as shares of the cell: a stone, and the mark of the last move on it."""
    yy, xx = np.mgrid[0:cell, 0:cell]
    dist2 = (yy - cell / 2 + 0.5) ** 2 + (xx - cell / 2 + 0.5) ** 2
    return dist2 <= (cell * disc) ** 2, dist2 <= (cell * dot) ** 2


def rgb(board: np.ndarray, last: tuple[int, int] | None, discs: bool) -> np.ndarray:
    """uint8[H, W, 3] picture of the board (PettingZoo's rgb_array render mode)."""
    rows, cols = board.shape
    image = np.empty((rows * RGB_CELL, cols * RGB_CELL, 3), dtype=np.uint8)
    image[:] = (31, 79, 168) if discs else (255, 255, 255)
    disc, dot = disc_masks(RGB_CELL, 0.4, 0.12)
    for r in range(rows):
        for c in range(cols):
            tile = image[r * RGB_CELL : (r + 1) * RGB_CELL, c * RGB_CELL : (c + 1) * RGB_CELL]
            owner = int(board[r, c])
            tile[disc] = RGB_COLOURS[owner] if owner >= 0 else (235, 235, 235)
            if (r, c) == last:
                tile[dot] = 0
    return image


def grid_pictures(
    rows: int, cols: int, cells: Callable, last_cell: Callable, connect_four: bool
) -> tuple[Callable, ...]:
    """The contract's (text, svg, rgb) functions of `(g, row)` and the game's `board(g)`,
    for a game drawn as a `rows` x `cols` grid of owned cells: `cells(row)` gives the
    board, `last_cell(row)` the last move or None. `connect_four`: a frame with discs in
    holes, numbered columns and moves that are columns, else a plain grid."""
    geometry = grid_board(rows, cols, cells, columns_are_moves=connect_four)

    def text_(g, row: np.ndarray) -> str:
        return text(cells(row), last_cell(row), row, column_numbers=connect_four)

    def svg_(g, row: np.ndarray) -> str:
        return svg(cells(row), last_cell(row), row, connect_four, geometry.targets())

    def rgb_(g, row: np.ndarray) -> np.ndarray:
        return rgb(cells(row), last_cell(row), discs=connect_four)

    def board_(g) -> Board:
        return geometry

    return text_, svg_, rgb_, board_


PLAYER_COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd") * 2  # up to 10 seats


def card_pictures(
    text_of: Callable, hands: Callable, face: Callable[[int], str] = str
) -> tuple[Callable, Callable]:
    """The contract's (svg, rgb) functions for a card game: `text_of(g, row)` as lines under
    every card face up, `hands(g, row)` the cards per player (a list of lists of ranks from
    0, -1 for a card not dealt yet), each hand framed in its player's colour; `face(rank)`
    is what a card shows (its rank, unless the game numbers its cards otherwise)."""

    def svg_(g, row: np.ndarray) -> str:
        held = hands(g, row)
        lines = text_of(g, row).split("\n")
        # Wide enough for the cards and for the text lines (monospace 14 px: ~8.4 px a char).
        width = max(320, 60 * max(len(h) for h in held) + 120, 9 * max(map(len, lines)) + 16)
        height = 70 * len(held) + 20 * len(lines) + 10
        parts = [
            svg_open(width, height),
            f'<rect width="{width}" height="{height}" fill="#1b5e20"/>',
        ]
        for p, cards in enumerate(held):
            y = 10 + 70 * p
            colour = PLAYER_COLOURS[p]
            parts.append(f'<text x="8" y="{y + 35}" fill="#fff" font-size="16">player {p}</text>')
            for k, card in enumerate(cards):
                x = 100 + 60 * k
                shown = face(card) if card >= 0 else "?"
                parts.append(
                    f'<rect x="{x}" y="{y}" width="50" height="60" rx="6" fill="#fff" '
                    f'stroke="{colour}" stroke-width="4"/><text x="{x + 25}" y="{y + 38}" '
                    f'font-size="22" text-anchor="middle" fill="{colour}">{shown}</text>'
                )
        for k, line in enumerate(lines):
            y = 70 * len(held) + 20 * (k + 1)
            parts.append(
                f'<text x="8" y="{y}" fill="#fff" font-family="monospace" font-size="14">'
                f"{line.replace('&', '&amp;').replace('<', '&lt;')}</text>"
            )
        return "".join(parts) + "</svg>"

    def rgb_(g, row: np.ndarray) -> np.ndarray:
        """A row of cards per player: the rank as a column of dots, framed in its colour."""
        held = hands(g, row)
        cell = RGB_CELL
        longest = max(len(h) for h in held)
        image = np.empty((len(held) * 2 * cell, (longest + 1) * cell, 3), dtype=np.uint8)
        image[:] = (27, 94, 32)
        for p, cards in enumerate(held):
            colour = np.array(
                [int(PLAYER_COLOURS[p][k : k + 2], 16) for k in (1, 3, 5)], dtype=np.uint8
            )
            for k, card in enumerate(cards):
                top, left = p * 2 * cell + 4, k * cell + 4
                image[top : top + 2 * cell - 8, left : left + cell - 8] = colour
                image[top + 3 : top + 2 * cell - 11, left + 3 : left + cell - 11] = 255
                # Pips 4 px apart, closer for high ranks (13) to stay inside the card.
                gap = min(4, (2 * cell - 18) // max(card + 1, 1))
                for pip in range(max(card, 0) + 1 if card >= 0 else 0):
                    y = top + 6 + gap * pip
                    image[y : y + 2, left + 10 : left + cell - 18] = colour
        return image

    return svg_, rgb_
