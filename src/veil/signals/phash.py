"""``phash``: imagehash's DCT perceptual hash (64 bits)."""

import imagehash

from veil.signals.imagehash_types import ImageHashType


class PHash(ImageHashType):
    name = "phash"
    _fn = staticmethod(imagehash.phash)
