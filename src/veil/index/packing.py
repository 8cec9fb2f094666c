"""Hex hashes to rows of 64-bit words and back, many at a time.

Row layout: big-endian words, so bit 0 of the hex string is the top bit of word 0
and the Hamming distance of two rows is the popcount of their XOR. A hash whose
length is not a multiple of 64 bits is padded with zero bits at the end, which never
add to a distance.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from veil.errors import BadHash


def words_per_hash(bits: int) -> int:
    if bits <= 0 or bits % 4:
        raise ValueError(f"packed hashes are hex: a positive multiple of 4 bits, got {bits}")
    return -(-bits // 64)


def pack_hex(values: Sequence[str], bits: int, signal: str = "hash") -> np.ndarray:
    """``(len(values), bits // 64)`` uint64 rows; raises ``BadHash`` naming the first bad one.

    Values are expected normalised (hex of exactly ``bits // 4`` characters, as the
    store and ``parse`` give); anything else is refused rather than matched wrongly.
    """
    w = words_per_hash(bits)
    chars = bits // 4
    if not values:
        return np.empty((0, w), np.uint64)
    pad = "0" * (w * 16 - chars)
    try:
        raw = bytes.fromhex(pad.join(values) + pad if pad else "".join(values))
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != len(values) * w * 8 or any(len(v) != chars for v in values):
        _raise_first_bad(values, chars, signal)
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(len(values), w)


def pack_bytes(raw: np.ndarray, bits: int) -> np.ndarray:
    """``(n, bits // 8)`` uint8 hash bytes as ``(n, words)`` uint64 rows, the layout
    ``pack_hex`` gives (zero bits pad the last word)."""
    w = words_per_hash(bits)
    if raw.shape[1] != w * 8:
        padded = np.zeros((raw.shape[0], w * 8), np.uint8)
        padded[:, : raw.shape[1]] = raw
        raw = padded
    return np.ascontiguousarray(raw).view(">u8").astype(np.uint64)


def _raise_first_bad(values: Sequence[str], chars: int, signal: str) -> None:
    for i, v in enumerate(values):
        if not isinstance(v, str) or len(v) != chars:
            n = len(v) if isinstance(v, str) else type(v).__name__
            raise BadHash(f"{signal} value #{i} must be {chars} hex characters, got {n}")
        try:
            ok = len(bytes.fromhex(v)) * 2 == chars
        except ValueError:
            ok = False
        if not ok:
            raise BadHash(f"{signal} value #{i} is not hex: {v[:16]!r}…")
    raise BadHash(f"{signal} values could not be decoded")


def unpack_hex(rows: np.ndarray, bits: int | None = None) -> list[str]:
    """Lowercase hex of each row (inverse of ``pack_hex``; ``bits`` trims the padding
    of a hash that is not a multiple of 64 bits)."""
    if rows.ndim != 2:
        raise ValueError("expected a 2-D array of packed rows")
    raw = np.ascontiguousarray(rows, dtype=">u8").tobytes()
    step = rows.shape[1] * 8
    chars = step * 2 if bits is None else bits // 4
    return [raw[i:i + step].hex()[:chars] for i in range(0, len(raw), step)]
