"""``Media``: untrusted bytes, checked from the header, decoded lazily and at most once.

Signals ask for the view they need: the raw bytes (digests), the full RGB image
(reference PDQ, pHash), or a reduced luma plane (Veil's fast PDQ path for JPEG),
so a file is never decoded at full size when a cheaper view serves.
"""

from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile

from veil.config import MediaLimits
from veil.errors import (
    MediaEmpty,
    MediaError,
    MediaTooLarge,
    MediaTruncated,
    MediaUnsupported,
)
from veil.media.formats import ACCEPTED, ACCEPTED_TEXT, DCT_SCALABLE, register_plugins
from veil.media.orientation import Orientation

# Truncated files must fail loudly, never hash as half a picture.
ImageFile.LOAD_TRUNCATED_IMAGES = False

# Pillow's decoders surface corrupt input as any of these; all mean "bad file".
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError,
                  KeyError, ZeroDivisionError, struct.error, MemoryError)


def _decode_error(exc: BaseException, fmt: str) -> MediaError:
    text = str(exc) or type(exc).__name__
    low = text.lower()
    if "truncated" in low or "premature end" in low or isinstance(exc, EOFError):
        return MediaTruncated(f"the {fmt} file is truncated or incomplete ({text})")
    return MediaError(f"the {fmt} file is corrupt and could not be decoded ({text})")


@dataclass(frozen=True, slots=True)
class ReducedLuma:
    """A luma plane decoded at 1/``factor`` scale, in the file's stored orientation.

    ``full_size`` is the stored (width, height) of the full-resolution image; each
    reduced pixel covers a ``factor``×``factor`` block of it (edge blocks are partial).
    """

    luma: np.ndarray  # float32, (rows, cols)
    factor: int
    full_size: tuple[int, int]
    orientation: Orientation


class Media:
    """One piece of untrusted media. Construct with ``from_bytes`` or ``from_path``."""

    def __init__(self, data: bytes, limits: MediaLimits, name: str | None = None) -> None:
        register_plugins()
        self.data = data
        self.limits = limits
        self.name = name
        self.warnings: list[str] = []
        if len(data) == 0:
            raise MediaEmpty("the file is empty (0 bytes)")
        if len(data) > limits.max_bytes:
            raise MediaTooLarge(
                f"the file is {len(data):,} bytes; the limit is {limits.max_bytes:,}"
            )
        img = self._open()
        fmt = img.format or "unknown"
        if fmt not in ACCEPTED:
            raise MediaUnsupported(
                f"{fmt} images are not supported; supported formats: {ACCEPTED_TEXT}"
            )
        self.pil_format = fmt
        self.format = ACCEPTED[fmt]
        w, h = img.size
        if w <= 0 or h <= 0:
            raise MediaError(f"the image declares an empty size {w}x{h}")
        if w > limits.max_side or h > limits.max_side or w * h > limits.max_pixels:
            raise MediaTooLarge(
                f"the image declares {w}x{h} pixels ({w * h:,}); the limit is "
                f"{limits.max_pixels:,} pixels and {limits.max_side:,} per side"
            )
        self.stored_size = (w, h)
        self.frames = self._count_frames(img)
        self.orientation = self._read_orientation(img)
        self.size = self.orientation.oriented_size(w, h)

    # -- construction -------------------------------------------------------------
    @classmethod
    def from_bytes(cls, data: bytes, limits: MediaLimits, name: str | None = None) -> Media:
        return cls(bytes(data), limits, name)

    @classmethod
    def from_path(cls, path: str | os.PathLike[str], limits: MediaLimits) -> Media:
        p = Path(path)
        try:
            with p.open("rb") as fh:
                # Read one byte past the limit so an oversized file is refused
                # without ever holding more than limit+1 bytes.
                data = fh.read(limits.max_bytes + 1)
        except IsADirectoryError:
            raise MediaError(f"{p} is a directory, not an image file") from None
        except OSError as exc:
            raise MediaError(f"cannot read {p}: {exc.strerror or exc}") from None
        return cls(data, limits, str(p))

    # -- header checks -----------------------------------------------------------
    def _open(self) -> Image.Image:
        try:
            return Image.open(io.BytesIO(self.data))
        except Image.UnidentifiedImageError:
            raise MediaUnsupported(
                f"not a recognised image; supported formats: {ACCEPTED_TEXT}"
            ) from None
        except Image.DecompressionBombError as exc:  # pragma: no cover - limit disabled
            raise MediaTooLarge(str(exc)) from None
        except _DECODE_ERRORS as exc:
            raise _decode_error(exc, "image") from None

    def _count_frames(self, img: Image.Image) -> int:
        if not getattr(img, "is_animated", False):
            return 1
        try:
            n = int(getattr(img, "n_frames", 1))
        except _DECODE_ERRORS as exc:
            raise _decode_error(exc, self.format) from None
        if n > self.limits.max_frames:
            raise MediaTooLarge(
                f"the {self.format} has {n:,} frames; the limit is {self.limits.max_frames:,}",
                code="media.too_many_frames",
            )
        return n

    def _read_orientation(self, img: Image.Image) -> Orientation:
        try:
            value = img.getexif().get(0x0112, 1)
        except Exception as exc:  # broken EXIF must not sink an otherwise good image
            self.warnings.append(f"unreadable EXIF ignored ({type(exc).__name__})")
            return Orientation(1)
        try:
            return Orientation(int(value))
        except (TypeError, ValueError):
            self.warnings.append(f"invalid EXIF orientation {value!r} ignored")
            return Orientation(1)

    # -- decoded views ---------------------------------------------------------------
    @cached_property
    def image(self) -> Image.Image:
        """The first frame, fully decoded, orientation applied, as 8-bit RGB."""
        img = self._open()
        try:
            img.seek(0)
            img.load()
            rgb = to_rgb8(img)
        except MediaError:
            raise
        except _DECODE_ERRORS as exc:
            raise _decode_error(exc, self.format) from None
        if self.orientation.value != 1:
            rgb = self.orientation.apply_pil(rgb)
        return rgb

    @cached_property
    def rgb(self) -> np.ndarray:
        """``image`` as a contiguous (rows, cols, 3) uint8 array."""
        return np.ascontiguousarray(np.asarray(self.image, dtype=np.uint8))

    def reduced_luma(self, factor: int) -> ReducedLuma | None:
        """Luma decoded at 1/``factor`` scale by the codec itself, or None if impossible.

        Only DCT-coded formats can do this cheaply (JPEG's scaled IDCT); the caller
        falls back to the full image otherwise.
        """
        if factor not in (2, 4, 8) or self.pil_format not in DCT_SCALABLE:
            return None
        w, h = self.stored_size
        if w // factor < 1 or h // factor < 1:
            return None
        img = self._open()
        try:
            img.draft("L", (w // factor, h // factor))
            want = (-(-w // factor), -(-h // factor))
            if img.size != want:
                return None
            img.load()
        except _DECODE_ERRORS as exc:
            raise _decode_error(exc, self.format) from None
        if img.mode == "L":
            luma = np.asarray(img, dtype=np.float32)
        else:  # e.g. CMYK JPEG: the codec can't emit grey directly
            luma = luma_from_rgb(np.asarray(to_rgb8(img), dtype=np.uint8))
        return ReducedLuma(luma=luma, factor=factor, full_size=(w, h),
                           orientation=self.orientation)


def luma_from_rgb(rgb: np.ndarray) -> np.ndarray:
    """PDQ's luma (ITU-R 601 weights), computed the way the ``pdqhash`` package does."""
    return (rgb[:, :, 0] * 0.299 + rgb[:, :, 1] * 0.587 + rgb[:, :, 2] * 0.114).astype(
        np.float32
    )


def to_rgb8(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB without silently clipping deep images."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        arr = np.asarray(img).astype(np.int64)
        # 16-bit data: keep the top byte, as a viewer would display it.
        shift = 8 if arr.size and int(arr.max()) > 255 else 0
        grey = np.clip(arr >> shift, 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if mode == "F":
        arr = np.nan_to_num(np.asarray(img, dtype=np.float64))
        grey = np.clip(arr, 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    return img.convert("RGB")
