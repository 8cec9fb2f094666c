"""``veil hash FILE…``: every signal of each file, as a table or JSON lines."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from veil.cli.output import EXIT_ERROR, console, err_console, handles_errors
from veil.config import load_settings
from veil.errors import VeilError
from veil.media.source import Media
from veil.signals import all_types


@handles_errors
def hash_command(
    files: list[Path] = typer.Argument(..., help="Image files to hash.", show_default=False),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Compute every signal (pdq, md5, sha256, phash, dhash) of each file."""
    settings = load_settings()
    failed = False
    table = Table("file", "signal", "value", "quality")
    for path in files:
        try:
            media = Media.from_path(path, settings.media)
            signals = [t.compute(media) for t in all_types()]
        except VeilError as exc:
            failed = True
            if as_json:
                print(json.dumps({"file": str(path), "error": {"code": exc.code,
                                                               "message": exc.message}}))
            else:
                err_console.print(f"[red]{path}[/]: [dim]{exc.code}[/] {exc.message}")
            continue
        if as_json:
            print(json.dumps({"file": str(path), "format": media.format,
                              "width": media.size[0], "height": media.size[1],
                              "signals": [s.as_dict() for s in signals],
                              "warnings": media.warnings}))
        else:
            for i, s in enumerate(signals):
                q = "" if s.quality is None else str(s.quality)
                table.add_row(str(path) if i == 0 else "", s.type, s.value, q)
    if not as_json and table.row_count:
        console.print(table)
    if failed:
        raise typer.Exit(EXIT_ERROR)
