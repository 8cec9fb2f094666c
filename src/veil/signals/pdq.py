"""``pdq``: Meta's PDQ perceptual hash (256 bits + quality 0-100).

Two paths give the same hash up to a measured drift (tests/signals and
bench/hashing.py):

* reference: full decode, then ``pdqhash`` (Meta's C++ core) — used for every
  non-JPEG and for JPEGs too small to gain from reduced decoding;
* fast: the JPEG codec decodes at 1/2-1/8 scale (``Media.hash_factor``, by
  ``veil.media.jpeg.reduction_factor``) and ``pdq_core`` maps the reduced plane
  through the reference's full-resolution filter weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pdqhash

from veil.media.source import RGB_MAX_PIXELS, Media
from veil.signals import pdq_core
from veil.signals.base import Signal, SignalType, Variant
from veil.signals.hexhash import bits_hex

#: The 8 dihedral variants in the reference's order (original, rotate90, rotate180,
#: rotate270, flipx, flipy, flipplus1, flipminus1), named for how an upload relates
#: to the banked picture when that variant of the upload's hash matches it: variant
#: "rotate90" rotates the picture 90° counter-clockwise, so it matches an upload that
#: is the banked picture turned 90° clockwise (tests/signals check each against
#: Pillow's transposes).
DIHEDRAL = (
    Variant("original", "as banked"),
    Variant("rotated_90_cw", "rotated 90° clockwise"),
    Variant("rotated_180", "rotated 180°"),
    Variant("rotated_90_ccw", "rotated 90° counter-clockwise"),
    Variant("mirrored_top_bottom", "mirrored top to bottom"),
    Variant("mirrored_left_right", "mirrored left to right"),
    Variant("mirrored_diagonal", "mirrored across the diagonal"),
    Variant("mirrored_antidiagonal", "mirrored across the other diagonal"),
)


@dataclass(frozen=True, slots=True)
class PDQResult:
    hash: str
    quality: int
    dct: np.ndarray  # (16, 16) float32, for dihedral variants

    def dihedral(self) -> list[str]:
        return [pdq_core.dct_hex(b) for b in pdq_core.dihedral(self.dct)]


def from_dct(dct: np.ndarray, quality: int) -> PDQResult:
    return PDQResult(pdq_core.dct_hex(dct), quality, dct)


def from_buffer(buf: np.ndarray) -> PDQResult:
    """PDQ's tail from its 64×64 luma buffer: 16×16 DCT, bits above the median, and
    the quality of the buffer's gradients."""
    return from_dct(pdq_core.dct16(buf), pdq_core.quality(buf))


def reference_hash(rgb: np.ndarray) -> tuple[str, int]:
    """The reference: ``pdqhash`` on fully decoded RGB pixels."""
    vec, q = pdqhash.compute(np.ascontiguousarray(rgb, dtype=np.uint8))
    return bits_hex(vec), int(q)


def compute_pdq(media: Media, *, fast: bool = True) -> PDQResult:
    w, h = media.stored_size
    if min(w, h) < pdq_core.MIN_HASHABLE_DIM:
        return PDQResult("0" * 64, 0, np.zeros((16, 16), np.float32))
    k = media.hash_factor() if fast else 1
    reduced = media.reduced_luma(k) if k > 1 else None
    if reduced is not None:
        return from_buffer(pdq_core.downsample_reduced(
            reduced.luma, reduced.factor, reduced.full_size, reduced.orientation))
    if media.pixels > RGB_MAX_PIXELS:
        # too large to expand to RGB: the grey copy, through the full-resolution
        # filter weights a strip of rows at a time (a byte a pixel held, not ~30)
        return from_buffer(pdq_core.downsample_grey(np.asarray(media.grey(1))))
    flat, q = pdqhash.compute_float(media.rgb)
    # compute_float returns the 16x16 buffer flattened in reverse (MSB-first) order
    return from_dct(np.asarray(flat, dtype=np.float32)[::-1].reshape(16, 16).copy(), int(q))


class PDQ(SignalType):
    name: ClassVar[str] = "pdq"
    bits: ClassVar[int] = 256
    #: Meta's published guidance: PDQ distance <= 31 is a match.
    default_threshold: ClassVar[int] = 31
    #: Meta recommends discarding hashes of quality <= 49: they describe near-flat
    #: images, which all look alike to PDQ.
    min_quality: ClassVar[int | None] = 50
    variants = DIHEDRAL
    victim_submittable = True
    always_scanned = True

    def compute(self, media: Media) -> Signal:
        r = compute_pdq(media)
        return Signal(self.name, r.hash, r.quality)

    def compute_variants(self, media: Media) -> list[Signal]:
        """The hashes of the 8 rotations/mirrors (``DIHEDRAL`` order; the first is
        ``compute``'s), from one DCT. Quality is the same for all: rotating or mirroring
        leaves the gradients it measures unchanged."""
        r = compute_pdq(media)
        return [Signal(self.name, h, r.quality) for h in r.dihedral()]
