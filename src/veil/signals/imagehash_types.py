"""Shared shape of the ``imagehash`` signal types (pHash, dHash): 64-bit hashes."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import imagehash
from PIL import Image

from veil.media.source import Media
from veil.signals.base import Signal, SignalType


class ImageHashType(SignalType):
    bits: ClassVar[int] = 64
    #: The usual operating point for 64-bit perceptual hashes (about 15% of the bits).
    default_threshold: ClassVar[int] = 10
    _fn: ClassVar[Callable[[Image.Image], imagehash.ImageHash]]

    def compute(self, media: Media) -> Signal:
        return Signal(self.name, str(type(self)._fn(media.image)))
