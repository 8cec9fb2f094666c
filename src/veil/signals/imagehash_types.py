"""Shared shape of the ``imagehash`` signal types (pHash, dHash): 64-bit hashes.

The values are those of the ``imagehash`` package (4.3), which stays the reference
in tests: both hashes shrink a grey copy of the picture to a few pixels with
Pillow's Lanczos filter (32×32 for pHash, 9×8 for dHash) and compare them. Two
things make Veil's path fast without changing what the hash describes:

* the grey copy is decoded by the JPEG codec at 1/2, 1/4 or 1/8 scale
  (``Media.grey``), at the same scale as PDQ's fast path
  (``veil.media.jpeg.reduction_factor``), so one decode serves all three signals:
  a 12 MP photo is shrunk from 530×354 rather than 4240×2830 pixels. The drift this
  costs is measured against ``imagehash`` on the full image
  (tests/signals/test_imagehash_reference.py, bench/imagehash_drift.py,
  BENCHMARKS.md). That leaves the reduced copy at least 192 pixels on its shorter
  side; pHash and dHash drift by a median of 0 bits from about 150 reduced pixels
  up and by 2-4 at 41-80 px, so a scale of their own would buy no accuracy and
  would cost a second decode wherever the two differed;
* pHash's DCT is two small matrix products in numpy, not ``scipy.fftpack`` (whose
  import alone costs a worker process about 0.2 s). Given the same pixels it gives
  ``imagehash.phash``'s bits exactly.

Smaller pictures, and formats the codec cannot scale (PNG, WebP…), are hashed from
the full image, exactly as ``imagehash`` does.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from PIL import Image

from veil.media.source import Media
from veil.signals.base import Signal, SignalType
from veil.signals.hexhash import bits_hex

LANCZOS = Image.Resampling.LANCZOS


def _dct_rows(n: int, keep: int) -> np.ndarray:
    """The first ``keep`` rows of scipy's unnormalised DCT-II of length ``n``:
    y[k] = 2 Σ x[i] cos(π k (2i + 1) / 2n)."""
    k = np.arange(keep, dtype=np.float64)[:, None]
    i = np.arange(n, dtype=np.float64)[None, :]
    return 2.0 * np.cos(np.pi * k * (2.0 * i + 1.0) / (2.0 * n))


#: pHash: 8×8 lowest frequencies of the 32×32 DCT.
PHASH_SIZE, PHASH_IMG = 8, 32
_PHASH_DCT = _dct_rows(PHASH_IMG, PHASH_SIZE)


def phash_pixels(pixels: np.ndarray) -> str:
    """``imagehash.phash`` of a 32×32 grey array: low-frequency DCT terms above their
    median."""
    px = np.asarray(pixels, dtype=np.float64)
    low = _PHASH_DCT @ px @ _PHASH_DCT.T
    return bits_hex(low > np.median(low))


def dhash_pixels(pixels: np.ndarray) -> str:
    """``imagehash.dhash`` of an 8×9 grey array: each pixel brighter than its left
    neighbour."""
    px = np.asarray(pixels)
    return bits_hex(px[:, 1:] > px[:, :-1])


def phash_image(grey: Image.Image) -> str:
    return phash_pixels(np.asarray(grey.resize((PHASH_IMG, PHASH_IMG), LANCZOS)))


def dhash_image(grey: Image.Image) -> str:
    return dhash_pixels(np.asarray(grey.resize((9, 8), LANCZOS)))


def grey_view(media: Media, *, fast: bool = True) -> Image.Image:
    """The grey copy these hashes start from: reduced by the codec at PDQ's scale
    (``Media.hash_factor``, so the decode is shared) where ``fast``, else the full
    image's."""
    return media.grey(media.hash_factor() if fast else 1)


class ImageHashType(SignalType):
    bits: ClassVar[int] = 64
    #: The usual operating point for 64-bit perceptual hashes (about 15% of the bits).
    default_threshold: ClassVar[int] = 10

    @staticmethod
    def hash_grey(grey: Image.Image) -> str:
        raise NotImplementedError

    def compute(self, media: Media) -> Signal:
        return Signal(self.name, self.hash_grey(grey_view(media)))
