"""Fixed-length hex hashes, shared by signal types: bits to hex, parsing, Hamming
distance."""

from __future__ import annotations

import string

import numpy as np

from veil.errors import BadHash

_HEX = frozenset(string.hexdigits)


def bits_hex(bits: np.ndarray) -> str:
    """0/1 (or boolean) bits, most significant first, as lowercase hex: the form every
    hash takes (``pdqhash``'s vectors, ``str(imagehash.ImageHash)``)."""
    return np.packbits(np.asarray(bits, dtype=bool).reshape(-1)).tobytes().hex()


def parse_hex(value: object, bits: int, signal: str) -> str:
    """Return ``value`` as lowercase hex of exactly ``bits`` bits or raise ``BadHash``."""
    if not isinstance(value, str):
        raise BadHash(f"{signal} hash must be a hex string, got {type(value).__name__}")
    v = value.strip().lower()
    if v.startswith("0x"):
        v = v[2:]
    want = bits // 4
    if len(v) != want:
        shown = v if len(v) <= 80 else v[:40] + "…"
        raise BadHash(f"{signal} hash must be {want} hex characters, got {len(v)}: {shown!r}")
    if not _HEX.issuperset(v):
        bad = next(c for c in v if c not in _HEX)
        raise BadHash(f"{signal} hash contains a non-hex character {bad!r}")
    return v


def hamming_hex(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()
