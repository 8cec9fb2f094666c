"""Hash media into picklable results: one file, bytes, or whole folders in parallel.

``hash_bytes`` raises ``VeilError`` for bad media (what the service wants);
``hash_file`` turns errors into data (what a worker process returns); ``hash_paths``
walks folders and hashes their files in worker processes, in order, memory bounded
(``HashingPool``: the same, started before its results are wanted).
Warnings a decoder raises while reading a file become that file's warnings.
"""

from __future__ import annotations

import io
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Generic, TypeVar

from veil.config import MediaLimits
from veil.errors import MediaTooLarge, MediaUnsupported, VeilError
from veil.media import budget
from veil.media.discover import Skipped, discover
from veil.media.library_warnings import collecting
from veil.media.source import Media
from veil.media.video import CONTAINERS, SNIFF_BYTES, is_animated, sniff
from veil.regions.features import EXTRACTORS, MIRRORED, Features
from veil.signals.base import Signal
from veil.signals.digests import file_digest
from veil.signals.registry import get
from veil.signals.vpdq import VideoHash, hash_video

#: Files in flight per worker: enough to keep every core busy, no more in memory.
IN_FLIGHT_PER_WORKER = 4

T = TypeVar("T")


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
    #: A video's (or an animation's) vPDQ frames and MD5; None for a still image.
    video: VideoHash | None = None
    #: Region features asked for by name (``veil.regions.features.EXTRACTORS``).
    features: dict[str, Features] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error_code is None


def hash_media(media: Media, signal_names: tuple[str, ...], *, dihedral: bool = False,
               label: str | None = None) -> FileSignals:
    """Compute ``signal_names`` (with their variants, where offered, if ``dihedral``)."""
    sigs = []
    variants: dict[str, tuple[str, ...]] = {}
    features: dict[str, Features] = {}
    with collecting() as raised, media.decoding():
        for name in signal_names:
            extract = EXTRACTORS.get(name)
            if extract is not None:
                features[name] = extract(media)
                if dihedral and name in MIRRORED:
                    mirrored, extract = MIRRORED[name]
                    features[mirrored] = extract(media)
                continue
            st = get(name)
            if dihedral and st.variants:
                found = st.compute_variants(media)
                sigs.append(found[0])
                variants[name] = tuple(v.value for v in found)
            else:
                sigs.append(st.compute(media))
    return FileSignals(label or media.name or "", tuple(sigs), media.format, media.size,
                       (*media.warnings, *raised), variants=variants, features=features)


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


def _digests(signal_names: tuple[str, ...], md5: str, path: Path) -> tuple[Signal, ...]:
    """A video's digest signals: its MD5 (already read while hashing) and any other
    exact digest a bank holds; perceptual image signals do not apply to a video."""
    out = []
    for name in signal_names:
        if name in EXTRACTORS:
            continue  # a picture's, not a video's
        st = get(name)
        if not st.exact_digest:
            continue
        if name == "md5":
            out.append(Signal("md5", md5))
        else:
            out.append(Signal(name, file_digest(path, name)))
    return tuple(out)


def hash_video_path(path: Path, fmt: str, limits: MediaLimits,
                    signal_names: tuple[str, ...], label: str | None = None) -> FileSignals:
    """A container video (MP4/MOV/WebM/MKV): vPDQ frames and digests. Raises
    ``VeilError`` for bad media."""
    try:
        with collecting() as raised:
            video = hash_video(path, fmt, limits.video)
    except MemoryError:
        raise MediaTooLarge("not enough memory to decode this video") from None
    info = video.info
    return FileSignals(label or str(path), _digests(signal_names, video.md5, path), fmt,
                       (info.width, info.height), (*video.warnings, *raised), video=video)


def _with_animation(result: FileSignals, path: Path, fmt: str,
                    limits: MediaLimits) -> FileSignals:
    """An animated GIF/WebP is a picture (its first frame's signals, as ever) and a
    video (every sampled frame's vPDQ)."""
    if not is_animated(path):
        return result
    return replace(result, video=hash_video(path, fmt, limits.video))


def video_format(path: Path) -> str | None:
    """The video format of the file at ``path`` by its first bytes, or None."""
    try:
        with path.open("rb") as fh:
            return sniff(fh.read(SNIFF_BYTES))
    except OSError:
        return None


def hash_bytes(data: bytes, limits: MediaLimits, signal_names: tuple[str, ...], *,
               dihedral: bool = False, label: str | None = None) -> FileSignals:
    """``hash_media`` of in-memory bytes (a still image or an animation; a container
    video goes through a temporary file, ``hash_video_path``); raises ``VeilError``
    for bad media."""
    fmt = sniff(data[:SNIFF_BYTES])
    if fmt in CONTAINERS:
        raise MediaUnsupported("a video must be hashed from a file (hash_video_path)")
    result = _hash_read(lambda: Media.from_bytes(data, limits, label), signal_names,
                        dihedral, label)
    if fmt is not None:
        buf = io.BytesIO(data)
        if is_animated(buf):
            result = replace(result, video=hash_video(buf, fmt, limits.video))
    return result


def hash_file(path: str | Path, limits: MediaLimits, signal_names: tuple[str, ...],
              dihedral: bool = False) -> FileSignals:
    """``hash_media`` of one file, for a worker process: errors become data."""
    try:
        p = Path(path)
        fmt = video_format(p)
        if fmt in CONTAINERS:
            return hash_video_path(p, fmt, limits, signal_names)
        result = _hash_read(lambda: Media.from_path(path, limits), signal_names, dihedral,
                            str(path))
        return result if fmt is None else _with_animation(result, p, fmt, limits)
    except VeilError as exc:
        return FileSignals(str(path), error_code=exc.code, error_message=exc.message)


def _held_to_size(found: Iterator[Path | Skipped],
                  limits: MediaLimits) -> Iterator[Path | Skipped]:
    """Discovery admits files up to the video size limit; any other file is still
    skipped over the media one, as before videos (not read, and not an error)."""
    for item in found:
        if isinstance(item, Path) and limits.max_bytes < limits.video.max_bytes:
            try:
                size = item.stat().st_size
            except OSError:
                size = 0  # reported when it is read
            if size > limits.max_bytes and video_format(item) not in CONTAINERS:
                yield Skipped(str(item), f"too large ({size:,} bytes; the limit is "
                                         f"{limits.max_bytes:,})")
                continue
        yield item


class HashingPool(Generic[T]):
    """The files under ``paths``, each run through ``task`` in ``workers`` processes and
    yielded in discovery order (with what was skipped, and why), in flat memory.

    The work starts when the pool is made, not when results are first asked for: the
    worker processes are forked then, from the process as it is at that moment, and
    handed the first ``ahead`` files per worker at once, so every core hashes while the
    caller does something else (``veil scan`` imports and opens the store meanwhile).
    ``results`` then keeps ``IN_FLIGHT_PER_WORKER`` files per worker in flight. A task
    is ``task(path, limits, signal_names, dihedral)`` (``hash_file``, or a function
    of the caller's around it). With one worker, nothing starts early: each file is
    hashed in this process as it is asked for."""

    def __init__(self, paths: list[Path], limits: MediaLimits, signal_names: tuple[str, ...],
                 task: Callable[[Path, MediaLimits, tuple[str, ...], bool], T], *,
                 workers: int, dihedral: bool = False, ahead: int = IN_FLIGHT_PER_WORKER):
        self._found = _held_to_size(discover(paths, max_bytes=max(limits.max_bytes,
                                                                  limits.video.max_bytes)),
                                    limits)
        self._names, self._task, self._dihedral = signal_names, task, dihedral
        self._window = workers * IN_FLIGHT_PER_WORKER
        self._pending: deque[tuple[Future[T], Path] | Skipped] = deque()
        self._pool: ProcessPoolExecutor | None = None
        self._limits = limits
        if workers > 1:
            self._limits = budget.share(limits, workers)
            self._pool = ProcessPoolExecutor(max_workers=workers)
            self._fill(workers * max(ahead, IN_FLIGHT_PER_WORKER))

    def __enter__(self) -> HashingPool[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers; files not yet started are dropped (a caller that stops
        early, or fails, does not wait for the rest to be hashed)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _submit(self, path: Path) -> Future[T]:
        assert self._pool is not None
        return self._pool.submit(self._task, path, self._limits, self._names, self._dihedral)

    def _fill(self, window: int) -> None:
        while len(self._pending) < window:
            item = next(self._found, None)
            if item is None:
                return
            self._pending.append(item if isinstance(item, Skipped) else
                                 (self._submit(item), item))

    def results(self, signal_names: tuple[str, ...] | None = None) -> Iterator[T | Skipped]:
        """Every file's result in discovery order. ``signal_names``: the signals wanted,
        if the caller knows better now than when it made the pool; files already handed
        out for other signals are then hashed again."""
        if signal_names is not None and signal_names != self._names:
            self._names = signal_names
            for i, item in enumerate(self._pending):
                if not isinstance(item, Skipped):
                    item[0].cancel()
                    self._pending[i] = (self._submit(item[1]), item[1])
        if self._pool is None:
            for found in self._found:
                yield found if isinstance(found, Skipped) else self._task(
                    found, self._limits, self._names, self._dihedral)
            return
        while True:
            self._fill(self._window)
            if not self._pending:
                return
            head = self._pending.popleft()
            yield head if isinstance(head, Skipped) else head[0].result()


def hash_paths(paths: list[Path], limits: MediaLimits, signal_names: tuple[str, ...], *,
               workers: int, dihedral: bool = False) -> Iterator[FileSignals | Skipped]:
    """Hash every media file under ``paths`` in ``workers`` processes, yielding results
    (and what was skipped, and why) in discovery order."""
    with HashingPool(paths, limits, signal_names, hash_file, workers=workers,
                     dihedral=dihedral) as pool:
        yield from pool.results()
