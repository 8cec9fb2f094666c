"""``veil eval …``: evaluation harnesses.

``veil eval robustness``: how often each signal (the Hamming hashes and the region
signal) still matches after everyday edits (crops, re-encodes, rotations, captions,
screenshots …) of a benign photo corpus, and how often it matches distinct photos;
writes a Markdown report and PNG plots.
"""

from __future__ import annotations

import os
import platform
import shlex
import time
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.markup import escape

from veil.cli.output import console, err_console, handles_errors

app = typer.Typer(help="Evaluate Veil's signals.", no_args_is_help=True)

DEFAULT_OUT = Path("robustness-report")


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items or None


def _command(**opts: object) -> str:
    """The command line that reproduces this run (defaults left out)."""
    args = ["veil", "eval", "robustness"]
    for flag, value in opts.items():
        if value is None or value is False:
            continue
        args += [flag] if value is True else [flag, str(value)]
    return shlex.join(args)


def _cpu_seconds() -> float | None:
    """CPU time of this process and its reaped children (the worker pool)."""
    try:
        import resource
    except ImportError:  # not on Unix
        return None
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _load() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except OSError:  # not available on this platform
        return None


@app.command("robustness")
@handles_errors
def robustness_command(
    corpus: Path | None = typer.Option(
        None, "--corpus", help="Folder of photos (or a data folder holding photos/). "
        "Default: $VEIL_TEST_DATA/photos, else ../shared/data/photos.", show_default=False),
    signals: str | None = typer.Option(
        None, "--signals", help="Comma-separated signals, e.g. pdq,pdq_dihedral,phash,region. "
        "Default: every perceptual signal type, its _dihedral mode, and region (the region "
        "signal: about 15 ms a copy where a hash takes a few; leave it out to go "
        "faster).", show_default=False),
    transforms: str | None = typer.Option(
        None, "--transforms", help="Comma-separated transformations (default: the whole "
        "suite).", show_default=False),
    out: Path = typer.Option(DEFAULT_OUT, "--out", help="Folder for the plots and data."),
    report: Path | None = typer.Option(
        None, "--report", help="Where to write the Markdown report (default OUT/report.md); "
        "plot links are relative to it.", show_default=False),
    limit: int | None = typer.Option(None, "--limit", min=2, help="Use the first N photos.",
                                     show_default=False),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of every random choice."),
    workers: int = typer.Option(0, "--workers", min=0, help="Worker processes (0: one per "
                                "core)."),
    quick: bool = typer.Option(False, "--quick", help="Only the mildest and strongest "
                               "strength of each transformation."),
    raw: bool = typer.Option(True, "--raw/--no-raw", help="Also write every distance to "
                             "OUT/distances.csv.gz."),
) -> None:
    """Measure recall under everyday edits and false matches between distinct photos."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.table import Table

    from veil.config import load_settings
    from veil.evaluation import analysis, export, modes, plots
    from veil.evaluation import report as report_mod
    from veil.evaluation.corpus import find_photos
    from veil.evaluation.runner import available_cores, run
    from veil.evaluation.transforms import variants

    started = datetime.now(UTC)
    t0 = time.perf_counter()
    load_before = _load()
    cpu_before = _cpu_seconds()
    settings = load_settings()
    mode_names = [m.name for m in modes.resolve(_split(signals))]
    suite = variants(_split(transforms), quick=quick)
    folder, photos = find_photos(corpus, limit)
    report_path = report or out / "report.md"
    command = _command(**{
        "--corpus": corpus, "--signals": signals, "--transforms": transforms,
        "--out": out if out != DEFAULT_OUT else None, "--report": report, "--limit": limit,
        "--seed": seed or None, "--workers": workers or None, "--quick": quick,
        "--no-raw": not raw,
    })
    err_console.print(
        f"{len(photos)} photos × {len(suite)} variants, signals: "
        f"{escape(', '.join(mode_names))}")

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=False) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                label = "hashing photos" if phase == "hashing" else "distinct pairs"
                tasks[phase] = bar.add_task(label, total=total)
            bar.update(tasks[phase], completed=done)

        results = run(photos, mode_names, suite, seed=seed, workers=workers,
                      limits=settings.media, progress=progress)

    t_out = time.perf_counter()
    summary = analysis.summarise(results)
    out.mkdir(parents=True, exist_ok=True)
    made = plots.write_all(summary, out)
    export.write_summary(summary, out / "summary.json")
    if raw:
        export.write_distances(summary, out / "distances.csv.gz")
    summary.extra_timings["output"] = time.perf_counter() - t_out
    info = report_mod.RunInfo(
        command=command, corpus=str(corpus) if corpus else _default_label(folder),
        started=started, seconds=time.perf_counter() - t0, cores=available_cores(),
        machine=f"{platform.machine()}, Python {platform.python_version()}",
        load_before=load_before, load_after=_load(),
        cpu_seconds=None if cpu_before is None else (_cpu_seconds() or 0.0) - cpu_before)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(report_mod.render_report(summary, info, made, report_path))

    table = Table("signal", "threshold", "false matches", "tuned ≤1e-3", "recall (all copies)")
    for m in summary.modes:
        t = m.tuned_for(analysis.TARGETS[0])
        at = m.info.scale.at
        tuned = "–" if t is None or t.threshold is None else at(t.threshold)
        table.add_row(escape(m.name), at(m.info.default_threshold),
                      escape(m.fmr_default.describe()), tuned,
                      f"{report_mod.pct(float(m.recall_default.mean()))}%")
    console.print(table)
    console.print(f"report: {escape(str(report_path))}   plots and data: {escape(str(out))}/   "
                  f"({info.seconds:.0f} s, {results.workers} workers)")


def _default_label(folder: Path) -> str:
    """The default corpus named portably: the same text on every checkout."""
    parts = folder.resolve().parts
    if len(parts) >= 3 and parts[-3:] == ("shared", "data", "photos"):
        return "../shared/data/photos"
    return str(folder)
