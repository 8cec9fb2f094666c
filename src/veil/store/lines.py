"""Lines of an untrusted text file, read in bounded pieces.

A hash list may come from anywhere: one line can be gigabytes with no newline, or
not be text at all. Lines longer than the limit are skipped by reading on in
fixed-size chunks, so memory stays bounded whatever the file holds; each line is
decoded as strict UTF-8 on its own, so one bad byte costs one row, not the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import BinaryIO

from veil.store.rows import RowError

_DRAIN_CHUNK = 1 << 16
_BOM = b"\xef\xbb\xbf"
#: How often (in lines) the progress callback hears how many bytes were read.
PROGRESS_EVERY = 8192


def read_lines(
    stream: BinaryIO,
    max_line_bytes: int,
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[int, str | RowError]]:
    """Yield ``(line number, text without its line break)`` or ``(number, RowError)``.

    Numbers start at 1 and count every physical line, bad ones included, so they
    match what an editor shows.
    """
    limit = max_line_bytes + 2  # room for "\r\n"
    readline = stream.readline
    number = 0
    done = 0
    while True:
        raw = readline(limit)
        if not raw:
            break
        number += 1
        done += len(raw)
        if on_progress is not None and number % PROGRESS_EVERY == 0:
            on_progress(done)
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM):]
        if len(raw) == limit and not raw.endswith(b"\n"):
            while (chunk := readline(_DRAIN_CHUNK)) and not chunk.endswith(b"\n"):
                done += len(chunk)
            done += len(chunk)
            yield number, RowError(number, f"line is longer than {max_line_bytes} bytes")
            continue
        body = raw.rstrip(b"\r\n")
        if len(body) > max_line_bytes:
            yield number, RowError(number, f"line is longer than {max_line_bytes} bytes")
            continue
        try:
            yield number, body.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield number, RowError(
                number,
                f"not valid UTF-8 (byte 0x{body[exc.start]:02x} at column {exc.start + 1})",
            )
    if on_progress is not None:
        on_progress(done)
