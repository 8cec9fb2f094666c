"""Walk user-given paths to the media files inside them, safely, and say what was not.

Symlinks are followed (people keep photo folders behind links) but every directory
is visited once by its (device, inode), so a link loop ends the walk instead of
recursing forever. Only regular files are returned: a FIFO or device would block
or stream forever on read. Everything else found is reported as ``Skipped`` with a
reason, so a scan can account for every file: ``error`` is set where a path the
caller named, or something under it, could not be read at all.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: Extensions picked up when walking a directory; files named explicitly on the
#: command line are always tried, whatever their name.
MEDIA_SUFFIXES = frozenset({
    ".jpg", ".jpeg", ".jpe", ".jfif", ".mpo", ".png", ".apng", ".webp", ".gif", ".bmp",
    ".dib", ".tif", ".tiff", ".heic", ".heif", ".hif", ".avif",
    ".mp4", ".m4v", ".mov", ".webm", ".mkv",
})


@dataclass(frozen=True, slots=True)
class Skipped:
    path: str
    reason: str
    #: The path could not be read (missing, permission denied): an error, not a choice.
    error: bool = False


def _too_large(size: int, max_bytes: int | None) -> str | None:
    if max_bytes is not None and size > max_bytes:
        return f"too large ({size:,} bytes; the limit is {max_bytes:,})"
    return None


def discover(paths: list[Path], *, max_bytes: int | None = None) -> Iterator[Path | Skipped]:
    """Yield media files under ``paths`` in a stable order, and what was skipped why.

    Files named in ``paths`` are tried whatever their name; inside folders, only
    files with a media extension are (the rest are reported as skipped). Files over
    ``max_bytes`` are reported instead of read."""
    seen_dirs: set[tuple[int, int]] = set()
    for root in paths:
        try:
            st = root.stat()
        except FileNotFoundError:
            yield Skipped(str(root), "no such file or directory", error=True)
            continue
        except OSError as exc:
            yield Skipped(str(root), f"cannot access: {exc.strerror or exc}", error=True)
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(root, seen_dirs, max_bytes)
        elif stat.S_ISREG(st.st_mode):
            big = _too_large(st.st_size, max_bytes)
            yield Skipped(str(root), big) if big else root
        else:
            yield Skipped(str(root), "not a regular file")


def _walk(top: Path, seen: set[tuple[int, int]],
          max_bytes: int | None) -> Iterator[Path | Skipped]:
    stack = [top]
    while stack:
        d = stack.pop()
        try:
            st = d.stat()
        except OSError as exc:
            yield Skipped(str(d), f"cannot access: {exc.strerror or exc}", error=True)
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen:
            if d.is_symlink():
                yield Skipped(str(d), "symlink to a directory already scanned (loop)")
            continue
        seen.add(key)
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError as exc:
            yield Skipped(str(d), f"cannot list directory: {exc.strerror or exc}", error=True)
            continue
        subdirs = []
        for e in entries:
            p = Path(e.path)
            try:
                est = e.stat(follow_symlinks=True)
            except OSError:
                yield Skipped(str(p), "broken symlink or unreadable entry")
                continue
            if stat.S_ISDIR(est.st_mode):
                subdirs.append(p)
            elif not stat.S_ISREG(est.st_mode):
                yield Skipped(str(p), "not a regular file")
            elif p.suffix.lower() not in MEDIA_SUFFIXES:
                kind = f"'{p.suffix.lower()}'" if p.suffix else "no extension"
                yield Skipped(str(p), f"not a supported media type ({kind})")
            else:
                big = _too_large(est.st_size, max_bytes)
                yield Skipped(str(p), big) if big else p
        stack.extend(reversed(subdirs))
