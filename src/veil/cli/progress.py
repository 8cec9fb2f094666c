"""The progress bar long CLI work shows (on a terminal only), and worker counts (the
``--workers`` option)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

from veil.cli.output import err_console

if TYPE_CHECKING:
    from veil.config import Settings


@contextmanager
def progress_bar(what: str, total: int | None = None) -> Iterator[Callable[[], None]]:
    """A transient bar on stderr; yields the function that advances it by one."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    progress = Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                        MofNCompleteColumn(), TimeElapsedColumn(), console=err_console,
                        transient=True, disable=not err_console.is_terminal)
    with progress:
        task = progress.add_task(what, total=total)
        yield lambda: progress.advance(task)


def workers_option() -> Any:
    """``--workers`` of the commands that hash files (read it with ``worker_count``)."""
    return typer.Option(None, "--workers", min=1, help="Hashing processes (default: one per "
                        "core).", show_default=False)


def worker_count(settings: Settings, requested: int | None) -> int:
    """Processes to hash with: ``requested``, else the setting, else one per core."""
    n = requested if requested is not None else settings.scan_workers
    return n if n and n > 0 else max(1, os.cpu_count() or 1)
