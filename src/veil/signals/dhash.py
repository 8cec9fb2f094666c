"""``dhash``: imagehash's gradient (difference) hash (64 bits)."""

from veil.signals.imagehash_types import ImageHashType, dhash_image


class DHash(ImageHashType):
    name = "dhash"
    hash_grey = staticmethod(dhash_image)
