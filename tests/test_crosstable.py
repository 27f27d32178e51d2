"""The closing win-rate matrix stays readable on an 80-column terminal."""

import os
import subprocess
import sys


def test_ten_long_names_fit_80_columns(tmp_path):
    names = [f"exploiter-s{i}@r00012=random" for i in range(10)]  # the quickstart's id shape
    out = tmp_path / "run"
    command = [sys.executable, "-m", "arena", "tournament", "--game", "tic_tac_toe"]
    command += ["--agents", *names, "--games-per-pair", "2", "--out", str(out), "--no-progress"]
    env = {**os.environ, "COLUMNS": "80"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    matrix = lines[next(i for i, line in enumerate(lines) if "score rate" in line) :]
    assert "…" not in "\n".join(matrix)
    assert all(len(line) <= 80 for line in matrix)
    header = next(line for line in matrix if " agent " in line)
    assert header.split()[-10:] == [str(j) for j in range(1, 11)]  # numbered columns
    rows = [line.split() for line in matrix if "@r00012" in line]
    assert [row[0] for row in rows] == [str(i) for i in range(1, 11)]  # numbered rows
    assert sorted(row[1] for row in rows) == sorted(n.split("=")[0] for n in names)  # in full
    assert all(len(row) == 12 for row in rows)  # a number, a name and ten cells
