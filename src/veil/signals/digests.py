"""Cryptographic digests of the exact bytes: ``md5`` (what StopNCII-era lists carry)
and ``sha256``. They match only byte-identical files; distance is 0 or ``bits``."""

from __future__ import annotations

import hashlib
from typing import ClassVar

from veil.media.source import Media
from veil.signals.base import Signal, SignalType


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
