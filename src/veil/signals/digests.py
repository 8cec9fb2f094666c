"""Cryptographic digests of the exact bytes: ``md5`` (what StopNCII-era lists carry)
and ``sha256``. They match only byte-identical files; distance is 0 or ``bits``."""

from __future__ import annotations

import hashlib
from typing import ClassVar

from veil.media.source import Media
from veil.signals.base import Signal
from veil.signals.hexhash import parse_hex


class _Digest:
    name: ClassVar[str]
    bits: ClassVar[int]
    perceptual: ClassVar[bool] = False
    _algo: ClassVar[str]

    def default_threshold(self) -> int:
        return 0

    def compute(self, media: Media) -> Signal:
        return Signal(self.name, hashlib.new(self._algo, media.data).hexdigest())

    def compute_bytes(self, data: bytes) -> Signal:
        return Signal(self.name, hashlib.new(self._algo, data).hexdigest())

    def parse(self, value: str) -> str:
        return parse_hex(value, self.bits, self.name)

    def distance(self, a: str, b: str) -> int:
        return 0 if a == b else self.bits


class MD5(_Digest):
    name = "md5"
    bits = 128
    _algo = "md5"


class SHA256(_Digest):
    name = "sha256"
    bits = 256
    _algo = "sha256"
