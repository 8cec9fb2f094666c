"""``veil hash FILE|FOLDER…``: every signal of each media file, as a table or JSON lines.

Folders are walked like ``veil scan`` walks them, files are hashed in parallel, and
what is skipped is reported. ``--json`` writes one object per file whose
``signals`` ``veil bank import`` reads directly, so ``veil hash --json photos/ >
list.jsonl && veil bank import BANK list.jsonl`` banks a folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from veil.cli.output import EXIT_ERROR, EXIT_OK, counted, err_console, handles_errors
from veil.cli.progress import progress_bar, worker_count, workers_option
from veil.cli.unhashed import problem_json, problem_kind, problem_line


@handles_errors
def hash_command(
    paths: list[Path] = typer.Argument(..., help="Media files or folders (recursive).",
                                       show_default=False),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per file."),
    signals: str | None = typer.Option(
        None, "--signals", "-s", help="Comma-separated signal types (default: all of them).",
        show_default=False),
    workers: int | None = workers_option(),
) -> None:
    """Compute the signals (PDQ with quality, MD5, SHA-256, pHash, dHash) of each file;
    of a video (MP4, MOV, WebM, MKV, animated GIF/WebP), its vPDQ frames and MD5.
    Exit 0: all hashed, 2: some could not be."""
    from rich.table import Table

    from veil.cli.output import table_console
    from veil.cli.values import signal_names
    from veil.config import load_settings
    from veil.media.discover import Skipped
    from veil.signals import all_types
    from veil.signals.batch import hash_paths

    settings = load_settings()
    wanted = signal_names([signals]) if signals else tuple(
        t.name for t in all_types() if t.of_stills)
    table = Table("file", "signal", "value", "quality")
    for col in table.columns[:3]:
        col.overflow = "fold"  # a hash or a path is never cut
    counts = {"hashed": 0, "error": 0, "skipped": 0}
    with progress_bar("hashing") as advance:
        for item in hash_paths(paths, settings.media, wanted,
                               workers=worker_count(settings, workers)):
            advance()
            if isinstance(item, Skipped) or not item.ok:
                counts[problem_kind(item)] += 1
                if as_json:
                    print(json.dumps(problem_json(item)))
                else:
                    err_console.print(problem_line(item), soft_wrap=True)
                continue
            counts["hashed"] += 1
            if as_json:
                width, height = item.size or (None, None)
                video = {} if item.video is None else {
                    "video": item.video.as_json(frames=True)}
                print(json.dumps({"file": item.path, "format": item.format, "width": width,
                                  "height": height,
                                  "signals": [s.as_dict() for s in item.signals], **video,
                                  "warnings": list(item.warnings)}))
                continue
            for i, s in enumerate(item.signals):
                table.add_row(escape(item.path) if i == 0 else "", s.type, s.value,
                              "" if s.quality is None else str(s.quality))
            if item.video is not None:
                v = item.video.as_json()
                table.add_row(escape(item.path) if not item.signals else "", "vpdq",
                              f"{v['frames_hashed']} frames hashed ({v['frames_unique']} "
                              f"distinct of quality 50+) over {v['duration']} s; --json "
                              "lists them", "")
            for w in item.warnings:
                table.add_row("", "[yellow]warning[/]", escape(w), "")
    if table.row_count:
        table_console().print(table)
    err_console.print(f"{counted(counts['hashed'], 'file')} hashed, "
                      f"{counted(counts['error'], 'error')}, {counts['skipped']:,} skipped")
    raise typer.Exit(EXIT_ERROR if counts["error"] else EXIT_OK)

