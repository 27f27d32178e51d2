from arena.cli import run

run()
