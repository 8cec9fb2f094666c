"""``veil scan PATH…`` and ``veil demo``.

Files are hashed in worker processes (one per core by default) and matched in this
process against the banks' index; results stream out in input order.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from veil.cli.output import EXIT_ERROR, EXIT_MATCH, EXIT_OK, console, err_console, handles_errors
from veil.config import Settings, load_settings
from veil.media.discover import Skipped, discover
from veil.signals.batch import FileSignals, hash_file
from veil.verdict import Verdict


@dataclass(frozen=True)
class ScanResult:
    file: FileSignals
    verdict: Verdict | None


def _shown(path: str) -> str:
    """A path as short as it can be while still pointing at the file from here."""
    rel = os.path.relpath(path)
    return rel if len(rel) < len(path) else path


def _workers(settings: Settings, requested: int | None) -> int:
    n = requested if requested is not None else settings.scan_workers
    return n if n and n > 0 else max(1, os.cpu_count() or 1)


def hash_paths(paths: list[Path], settings: Settings, signal_names: tuple[str, ...],
               workers: int, dihedral: bool) -> Iterator[FileSignals | Skipped]:
    """Hash files in parallel, yielding results in discovery order, memory bounded."""
    found = discover(paths)
    if workers == 1:
        for item in found:
            yield item if isinstance(item, Skipped) else hash_file(
                item, settings.media, signal_names, dihedral)
        return
    window = workers * 4  # files in flight: enough to keep cores busy, no more
    pending: list[Future[FileSignals] | Skipped] = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for item in found:
            pending.append(item if isinstance(item, Skipped) else pool.submit(
                hash_file, item, settings.media, signal_names, dihedral))
            while len(pending) >= window:
                head = pending.pop(0)
                yield head if isinstance(head, Skipped) else head.result()
        for head in pending:
            yield head if isinstance(head, Skipped) else head.result()


def scan_command(
    paths: list[Path] = typer.Argument(..., help="Files or folders (recursive).",
                                       show_default=False),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per file."),
    threshold: int | None = typer.Option(
        None, "--threshold", min=0, max=256,
        help="PDQ match threshold in bits (default from config: 31)."),
    dihedral: bool = typer.Option(False, "--dihedral",
                                  help="Also match rotated and mirrored copies (PDQ)."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Hashing processes."),
    show_clean: bool = typer.Option(False, "--all", help="List clean files in the table too."),
) -> None:
    """Scan image files against the banks. Exit 0: clean, 1: matches found, 2: errors."""
    code = run_scan(paths, as_json=as_json, threshold=threshold, dihedral=dihedral,
                    workers=workers, show_clean=show_clean)
    raise typer.Exit(code)


@handles_errors
def run_scan(paths: list[Path], *, as_json: bool, threshold: int | None, dihedral: bool,
             workers: int | None, show_clean: bool, settings: Settings | None = None) -> int:
    from veil.matching import BankMatcher

    settings = settings or load_settings()
    matcher = BankMatcher.load(settings)
    names = matcher.signal_names()
    table = Table(title="veil scan")
    table.add_column("file", overflow="fold", ratio=2)
    table.add_column("verdict", no_wrap=True)
    table.add_column("why", overflow="fold", ratio=3)
    counts = {"block": 0, "review": 0, "allow": 0, "error": 0, "skipped": 0}
    progress = Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                        MofNCompleteColumn(), TimeElapsedColumn(), console=err_console,
                        transient=True, disable=not err_console.is_terminal)
    with progress:
        task = progress.add_task("hashing", total=None)
        for item in hash_paths(paths, settings, names, _workers(settings, workers), dihedral):
            progress.advance(task)
            if isinstance(item, Skipped):
                counts["skipped"] += 1
                if as_json:
                    print(json.dumps({"file": item.path, "skipped": item.reason}))
                else:
                    err_console.print(f"[yellow]skipped[/] {item.path}: {item.reason}")
                continue
            if not item.ok:
                counts["error"] += 1
                if as_json:
                    print(json.dumps({"file": item.path, "error": {
                        "code": item.error_code, "message": item.error_message}}))
                else:
                    table.add_row(_shown(item.path), "[red]error[/]",
                                  f"{item.error_code}: {item.error_message}")
                continue
            verdict = matcher.verdict(item, pdq_threshold=threshold)
            counts[verdict.decision] += 1
            if as_json:
                print(json.dumps({"file": item.path, "format": item.format,
                                  "signals": [s.as_dict() for s in item.signals],
                                  "warnings": list(item.warnings), **verdict.as_dict()}))
            elif verdict.matches or show_clean:
                color = {"block": "bold red", "review": "yellow"}.get(verdict.decision, "green")
                table.add_row(_shown(item.path), f"[{color}]{verdict.decision}[/]",
                              "\n".join(verdict.reasons[:3]))
    if not as_json:
        if table.row_count:
            console.print(table)
        scanned = counts["block"] + counts["review"] + counts["allow"]
        console.print(
            f"{scanned + counts['error']} files: [bold red]{counts['block']} block[/], "
            f"[yellow]{counts['review']} review[/], [green]{counts['allow']} clean[/], "
            f"{counts['error']} errors, {counts['skipped']} skipped "
            f"(banks: {matcher.describe()})")
    if counts["error"]:
        return EXIT_ERROR
    return EXIT_MATCH if counts["block"] + counts["review"] else EXIT_OK


def demo_command(
    serve: bool = typer.Option(False, "--serve", help="Then start the service with a fresh "
                               "demo admin key (what `make run` does)."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port for --serve."),
) -> None:
    """Build a demo bank from re-encoded copies of some photos, then scan the folder."""
    from veil.demo import run_demo

    code = run_demo()
    if code or not serve:
        raise typer.Exit(code)
    from veil.cli.serve import serve as start_service
    from veil.demo import demo_admin_key

    key = demo_admin_key()
    console.print(f"\n[bold]Service[/] on http://127.0.0.1:{port}/ (API docs at /docs, victims' "
                  f"page at /protect). Demo admin key, shown once:\n{key}\n"
                  "Stop with Ctrl-C.", soft_wrap=True)
    start_service(port=port, log_level="warning")
