"""Cryptographic digests of the exact bytes: ``md5`` (what StopNCII-era lists carry)
and ``sha256``. They match only byte-identical files; distance is 0 or ``bits``."""

from __future__ import annotations

import hashlib
from contextlib import nullcontext
from pathlib import Path
from typing import BinaryIO, ClassVar

from veil.media.source import Media
from veil.signals.base import Signal, SignalType

#: Bytes read at a time when a digest streams a file.
CHUNK = 1 << 20


def file_digest(source: Path | BinaryIO, algorithm: str) -> str:
    """``algorithm``'s hex digest of a file's bytes, read in ``CHUNK``s (a video may
    be gigabytes); a file object is read from its start."""
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with source.open("rb") if isinstance(source, Path) else nullcontext(source) as fh:
        fh.seek(0)
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class _Digest(SignalType):
    exact_digest: ClassVar[bool] = True
    victim_submittable: ClassVar[bool] = True
    _algo: ClassVar[str]

    def compute(self, media: Media) -> Signal:
        return self.compute_bytes(media.data)

    def compute_bytes(self, data: bytes) -> Signal:
        return Signal(self.name, hashlib.new(self._algo, data).hexdigest())

    def distance(self, a: str, b: str) -> int:
        return 0 if a == b else self.bits


class MD5(_Digest):
    name = "md5"
    bits = 128
    always_scanned = True
    _algo = "md5"


class SHA256(_Digest):
    name = "sha256"
    bits = 256
    _algo = "sha256"
