"""How much memory decoding a file may take, decided before any pixel is decoded.

A 141 KB PNG can declare 120 million pixels; decoded, converted and hashed it would
take gigabytes. So each decode's cost is estimated from the header (pixels × the bytes
per pixel of the stored mode and of the conversions hashing needs), and:

* a file whose estimate passes ``MediaLimits.max_decode_bytes`` is refused
  (``media.too_large``) before decoding;
* a decode estimated above ``large_decode_bytes`` takes one of
  ``max_large_decodes`` slots for as long as its pixels are held (the others wait),
  so a burst of large files is decoded one after another, not all at once;
* a decode that would take the process's resident memory past
  ``memory_ceiling_bytes`` is refused for now (``media.busy``, 503 in the service):
  the process stays under its ceiling instead of meeting the OOM killer.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from veil.config import MediaLimits
from veil.errors import MediaBusy, MediaTooLarge

#: Bytes per pixel Pillow holds a decoded image in, by mode (RGB is stored padded to
#: four bytes a pixel).
STORED_BPP: dict[str, float] = {
    "1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2, "I": 4,
    "F": 4, "LA": 4, "PA": 4, "RGB": 4, "RGBA": 4, "RGBX": 4, "CMYK": 4, "YCbCr": 4,
    "LAB": 4, "HSV": 4,
}

_slots: dict[int, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def stored_bpp(mode: str) -> float:
    return STORED_BPP.get(mode, 8.0)  # an unknown mode: assume the worst common case


def ceiling(limits: MediaLimits) -> int:
    """The process's memory ceiling: as configured, else three quarters of the machine."""
    if limits.memory_ceiling_bytes:
        return limits.memory_ceiling_bytes
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):  # pragma: no cover - not a POSIX system
        return 0
    return int(physical * 3 // 4)


def resident_bytes() -> int:
    """This process's resident memory now (Linux; 0 where it cannot be read)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _slot(count: int) -> threading.BoundedSemaphore:
    with _slots_lock:
        sem = _slots.get(count)
        if sem is None:
            sem = _slots[count] = threading.BoundedSemaphore(count)
        return sem


def check(estimate: int, limits: MediaLimits, what: str) -> None:
    """Refuse a decode that could never fit (``media.too_large``)."""
    if estimate > limits.max_decode_bytes:
        raise MediaTooLarge(
            f"{what} would need about {estimate / 2**20:,.0f} MiB to decode; the limit is "
            f"{limits.max_decode_bytes / 2**20:,.0f} MiB (VEIL_MAX_DECODE_BYTES)")


@contextmanager
def reserve(estimate: int, limits: MediaLimits, what: str) -> Iterator[None]:
    """Hold what a decode of ``estimate`` bytes needs while its pixels are in use."""
    check(estimate, limits, what)
    large = estimate > limits.large_decode_bytes
    slot = _slot(limits.max_large_decodes) if large else None
    if slot is not None:
        slot.acquire()
    try:
        top = ceiling(limits)
        if large and top and resident_bytes() + estimate > top:
            raise MediaBusy(f"{what} would take this process past its memory ceiling "
                            f"({top / 2**20:,.0f} MiB) now; retry shortly")
        yield
    finally:
        if slot is not None:
            slot.release()
