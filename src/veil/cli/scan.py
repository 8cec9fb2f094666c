"""``veil scan PATH…``: hash media files and match them against the banks.

Files are hashed in worker processes (one per core by default), started before the
store is opened, and decided in this process (``veil.matching.start_scan`` and
``scan_results``: the same path as ``POST /v1/scan``); results
stream out in input order. Every file is accounted for: decided, an error, or
skipped with its reason. A path that does not exist or cannot be read is an error.
"""

from __future__ import annotations

import json
import os
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from veil.cli.opening import open_matcher
from veil.cli.output import (
    EXIT_ERROR,
    EXIT_MATCH,
    EXIT_OK,
    console,
    counted,
    handles_errors,
)
from veil.cli.progress import progress_bar, worker_count, workers_option
from veil.cli.unhashed import problem_cells, problem_json, problem_kind

if TYPE_CHECKING:
    from veil.config import Settings
    from veil.matching import BankMatcher
    from veil.matching.scanning import Hashed
    from veil.signals.batch import HashingPool


def _shown(path: str) -> str:
    """A path as short as it can be while still pointing at the file from here."""
    rel = os.path.relpath(path)
    return rel if len(rel) < len(path) else path


def scan_command(
    paths: list[Path] = typer.Argument(..., help="Files or folders (recursive).",
                                       show_default=False),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per file."),
    threshold: int | None = typer.Option(
        None, "--threshold", min=0, max=256,
        help="PDQ match threshold in bits (default: the configured one, 31).",
        show_default=False),
    dihedral: bool = typer.Option(False, "--dihedral",
                                  help="Also match rotated and mirrored copies (PDQ)."),
    workers: int | None = workers_option(),
    show_clean: bool = typer.Option(False, "--all", help="List clean files in the table too."),
) -> None:
    """Scan media files against the banks. Exit 0: clean, 1: matches found, 2: errors."""
    code = run_scan(paths, as_json=as_json, threshold=threshold, dihedral=dihedral,
                    workers=workers, show_clean=show_clean)
    raise typer.Exit(code)


@handles_errors
def run_scan(paths: list[Path], *, as_json: bool, threshold: int | None, dihedral: bool,
             workers: int | None, show_clean: bool, settings: Settings | None = None) -> int:
    from veil.config import load_settings
    from veil.matching import start_scan

    settings = settings or load_settings()
    # The hashing workers start before the store is imported: they are forked from
    # this process as it is now (the hashing modules loaded, SQLAlchemy not, no thread
    # yet) and hash the first files on every core while this process imports
    # SQLAlchemy, opens the store and loads the index, work that otherwise left the
    # other core idle for a third of a scan.
    with start_scan(paths, settings, workers=worker_count(settings, workers),
                    dihedral=dihedral) as hashing, open_matcher(settings) as matcher:
        return _scan(hashing, matcher, as_json=as_json, threshold=threshold,
                     show_clean=show_clean)


def _scan(hashing: HashingPool[Hashed], matcher: BankMatcher, *, as_json: bool,
          threshold: int | None, show_clean: bool) -> int:
    from rich.table import Table

    from veil.cli.output import table_console
    from veil.matching import scan_results
    from veil.media.discover import Skipped

    overrides = {} if threshold is None else {"pdq": matcher.threshold("pdq", threshold)}
    table = Table(title="veil scan")
    table.add_column("file", overflow="fold", ratio=2)
    table.add_column("verdict", no_wrap=True)
    table.add_column("why", overflow="fold", ratio=3)
    counts = {"block": 0, "review": 0, "allow": 0, "error": 0, "skipped": 0}
    with progress_bar("scanning") as advance:
        for item in scan_results(hashing, matcher, thresholds=overrides):
            advance()
            if isinstance(item, Skipped) or item.verdict is None:
                problem = item if isinstance(item, Skipped) else item.file
                counts[problem_kind(problem)] += 1
                if as_json:
                    print(json.dumps(problem_json(problem)))
                else:
                    table.add_row(escape(_shown(problem.path)), *problem_cells(problem))
                continue
            file, verdict = item.file, item.verdict
            counts[verdict.decision] += 1
            if as_json:
                extra = {} if file.video is None else {"video": file.video.as_json()}
                print(json.dumps({"file": file.path, "format": file.format,
                                  "signals": [s.as_dict() for s in file.signals], **extra,
                                  "warnings": list(file.warnings), **verdict.as_json()}))
            elif verdict.matches or verdict.decision != "allow" or show_clean or file.warnings:
                color = {"block": "bold red", "review": "yellow"}.get(verdict.decision, "green")
                why = [*islice(verdict.iter_reasons(), 3),
                       *(f"warning: {w}" for w in file.warnings)]
                table.add_row(escape(_shown(file.path)), f"[{color}]{verdict.decision}[/]",
                              escape("\n".join(why)))
    if not as_json:
        if table.row_count:
            table_console().print(table)
        decided = counts["block"] + counts["review"] + counts["allow"]
        banks = escape(", ".join(matcher.bank_names()) or "none")
        console.print(
            f"{counted(decided + counts['error'], 'file')}: "
            f"[bold red]{counts['block']} block[/], [yellow]{counts['review']} review[/], "
            f"[green]{counts['allow']} clean[/], {counted(counts['error'], 'error')}, "
            f"{counts['skipped']:,} skipped; against {counted(len(matcher.banks), 'bank')} "
            f"({banks}: {matcher.describe()})", soft_wrap=True)
    if counts["error"]:
        return EXIT_ERROR
    return EXIT_MATCH if counts["block"] + counts["review"] else EXIT_OK

