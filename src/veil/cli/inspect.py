"""``veil inspect FILE…``: what each file declares about its origin (``veil.inspect``).

C2PA manifests (never fetched from a URL), the IPTC digital source type in XMP, EXIF
Software, generators' PNG text chunks and invisible watermarks. A declaration is not
proof, and its absence means nothing (docs/provenance.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from veil.cli.output import EXIT_ERROR, EXIT_OK, console, err_console, handles_errors


def inspect_command(
    files: list[Path] = typer.Argument(..., help="Image files.", show_default=False),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per file."),
) -> None:
    """Show what files declare about their origin (C2PA, XMP, EXIF, PNG text,
    watermarks). Exit 0, or 2 if a file could not be read."""
    raise typer.Exit(run_inspect(files, as_json=as_json))


@handles_errors
def run_inspect(files: list[Path], *, as_json: bool) -> int:
    from rich.table import Table

    from veil.cli.output import table_console
    from veil.config import load_settings
    from veil.errors import VeilError
    from veil.inspect import inspect_media
    from veil.media.source import Media

    settings = load_settings()
    table = Table(title="veil inspect")
    table.add_column("file", overflow="fold", ratio=2)
    table.add_column("c2pa", no_wrap=True)
    table.add_column("declares", overflow="fold", ratio=4)
    failed = 0
    for path in files:
        try:
            found = inspect_media(Media.from_path(path, settings.media), settings.provenance)
        except VeilError as exc:
            failed += 1
            if as_json:
                print(json.dumps({"file": str(path),
                                  "error": {"code": exc.code, "message": exc.message}}))
            else:
                err_console.print(f"[bold red]error[/] [dim]{escape(exc.code)}[/] "
                                  f"{escape(str(path))}: {escape(exc.message)}",
                                  soft_wrap=True)
            continue
        if as_json:
            print(json.dumps({"file": str(path), **found.as_json()}))
            continue
        lines = [o.text() for o in found.observations] or ["nothing declared"]
        lines += [f"not checked: {s}" for s in found.skipped]
        table.add_row(escape(str(path)), found.c2pa, escape("\n".join(lines)))
    if not as_json and table.row_count:
        table_console().print(table)
    if not as_json and table.row_count == 0 and not failed:
        console.print("no files")
    return EXIT_ERROR if failed else EXIT_OK
