"""How the `arena` CLI talks to the terminal: plain text, and one-line errors.

Everything printed goes through `console`, which reads no rich markup and no emoji codes:
agent names, paths and specs come from users and print exactly as typed (`x[/]` or
`[red]evil` included). Errors are one home: a command calls `fail(message)` for what it
checks itself, and `ArenaGroup` turns the data errors any command raises (bad files, bad
values, unreadable replays) into `error: <message>` with exit status 2. Other exceptions
are bugs: one line with exit status 1 and a pointer to `--debug` (or ARENA_DEBUG=1), which
shows the full traceback instead.
"""

from __future__ import annotations

import atexit
import os
import sys
from collections.abc import Callable
from typing import NoReturn

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

# soft_wrap: a line longer than the terminal (or a pipe's 80 columns) is not cut into
# several, so paths, URLs and errors stay whole; tables still fit the width.
console = Console(markup=False, emoji=False, soft_wrap=True)
DEBUG_ENV = "ARENA_DEBUG"
USAGE_ERROR = 2  # bad input, files or values: the user can fix it
BUG = 1
# Exits, Ctrl-C and usage errors (typer's, which vendors click): typer reports them itself,
# as it quietly ends on a closed pipe (`arena ratings RUN | head`).
CONTROL_FLOW = (typer.Exit, typer.Abort, typer.exceptions.TyperException, BrokenPipeError)


def exit_after(command: Callable[[], object]) -> NoReturn:
    """Run `command`, then end the process with its exit status, skipping the interpreter's
    teardown of C++ libraries. Arrow's Parquet worker threads can outlive a finished command
    and abort that teardown with SIGABRT ("terminate called without an active exception",
    apache/arrow#34314): a command that did all its work would fail. Exit handlers (Ray's
    shutdown among them) and the streams' flushes still run."""
    try:
        command()
        status: object = 0
    except SystemExit as done:
        status = done.code
    if status is not None and not isinstance(status, int):
        print(status, file=sys.stderr)  # sys.exit("message") prints it and exits with 1
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(status or 0)


def fail(message: str) -> NoReturn:
    """Print a clear error and exit with status 2 (no traceback for user errors)."""
    console.print(Text.assemble(("error:", "red"), " ", message))
    raise typer.Exit(USAGE_ERROR)


def is_data_error(err: BaseException) -> bool:
    """Whether `err` describes bad input (files, values, stored data) rather than a bug."""
    import duckdb  # imported here: only a failing command pays for it
    import pyarrow as pa

    from replays import ReplayError

    # ValueError covers ConfigError, UnicodeDecodeError and pyarrow's ArrowInvalid; OSError
    # covers missing, unreadable or misplaced files; OverflowError, numbers too large for
    # the int64 columns and arrays they go to.
    return isinstance(
        err, (ValueError, OSError, OverflowError, ReplayError, duckdb.Error, pa.ArrowException)
    )


def message(err: BaseException) -> str:
    """The error's own text on one line (DuckDB and pyarrow spread theirs over several), or
    its type when it has none."""
    return " ".join(str(err).split()) or type(err).__name__


class ArenaGroup(TyperGroup):
    """The root `arena` command: every subcommand runs inside its error handling."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except CONTROL_FLOW:
            raise
        except Exception as err:
            if ctx.params.get("debug"):
                raise
            if is_data_error(err):
                fail(message(err))
            console.print(
                Text.assemble(
                    ("unexpected error:", "red"),
                    f" {type(err).__name__}: {message(err)} "
                    f"(rerun with --debug or {DEBUG_ENV}=1 for the traceback)",
                )
            )
            raise typer.Exit(BUG) from None
