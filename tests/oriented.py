"""Test pictures with an EXIF orientation: the JPEG whose stored pixels a viewer turns
into a given picture."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from veil.media.orientation import Orientation


def jpeg(img: Image.Image, quality: int = 90, exif: bytes | None = None) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, **({"exif": exif} if exif else {}))
    return buf.getvalue()


def oriented_jpeg(shown: Image.Image, orientation: int, quality: int = 90) -> bytes:
    """A JPEG tagged with ``orientation`` that stores the one of the 8 dihedral images
    of ``shown`` which that orientation turns back into ``shown``."""
    want, turn = np.asarray(shown), Orientation(orientation)
    candidates = []
    for k in range(4):
        r = np.rot90(want, k)
        candidates += [r, r[:, ::-1]]
    stored = next(c for c in candidates if np.array_equal(turn.apply(c), want))
    exif = Image.Exif()
    exif[0x0112] = orientation
    return jpeg(Image.fromarray(np.ascontiguousarray(stored)), quality, exif.tobytes())
