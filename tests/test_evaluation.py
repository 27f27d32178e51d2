"""Move-quality evaluation on benchmark position files."""

import numpy as np
import pytest

import agents
import games
from agents.evaluation import evaluate_agent, load_positions, resolve_set

GAME = games.make("connect_four")


def write(tmp_path, text, name="positions.txt"):
    path = tmp_path / name
    path.write_text(text)
    return path


class Scripted:
    """Plays the given columns in order, one per position; records its batch sizes."""

    name = "scripted"

    def __init__(self, columns):
        self.columns = list(columns)
        self.batches = []

    def act(self, game, state, legal_mask, rng):
        n = len(state)
        self.batches.append(n)
        out, self.columns = self.columns[:n], self.columns[n:]
        return np.array(out, dtype=np.int64)


TINY = """\
1 -2 0 1 3 1 0 -1
111111 -1000 -1 -1 -1 -2 -3 -5

44 2 5 5 -1 0 0 0
7 0 0 0 0 0 0 0
111111 -1000 4 1 4 0 -3 -5
"""


def test_load_positions_reads_both_kinds(tmp_path):
    plain = load_positions("Test_L2_R2")
    assert len(plain) == 1000 and plain.column_scores is None
    assert plain.sequences[0] == [int(c) - 1 for c in "274552224131661"]
    assert plain.scores[:3].tolist() == [0, -1, 2]

    tiny = load_positions(write(tmp_path, TINY))
    assert tiny.lines.tolist() == [1, 2, 4, 5, 6]  # the blank line is skipped
    assert tiny.sequences[1] == [0] * 6
    assert tiny.scores.tolist() == [3, -1, 5, 0, 4]
    assert tiny.column_scores.shape == (5, 7)
    assert len(load_positions(write(tmp_path, TINY), limit=2)) == 2


def test_the_arithmetic_on_a_hand_made_file(tmp_path):
    # Per position: the agent's column, its score, the best score.
    #   1: col 4 -> 3, best 3: exact
    #   2: col 5 -> -2, best -1: both losses, so right at win/draw/loss level only
    #   3: col 1 -> 2, best 5: a slower win, win/draw/loss level only
    #   4: col 3 -> 0, best 0: exact
    #   5: col 1 -> full column: illegal, counts as wrong
    agent = Scripted([3, 4, 0, 2, 0])
    report = evaluate_agent(agent, GAME, write(tmp_path, TINY), batch_size=2)
    assert agent.batches == [2, 2, 1]
    assert report["positions"] == 5
    assert report["wdl_optimal"] == 4 and report["exact_optimal"] == 2
    assert report["illegal"] == 1
    assert report["wdl_rate"] == pytest.approx(0.8) and report["exact_rate"] == 0.4
    assert report["agent"] == "scripted"


def test_a_draw_is_neither_a_win_nor_a_loss(tmp_path):
    # A draw where a win exists, a loss where a draw exists, then the drawing move.
    lines = ["1 1 0 -1 0 0 0 0", "2 -3 0 -2 -1 -1 -1 -1", "2 -3 0 -2 -1 -1 -1 -1"]
    report = evaluate_agent(Scripted([1, 0, 1]), GAME, write(tmp_path, "\n".join(lines)))
    assert report["wdl_optimal"] == 1 and report["exact_optimal"] == 1


def test_the_solver_is_always_optimal():
    solver = agents.make("solver", GAME)
    for name, limit in [("Test_L2_R1.moves", 300), ("Test_L2_R2.moves", 100), ("Test_L3_R1", 100)]:
        report = evaluate_agent(solver, GAME, name, limit=limit, batch_size=64)
        assert report["positions"] == limit
        assert report["wdl_rate"] == 1.0 and report["exact_rate"] == 1.0, report


def test_a_random_agent_is_clearly_worse():
    report = evaluate_agent(agents.make("random", GAME), GAME, "Test_L2_R2.moves", limit=300)
    assert report["illegal"] == 0
    assert report["wdl_rate"] < 0.8 and report["exact_rate"] < 0.5
    assert report["exact_optimal"] <= report["wdl_optimal"]


def test_a_plain_file_with_a_wrong_score_is_reported(tmp_path):
    line = resolve_set("L3_R1").read_text().splitlines()[0]
    moves, score = line.split()
    path = write(tmp_path, f"{line}\n{moves} {int(score) + 1}\n")
    with pytest.raises(ValueError, match=r"line 2: the file says score"):
        evaluate_agent(agents.make("random", GAME), GAME, path)


@pytest.mark.parametrize(
    "text, message",
    [
        ("44 1 2\n", "line 1: expected 'MOVES SCORE'"),
        ("44 1\n45 2 3 4 5 6 7 8\n", "line 2: expected 2 fields"),
        ("44 1\n\n48 2\n", "line 3: move 2 is '8'"),
        ("04 1\n", "line 1: move 1 is '0'"),
        ("44 x\n", "line 1: score 'x' is not an integer"),
        ("1111111 0\n", "line 1: move 7 plays column 1, which is already full"),
        ("\n\n", "no positions"),
        ("44 1 1 1 1 1 1 1\n4 -1000 -1000 -1000 -1000 -1000 -1000 -1000\n", "line 2: every"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path, text, message):
    path = write(tmp_path, text, "bad.txt")
    with pytest.raises(ValueError, match=message) as err:
        load_positions(path)
    assert "bad.txt" in str(err.value)


@pytest.mark.parametrize(
    "text, message",
    [
        ("44 1\n4455667 0\n", "line 2: the game is already over"),
        ("44 1\n445566771 0\n", "line 2: cannot play the moves"),
        ("111111 -1000 0 0 0 0 0 0\n111111 0 0 0 0 0 0 0\n", "line 2: the full columns"),
    ],
)
def test_positions_that_cannot_be_evaluated_name_their_line(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        evaluate_agent(Scripted([3, 3]), GAME, write(tmp_path, text))


def test_other_games_and_bad_agents_are_refused(tmp_path):
    path = write(tmp_path, TINY)
    with pytest.raises(ValueError, match="connect_four"):
        evaluate_agent(Scripted([0]), games.make("tic_tac_toe"), path)
    with pytest.raises(ValueError, match="shape"):
        evaluate_agent(Scripted([0]), GAME, path)  # one action for a batch of five
