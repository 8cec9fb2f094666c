"""Temporary files for videos: PyAV decodes from a file, and a video may be hundreds of
megabytes, so an uploaded or downloaded video is written, owner-only, to
``$VEIL_HOME/tmp`` for the time of its scan and deleted after, whatever happens.
``clear_spool`` removes what a process that died mid-scan left."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: Name prefix of spooled media (``clear_spool`` removes only these).
SPOOL_PREFIX = "upload-"


def spool_dir(home: Path) -> Path:
    d = home / "tmp"
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    return d


def new_spool_file(home: Path) -> tuple[int, Path]:
    """A new owner-only file in the spool: (open descriptor, path)."""
    fd, name = tempfile.mkstemp(prefix=SPOOL_PREFIX, dir=spool_dir(home))
    return fd, Path(name)


@contextmanager
def spooled(data: bytes, home: Path) -> Iterator[Path]:
    """``data`` as a file for the time of the block."""
    fd, path = new_spool_file(home)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        yield path
    finally:
        path.unlink(missing_ok=True)


def clear_spool(home: Path, older_than_s: float) -> int:
    """Delete spooled files older than any scan can run (other processes sharing the
    home may be scanning the newer ones); returns how many."""
    d = home / "tmp"
    removed = 0
    if d.is_dir():
        cutoff = time.time() - older_than_s
        for p in d.glob(f"{SPOOL_PREFIX}*"):
            with contextlib.suppress(OSError):
                if p.stat().st_mtime < cutoff:
                    p.unlink()
                    removed += 1
    return removed
