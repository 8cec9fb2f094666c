"""Shared shape of the ``imagehash`` signal types (pHash, dHash): 64-bit hashes."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import imagehash
from PIL import Image

from veil.config import load_settings
from veil.media.source import Media
from veil.signals.base import Signal
from veil.signals.hexhash import hamming_hex, parse_hex


class ImageHashType:
    name: ClassVar[str]
    bits: ClassVar[int] = 64
    perceptual: ClassVar[bool] = True
    _fn: ClassVar[Callable[[Image.Image], imagehash.ImageHash]]

    def default_threshold(self) -> int:
        return int(getattr(load_settings().thresholds, self.name))

    def compute(self, media: Media) -> Signal:
        return Signal(self.name, str(type(self)._fn(media.image)))

    def compute_image(self, image: Image.Image) -> Signal:
        return Signal(self.name, str(type(self)._fn(image)))

    def parse(self, value: str) -> str:
        return parse_hex(value, self.bits, self.name)

    def distance(self, a: str, b: str) -> int:
        return hamming_hex(a, b)
