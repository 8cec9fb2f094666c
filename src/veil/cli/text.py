"""``veil text check``: does each line of a file advertise an "undressing" service?

One JSON object per input line, in order: ``line``, ``nudify_service``, ``score``,
``evidence`` (and ``truncated`` where a line was longer than the detector reads).
Exit 0: nothing flagged, 1: a line was flagged, 2: the input could not be read.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TextIO

import typer

from veil.cli.output import EXIT_MATCH, EXIT_OK, fail, handles_errors

app = typer.Typer(help="Find text that advertises \"undressing\" services.",
                  no_args_is_help=True)


@app.command("check")
@handles_errors
def check_command(
    source: str = typer.Argument("-", metavar="[FILE|-]",
                                 help="A UTF-8 text file, one message per line; - or "
                                      "nothing reads standard input."),
    threshold: float | None = typer.Option(
        None, "--threshold", min=0.0, max=1.0,
        help="Flag at this score (default: VEIL_TEXT_THRESHOLD, else the model's own)."),
) -> None:
    """Score each line: does it advertise or link to an "undress"/"nudify" service?

    Prints one JSON object per line (line, nudify_service, score 0-1, evidence).
    Exit 0: nothing flagged, 1: something flagged, 2: unreadable input."""
    from veil.config import load_settings
    from veil.text.detector import check

    threshold = threshold if threshold is not None else load_settings().text_threshold
    flagged = False
    try:
        with _opened(source) as fh:
            for number, (line, truncated) in enumerate(_lines(fh), start=1):
                verdict = check(line, threshold=threshold)
                flagged |= verdict.nudify_service
                out = {"line": number, **verdict.as_json()}
                if truncated:
                    out["truncated"] = True
                sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise fail(f"{source}: {exc.strerror or exc}", "input.unreadable") from None
    raise typer.Exit(EXIT_MATCH if flagged else EXIT_OK)


def _opened(source: str) -> AbstractContextManager[TextIO]:
    if source == "-":
        # standard input as bytes, decoded here: whatever the locale, invalid UTF-8 is
        # replaced, never an exception mid-stream; left open for the caller's process
        return nullcontext(io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8",
                                            errors="replace"))
    path = Path(source)
    if path.is_dir():
        raise IsADirectoryError(21, "is a folder, not a text file")
    return path.open(encoding="utf-8", errors="replace")


def _lines(fh: TextIO) -> Iterator[tuple[str, bool]]:
    """Each line without its newline, cut to what the detector reads: a line of
    gigabytes is skipped past in bounded pieces, never held whole."""
    from veil.text.detector import MAX_CHARS

    while True:
        piece = fh.readline(MAX_CHARS + 1)
        if not piece:
            return
        if piece.endswith("\n") or len(piece) <= MAX_CHARS:
            yield piece.rstrip("\r\n"), False
            continue
        rest = piece
        while rest and not rest.endswith("\n"):
            rest = fh.readline(1 << 16)
        yield piece[:MAX_CHARS], True
