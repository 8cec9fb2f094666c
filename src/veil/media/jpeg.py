"""The scale hashing decodes a JPEG at, and what the codec holds while decoding it.

``reduction_factor`` is the one rule: ``Media`` decodes by it (through the signals
that ask for its views) and estimates the decode's memory by it.
"""

from __future__ import annotations

import struct

#: The codec reduces by the largest k in (8, 4, 2) for which PDQ's box window on the
#: shorter side (ceil(side/128): its 64 outputs, ``pdq_core.jarosz_window``) spans at
#: least this many k-blocks. Larger blocks blur detail the tent filter would have
#: weighted unevenly; 2 keeps the drift within bench/hashing.py's limits
#: (BENCHMARKS.md). pHash and dHash use the same scale, so one decode serves all three.
BLOCKS_PER_WINDOW = 2

#: Start-of-frame markers (the others in 0xC0-0xCF are DHT, JPG, DAC) and, among them,
#: the progressive ones.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_PROGRESSIVE = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
_SOS = 0xDA
#: Bytes of one 8×8 block of DCT coefficients (16-bit each).
BLOCK_BYTES = 128


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _round_up(a: int, b: int) -> int:
    return _ceil(a, b) * b


def reduction_factor(width: int, height: int) -> int:
    """The codec scale 1/k at which a ``width``×``height`` JPEG is decoded for hashing
    (1: full size). The reduced copy keeps at least 192 pixels on its shorter side
    (1/2 from 385 px, 1/4 from 897 px, 1/8 from 1921 px)."""
    window = _ceil(min(width, height), 128)
    for k in (8, 4, 2):
        if window >= BLOCKS_PER_WINDOW * k:
            return k
    return 1


def _frame(data: bytes) -> tuple[bool, list[tuple[int, int]], int, int, int] | None:
    """(progressive, each component's (h, v) sampling, components in the first scan,
    width, height) from the markers before the first scan; None if unreadable."""
    pos, found = 2, None
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # no length
            pos += 2
            continue
        (length,) = struct.unpack_from(">H", data, pos + 2)
        body = data[pos + 4:pos + 2 + length]
        if marker in _SOF and len(body) >= 6:
            height, width, count = struct.unpack_from(">HHB", body, 1)
            sampling = [(b >> 4, b & 15) for b in body[7:7 + 3 * count:3]]
            if len(sampling) != count or not all(h and v for h, v in sampling):
                return None
            found = (marker in _PROGRESSIVE, sampling, width, height)
        elif marker == _SOS:
            if found is None or not body:
                return None
            progressive, sampling, width, height = found
            return progressive, sampling, body[0], width, height
        pos += 2 + length
    return None


def coefficient_bytes(data: bytes, width: int, height: int, components: int) -> int:
    """Bytes libjpeg holds for the whole image's DCT coefficients while decoding, at
    any output scale: a progressive JPEG, or a sequential one whose first scan carries
    only some of the components, is read scan by scan into a full-size coefficient
    buffer for every component; a single-scan one is decoded an MCU row at a time
    (0). Where the markers cannot be read, the worst case for ``components`` at full
    resolution."""
    frame = _frame(data)
    if frame is None:
        return components * _ceil(width, 8) * _ceil(height, 8) * BLOCK_BYTES
    progressive, sampling, in_first_scan, width, height = frame
    if not progressive and in_first_scan >= len(sampling):
        return 0
    h_max = max(h for h, _ in sampling)
    v_max = max(v for _, v in sampling)
    total = 0
    for h, v in sampling:
        # jdcoefct.c: each component's blocks, rounded up to whole MCUs
        cols = _round_up(_ceil(width * h, h_max * 8), h)
        rows = _round_up(_ceil(height * v, v_max * 8), v)
        total += cols * rows * BLOCK_BYTES
    return total
