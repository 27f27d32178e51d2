"""Matrix games: the built-in tables against OpenSpiel's, payoff tables from files (and
their errors), the simultaneous node taken jointly or one action at a time, general-sum
winners, and a run that still replays once its table file is gone."""

import subprocess
import sys

import numpy as np
import pyspiel
import pytest

import games
from games import batched, kernels, matrix
from games.layout import SIMULTANEOUS

OPENSPIEL = {
    "rps": "matrix_rps",
    "mp": "matrix_mp",
    "pd": "matrix_pd",
    "shapleys_game": "matrix_shapleys_game",
}


@pytest.mark.parametrize("name", sorted(OPENSPIEL))
def test_built_in_tables_are_openspiels(name):
    game = games.make(f"matrix:name={name}")
    reference = pyspiel.load_game(OPENSPIEL[name])
    assert game.num_actions == reference.num_distinct_actions()
    assert game.zero_sum == (reference.get_type().utility == pyspiel.GameType.Utility.ZERO_SUM)
    cells = [(a, b) for a in range(game.num_actions) for b in range(game.num_actions)]
    state = game.init(len(cells))
    rewards = game.step(state, np.array(cells))
    for i, (a, b) in enumerate(cells):
        spiel = reference.new_initial_state()
        spiel.apply_actions([a, b])
        np.testing.assert_array_equal(rewards[i], spiel.returns())
        high = max(spiel.returns())
        best = [p for p in range(2) if spiel.returns()[p] == high]
        assert state.winner[i] == (best[0] if len(best) == 1 else -1)
    assert state.done.all() and (state.ply == 2).all()


def test_general_sum_winner_is_the_unique_highest_return():
    game = games.make("matrix:name=pd")
    assert not game.zero_sum and game.simultaneous and not game.hidden
    state = game.init(4)
    rewards = game.step(state, np.array([[0, 0], [0, 1], [1, 0], [1, 1]]))
    np.testing.assert_array_equal(rewards, [[5, 5], [0, 10], [10, 0], [1, 1]])
    assert state.winner.tolist() == [-1, 1, 0, -1]


def test_a_history_takes_the_row_then_the_column():
    """OpenSpiel's history lists both actions; replayed one at a time, the row is held (no
    rewards, nobody has seen anything) until the column resolves the node."""
    game = games.make("matrix:name=rps")
    state = game.play_sequences([[1], [2]])  # the rows
    assert (state.to_play == SIMULTANEOUS).all() and (state.ply == 1).all()
    assert not state.done.any()
    root = game.init(1)
    for p in range(2):
        assert (game.information_keys(state, p) == game.information_keys(root, p)[0]).all()
    with pytest.raises(ValueError, match="one action per player"):
        game.step(state, np.array([0, 0]))  # the engine's step takes a joint action
    done = game.play_sequences([[1, 0], [2, 0]])
    assert done.done.all() and done.winner.tolist() == [0, 1]


def test_observation_is_the_observers_seat_and_needs_a_player():
    game = games.make("matrix")
    state = game.init(1)
    np.testing.assert_array_equal(game.observe(state, 1), [[0, 1]])
    with pytest.raises(ValueError, match="needs a player"):
        game.observe(state)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_non_square_table_from_csv(tmp_path):
    path = write(tmp_path, "t.csv", "# rows: player 0\n1 0,0 2,3 3\n0 0,4 1,2 2\n")
    game = games.make(f"matrix:file={path}")
    assert game.num_actions == 3 and not game.zero_sum
    state = game.init(1)
    assert game.legal_mask(state, 0).tolist() == [[True, True, False]]
    assert game.legal_mask(state, 1).tolist() == [[True, True, True]]
    assert game.legal_mask(state).tolist() == [[True, True, False]]  # the row comes first
    with pytest.raises(ValueError, match="illegal"):
        game.step(state, np.array([[2, 0]]))
    held = game.play_sequences([[1]])
    assert game.legal_mask(held).tolist() == [[True, True, True]]  # then the column
    np.testing.assert_array_equal(game.step(state, np.array([[1, 2]])), [[2, 2]])


def test_a_toml_table_and_its_canonical_spec(tmp_path, monkeypatch):
    path = write(tmp_path, "pd.toml", "row_utilities = [[3, 0], [5, 1]]\n")
    monkeypatch.chdir(tmp_path)
    game = games.make("matrix:file=pd.toml")
    digest = __import__("hashlib").sha256(path.read_bytes()).hexdigest()
    assert game.spec == f"matrix:file={path},sha256={digest}"
    assert games.make(game.spec) is game and game.zero_sum  # no col_utilities: zero-sum
    np.testing.assert_array_equal(game.params.payoffs[1], [[-3, 0], [-5, -1]])
    assert games.canonical("matrix") == "matrix:name=rps"


@pytest.mark.parametrize(
    ("name", "text", "error"),
    [
        ("r.csv", "1,2\n3\n", r"r\.csv: line 2: ragged rows: 1 cells, the first row has 2"),
        ("n.csv", "1,x\n3,4\n", r"n\.csv: line 1, cell 2: 'x' is not a number"),
        ("i.csv", "1,inf\n3,4\n", r"i\.csv: line 1, cell 2: 'inf' is not a finite number"),
        ("m.csv", "1 2,3\n3 3,4 4\n", r"m\.csv: mixed cells"),
        ("t.csv", "1 2 3,3\n", r"t\.csv: line 1, cell 1: expected one or two numbers"),
        ("e.csv", "# nothing\n", r"e\.csv: no payoff rows"),
        (
            "s.toml",
            "row_utilities = [[1, 2]]\ncol_utilities = [[1], [2]]\n",
            r"col_utilities is 2x1, row_utilities 1x2",
        ),
        ("g.toml", "row_utilities = [[1, 2], [3]]\n", r"row_utilities: ragged rows: row 2 has 1"),
        (
            "v.toml",
            "row_utilities = [[1, 'a']]\n",
            r"row_utilities, row 1, column 2: 'a' is not a number",
        ),
        ("k.toml", "row = [[1]]\n", r"unknown key 'row'"),
        ("b.toml", "row_utilities = [[1\n", r"b\.toml: not valid TOML"),
        ("x.txt", "1,2\n", r"x\.txt: a payoff table must be a \.toml or \.csv file"),
    ],
)
def test_malformed_tables_say_what_and_where(tmp_path, name, text, error):
    path = write(tmp_path, name, text)
    with pytest.raises(ValueError, match=error) as caught:
        games.make(f"matrix:file={path}")
    assert "\n" not in str(caught.value)


def test_bad_matrix_specs(tmp_path):
    path = write(tmp_path, "t.csv", "1,-1\n-1,1\n")
    for spec, error in [
        (f"matrix:file={tmp_path}/none.csv", "no payoff table file"),
        (f"matrix:name=pd,file={path}", "not both"),
        ("matrix:sha256=abc", "goes with file=PATH"),
        (f"matrix:file={path},sha256=abc", "has changed: its sha256 is"),
        ("matrix:name=chess", "must be one of rps, mp, pd, shapleys_game"),
    ]:
        with pytest.raises(ValueError, match=error):
            games.make(spec)


def test_every_table_shares_one_compiled_kernel(tmp_path):
    specs = [
        "matrix:name=rps",
        "matrix:name=pd",
        f"matrix:file={write(tmp_path, 'a.csv', '1,2,3')}",
    ]
    for spec in specs:
        game = games.make(spec)
        game.legal_mask(game.init(1))
    matrix_type = kernels.PARAMS_CLASSES["matrix"]
    signatures = [
        s for s in batched.legal.nopython_signatures if s.args[0].instance_class is matrix_type
    ]
    assert len(signatures) == 1


@pytest.mark.parametrize(
    ("change", "refusal"),
    [("delete", "no payoff table file"), ("edit", "has changed: its sha256 is")],
)
def test_a_stored_copy_stands_in_for_a_deleted_or_changed_file(tmp_path, change, refusal):
    path = write(tmp_path, "t.csv", "2 1,0 0\n0 0,1 2\n")
    game = games.make(f"matrix:file={path}")
    copy = matrix.store_files(game.values, tmp_path / "run")
    assert copy.read_bytes() == path.read_bytes()
    if change == "delete":
        path.unlink()
    else:
        path.write_text("9,9\n9,9\n")
    # A fresh process, so that nothing parsed before the change is remembered.
    script = (
        "import sys, games, games.matrix as m\n"
        "try:\n    games.make(sys.argv[1])\nexcept ValueError as e:\n    print('refused:', e)\n"
        "m.use_files(sys.argv[2])\n"
        "print(games.make(sys.argv[1]).params.payoffs.tolist())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, game.spec, str(tmp_path / "run")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out[0].startswith("refused: matrix:") and refusal in out[0]
    assert out[1] == str([[[2.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 2.0]]])


def test_a_run_keeps_its_table_and_replays_after_the_file_is_deleted(tmp_path):
    from arena.tournament import run_tournament

    path = write(tmp_path, "pd.csv", "5 5,0 10\n10 0,1 1\n")
    config = {
        "game": f"matrix:file={path}",
        "agents": ["random", "again=random"],
        "games_per_pair": 6,
        "seed": 5,
        "out": str(tmp_path / "run"),
    }
    run = run_tournament(config).run_dir
    spec = games.make(f"matrix:file={path}").spec
    assert (run / "tables" / f"{spec.rsplit('=', 1)[1]}.csv").read_bytes() == path.read_bytes()
    path.unlink()
    match_id = replays_match(run)
    # A fresh process: nothing read before the deletion is remembered.
    shown = subprocess.run(
        [sys.executable, "-m", "arena", "replays", "show", str(run), match_id, "0"],
        capture_output=True,
        text=True,
    )
    assert shown.returncode == 0, shown.stderr
    assert spec in shown.stdout and "payoffs" in shown.stdout


def replays_match(run) -> str:
    import replays

    return replays.open(run).to_table()["match_id"][0].as_py()


@pytest.mark.parametrize(
    ("table", "error"),
    [(None, "no payoff table file"), ("1,2\n3\n", "line 2: ragged rows")],
)
def test_a_run_with_a_missing_or_malformed_table_writes_nothing(tmp_path, table, error):
    from arena.config import ConfigError
    from arena.tournament import run_tournament

    path = tmp_path / "t.csv"
    if table is not None:
        path.write_text(table)
    out = tmp_path / "run"
    config = {"game": f"matrix:file={path}", "agents": ["random", "again=random"], "out": str(out)}
    with pytest.raises(ConfigError, match=error):
        run_tournament(config)
    assert not out.exists()
