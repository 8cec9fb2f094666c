"""Walk user-given paths to the media files inside them, safely.

Symlinks are followed (people keep photo folders behind links) but every directory
is visited once by its (device, inode), so a link loop ends the walk instead of
recursing forever. Only regular files are returned: a FIFO or device would block
or stream forever on read.
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
})


@dataclass(frozen=True, slots=True)
class Skipped:
    path: str
    reason: str


def discover(paths: list[Path]) -> Iterator[Path | Skipped]:
    """Yield media files under ``paths`` in a stable order, and what was skipped why."""
    seen_dirs: set[tuple[int, int]] = set()
    for root in paths:
        try:
            st = root.stat()
        except FileNotFoundError:
            yield Skipped(str(root), "no such file or directory")
            continue
        except OSError as exc:
            yield Skipped(str(root), f"cannot access: {exc.strerror or exc}")
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(root, seen_dirs)
        elif stat.S_ISREG(st.st_mode):
            yield root
        else:
            yield Skipped(str(root), "not a regular file")


def _walk(top: Path, seen: set[tuple[int, int]]) -> Iterator[Path | Skipped]:
    stack = [top]
    while stack:
        d = stack.pop()
        try:
            st = d.stat()
        except OSError as exc:
            yield Skipped(str(d), f"cannot access: {exc.strerror or exc}")
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
            yield Skipped(str(d), f"cannot list directory: {exc.strerror or exc}")
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
            elif stat.S_ISREG(est.st_mode) and p.suffix.lower() in MEDIA_SUFFIXES:
                yield p
        stack.extend(reversed(subdirs))
