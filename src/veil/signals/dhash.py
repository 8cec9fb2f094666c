"""``dhash``: imagehash's gradient (difference) hash (64 bits)."""

import imagehash

from veil.signals.imagehash_types import ImageHashType


class DHash(ImageHashType):
    name = "dhash"
    _fn = staticmethod(imagehash.dhash)
