"""``veil match HASH…``: check hashes against the banks, the analyst's lookup tool.

Queries come from arguments, ``--file`` or stdin (``-``), one per line (blank lines
and ``#`` comments skipped), and are read, searched and printed ``match_batch`` at a
time, so a list of millions runs in flat memory. A bad line is reported (with its
line number) and the rest still run; the exit code is then 2.

``--dihedral``: a rotated or mirrored copy of an image has a different PDQ hash, and
the other seven orientations cannot be derived from a hash (they are computed from
the image's DCT; see ``veil.signals.pdq.PDQResult.dihedral``). So with
``--dihedral`` each query line holds the 8 variant hashes, comma-separated, in the
order ``compute_pdq(media).dihedral()`` gives them (original, rotate90, rotate180,
rotate270, flipx, flipy, flipplus1, flipminus1); each entry is reported once, at its
closest variant. Without variants only the hash as given is matched.

Exit codes: 0 nothing matched, 1 something matched, 2 errors.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from veil.cli.output import EXIT_ERROR, EXIT_MATCH, EXIT_OK, console, err_console, handles_errors
from veil.config import Settings, load_settings
from veil.errors import BadInput, VeilError
from veil.signals import SignalType, get
from veil.signals.pdq import DIHEDRAL_NAMES

if TYPE_CHECKING:
    from veil.index import HammingIndex, IndexSource, Match


#: Width of the match table when stdout is not a terminal (a file, a pipe).
TABLE_WIDTH_PIPED = 200


def open_source(settings: Settings) -> AbstractContextManager[IndexSource]:
    """The banks to match against (the store; tests substitute their own)."""
    from veil.store import open_store

    return open_store(settings)


def _load_index(signal: SignalType, settings: Settings) -> HammingIndex:
    from veil.index import open_index, snapshot_path

    with open_source(settings) as source:
        return open_index(signal, source, snapshot=snapshot_path(settings.home, signal.name),
                          save_min_entries=settings.index_snapshot_min_entries)


def _lines(hashes: list[str], file: Path | None) -> Iterator[tuple[str, str]]:
    """(where, text) for every query line, streamed."""
    for i, h in enumerate(hashes, 1):
        if h == "-":
            for n, line in enumerate(sys.stdin, 1):
                yield f"stdin:{n}", line
        else:
            yield f"argument {i}", h
    if file is not None:
        try:
            with file.open(encoding="utf-8", errors="replace") as f:
                for n, line in enumerate(f, 1):
                    yield f"{file}:{n}", line
        except OSError as exc:
            raise BadInput(f"cannot read {file}: {exc.strerror or exc}") from None


def _parse(text: str, signal: SignalType, dihedral: bool) -> list[str]:
    parts = [p for p in text.replace(",", " ").split()] if dihedral else [text.strip()]
    if dihedral and len(parts) != len(DIHEDRAL_NAMES):
        raise BadInput(f"--dihedral needs {len(DIHEDRAL_NAMES)} comma-separated hashes per "
                       f"line (original first), got {len(parts)}")
    return [signal.parse(p) for p in parts]


def _check_threshold(signal: SignalType, threshold: int | None) -> int:
    t = signal.default_threshold() if threshold is None else threshold
    if not 0 <= t <= signal.bits:
        raise BadInput(f"{signal.name} threshold must be between 0 and {signal.bits}, got {t}",
                       code="input.bad_threshold")
    return t


@handles_errors
def match_command(
    hashes: list[str] = typer.Argument(
        None, help="Hashes to check; '-' reads them from stdin, one per line.",
        show_default=False),
    file: Path | None = typer.Option(None, "--file", "-f", help="Read hashes from this file.",
                                     dir_okay=False),
    signal_name: str = typer.Option("pdq", "--signal", "-s", help="Signal type of the hashes."),
    threshold: int | None = typer.Option(
        None, "--threshold", "-t", help="Match threshold in bits (default: the signal's)."),
    dihedral: bool = typer.Option(
        False, "--dihedral",
        help="Each line holds the 8 orientation hashes (comma-separated, original first); "
             "report entries matching any of them."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per query."),
) -> None:
    """Check hashes against the banks. Exit 0: no match, 1: matches, 2: errors."""
    signal = get(signal_name.strip().lower())
    t = _check_threshold(signal, threshold)
    if dihedral and signal.name != "pdq":
        raise BadInput("--dihedral applies to pdq hashes only")
    if not hashes and file is None:
        raise BadInput("no hashes given: pass them as arguments, with --file, or '-' for stdin")
    settings = load_settings()
    index = _load_index(signal, settings)
    if not len(index):
        raise VeilError(f"the banks hold no active {signal.name} entries: nothing to match "
                        "against", code="index.empty")
    totals = {"queries": 0, "matched": 0, "errors": 0}
    lines = _lines(hashes or [], file)
    while batch := list(islice(lines, settings.match_batch)):
        _run_batch(batch, index, signal, t, dihedral, as_json, totals)
    err_console.print(
        f"{totals['queries']:,} queries, {totals['matched']:,} with matches, "
        f"{totals['errors']:,} bad, against {len(index):,} {signal.name} entries "
        f"(threshold {t})")
    if totals["errors"]:
        raise typer.Exit(EXIT_ERROR)
    raise typer.Exit(EXIT_MATCH if totals["matched"] else EXIT_OK)


def _run_batch(batch: list[tuple[str, str]], index: HammingIndex, signal: SignalType,
               threshold: int, dihedral: bool, as_json: bool, totals: dict[str, int]) -> None:
    parsed: list[tuple[str, list[str] | VeilError, str]] = []
    for where, text in batch:
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        try:
            parsed.append((where, _parse(text, signal, dihedral), text))
        except VeilError as exc:
            parsed.append((where, exc, text))
    queries = [q for _, q, _ in parsed if not isinstance(q, VeilError)]
    if dihedral:
        found = iter(index.search_dihedral(queries, threshold) if queries else [])
    else:
        found = iter(index.search([q[0] for q in queries], threshold) if queries else [])
    table = Table("query", "bank", "category", "entry")
    # the matched hash whole (folded on a narrow terminal): it is what the analyst copies
    table.add_column("matched hash", overflow="fold")
    table.add_column("distance", justify="right")
    if dihedral:
        table.add_column("variant")
    # results go out in input order, errors included, so JSON lines pair with input lines
    for where, q, text in parsed:
        if isinstance(q, VeilError):
            totals["errors"] += 1
            shown = text.strip()
            shown = shown if len(shown) <= 80 else shown[:80] + "…"
            if as_json:
                print(json.dumps({"source": where, "query": shown,
                                  "error": {"code": q.code, "message": q.message}}))
            else:
                err_console.print(f"[red]{where}[/]: [dim]{q.code}[/] {q.message}",
                                  soft_wrap=True)
            continue
        matches = next(found)
        totals["queries"] += 1
        totals["matched"] += bool(matches)
        if as_json:
            print(json.dumps({"source": where, "query": q[0], "signal": signal.name,
                              "threshold": threshold,
                              "matches": [_as_json(m, dihedral) for m in matches]}))
            continue
        for i, m in enumerate(matches):
            table.add_row(f"{q[0][:12]}… ({where})" if i == 0 else "", m.bank, m.category,
                          str(m.entry_id), m.value, str(m.distance),
                          *([DIHEDRAL_NAMES[m.variant]] if dihedral else []))
    if table.row_count:
        # piped or redirected output is not cut to 80 columns: hashes stay whole
        out = console if console.is_terminal else Console(width=TABLE_WIDTH_PIPED,
                                                          highlight=False)
        out.print(table)


def _as_json(m: Match, dihedral: bool) -> dict[str, object]:
    d: dict[str, object] = {"bank": m.bank, "category": m.category, "entry_id": m.entry_id,
                            "value": m.value, "distance": m.distance}
    if dihedral:
        d["variant"] = DIHEDRAL_NAMES[m.variant]
    return d
