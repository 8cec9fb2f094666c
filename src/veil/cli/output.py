"""Console objects and the one place VeilErrors become a one-line message + exit code."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console

from veil.errors import VeilError

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

#: Exit codes shared by every command.
EXIT_OK = 0
EXIT_MATCH = 1
EXIT_ERROR = 2

P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str, code: str = "input.invalid") -> typer.Exit:
    err_console.print(f"[bold red]error[/] [dim]{code}[/] {message}", soft_wrap=True)
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
