"""Warnings that decoding libraries (Pillow, pillow-heif) raise while reading a file.

They say something about that file ("possibly corrupt EXIF data", "palette image
with transparency …"), so they belong on its result, not on the terminal as raw
text. ``collecting()`` gathers those a decoder raises on the current thread while it
is open. Python's warning machinery is process-global, so the hook keeps a
per-thread sink (the service hashes uploads on several threads at once), and it
hands everything else — another library's warning, or a decoder's with no sink
open — to the ``showwarning`` it replaced, untouched.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

#: The decoders whose warnings describe the file being read.
DECODERS = ("PIL", "pillow_heif")

_ShowWarning = Callable[..., None]

_local = threading.local()
_lock = threading.Lock()
_decoder_dirs: tuple[str, ...] | None = None


def _package_dirs() -> tuple[str, ...]:
    dirs = []
    for name in DECODERS:
        spec = importlib.util.find_spec(name)
        for where in (spec.submodule_search_locations or []) if spec else []:
            dirs.append(os.path.join(os.path.realpath(where), ""))
    return tuple(dirs)


def from_decoder(filename: str) -> bool:
    """Whether a warning attributed to ``filename`` was raised by a decoder (its
    ``warnings.warn`` calls use the default stacklevel: the decoder's own file)."""
    global _decoder_dirs
    if _decoder_dirs is None:
        _decoder_dirs = _package_dirs()
    return os.path.realpath(filename).startswith(_decoder_dirs)


def _hook(passed_on: _ShowWarning) -> _ShowWarning:
    """A ``showwarning`` that collects a decoder's warning into this thread's sink and
    hands any other to ``passed_on``, the hook it replaces. Each install keeps its own
    predecessor, so one that ``warnings.catch_warnings`` puts back still passes on to
    the right place."""

    def show(message: Warning | str, category: type[Warning], filename: str,
             lineno: int, file: TextIO | None = None, line: str | None = None) -> None:
        sink: list[str] | None = getattr(_local, "sink", None)
        if sink is None or not from_decoder(filename):
            passed_on(message, category, filename, lineno, file, line)
            return
        text = f"{category.__name__}: {message}"
        if text not in sink:
            sink.append(text)

    show.veil_collects = True  # type: ignore[attr-defined]
    return show


def install() -> None:
    """Route warnings through the collecting hook, and make decoders' warnings fire for
    every file, not only the first that raises each one. Idempotent; installs again
    where something (``warnings.catch_warnings``) has since put its own hook back."""
    with _lock:
        if getattr(warnings.showwarning, "veil_collects", False):
            return
        warnings.showwarning = _hook(warnings.showwarning)
        for name in DECODERS:  # re-adding a filter moves it, never duplicates it
            warnings.filterwarnings("always", module=rf"{name}(\.|$)")


@contextmanager
def collecting() -> Iterator[list[str]]:
    """The decoder warnings raised on this thread while open, as
    ``"Category: message"``."""
    install()
    previous: Any = getattr(_local, "sink", None)
    sink: list[str] = []
    _local.sink = sink
    try:
        yield sink
    finally:
        _local.sink = previous
