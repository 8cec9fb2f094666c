"""``veil backfill SOURCE --out DIR``: scan stored media in bulk, on Ray or locally.

SOURCE is a folder, a listing of paths, or a Parquet/CSV table of paths, on any
``pyarrow`` filesystem (``veil.pipelines.inputs``). Rows go to Parquet parts under
``--out`` with ``report.json`` beside them; a restart skips what is written. Ray and
pyarrow (the ``backfill`` extra) are imported only when the command runs.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from veil.cli.output import (
    EXIT_ERROR,
    EXIT_MATCH,
    EXIT_OK,
    console,
    counted,
    err_console,
    fail,
    handles_errors,
)
from veil.cli.progress import worker_count

if TYPE_CHECKING:
    from veil.config import Settings

#: How often a run whose stderr is not a terminal logs its progress, in seconds.
PROGRESS_LINE_S = 10.0
#: Matched inputs the summary lists (report.json lists them all).
LISTED = 20


def backfill_command(
    source: str = typer.Argument(..., help="A folder, a file listing paths, or a Parquet/"
                                 "CSV table with a 'path' column; a path or a pyarrow "
                                 "filesystem URI (s3://…, gs://…).", show_default=False),
    out: str = typer.Option(..., "--out", help="Output folder (path or URI): Parquet parts "
                            "and report.json; a rerun skips what is there.",
                            show_default=False),
    engine: str = typer.Option("ray", "--engine", help="ray (local Ray, or the cluster "
                               "of --ray-address / RAY_ADDRESS) or local (worker "
                               "processes, no Ray)."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Scanning "
                                       "processes (Ray: actors of one CPU each; default: "
                                       "one per core here).", show_default=False),
    batch: int | None = typer.Option(None, "--batch", min=1, help="Files per batch "
                                     "(default: VEIL_BACKFILL_BATCH).", show_default=False),
    part_rows: int | None = typer.Option(None, "--part-rows", min=1, help="Rows per "
                                         "Parquet part (default: VEIL_BACKFILL_PART_ROWS).",
                                         show_default=False),
    threshold: int | None = typer.Option(
        None, "--threshold", min=0, max=256,
        help="PDQ match threshold in bits (default: the configured one, 31).",
        show_default=False),
    dihedral: bool = typer.Option(False, "--dihedral",
                                  help="Also match rotated and mirrored copies (PDQ)."),
    ray_address: str | None = typer.Option(None, "--ray-address", help="A Ray cluster to "
                                           "join (host:port or auto; default: RAY_ADDRESS, "
                                           "else a local Ray).", show_default=False),
    as_json: bool = typer.Option(False, "--json", help="Print report.json's summary."),
) -> None:
    """Scan stored media in bulk into Parquet. Exit 0: clean, 1: matches, 2: errors."""
    code = run_backfill(source, out, engine=engine, workers=workers, batch=batch,
                        part_rows=part_rows, threshold=threshold, dihedral=dihedral,
                        ray_address=ray_address, as_json=as_json)
    raise typer.Exit(code)


@handles_errors
def run_backfill(source: str, out: str, *, engine: str, workers: int | None,
                 batch: int | None, part_rows: int | None, threshold: int | None,
                 dihedral: bool, ray_address: str | None, as_json: bool,
                 settings: Settings | None = None) -> int:
    from veil.config import load_settings

    if engine not in ("ray", "local"):
        raise fail(f"--engine must be ray or local, not {engine!r}", "input.invalid")
    try:
        import pyarrow  # noqa: F401
        if engine == "ray":
            import ray  # noqa: F401
    except ImportError as exc:
        raise fail(f"{exc.name} is not installed: pip install 'veil[backfill]'",
                   "backfill.not_installed") from None
    from veil.pipelines.backfill import plan as make_plan
    from veil.pipelines.backfill import report, run
    from veil.signals import check_settings, get
    from veil.store import open_store

    settings = settings or load_settings()
    check_settings(settings)
    thresholds = {}
    if threshold is not None:
        pdq = get("pdq")
        if threshold > pdq.max_threshold:
            raise fail(f"pdq threshold must be between 0 and {pdq.max_threshold}, "
                       f"got {threshold}", "input.bad_threshold")
        thresholds["pdq"] = threshold
    with open_store(settings) as store:
        banks = sorted(b.name for b in store.list_banks(counts=False))
    plan = make_plan(source, out)
    n = worker_count(settings, workers)
    if not as_json:
        err_console.print(
            f"{counted(len(plan.inputs.paths), 'input')} in {escape(source)}: "
            f"{plan.done:,} done already, {len(plan.pending):,} to scan with "
            f"{engine} ({counted(n, 'worker')})", soft_wrap=True)
    with _progress(len(plan.pending)) as advance:
        stats = run(plan, engine, settings, workers=n,  # type: ignore[arg-type]
                    batch=batch or settings.backfill_batch,
                    part_rows=part_rows or settings.backfill_part_rows,
                    thresholds=thresholds, dihedral=dihedral, ray_address=ray_address,
                    on_rows=lambda t: advance(t.num_rows))
    doc = report(plan, stats, banks=banks)
    if as_json:
        print(json.dumps(doc))
    else:
        _print_summary(doc, out)
    if doc["errors"]:
        return EXIT_ERROR
    return EXIT_MATCH if doc["decisions"]["block"] + doc["decisions"]["review"] else EXIT_OK


def _print_summary(doc: dict[str, object], out: str) -> None:
    from rich.table import Table

    from veil.cli.output import table_console

    d: dict[str, int] = doc["decisions"]  # type: ignore[assignment]
    errors: dict[str, int] = doc["errors"]  # type: ignore[assignment]
    run: dict[str, object] = doc["last_run"]  # type: ignore[assignment]
    matched: list[dict[str, object]] = doc["matched"]  # type: ignore[assignment]
    if matched:
        table = Table(title="veil backfill: matched")
        table.add_column("file", overflow="fold", ratio=2)
        table.add_column("verdict", no_wrap=True)
        table.add_column("matches", overflow="fold", ratio=3)
        for r in matched[:LISTED]:
            color = "bold red" if r["decision"] == "block" else "yellow"
            ms = ", ".join(f"{m['signal']} {m['distance']} bits: entry {m['entry_id']} in "
                           f"{m['bank']}" for m in r["matches"])  # type: ignore[attr-defined]
            table.add_row(escape(str(r["path"])), f"[{color}]{r['decision']}[/]", escape(ms))
        table_console().print(table)
        if len(matched) > LISTED:
            console.print(f"… and {len(matched) - LISTED:,} more in report.json")
    why = ", ".join(f"{n:,} {escape(code)}" for code, n in errors.items())
    console.print(
        f"{counted(int(doc['rows']), 'row')} for {counted(int(doc['inputs']), 'input')}: "  # type: ignore[call-overload]
        f"[bold red]{d['block']} block[/], [yellow]{d['review']} review[/], "
        f"[green]{d['allow']} clean[/], {counted(sum(errors.values()), 'error')}"
        f"{f' ({why})' if why else ''}; this run scanned {run['scanned']:,} in "
        f"{run['seconds']} s ({run['images_per_second']} images/s; "
        f"{run['steady_images_per_second']} images/s after the first rows, "
        f"{run['first_rows_seconds']} s in); "
        f"report: {escape(out.rstrip('/'))}/report.json", soft_wrap=True)


class _progress:
    """A bar with throughput on a terminal; elsewhere a line every ``PROGRESS_LINE_S``."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.started = self.last = time.perf_counter()

    def __enter__(self):  # type: ignore[no-untyped-def]
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(TextColumn("backfill"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                            TimeRemainingColumn(), console=err_console, transient=True,
                            disable=not err_console.is_terminal)
        self.bar.__enter__()
        self.task = self.bar.add_task("backfill", total=self.total, rate="")
        return self.advance

    def advance(self, n: int) -> None:
        self.done += n
        now = time.perf_counter()
        rate = f"{self.done / max(now - self.started, 1e-9):.1f} images/s"
        self.bar.update(self.task, advance=n, rate=rate)
        if not err_console.is_terminal and now - self.last >= PROGRESS_LINE_S:
            self.last = now
            err_console.print(f"backfill: {self.done:,}/{self.total:,} scanned, {rate}")

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)
