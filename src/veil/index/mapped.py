"""Which snapshot file a mapped index was loaded from (``snapshot.load_snapshot`` with
``mapped=True``), so its owner can tell when the file was replaced or removed."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class MappedFile:
    """Which file a mapped index was loaded from: the file at ``path`` is this one
    while its (device, inode) is unchanged."""

    path: Path
    file_id: tuple[int, int]
    rows: int

    def replaced(self) -> bool:
        """Whether ``path`` no longer is the mapped file (rewritten, or removed)."""
        return file_id(self.path) != self.file_id


def file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino
