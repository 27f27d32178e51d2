"""The one table of OpenSpiel equivalents: our game specs and the `pyspiel.load_game` string
of the same game, with how many random games the tests compare move by move.

The OpenSpiel tests (tests/test_engine_openspiel.py) are parametrized from this table and
`arena bench engine` uses it for its OpenSpiel column; a new game needs an entry here (a
test fails for a registered game without one). Data only: `games` never imports pyspiel.
"""

from __future__ import annotations

from typing import NamedTuple


class Equivalent(NamedTuple):
    openspiel: str  # pyspiel.load_game string
    random_games: int = 1000  # random games compared every ply against OpenSpiel
    exhaustive: bool = False  # also compare every history of the game (small games)
    tensor: bool = False  # our observation is OpenSpiel's information_state_tensor


# Keys are game specs (any spelling; compared by canonical spec), e.g. "hex:size=5".
EQUIVALENTS: dict[str, Equivalent] = {
    "connect_four": Equivalent("connect_four", 2000),
    "tic_tac_toe": Equivalent("tic_tac_toe", 2000),
    "othello": Equivalent("othello", 2000),
    "hex:size=3": Equivalent("hex(board_size=3)", 1000),
    "hex:size=5": Equivalent("hex(board_size=5)", 1000),
    "hex:size=7": Equivalent("hex(board_size=7)", 1000),
    "hex:size=11": Equivalent("hex(board_size=11)", 1000),
    "hex:size=5,swap=true": Equivalent("hex(board_size=5,swap=true)", 1000),
    "hex:size=11,swap=true": Equivalent("hex(board_size=11,swap=true)", 1000),
    # OpenSpiel's own default board is 19x19: the table names the size.
    "go:size=9": Equivalent("go(board_size=9,komi=7.5)", 500),
    "go:size=5": Equivalent("go(board_size=5,komi=7.5)", 1000),
    "kuhn_poker": Equivalent("kuhn_poker(players=2)", 1000, exhaustive=True, tensor=True),
    "kuhn_poker:players=3": Equivalent("kuhn_poker(players=3)", 1000, exhaustive=True, tensor=True),
    # Our matrix observation is the observer's seat, OpenSpiel's a terminal flag.
    "matrix:name=rps": Equivalent("matrix_rps", 200, exhaustive=True),
    "matrix:name=mp": Equivalent("matrix_mp", 200, exhaustive=True),
    "matrix:name=pd": Equivalent("matrix_pd", 200, exhaustive=True),
    "matrix:name=shapleys_game": Equivalent("matrix_shapleys_game", 200, exhaustive=True),
    # OpenSpiel's own Goofspiel defaults are imp_info=false, points_order=random.
    "goofspiel:cards=4": Equivalent(
        "goofspiel(num_cards=4,imp_info=true,points_order=descending)",
        5000,
        exhaustive=True,
        tensor=True,
    ),
    "goofspiel:cards=4,order=random": Equivalent(
        "goofspiel(num_cards=4,imp_info=true,points_order=random)", 5000, tensor=True
    ),
    "goofspiel:cards=6": Equivalent(
        "goofspiel(num_cards=6,imp_info=true,points_order=descending)", 5000, tensor=True
    ),
    "leduc_poker": Equivalent("leduc_poker", 5000, tensor=True),
}


def openspiel_name(spec: str) -> str | None:
    """The OpenSpiel load string of a game spec, or None when the table has none."""
    import games

    canonical = games.canonical(spec)
    for key, entry in EQUIVALENTS.items():
        if games.canonical(key) == canonical:
            return entry.openspiel
    return None


def covered_specs() -> list[str]:
    """Canonical specs the parametrized tests cover: every registered game (its default
    spec) and every spec of the table."""
    import games

    return sorted({games.canonical(spec) for spec in (*EQUIVALENTS, *games.names())})
