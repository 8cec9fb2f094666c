"""``phash``: imagehash's DCT perceptual hash (64 bits)."""

from veil.signals.imagehash_types import ImageHashType, phash_image


class PHash(ImageHashType):
    name = "phash"
    hash_grey = staticmethod(phash_image)
