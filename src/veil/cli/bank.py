"""``veil bank …``: create, list, add, import, export and withdraw.

Every change is recorded in the store's audit log under the actor ``cli:<user>``.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from veil.cli.output import console, err_console, fail, handles_errors
from veil.config import load_settings
from veil.index.factory import snapshot_path
from veil.store import Action, Category, ImportReport, Store, open_store
from veil.store.hashlist import Format, HashListFile, detect_format, write_hashlist
from veil.verdict import action_for

app = typer.Typer(help="Manage hash banks.", no_args_is_help=True)

#: Bad rows printed by ``veil bank import`` before it only counts the rest.
SHOWN_ERRORS = 20
#: Files smaller than this import without a progress bar (it would only flicker).
PROGRESS_MIN_BYTES = 4 * 1024 * 1024


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry and no $USER, e.g. in some containers
        return "cli"


def _store() -> Store:
    return open_store(load_settings())


@app.command("create")
@handles_errors
def create_command(
    name: str = typer.Argument(..., help="Bank name: letters, digits, '_', '.', '-'."),
    category: Category = typer.Option(..., "--category", "-c", help="What the bank holds."),
    action: Action | None = typer.Option(
        None, "--action", help="What a match does (default: the category's default)."),
) -> None:
    """Create an empty bank."""
    policy = {"action": action.value} if action else {}
    with _store() as store:
        bank = store.create_bank(name, category.value, policy, actor=_actor())
    console.print(f"created bank [bold]{bank.name}[/] ({bank.category}, "
                  f"{action_for(bank.category, bank.policy)} on match)")


@app.command("list")
@handles_errors
def list_command(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per bank."),
) -> None:
    """List banks with their entry counts."""
    with _store() as store:
        banks = store.list_banks()
    if as_json:
        for b in banks:
            print(json.dumps({"name": b.name, "category": b.category, "policy": b.policy,
                              "action": action_for(b.category, b.policy),
                              "counts": b.counts, "created_at": b.created_at.isoformat(),
                              "created_by": b.created_by}))
        return
    if not banks:
        err_console.print("no banks yet; create one with [bold]veil bank create NAME "
                          "--category C[/]")
        return
    table = Table("name", "category", "action", "active", "withdrawn", "disputed")
    for b in banks:
        act = action_for(b.category, b.policy)
        table.add_row(b.name, b.category, act if b.action else f"{act} [dim](default)[/]",
                      f"{b.counts['active']:,}", f"{b.counts['withdrawn']:,}",
                      f"{b.counts['disputed']:,}")
    console.print(table)


@app.command("add")
@handles_errors
def add_command(
    name: str = typer.Argument(..., help="Bank to add to."),
    value: str = typer.Argument(..., help="The hash, as hex.", show_default=False),
    signal: str = typer.Option("pdq", "--signal", "-s", help="Signal type of the hash."),
    quality: int | None = typer.Option(None, "--quality", min=0, max=100,
                                       help="PDQ quality 0-100."),
    source: str | None = typer.Option(None, "--source", help="Where the hash came from."),
    note: str | None = typer.Option(None, "--note", help="Free text for reviewers."),
) -> None:
    """Add one hash to a bank."""
    with _store() as store:
        entry = store.add_entry(name, signal, value, actor=_actor(), quality=quality,
                                source=source, note=note)
    console.print(f"added entry {entry.id} ({entry.signal}) to bank [bold]{name}[/]")


def _print_errors(report: ImportReport, path: Path) -> None:
    for err in report.errors[:SHOWN_ERRORS]:
        err_console.print(f"{path}: {err}", markup=False, highlight=False, soft_wrap=True)
    if report.error_count > SHOWN_ERRORS:
        err_console.print(f"… and {report.error_count - SHOWN_ERRORS:,} more bad rows")


@app.command("import")
@handles_errors
def import_command(
    name: str = typer.Argument(..., help="Bank to import into."),
    file: Path = typer.Argument(..., help="CSV (header: signal,value,…) or JSON lines.",
                                show_default=False),
    fmt: Format | None = typer.Option(None, "--format", "-f",
                                      help="File format (default: from the extension)."),
) -> None:
    """Import a hash list: every row, or none if any row is bad (exit 2)."""
    settings = load_settings()
    hashlist = HashListFile(file, detect_format(file, fmt.value if fmt else None),
                            settings.import_max_line_bytes)
    show = hashlist.size >= PROGRESS_MIN_BYTES and err_console.is_terminal
    progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                        TimeRemainingColumn(), console=err_console, transient=True,
                        disable=not show)
    task = progress.add_task(f"reading {file.name}", total=hashlist.size)

    def on_progress(done: int) -> None:
        progress.update(task, completed=done)
        if done >= hashlist.size:
            progress.update(task, description="writing to the bank")

    hashlist.on_progress = on_progress
    started = time.perf_counter()
    with _store() as store, progress:
        report = store.import_entries(name, hashlist, actor=_actor(), source_name=file.name,
                                      max_errors=SHOWN_ERRORS)
    if not report.ok:
        _print_errors(report, file)
        raise fail(f"{report.error_count:,} bad row(s) in {file}; nothing was imported",
                   "input.invalid")
    took = time.perf_counter() - started
    console.print(f"imported {report.imported:,} entries into bank [bold]{name}[/] "
                  f"({report.duplicates:,} duplicates skipped) in {took:.1f} s")


@app.command("export")
@handles_errors
def export_command(
    name: str = typer.Argument(..., help="Bank to export."),
    fmt: Format | None = typer.Option(
        None, "--format", "-f", help="csv or jsonl (default: from -o's extension, else csv)."),
    output: Path | None = typer.Option(None, "--output", "-o",
                                       help="File to write (default: standard output)."),
) -> None:
    """Export a bank's active entries in a format ``veil bank import`` reads back."""
    chosen = Format(fmt.value) if fmt else (
        detect_format(output) if output is not None else Format.CSV)
    with _store() as store:
        store.get_bank(name)  # fail before creating any file
        rows = store.export_entries(name)
        if output is None:
            write_hashlist(rows, sys.stdout, chosen)
            sys.stdout.flush()
            return
        count = _write_atomically(output, lambda out: write_hashlist(rows, out, chosen))
    err_console.print(f"exported {count:,} entries from bank [bold]{name}[/] to {output}")


def _write_atomically(path: Path, write: Callable[[TextIO], int]) -> int:
    # a temp file beside the target, renamed over it only once complete: an interrupted
    # export never leaves a truncated list that would import as a smaller bank. The
    # temp file is created owner-only, as the list may hold victims' hashes.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            count = write(out)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


@app.command("withdraw")
@handles_errors
def withdraw_command(
    name: str = typer.Argument(..., help="Bank holding the entry."),
    value: str | None = typer.Argument(None, help="The hash to withdraw, as hex.",
                                       show_default=False),
    signal: str = typer.Option("pdq", "--signal", "-s", help="Signal type of VALUE."),
    entry_id: int | None = typer.Option(None, "--id", help="Withdraw by entry id instead."),
    reason: str | None = typer.Option(None, "--reason", help="Recorded in the audit log."),
) -> None:
    """Withdraw an entry: its hash is erased; the audit log keeps who, when and why."""
    if (value is None) == (entry_id is None):
        raise fail("give either VALUE (with --signal) or --id, not both")
    with _store() as store:
        if entry_id is not None:
            if store.get_entry(entry_id).bank != name:
                raise fail(f"entry {entry_id} is not in bank {name!r}", "not_found")
            entry = store.withdraw(entry_id, actor=_actor(), reason=reason)
        else:
            assert value is not None
            entry = store.withdraw((name, signal, value), actor=_actor(), reason=reason)
        # the index snapshot may hold the hash: gone too (the next start rebuilds it)
        snapshot_path(store.settings.home, entry.signal).unlink(missing_ok=True)
    console.print(f"withdrew entry {entry.id} from bank [bold]{name}[/]; its hash is erased")

