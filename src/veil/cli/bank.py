"""``veil bank …``: create, list, add, import, export, withdraw; policies; disabling
and enabling false positives.

Every change is recorded in the store's audit log under the actor ``cli:<user>``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import typer
from rich.markup import escape

from veil.cli.identity import cli_actor
from veil.cli.opening import open_cli_store
from veil.cli.output import console, counted, err_console, fail, handles_errors, table_console
from veil.store.vocabulary import Action, Category, Format

if TYPE_CHECKING:
    from veil.store import ImportReport

app = typer.Typer(help="Manage hash banks.", no_args_is_help=True)

#: Bad rows printed by ``veil bank import`` before it only counts the rest.
SHOWN_ERRORS = 20
#: Files smaller than this import without a progress bar (it would only flicker).
PROGRESS_MIN_BYTES = 4 * 1024 * 1024


@app.command("create")
@handles_errors
def create_command(
    name: str = typer.Argument(..., help="Bank name: letters, digits, '_', '.', '-'.",
                               show_default=False),
    category: Category = typer.Option(..., "--category", "-c", help="What the bank holds.",
                                      show_default=False),
    action: Action | None = typer.Option(
        None, "--action", help="What a match does (default: the category's default).",
        show_default=False),
) -> None:
    """Create an empty bank."""
    from veil.verdict import action_for

    policy = {"action": action.value} if action else {}
    with open_cli_store() as store:
        bank = store.create_bank(name, category.value, policy, actor=cli_actor())
    console.print(f"created bank [bold]{escape(bank.name)}[/] ({bank.category}, "
                  f"{action_for(bank.category, bank.policy)} on match)")


@app.command("list")
@handles_errors
def list_command(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per bank."),
) -> None:
    """List banks with their entry counts."""
    from rich.table import Table

    from veil.verdict import action_for

    with open_cli_store() as store:
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
    table = Table("name", "category", "action", "policy", "active", "withdrawn", "disputed",
                  "disabled")
    table.columns[0].overflow = "fold"
    for b in banks:
        act = action_for(b.category, b.policy)
        table.add_row(escape(b.name), b.category, act if b.action else f"{act} [dim](default)[/]",
                      escape(policy_text(b.policy)), f"{b.counts['active']:,}",
                      f"{b.counts['withdrawn']:,}", f"{b.counts['disputed']:,}",
                      f"{b.counts['disabled']:,}")
    table_console().print(table)


def policy_text(stored: dict[str, object]) -> str:
    """A policy's settings other than the action, in a few words."""
    from veil.verdict import policy_of

    p = policy_of(stored)
    parts = [] if p.enabled else ["DISABLED"]
    parts += [f"{s} ≤ {t}" for s, t in sorted(p.thresholds.items())]
    if p.priority:
        parts.append(f"priority {p.priority}")
    if p.share:
        parts.append("shared with exchange partners")
    return ", ".join(parts) or "-"


def _threshold_pairs(items: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip().isdigit():
            raise fail(f"--threshold takes SIGNAL=BITS (e.g. pdq=20), got {item!r}")
        out[name.strip().lower()] = int(value)
    return out


@app.command("policy")
@handles_errors
def policy_command(
    name: str = typer.Argument(..., help="Bank whose policy to change or show.",
                               show_default=False),
    action: Action | None = typer.Option(None, "--action", help="What a match does.",
                                         show_default=False),
    threshold: list[str] | None = typer.Option(
        None, "--threshold", "-t", help="SIGNAL=BITS: the largest distance that counts as a "
        "match in this bank (repeat per signal; at most the service's cap).",
        show_default=False),
    priority: int | None = typer.Option(
        None, "--priority", help="An allowlist suppresses matches of banks whose priority "
        "is not above its own.", show_default=False),
    enabled: bool | None = typer.Option(None, "--enable/--disable", show_default=False,
                                        help="A disabled bank's entries match nothing."),
    share: bool | None = typer.Option(None, "--share/--no-share", show_default=False,
                                      help="Exchange partners whose key lists this bank may "
                                      "fetch it from the hub (victims' hashes only where "
                                      "the case consented)."),
    reset: bool = typer.Option(False, "--reset", help="Back to the defaults first (the "
                               "category's action, the service's thresholds, priority 0, "
                               "enabled)."),
    as_json: bool = typer.Option(False, "--json", help="Print the policy as JSON."),
) -> None:
    """Show a bank's policy, or change the parts given (the rest stay as they are)."""
    from veil.verdict import action_for, policy_of

    changes: dict[str, object] = {}
    if action is not None:
        changes["action"] = action.value
    if threshold:
        changes["thresholds"] = _threshold_pairs(threshold)
    if priority is not None:
        changes["priority"] = priority
    if enabled is not None:
        changes["enabled"] = enabled
    if share is not None:
        changes["share"] = share
    with open_cli_store() as store:
        if reset:
            bank = store.update_bank_policy(name, changes, actor=cli_actor())
        elif changes:
            current = policy_of(store.get_bank(name).policy)
            if "thresholds" in changes:  # a threshold given adds to those set
                changes["thresholds"] = {**current.thresholds, **changes["thresholds"]}  # type: ignore[dict-item]
            bank = store.update_bank_policy(name, changes, actor=cli_actor(), merge=True)
        else:
            bank = store.get_bank(name)
    p = policy_of(bank.policy)
    if as_json:
        print(json.dumps({"name": bank.name, "category": bank.category, "policy": bank.policy,
                          "action": action_for(bank.category, p), "priority": p.priority,
                          "enabled": p.enabled, "share": p.share}))
        return
    verb = "policy of" if not (changes or reset) else "changed policy of"
    console.print(f"{verb} bank [bold]{escape(bank.name)}[/] ({bank.category}): "
                  f"{action_for(bank.category, p)} on match"
                  + (" [dim](the category's default)[/]" if p.action is None else "")
                  + f"; {escape(policy_text(bank.policy))}")


@app.command("add")
@handles_errors
def add_command(
    name: str = typer.Argument(..., help="Bank to add to.", show_default=False),
    items: list[str] = typer.Argument(
        ..., help="Hashes (hex), or media files and folders to hash and add.",
        show_default=False),
    signal: list[str] | None = typer.Option(
        None, "--signal", "-s", help="Signal type of the hashes given (default pdq); for "
        "files, the signals to compute (repeat; default pdq and md5).", show_default=False),
    quality: int | None = typer.Option(None, "--quality", min=0, max=100,
                                       help="PDQ quality 0-100 of a hash given.",
                                       show_default=False),
    source: str | None = typer.Option(None, "--source", help="Where the hashes came from.",
                                      show_default=False),
    note: str | None = typer.Option(None, "--note", help="Free text for reviewers.",
                                    show_default=False),
) -> None:
    """Add hashes to a bank: typed ones, or those of media files (hashed here; nothing
    but the hashes is kept)."""
    # a hash is hex: an item with a path separator or a dot was meant as a file
    missing = next((i for i in items if any(c in i for c in "/\\.")
                    and not Path(i).exists()), None)
    if missing is not None:
        raise fail(f"{missing}: no such file or directory")
    paths = [Path(i) for i in items if Path(i).exists()]
    if paths and len(paths) != len(items):
        raise fail("give hashes or files, not both in one command")
    if paths:
        _add_files(name, paths, signal, source, note)
        return
    from veil.cli.values import parse_typed, signal_type

    if signal and len(signal) > 1:
        raise fail("one --signal for typed hashes: they are all of one type")
    st = signal_type(signal[0] if signal else "pdq")
    values = [parse_typed(st, v) for v in items]
    with open_cli_store() as store:
        for v in values:
            entry = store.add_entry(name, st.name, v, actor=cli_actor(), quality=quality,
                                    source=source, note=note)
            console.print(f"added entry {entry.id} ({entry.signal}) to bank "
                          f"[bold]{escape(name)}[/]")


def _add_files(name: str, paths: list[Path], signals: list[str] | None, source: str | None,
               note: str | None) -> None:
    from veil.cli.progress import progress_bar, worker_count
    from veil.cli.unhashed import problem_kind, problem_line
    from veil.cli.values import signal_names
    from veil.config import load_settings
    from veil.media.discover import Skipped
    from veil.signals import all_types
    from veil.signals.batch import hash_paths
    from veil.store import HashRow, open_store

    settings = load_settings()
    wanted = signal_names(signals) if signals else tuple(
        t.name for t in all_types() if t.always_scanned)
    rows: list[HashRow] = []
    problems = 0
    with progress_bar("hashing") as advance:
        for item in hash_paths(paths, settings.media, wanted,
                               workers=worker_count(settings, None)):
            advance()
            if isinstance(item, Skipped) or not item.ok:
                problems += problem_kind(item) == "error"
                err_console.print(problem_line(item), soft_wrap=True)
            else:
                rows += [HashRow(s.type, s.value, s.quality, source=source or "veil bank add",
                                 note=note) for s in item.signals]
    if problems:
        raise fail(f"{counted(problems, 'file')} could not be hashed; nothing was added")
    with open_store(settings) as store:
        report = store.import_entries(name, rows, actor=cli_actor(), source_name="veil bank add")
    console.print(f"added {counted(report.imported, 'entry', 'entries')} to bank "
                  f"[bold]{escape(name)}[/] ({report.duplicates:,} already there)")


def _print_errors(report: ImportReport, path: Path) -> None:
    for err in report.errors[:SHOWN_ERRORS]:
        err_console.print(f"{path}: {err}", markup=False, highlight=False, soft_wrap=True)
    if report.error_count > SHOWN_ERRORS:
        err_console.print(f"… and {report.error_count - SHOWN_ERRORS:,} more bad rows")


@app.command("import")
@handles_errors
def import_command(
    name: str = typer.Argument(..., help="Bank to import into.", show_default=False),
    file: Path = typer.Argument(..., help="CSV (header: signal,value,…) or JSON lines "
                                "(also what veil hash --json writes).", show_default=False),
    fmt: Format | None = typer.Option(None, "--format", "-f", show_default=False,
                                      help="File format (default: from the extension)."),
) -> None:
    """Import a hash list: every row, or none if any row is bad (exit 2)."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from veil.config import load_settings
    from veil.store.hashlist import HashListFile, detect_format

    settings = load_settings()
    hashlist = HashListFile(file, detect_format(file, fmt.value if fmt else None),
                            settings.import_max_line_bytes)
    show = hashlist.size >= PROGRESS_MIN_BYTES and err_console.is_terminal
    progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                        TimeRemainingColumn(), console=err_console, transient=True,
                        disable=not show)
    task = progress.add_task(f"reading {escape(file.name)}", total=hashlist.size)

    def on_progress(done: int) -> None:
        progress.update(task, completed=done)
        if done >= hashlist.size:
            progress.update(task, description="writing to the bank")

    hashlist.on_progress = on_progress
    started = time.perf_counter()
    with open_cli_store() as store, progress:
        report = store.import_entries(name, hashlist, actor=cli_actor(), source_name=file.name,
                                      max_errors=SHOWN_ERRORS)
    if not report.ok:
        _print_errors(report, file)
        raise fail(f"{report.error_count:,} bad row(s) in {file}; nothing was imported",
                   "input.invalid")
    took = time.perf_counter() - started
    console.print(f"imported {report.imported:,} entries into bank [bold]{escape(name)}[/] "
                  f"({report.duplicates:,} duplicates skipped) in {took:.1f} s")


@app.command("export")
@handles_errors
def export_command(
    name: str = typer.Argument(..., help="Bank to export.", show_default=False),
    fmt: Format | None = typer.Option(
        None, "--format", "-f", show_default=False,
        help="csv or jsonl (default: from -o's extension, else csv)."),
    output: Path | None = typer.Option(None, "--output", "-o", show_default=False,
                                       help="File to write (default: standard output)."),
) -> None:
    """Export a bank's active entries in a format veil bank import reads back."""
    from veil.store.hashlist import detect_format, write_hashlist

    chosen = Format(fmt.value) if fmt else (
        detect_format(output) if output is not None else Format.CSV)
    with open_cli_store() as store:
        bank = store.get_bank(name)  # fail before creating any file
        store.audit_read(cli_actor(), "bank.export", bank=name,
                         entries=bank.counts["active"], format=chosen.value)
        rows = store.export_entries(name)
        if output is None:
            write_hashlist(rows, sys.stdout, chosen)
            sys.stdout.flush()
            return
        count = _write_atomically(output, lambda out: write_hashlist(rows, out, chosen))
    err_console.print(f"exported {count:,} entries from bank [bold]{escape(name)}[/] to "
                      f"{escape(str(output))}")


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


WITHDRAW_WHAT = ("say which entry to withdraw: its hash (veil bank withdraw BANK HASH, with "
                 "-s md5 for an MD5) or its id (veil bank withdraw BANK --id N)")


def _target(store: object, name: str, value: str | None, signal: str, entry_id: int | None,
            verb: str) -> int | tuple[str, str, str]:
    """The entry a command names: by id (checked to be in bank ``name``) or by hash."""
    if value is None and entry_id is None:
        raise fail(f"say which entry to {verb}: its hash (veil bank {verb} BANK HASH, with "
                   f"-s md5 for an MD5) or its id (veil bank {verb} BANK --id N)")
    if value is not None and entry_id is not None:
        raise fail("give the hash or --id, not both")
    if entry_id is not None:
        if store.get_entry(entry_id).bank != name:  # type: ignore[attr-defined]
            raise fail(f"entry {entry_id} is not in bank {name!r}", "not_found")
        return entry_id
    assert value is not None
    from veil.cli.values import parse_typed, signal_type

    st = signal_type(signal)
    return (name, st.name, parse_typed(st, value))


# the arguments that say which entry: disable, enable and withdraw take the same
ENTRY_BANK = typer.Argument(..., help="Bank holding the entry.", show_default=False)
ENTRY_VALUE = typer.Argument(None, help="The entry's hash, as hex.", show_default=False)
ENTRY_SIGNAL = typer.Option("pdq", "--signal", "-s", help="Signal type of VALUE.")
ENTRY_ID = typer.Option(None, "--id", help="The entry's id instead of its hash.",
                        show_default=False)


@app.command("disable")
@handles_errors
def disable_command(
    name: str = ENTRY_BANK,
    value: str | None = ENTRY_VALUE,
    signal: str = ENTRY_SIGNAL,
    entry_id: int | None = ENTRY_ID,
    reason: str | None = typer.Option(None, "--reason", help="Recorded in the audit log "
                                      "and in the note to the entry's source list.",
                                      show_default=False),
) -> None:
    """Disable a false positive: it stops matching; its hash is kept (audit, the list's
    owner) and veil bank enable turns it back on."""
    with open_cli_store() as store:
        target = _target(store, name, value, signal, entry_id, "disable")
        entry = store.disable_entry(target, actor=cli_actor(), reason=reason)
        category = store.get_bank(name).category
    from veil.store.vocabulary import from_a_list

    told = from_a_list(category, entry.source)
    console.print(f"disabled entry {entry.id} in bank [bold]{escape(name)}[/]; it no longer "
                  "matches" + ("; a note for its source list is pending" if told else ""))


@app.command("enable")
@handles_errors
def enable_command(
    name: str = ENTRY_BANK,
    value: str | None = ENTRY_VALUE,
    signal: str = ENTRY_SIGNAL,
    entry_id: int | None = ENTRY_ID,
    reason: str | None = typer.Option(None, "--reason", help="Recorded in the audit log.",
                                      show_default=False),
) -> None:
    """Enable a disabled entry: it matches again."""
    with open_cli_store() as store:
        target = _target(store, name, value, signal, entry_id, "enable")
        entry = store.enable_entry(target, actor=cli_actor(), reason=reason)
    console.print(f"enabled entry {entry.id} in bank [bold]{escape(name)}[/]; it matches again")


@app.command("withdraw")
@handles_errors
def withdraw_command(
    name: str = ENTRY_BANK,
    value: str | None = ENTRY_VALUE,
    signal: str = ENTRY_SIGNAL,
    entry_id: int | None = ENTRY_ID,
    reason: str | None = typer.Option(None, "--reason", help="Recorded in the audit log.",
                                      show_default=False),
) -> None:
    """Withdraw an entry: its hash is erased; the audit log keeps who, when and why."""
    if value is None and entry_id is None:
        raise fail(WITHDRAW_WHAT)
    if value is not None and entry_id is not None:
        raise fail("give the hash or --id, not both")
    with open_cli_store() as store:
        if entry_id is not None:
            if store.get_entry(entry_id).bank != name:
                raise fail(f"entry {entry_id} is not in bank {name!r}", "not_found")
            entry = store.withdraw(entry_id, actor=cli_actor(), reason=reason)
        else:
            assert value is not None
            from veil.cli.values import parse_typed, signal_type

            st = signal_type(signal)
            entry = store.withdraw((name, st.name, parse_typed(st, value)), actor=cli_actor(),
                                   reason=reason)
    console.print(f"withdrew entry {entry.id} from bank [bold]{escape(name)}[/]; its hash is "
                  "erased")
