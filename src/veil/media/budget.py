"""How much memory decoding a file may take, decided before any pixel is decoded.

A 141 KB PNG can declare 120 million pixels; decoded, converted and hashed it would
take gigabytes. So each decode's cost is estimated from the header (pixels × the bytes
per pixel of the stored mode and of the conversions hashing needs), and:

* a file whose estimate passes ``MediaLimits.max_decode_bytes`` is refused
  (``media.too_large``) before decoding;
* a decode estimated above ``large_decode_bytes`` takes one of
  ``max_large_decodes`` slots for as long as its pixels are held (the others wait),
  so a burst of large files is decoded one after another, not all at once;
* a decode that would take the process's resident memory past its ceiling is refused
  for now (``media.busy``, 503 in the service): the process stays under its ceiling
  instead of meeting the OOM killer. The ceiling is ``memory_ceiling_bytes``, else
  three quarters of the machine; never above three quarters of the cgroup's limit (a
  container's, a systemd unit's MemoryMax), and shared out where several worker
  processes hash at once (``share``).
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

#: Where the cgroup file systems are mounted (v2 unified, or v1 with a "memory" folder).
CGROUP_ROOT = "/sys/fs/cgroup"

_slots: dict[int, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def stored_bpp(mode: str) -> float:
    return STORED_BPP.get(mode, 8.0)  # an unknown mode: assume the worst common case


def _cgroup_files(root: str) -> list[str]:
    """The limit files that may bound this process: its own cgroup's (v2, v1), then
    the mount's top (a container sees its own cgroup there)."""
    files = []
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                if controllers == "":
                    files.append(os.path.join(root, path.lstrip("/"), "memory.max"))
                elif "memory" in controllers.split(","):
                    files.append(os.path.join(root, "memory", path.lstrip("/"),
                                              "memory.limit_in_bytes"))
    except (OSError, ValueError):
        pass
    files += [os.path.join(root, "memory.max"),
              os.path.join(root, "memory", "memory.limit_in_bytes")]
    return files


def cgroup_limit(root: str | None = None) -> int | None:
    """The lowest memory limit a cgroup puts on this process; None where there is none
    (no cgroup, or "max"; cgroup v1's "unlimited" is a huge number, so never lowest)."""
    found = []
    for path in _cgroup_files(root or CGROUP_ROOT):
        try:
            with open(path, encoding="ascii") as f:
                text = f.read().strip()
        except (OSError, ValueError):
            continue
        if text.isdigit() and int(text) > 0:
            found.append(int(text))
    return min(found) if found else None


def ceiling(limits: MediaLimits) -> int:
    """The process's memory ceiling: as configured, else three quarters of the machine;
    never above three quarters of its cgroup's limit (0: unknown, no ceiling)."""
    top = limits.memory_ceiling_bytes
    if not top:
        try:
            top = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * 3 // 4
        except (ValueError, OSError):  # pragma: no cover - not a POSIX system
            top = 0
    cgroup = cgroup_limit()
    if cgroup is not None:
        # the OOM killer acts at the limit itself, so keep the same headroom as above
        top = min(top, cgroup * 3 // 4) if top else cgroup * 3 // 4
    return int(top)


def share(limits: MediaLimits, workers: int) -> MediaLimits:
    """``limits`` for one of ``workers`` processes decoding at once: each gets its share
    of the ceiling, so together they stay under it."""
    top = ceiling(limits)
    if workers <= 1 or not top:
        return limits
    return limits.model_copy(update={"memory_ceiling_bytes": max(1, top // workers)})


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
