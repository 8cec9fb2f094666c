"""The stored form of a banked picture's region signal, and its strict reader.

Layout (version 1, little-endian)::

    b"VR" 0x01 | width u16 | height u16 | n u16 | n × (x u8, y u8) | n × 32-byte ORB descriptor

``width``×``height`` is the working picture's size (its longer side 512), which the
differing region's grid needs. Positions are kept only to 1/255 of each side
(2 pixels of a 512-pixel picture, under RANSAC's 5-pixel tolerance: no recall lost,
docs/derived.md), not to the detector's sub-pixel precision, and nothing else about a
keypoint (scale, angle, strength) is kept. The blob is read from databases, hash
lists and browsers, so every field is checked before use.
"""

from __future__ import annotations

import struct

import numpy as np

from veil.errors import BadInput
from veil.regions.features import DESCRIPTOR_BYTES, Features

MAGIC = b"VR\x01"
_HEADER = struct.Struct("<3sHHH")
#: Largest keypoint count and working side a blob may declare: more than any
#: Veil-made blob holds, small enough that a hostile blob costs little.
MAX_POINTS = 1024
MAX_SIDE = 4096
_STEPS = 255


def encode(features: Features) -> bytes:
    """A banked picture's features as a blob (positions quantised)."""
    w, h = features.work_size
    n = len(features)
    if n > MAX_POINTS or not (0 < w <= MAX_SIDE and 0 < h <= MAX_SIDE):
        raise ValueError("features out of the blob's range")
    pos = np.empty((n, 2), np.uint8)
    pos[:, 0] = np.clip(np.rint(features.points[:, 0] / w * _STEPS), 0, _STEPS)
    pos[:, 1] = np.clip(np.rint(features.points[:, 1] / h * _STEPS), 0, _STEPS)
    return (_HEADER.pack(MAGIC, w, h, n) + pos.tobytes()
            + np.ascontiguousarray(features.descriptors, np.uint8).tobytes())


def decode(blob: bytes) -> Features:
    """Features back from a blob (positions at the blob's precision, scale 1: a
    banked picture's own pixels are never needed)."""
    if len(blob) < _HEADER.size:
        raise _bad("is shorter than its header")
    magic, w, h, n = _HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise _bad("is not a version 1 region signal")
    if not (0 < w <= MAX_SIDE and 0 < h <= MAX_SIDE) or n > MAX_POINTS:
        raise _bad("declares a size or keypoint count out of range")
    if len(blob) != size_for(n):
        raise _bad(f"holds {len(blob)} bytes where {n} keypoints need {size_for(n)}")
    start = _HEADER.size
    pos = np.frombuffer(blob, np.uint8, 2 * n, start).reshape(n, 2).astype(np.float32)
    points = np.empty((n, 2), np.float32)
    points[:, 0] = pos[:, 0] / _STEPS * w
    points[:, 1] = pos[:, 1] / _STEPS * h
    desc = np.frombuffer(blob, np.uint8, DESCRIPTOR_BYTES * n, start + 2 * n)
    return Features(points, desc.reshape(n, DESCRIPTOR_BYTES).copy(), (w, h), 1.0)


def size_for(n: int) -> int:
    """Bytes of a blob with ``n`` keypoints."""
    return _HEADER.size + n * (2 + DESCRIPTOR_BYTES)


def _bad(what: str) -> BadInput:
    return BadInput(f"region signal {what}", code="region.malformed")
