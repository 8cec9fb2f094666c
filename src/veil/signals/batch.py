"""Hash media into picklable results: one file, bytes, or whole folders in parallel.

``hash_bytes`` raises ``VeilError`` for bad media (what the service wants);
``hash_file`` turns errors into data (what a worker process returns); ``hash_paths``
walks folders and hashes their files in worker processes, in order, memory bounded.
Warnings a decoder raises while reading a file become that file's warnings.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from veil.config import MediaLimits
from veil.errors import MediaTooLarge, VeilError
from veil.media import budget
from veil.media.discover import Skipped, discover
from veil.media.library_warnings import collecting
from veil.media.source import Media
from veil.signals.base import Signal
from veil.signals.registry import get

#: Files in flight per worker: enough to keep every core busy, no more in memory.
IN_FLIGHT_PER_WORKER = 4


@dataclass(frozen=True, slots=True)
class FileSignals:
    path: str
    signals: tuple[Signal, ...] = ()
    format: str | None = None
    size: tuple[int, int] | None = None
    warnings: tuple[str, ...] = ()
    error_code: str | None = None
    error_message: str | None = None
    variants: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error_code is None


def hash_media(media: Media, signal_names: tuple[str, ...], *, dihedral: bool = False,
               label: str | None = None) -> FileSignals:
    """Compute ``signal_names`` (with their variants, where offered, if ``dihedral``)."""
    sigs = []
    variants: dict[str, tuple[str, ...]] = {}
    with collecting() as raised, media.decoding():
        for name in signal_names:
            st = get(name)
            if dihedral and st.variants:
                found = st.compute_variants(media)
                sigs.append(found[0])
                variants[name] = tuple(v.value for v in found)
            else:
                sigs.append(st.compute(media))
    return FileSignals(label or media.name or "", tuple(sigs), media.format, media.size,
                       (*media.warnings, *raised), variants=variants)


def _hash_read(read: Callable[[], Media], signal_names: tuple[str, ...], dihedral: bool,
               label: str | None) -> FileSignals:
    """``hash_media`` of the file ``read`` opens, with the warnings its decoder raised
    while reading the header; raises ``VeilError`` for bad media."""
    try:
        with collecting() as raised:
            media = read()
        media.warnings.extend(raised)
        return hash_media(media, signal_names, dihedral=dihedral, label=label)
    except MemoryError:
        raise MediaTooLarge("not enough memory to decode this file") from None


def hash_bytes(data: bytes, limits: MediaLimits, signal_names: tuple[str, ...], *,
               dihedral: bool = False, label: str | None = None) -> FileSignals:
    """``hash_media`` of in-memory bytes; raises ``VeilError`` for bad media."""
    return _hash_read(lambda: Media.from_bytes(data, limits, label), signal_names,
                      dihedral, label)


def hash_file(path: str | Path, limits: MediaLimits, signal_names: tuple[str, ...],
              dihedral: bool = False) -> FileSignals:
    """``hash_media`` of one file, for a worker process: errors become data."""
    try:
        return _hash_read(lambda: Media.from_path(path, limits), signal_names, dihedral,
                          str(path))
    except VeilError as exc:
        return FileSignals(str(path), error_code=exc.code, error_message=exc.message)


def hash_paths(paths: list[Path], limits: MediaLimits, signal_names: tuple[str, ...], *,
               workers: int, dihedral: bool = False) -> Iterator[FileSignals | Skipped]:
    """Hash every media file under ``paths`` in ``workers`` processes, yielding results
    (and what was skipped, and why) in discovery order."""
    found = discover(paths, max_bytes=limits.max_bytes)
    if workers <= 1:
        for item in found:
            yield item if isinstance(item, Skipped) else hash_file(
                item, limits, signal_names, dihedral)
        return
    window = workers * IN_FLIGHT_PER_WORKER
    limits = budget.share(limits, workers)
    pending: deque[Future[FileSignals] | Skipped] = deque()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for item in found:
            pending.append(item if isinstance(item, Skipped) else pool.submit(
                hash_file, item, limits, signal_names, dihedral))
            while len(pending) >= window:
                head = pending.popleft()
                yield head if isinstance(head, Skipped) else head.result()
        for head in pending:
            yield head if isinstance(head, Skipped) else head.result()
