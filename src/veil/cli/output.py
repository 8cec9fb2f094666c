"""Console objects, counted nouns, and the one place VeilErrors become a one-line
message and an exit code.

Everything printed here is Rich markup: text a user controls (a file, bank or key
name, a reason quoting one) goes through ``escape`` first, so a name like
``x[/y].jpg`` prints as it is instead of raising MarkupError or restyling the line.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape  # already loaded by rich.console: no start-up cost

from veil.errors import VeilError

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

#: Width of tables when stdout is not a terminal (a file, a pipe): wide enough that
#: nothing a person copies (a hash, a path) is folded.
PIPED_WIDTH = 200

#: Exit codes shared by every command.
EXIT_OK = 0
EXIT_MATCH = 1
EXIT_ERROR = 2

P = ParamSpec("P")
R = TypeVar("R")


def table_console() -> Console:
    """Where tables go: the terminal as it is, or a wide console for a pipe or file."""
    return console if console.is_terminal else Console(width=PIPED_WIDTH, highlight=False)


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``1 file``, ``2 files``, ``1,000 entries``."""
    word = noun if n == 1 else (plural or noun + "s")
    return f"{n:,} {word}"


class _LogLine(logging.Handler):
    """Warnings and errors logged by Veil's modules, as one formatted stderr line
    (never Python's raw last-resort text); quieter levels are not shown."""

    def emit(self, record: logging.LogRecord) -> None:
        level = "[red]error[/]" if record.levelno >= logging.ERROR else "[yellow]warning[/]"
        err_console.print(f"{level} {escape(record.getMessage())}", soft_wrap=True)


def configure_logging() -> None:
    """Logging for a CLI run: warnings and errors as one line each; a decoder's
    ``warnings.warn`` goes to the file it concerns, any other to stderr as usual."""
    from veil.media.library_warnings import install

    root = logging.getLogger()
    if not any(isinstance(h, _LogLine) for h in root.handlers):
        handler = _LogLine(logging.WARNING)
        root.addHandler(handler)
    install()


def fail(message: str, code: str = "input.invalid") -> typer.Exit:
    """Print ``error CODE message`` (plain text, escaped here) and return the exit to
    raise."""
    err_console.print(f"[bold red]error[/] [dim]{escape(code)}[/] {escape(message)}",
                      soft_wrap=True, markup=True, highlight=False)
    return typer.Exit(EXIT_ERROR)


def handles_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn VeilError (and a broken stdout pipe) into a clean exit, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except VeilError as exc:
            raise fail(exc.message, exc.code) from None
        except BrokenPipeError:  # e.g. `veil scan … | head`
            sys.stderr.close()
            raise typer.Exit(EXIT_OK) from None

    return wrapper
