"""Move quality on Connect Four benchmark positions, and timing of the exact solver.

Position files (Pascal Pons' public test sets) hold one position per line, as the columns
played from the empty board (1-based, no separators), followed by either the position's
score (`MOVES SCORE`) or the score of each of the 7 columns (`MOVES s1 ... s7`, -1000 for a
full column). Scores are from the view of the player to move (see
`agents.connect_four_solver`). The public sets ship with the package
(`agents/benchmarks/connect4/`, source in its README); `resolve_set` finds them by name.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import games
from agents import connect_four_solver as solver
from agents.connect_four_solver import COLUMNS, NAME, ROWS
from games import Game, State

DEFAULT_BATCH = 256
# A legal position 18 plies deep that the solver settles in microseconds: it warms up
# the compiled code before anything is timed.
_WARM_UP = [3] * 6 + [2] * 6 + [4] * 6

SHIPPED = Path(__file__).resolve().parent / "benchmarks" / "connect4"
# Points at another folder of benchmark files (read from DIR/connect4/), e.g. bigger sets.
BENCHMARKS_ENV = "ARENA_BENCHMARKS"
_PREFIX = "Test_"


def shipped_sets() -> list[str]:
    """Short names of the sets shipped with the package: `L1_R1`, ..., `L3_R1.moves`."""
    return sorted(p.name.removeprefix(_PREFIX) for p in SHIPPED.glob(f"{_PREFIX}*"))


def resolve_set(name: str | Path) -> Path:
    """The file of a benchmark set: a short name (`L2_R2`, `Test_L2_R2`, `L2_R2.moves`)
    names a shipped set, read from `$ARENA_BENCHMARKS/connect4/` when that is set, else from
    the package; anything else is a file path. Errors are one line: an unknown name lists the
    shipped sets, a missing file names the path looked for."""
    path = Path(name)
    bare = path.name == str(name)  # no folder part: a set name, or a file in this folder
    short = path.name.removeprefix(_PREFIX)
    if bare and short in shipped_sets():
        root = os.environ.get(BENCHMARKS_ENV)
        path = (Path(root) / "connect4" if root else SHIPPED) / f"{_PREFIX}{short}"
    elif bare and not path.exists():
        raise ValueError(
            f"no benchmark set {str(name)!r} and no file {path.resolve()}; the shipped sets "
            f"are {', '.join(shipped_sets())}"
        )
    if path.is_dir():
        raise ValueError(f"{path} is a directory, not a benchmark file")
    if not path.is_file():
        raise FileNotFoundError(f"benchmark file {path} not found")
    return path


@dataclass(frozen=True)
class Positions:
    """The positions of one file, in file order."""

    path: str
    lines: np.ndarray  # int64[N], 1-based line number of each position
    sequences: list[list[int]]  # 0-based columns played from the empty board
    scores: np.ndarray  # int64[N], the position's score
    column_scores: np.ndarray | None  # int64[N, 7] for per-column files, else None

    def __len__(self) -> int:
        return len(self.sequences)


def _parse_moves(text: str, where: str) -> list[int]:
    heights = [0] * COLUMNS
    moves = []
    for k, ch in enumerate(text, start=1):
        if not ("1" <= ch <= str(COLUMNS)):
            raise ValueError(f"{where}: move {k} is {ch!r}, expected a column 1-{COLUMNS}")
        col = int(ch) - 1
        heights[col] += 1
        if heights[col] > ROWS:
            raise ValueError(f"{where}: move {k} plays column {ch}, which is already full")
        moves.append(col)
    return moves


def _parse_int(text: str, where: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{where}: {what} {text!r} is not an integer") from None


def load_positions(path: str | Path, limit: int | None = None) -> Positions:
    """Parse a `MOVES SCORE` or `MOVES s1 ... s7` file, named as `resolve_set` takes it (the
    kind is read from its first line; blank lines are skipped). Malformed lines raise
    ValueError naming file and line."""
    path = str(resolve_set(path))
    lines, sequences, scores, per_column = [], [], [], []
    kind = None
    with open(path, encoding="ascii", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            if limit is not None and len(sequences) >= limit:
                break
            fields = line.split()
            if not fields:
                continue
            where = f"{path}, line {number}"
            if kind is None:
                if len(fields) not in (2, COLUMNS + 1):
                    raise ValueError(
                        f"{where}: expected 'MOVES SCORE' or 'MOVES' and {COLUMNS} column "
                        f"scores, got {len(fields)} fields"
                    )
                kind = len(fields)
            elif len(fields) != kind:
                raise ValueError(
                    f"{where}: expected {kind} fields like the first line, got {len(fields)}"
                )
            sequences.append(_parse_moves(fields[0], where))
            lines.append(number)
            values = [_parse_int(v, where, "score") for v in fields[1:]]
            if kind == 2:
                scores.append(values[0])
                continue
            legal = [v for v in values if v != solver.INVALID]
            if not legal:
                raise ValueError(f"{where}: every column is marked full ({solver.INVALID})")
            per_column.append(values)
            scores.append(max(legal))
    if not sequences:
        raise ValueError(f"{path}: no positions")
    column_scores = np.array(per_column, dtype=np.int64) if kind != 2 else None
    return Positions(
        path,
        np.array(lines, dtype=np.int64),
        sequences,
        np.array(scores, dtype=np.int64),
        column_scores,
    )


def _play(game: Game, positions: Positions, index: np.ndarray) -> State:
    """The live positions `index` as one batched state; errors name the offending line."""
    sequences = [positions.sequences[i] for i in index]
    try:
        state = game.play_sequences(sequences)
    except ValueError:
        for i, seq in zip(index, sequences, strict=True):  # find the culprit only on the error path
            try:
                game.play_sequences([seq])
            except ValueError as err:
                raise ValueError(
                    f"{positions.path}, line {positions.lines[i]}: cannot play the moves "
                    f"(0-based columns in this message): {err}"
                ) from None
        raise
    over = np.flatnonzero(state.done)
    if over.size:
        line = positions.lines[index[over[0]]]
        raise ValueError(f"{positions.path}, line {line}: the game is already over")
    return state


def _column_scores(positions: Positions, index: np.ndarray, state: State, legal: np.ndarray):
    """Per-column scores of a batch: from the file when it has them, else from the solver."""
    if positions.column_scores is not None:
        scores = positions.column_scores[index]
        wrong = np.flatnonzero(((scores != solver.INVALID) != legal).any(axis=1))
        if wrong.size:
            line = positions.lines[index[wrong[0]]]
            raise ValueError(
                f"{positions.path}, line {line}: the full columns ({solver.INVALID}) do not "
                f"match the board"
            )
        return scores
    scores = solver.default_solver().move_scores_batch(state.data)
    wrong = np.flatnonzero(scores.max(axis=1) != positions.scores[index])
    if wrong.size:
        i = index[wrong[0]]
        raise ValueError(
            f"{positions.path}, line {positions.lines[i]}: the file says score "
            f"{positions.scores[i]}, the solver finds {scores[wrong[0]].max()}"
        )
    return scores


def evaluate_agent(
    agent,
    game: Game,
    path: str | Path,
    limit: int | None = None,
    seed: int = 0,
    batch_size: int = DEFAULT_BATCH,
) -> dict:
    """How often `agent` picks an optimal move on the positions of a benchmark file.

    A move is optimal at the win/draw/loss level when its column's score has the same sign
    as the best legal column's, and at the exact level when it equals the best score
    (fastest win, slowest loss). One `agent.act` call per batch of positions; an illegal
    move counts as not optimal. For `MOVES SCORE` files the solver scores every column.
    """
    if game.name != NAME:
        raise ValueError(f"benchmark positions are {NAME} positions, not {game.name}")
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    positions = load_positions(path, limit)
    name = getattr(agent, "name", type(agent).__name__)
    rng = np.random.default_rng(seed)
    wdl = exact = illegal = 0
    for start in range(0, len(positions), batch_size):
        index = np.arange(start, min(start + batch_size, len(positions)))
        state = _play(game, positions, index)
        legal = game.legal_mask(state)
        scores = _column_scores(positions, index, state, legal)
        actions = np.asarray(agent.act(game, state, legal, rng))
        if actions.shape != (len(index),) or not np.issubdtype(actions.dtype, np.integer):
            raise ValueError(
                f"agent {name!r} returned {actions.dtype} {actions.shape}, expected integers "
                f"of shape ({len(index)},)"
            )
        rows = np.arange(len(index))
        valid = (actions >= 0) & (actions < COLUMNS)
        chosen_col = np.where(valid, actions, 0)
        ok = valid & legal[rows, chosen_col]
        chosen = scores[rows, chosen_col]
        best = scores.max(axis=1)  # INVALID is below every real score
        wdl += int((ok & (np.sign(chosen) == np.sign(best))).sum())
        exact += int((ok & (chosen == best)).sum())
        illegal += int((~ok).sum())
    n = len(positions)
    return {
        "path": positions.path,
        "agent": name,
        "positions": n,
        "wdl_optimal": wdl,
        "exact_optimal": exact,
        "illegal": illegal,
        "wdl_rate": wdl / n,
        "exact_rate": exact / n,
    }


def benchmark_positions(
    path: str | Path, limit: int | None = None, fresh_table: bool = True
) -> dict:
    """Solve each position of a benchmark file and time it: mean wall-clock and CPU
    milliseconds per position (the CPU time of this thread is less disturbed by other
    processes on a shared machine), and how many scores match the file.

    `fresh_table` times the set with a new, empty transposition table (the table then
    fills up over the set, as it does in play); else the shared solver's table is used.
    """
    positions = load_positions(path, limit)
    game = games.make(NAME)
    state = _play(game, positions, np.arange(len(positions)))
    engine = solver.Solver() if fresh_table else solver.default_solver()
    if fresh_table:
        engine.reset()  # touch every page now so the first positions are not charged for it
    engine.solve_batch(game.play_sequences([_WARM_UP]).data)  # compile or load, untimed
    wall = np.empty(len(positions))
    cpu = np.empty(len(positions))
    found = np.empty(len(positions), dtype=np.int64)
    for i in range(len(positions)):
        w, c = time.perf_counter(), time.thread_time()
        found[i] = engine.solve_batch(state.data[i : i + 1])[0]
        cpu[i] = time.thread_time() - c
        wall[i] = time.perf_counter() - w
    return {
        "path": positions.path,
        "positions": len(positions),
        "correct": int((found == positions.scores).sum()),
        "mean_ms": 1000 * float(wall.mean()),
        "mean_cpu_ms": 1000 * float(cpu.mean()),
        "max_ms": 1000 * float(wall.max()),
        "total_s": float(wall.sum()),
        "tt_size": engine.tt_size,
        "fresh_table": fresh_table,
    }
