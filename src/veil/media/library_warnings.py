"""Warnings that decoding libraries (Pillow, pillow-heif) raise while reading a file.

They say something about that file ("possibly corrupt EXIF data", "palette image
with transparency …"), so they belong on its result, not on the terminal as raw
text. ``collecting()`` gathers those raised on the current thread while it is
open; any raised elsewhere are logged at debug level. Python's own warning
machinery is process-global, so the hook keeps a per-thread sink: the service
hashes uploads on several threads at once.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

log = logging.getLogger("veil.media")

_local = threading.local()
_installed = False
_lock = threading.Lock()


def _show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
          file: TextIO | None = None, line: str | None = None) -> None:
    text = f"{category.__name__}: {message}"
    sink: list[str] | None = getattr(_local, "sink", None)
    if sink is not None:
        if text not in sink:
            sink.append(text)
    else:
        log.debug("library warning", extra={"warning": text, "where": f"{filename}:{lineno}"})


def install() -> None:
    """Route every warning through ``_show`` (idempotent), and make decoders' warnings
    fire for every file, not only the first that raises each one."""
    global _installed
    with _lock:
        if _installed:
            return
        warnings.showwarning = _show
        # a decoder's warning may be attributed to its caller (stacklevel), so Veil's
        # own media code is included
        for module in ("PIL", "pillow_heif", "veil"):
            warnings.filterwarnings("always", module=module)
        _installed = True


@contextmanager
def collecting() -> Iterator[list[str]]:
    """The warnings raised on this thread while open, as ``"Category: message"``."""
    install()
    previous: Any = getattr(_local, "sink", None)
    sink: list[str] = []
    _local.sink = sink
    try:
        yield sink
    finally:
        _local.sink = previous
