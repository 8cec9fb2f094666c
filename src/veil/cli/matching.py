"""``veil match HASH…``: check hashes against the banks, the analyst's lookup tool.

Queries come from arguments, ``--file`` or stdin (``-``), one per line (blank lines
and ``#`` comments skipped), and are read, searched and printed ``match_batch`` at a
time, so a list of millions runs in flat memory. A bad line is reported (with its
line number) and the rest still run; the exit code is then 2.

``--dihedral``: a rotated or mirrored copy of an image has a different PDQ hash, and
the other seven orientations cannot be derived from a hash (they are computed from
the image's DCT). So with ``--dihedral`` each query line holds the 8 variant hashes,
comma-separated, in the order ``veil hash`` cannot show but ``compute_pdq(media)
.dihedral()`` gives (``PDQ.variants``); each entry is reported once, at its closest
variant, named for how the query relates to the banked picture ("rotated 90°
clockwise", "mirrored left to right" …).

Exit codes: 0 nothing matched, 1 something matched, 2 errors.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from veil.cli.opening import load_matcher
from veil.cli.output import (
    EXIT_ERROR,
    EXIT_MATCH,
    EXIT_OK,
    counted,
    err_console,
    handles_errors,
    table_console,
)

if TYPE_CHECKING:
    from veil.errors import VeilError
    from veil.matching import BankMatcher
    from veil.signals import SignalType


def _lines(hashes: list[str], file: Path | None) -> Iterator[tuple[str, str]]:
    """(where, text) for every query line, streamed."""
    from veil.errors import BadInput

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
    from veil.cli.values import parse_typed
    from veil.errors import BadInput

    parts = [p for p in text.replace(",", " ").split()] if dihedral else [text.strip()]
    if dihedral and len(parts) != len(signal.variants):
        raise BadInput(f"--dihedral needs {len(signal.variants)} comma-separated hashes per "
                       f"line (as banked first), got {len(parts)}")
    if dihedral:
        return [signal.parse(p) for p in parts]
    return [parse_typed(signal, parts[0])]


@handles_errors
def match_command(
    hashes: list[str] = typer.Argument(
        None, help="Hashes to check; '-' reads them from stdin, one per line.",
        show_default=False),
    file: Path | None = typer.Option(None, "--file", "-f", help="Read hashes from this file.",
                                     dir_okay=False, show_default=False),
    signal_name: str = typer.Option("pdq", "--signal", "-s", help="Signal type of the hashes."),
    threshold: int | None = typer.Option(
        None, "--threshold", "-t", help="Match threshold in bits (default: the signal's).",
        show_default=False),
    dihedral: bool = typer.Option(
        False, "--dihedral",
        help="Each line holds the 8 orientation hashes (comma-separated, as banked first); "
             "report entries matching any of them."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per query."),
) -> None:
    """Check hashes against the banks. Exit 0: no match, 1: matches, 2: errors."""
    from veil.cli.values import signal_type
    from veil.config import load_settings
    from veil.errors import BadInput, VeilError
    from veil.signals import all_types

    signal = signal_type(signal_name)
    if dihedral and not signal.variants:
        raise BadInput(f"--dihedral applies to signals with rotated and mirrored variants "
                       f"({', '.join(t.name for t in all_types() if t.variants)}), not "
                       f"{signal.name}")
    if not hashes and file is None:
        raise BadInput("no hashes given: pass them as arguments, with --file, or '-' for stdin")
    settings = load_settings()
    matcher = load_matcher(settings, [signal.name])
    t = matcher.threshold(signal, threshold)
    size = matcher.sizes().get(signal.name, 0)
    if not size:
        raise VeilError(f"the banks hold no active {signal.name} entries: nothing to match "
                        "against", code="index.empty")
    totals = {"queries": 0, "matched": 0, "errors": 0}
    lines = _lines(hashes or [], file)
    while batch := list(islice(lines, settings.match_batch)):
        _run_batch(batch, matcher, signal, t, dihedral, as_json, totals)
    entries = counted(size, f"{signal.name} entry", f"{signal.name} entries")
    err_console.print(
        f"{counted(totals['queries'], 'query', 'queries')}, {totals['matched']:,} with "
        f"matches, {totals['errors']:,} bad, against {entries} (threshold {t})")
    if totals["errors"]:
        raise typer.Exit(EXIT_ERROR)
    raise typer.Exit(EXIT_MATCH if totals["matched"] else EXIT_OK)


def _run_batch(batch: list[tuple[str, str]], matcher: BankMatcher, signal: SignalType,
               threshold: int, dihedral: bool, as_json: bool, totals: dict[str, int]) -> None:
    from rich.table import Table

    from veil.errors import VeilError

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
        found = iter(matcher.search_variants(signal.name, queries, threshold, with_values=True)
                     if queries else [])
    else:
        found = iter(matcher.search(signal.name, [q[0] for q in queries], threshold,
                                    with_values=True) if queries else [])
    # the query and the matched hash whole (folded on a narrow terminal): they are what
    # the analyst copies
    table = Table("query", "bank", "category", "entry")
    table.columns[0].overflow = "fold"
    table.add_column("matched hash", overflow="fold")
    table.add_column("distance", justify="right")
    if dihedral:
        table.add_column("how")
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
                err_console.print(f"[red]{escape(where)}[/]: [dim]{q.code}[/] {escape(q.message)}",
                                  soft_wrap=True)
            continue
        matches = next(found)
        totals["queries"] += 1
        totals["matched"] += bool(matches)
        if as_json:
            print(json.dumps({"source": where, "query": q[0], "signal": signal.name,
                              "threshold": threshold,
                              "matches": [m.as_json() for m in matches]}))
            continue
        for i, m in enumerate(matches):
            how = [] if not dihedral else [
                next((v.label for v in signal.variants if v.key == m.variant), "as banked")]
            table.add_row(escape(f"{q[0]}\n({where})") if i == 0 else "", escape(m.bank),
                          escape(m.category),
                          str(m.entry_id), m.value or "", str(m.distance), *how)
    if table.row_count:
        table_console().print(table)
