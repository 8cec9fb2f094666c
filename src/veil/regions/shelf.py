"""Banked region blobs kept end to end in one buffer, read back one at a time.

An index needs a banked photo's full features only to verify the few candidates of
an upload, so the blobs (8.7 kB a photo) sit in one contiguous byte buffer with an
offset per slot: in memory for a small bank, or a file mapped read-only for a large
one, whose pages the system reads in only for the candidates (a million photos'
blobs are 8.7 GB on disk and cost no resident memory until read).
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from numba import njit

from veil.errors import BadInput
from veil.regions import blob
from veil.regions.features import DESCRIPTOR_BYTES

BLOBS_FILE = "blobs.bin"
OFFSETS_FILE = "offsets.npy"
#: Where a blob's keypoint count (u16, little-endian) sits, after the magic and the
#: working size.
_COUNT_AT = 7


class Shelf:
    """Blobs ``0..n-1``: ``buffer[offsets[i]:offsets[i+1]]`` is blob ``i``."""

    def __init__(self, buffer: np.ndarray, offsets: np.ndarray,
                 mapping: mmap.mmap | None = None) -> None:
        self.buffer = buffer
        self.offsets = offsets
        #: the file mapping ``buffer`` reads, for a shelf on disk
        self.mapping = mapping

    @classmethod
    def of(cls, blobs: Iterable[bytes]) -> Shelf:
        items = list(blobs)
        sizes = np.fromiter((len(b) for b in items), np.int64, len(items))
        offsets = np.zeros(len(items) + 1, np.int64)
        np.cumsum(sizes, out=offsets[1:])
        buffer = np.frombuffer(b"".join(items), np.uint8) if items else np.zeros(0, np.uint8)
        return cls(buffer, offsets)

    @classmethod
    def open(cls, directory: Path) -> Shelf:
        """A shelf written by ``write``, its blobs mapped read-only."""
        offsets = np.load(directory / OFFSETS_FILE)
        size = int(offsets[-1])
        if not size:
            return cls(np.zeros(0, np.uint8), offsets)
        with open(directory / BLOBS_FILE, "rb") as f:
            if os.fstat(f.fileno()).st_size != size:
                raise _bad(directory, "its blob file's size disagrees with its offsets")
            mapping = mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ)
        shelf = cls(np.frombuffer(mapping, np.uint8, size), offsets, mapping)
        shelf.check(directory)
        return shelf

    def check(self, where: Path) -> None:
        """Every blob's header and size agree (the compiled loops that read the
        descriptors trust them): a damaged file is refused, not read out of bounds."""
        sizes = np.diff(self.offsets)
        if self.offsets[0] != 0 or (sizes < blob.size_for(0)).any():
            raise _bad(where, "has offsets out of order")
        for start in range(0, len(self), 1 << 20):
            stop = min(len(self), start + (1 << 20))
            at = self.offsets[start:stop]
            counts = (np.asarray(self.buffer[at + _COUNT_AT], np.int64)
                      | (np.asarray(self.buffer[at + _COUNT_AT + 1], np.int64) << 8))
            good = (counts <= blob.MAX_POINTS) & (sizes[start:stop] == _sizes(counts))
            for j, byte in enumerate(blob.MAGIC):
                good &= self.buffer[at + j] == byte
            if not good.all():
                raise _bad(where, f"has a malformed blob (photo {start + int(np.argmin(good))})")

    def __len__(self) -> int:
        return int(self.offsets.shape[0] - 1)

    @property
    def nbytes(self) -> int:
        return int(self.offsets[-1])

    def release(self) -> None:
        """Drop a mapped shelf's pages from this process's resident memory (after a
        pass over every blob, as building the tables makes): the system keeps them
        cached while it has room, and reads back only what is asked for."""
        if self.mapping is not None:
            self.mapping.madvise(mmap.MADV_DONTNEED)

    def blob(self, i: int) -> bytes:
        return bytes(self.buffer[self.offsets[i]:self.offsets[i + 1]])

    def descriptors(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """The descriptors of blobs ``start..stop-1`` stacked ``(m, 32)``, and the
        blob (relative to ``start``) each comes from. Blobs were checked when they
        were shelved (``blob.decode``), so their counts are trusted here."""
        at = self.offsets[start:stop] + _COUNT_AT
        counts = (np.asarray(self.buffer[at], np.int64)
                  | (np.asarray(self.buffer[at + 1], np.int64) << 8))
        out = np.empty((int(counts.sum()), DESCRIPTOR_BYTES), np.uint8)
        _gather(self.buffer, self.offsets[start:stop + 1], counts, out)
        return out, np.repeat(np.arange(stop - start, dtype=np.int64), counts)

    def concat(self, other: Shelf) -> Shelf:
        offsets = np.concatenate([self.offsets[:-1], other.offsets + self.offsets[-1]])
        return Shelf(np.concatenate([np.asarray(self.buffer), np.asarray(other.buffer)]),
                     offsets)

    def take(self, rows: np.ndarray) -> Shelf:
        """The blobs of ``rows``, in that order, in a new in-memory shelf."""
        sizes = self.offsets[rows + 1] - self.offsets[rows]
        offsets = np.zeros(rows.shape[0] + 1, np.int64)
        np.cumsum(sizes, out=offsets[1:])
        buffer = np.empty(int(offsets[-1]), np.uint8)
        _copy_rows(self.buffer, self.offsets, rows, offsets, buffer)
        return Shelf(buffer, offsets)

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / BLOBS_FILE, "wb") as f:
            step = 1 << 26
            for p in range(0, self.nbytes, step):
                f.write(np.asarray(self.buffer[p:p + step]).tobytes())
        np.save(directory / OFFSETS_FILE, self.offsets)


def _sizes(counts: np.ndarray) -> np.ndarray:
    return blob.size_for(0) + counts * (blob.size_for(1) - blob.size_for(0))


def _bad(where: Path, what: str) -> BadInput:
    return BadInput(f"region blobs in {where} {what}", code="region.index_malformed")


class ShelfWriter:
    """Writes a shelf to ``directory`` blob by blob, for banks larger than memory."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._file = open(directory / BLOBS_FILE, "wb")  # noqa: SIM115 - closed in close()
        self._sizes: list[int] = []

    def add(self, blob: bytes) -> None:
        self._file.write(blob)
        self._sizes.append(len(blob))

    def add_block(self, buffer: np.ndarray, sizes: np.ndarray) -> None:
        """Blobs already laid end to end in ``buffer``, of ``sizes`` bytes each."""
        self._file.write(np.ascontiguousarray(buffer, np.uint8).tobytes())
        self._sizes.extend(int(s) for s in sizes)

    def close(self) -> None:
        self._file.close()
        offsets = np.zeros(len(self._sizes) + 1, np.int64)
        np.cumsum(np.asarray(self._sizes, np.int64), out=offsets[1:])
        np.save(self.directory / OFFSETS_FILE, offsets)


@njit(nogil=True, cache=True)
def _gather(buffer: np.ndarray, offsets: np.ndarray, counts: np.ndarray,
            out: np.ndarray) -> None:
    row = 0
    for i in range(counts.shape[0]):
        n = counts[i]
        start = offsets[i] + 9 + 2 * n
        for k in range(n):
            for j in range(DESCRIPTOR_BYTES):
                out[row, j] = buffer[start + k * DESCRIPTOR_BYTES + j]
            row += 1


@njit(nogil=True, cache=True)
def _copy_rows(buffer: np.ndarray, offsets: np.ndarray, rows: np.ndarray,
               new_offsets: np.ndarray, out: np.ndarray) -> None:
    for i in range(rows.shape[0]):
        src = offsets[rows[i]]
        dst = new_offsets[i]
        for j in range(new_offsets[i + 1] - dst):
            out[dst + j] = buffer[src + j]
