"""``Media``: untrusted bytes, checked from the header, decoded lazily and at most once.

Signals ask for the view they need: the raw bytes (digests), the full RGB image
(reference PDQ, non-JPEG input), a reduced luma plane (Veil's fast PDQ path for
JPEG) or a grey image (pHash, dHash), so a file is never decoded at full size when
a cheaper view serves. Every decode is cached on the ``Media``: however many
signals ask, a file is decoded at most once per scale (``decoded`` lists them).
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from veil.config import MediaLimits
from veil.errors import (
    MediaEmpty,
    MediaError,
    MediaTooLarge,
    MediaTruncated,
    MediaUnsupported,
)
from veil.media import budget, jpeg
from veil.media.formats import ACCEPTED, ACCEPTED_TEXT, DCT_SCALABLE, register_plugins
from veil.media.orientation import Orientation

# Truncated files must fail loudly, never hash as half a picture.
ImageFile.LOAD_TRUNCATED_IMAGES = False

#: Images up to this many pixels may be expanded to RGB (the reference PDQ path, bit
#: for bit with ``pdqhash``); larger ones are hashed from their grey copy only, which
#: holds a byte a pixel where the RGB path holds about 30.
RGB_MAX_PIXELS = 16_000_000
#: Bytes a pixel the RGB view and the reference PDQ path hold on top of the decode:
#: the RGB copy (4) and its array (3), and ``pdqhash``'s float64 luma arithmetic (24).
RGB_VIEW_BPP = 31
#: Bytes a pixel of a codec-reduced decode holds on top of the decode itself: the
#: float32 luma plane (4), PDQ's float64 copy of it and the band of rows it gathers
#: (16), the grey copy (1).
REDUCED_VIEW_BPP = 21
#: ...and where the codec cannot give grey (CMYK): the RGB copy and its array, and
#: the float64 luma arithmetic (``luma_from_rgb``).
REDUCED_RGB_BPP = 34
#: Bytes PDQ's filter weights take per full-resolution row or column: the grey path's
#: (64, n) float64 matrix (512) and the rows it is built from; a reduced decode's
#: path keeps only their sums over each k-block, so 1/k of that.
WEIGHTS_BYTES_PER_SIDE = 1024

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
        self._mode = img.mode
        self.frames = self._count_frames(img)
        self.orientation = self._read_orientation(img)
        self.size = self.orientation.oriented_size(w, h)
        #: The decodes done so far, in order: "full" or "1/k" (tests and benchmarks
        #: check that signals share them).
        self.decoded: list[str] = []
        self._reduced: dict[int, Image.Image | None] = {}
        self._reduced_luma: dict[int, ReducedLuma | None] = {}
        self._grey: dict[int, Image.Image] = {}

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
        except UnidentifiedImageError:
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
        if img.format == "PNG" and "exif" not in img.info:
            # Pillow looks for an eXIf chunk after the pixels by decoding them all: a
            # header check must never decode (the memory budget is not set yet). An
            # eXIf chunk before the pixels is in ``info`` and read below.
            return Orientation(1)
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

    # -- what decoding will cost ---------------------------------------------------------
    @property
    def pixels(self) -> int:
        w, h = self.stored_size
        return w * h

    def hash_factor(self) -> int:
        """The scale 1/k hashing decodes this file at: ``jpeg.reduction_factor`` where
        the codec can reduce it, else 1 (full size)."""
        k = jpeg.reduction_factor(*self.stored_size)
        return k if k > 1 and self.can_reduce(k) else 1

    def decode_estimate(self) -> int:
        """Bytes decoding and hashing this file may hold at once, from its header: at
        ``hash_factor``'s scale, what the views hashing asks for hold (``_full_estimate``
        at full size); for a JPEG, plus what the codec itself holds."""
        k = self.hash_factor()
        if k == 1:
            return self._full_estimate()
        w, h = self.stored_size
        reduced = -(-w // k) * -(-h // k)
        mode = "L" if self._mode in ("L", "RGB") else self._mode  # what draft("L") gives
        per_pixel = budget.stored_bpp(mode) + REDUCED_VIEW_BPP
        if mode != "L":
            per_pixel += REDUCED_RGB_BPP
        weights = WEIGHTS_BYTES_PER_SIDE * (w + h) // k
        return int(reduced * per_pixel) + self._codec_bytes + weights

    def _full_estimate(self) -> int:
        """A full-size decode: its pixels in the stored mode, plus the grey copy, plus
        (up to ``RGB_MAX_PIXELS``) the RGB copies the reference PDQ path makes, or
        (above) the filter weights the grey path builds."""
        w, h = self.stored_size
        per_pixel = budget.stored_bpp(self._mode) + 2  # the grey copy, and its array
        if self.pixels <= RGB_MAX_PIXELS:
            per_pixel += RGB_VIEW_BPP
        weights = 0 if self.pixels <= RGB_MAX_PIXELS else WEIGHTS_BYTES_PER_SIDE * (w + h)
        return int(self.pixels * per_pixel) + self._codec_bytes + weights

    @cached_property
    def _codec_bytes(self) -> int:
        """What the codec itself holds (read from the markers once, like Pillow's)."""
        if self.pil_format not in DCT_SCALABLE:
            return 0
        return jpeg.coefficient_bytes(self.data, *self.stored_size, len(self._mode))

    @contextmanager
    def decoding(self) -> Iterator[None]:
        """While open, this file may be decoded and hashed: the memory its decode is
        estimated to need is reserved (``budget``); on leaving, its pixels are
        dropped, so the reservation ends when the memory is freed."""
        with budget.reserve(self.decode_estimate(), self.limits, f"this {self.format}"):
            try:
                yield
            finally:
                self.drop_pixels()

    def drop_pixels(self) -> None:
        """Forget every decoded view (the bytes and header facts stay)."""
        for view in ("full", "image", "rgb"):
            self.__dict__.pop(view, None)
        self._reduced.clear()
        self._reduced_luma.clear()
        self._grey.clear()

    # -- decoded views ---------------------------------------------------------------
    @cached_property
    def full(self) -> Image.Image:
        """The first frame, fully decoded, in its stored mode and orientation."""
        # the full decode's own cost, not the reduced one a JPEG's estimate assumes
        budget.check(self._full_estimate(), self.limits, f"this {self.format}")
        img = self._open()
        self.decoded.append("full")
        try:
            img.seek(0)
            img.load()
        except _DECODE_ERRORS as exc:
            raise _decode_error(exc, self.format) from None
        return img

    @cached_property
    def image(self) -> Image.Image:
        """The first frame, fully decoded, orientation applied, as 8-bit RGB (images up
        to ``RGB_MAX_PIXELS``; larger ones are hashed from ``grey``)."""
        if self.pixels > RGB_MAX_PIXELS:
            raise MediaTooLarge(f"a {self.pixels:,}-pixel image is hashed from its grey "
                                "copy, never expanded to RGB", code="media.rgb_too_large")
        try:
            rgb = to_rgb8(self.full)
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

    def can_reduce(self, factor: int) -> bool:
        """Whether the codec can decode this file at 1/``factor`` scale (JPEG's scaled
        IDCT, factor 2, 4 or 8, when each side keeps at least one pixel)."""
        w, h = self.stored_size
        return (factor in (2, 4, 8) and self.pil_format in DCT_SCALABLE
                and w // factor >= 1 and h // factor >= 1)

    def _reduced_image(self, factor: int) -> Image.Image | None:
        """The first frame decoded by the codec at 1/``factor`` scale, in stored
        orientation: mode "L" for grey and YCbCr JPEGs (only the luma channel is
        decoded), else what the codec gives (e.g. CMYK). Cached; None if impossible."""
        if factor in self._reduced:
            return self._reduced[factor]
        result = None
        if self.can_reduce(factor):
            w, h = self.stored_size
            img = self._open()
            try:
                img.draft("L", (w // factor, h // factor))
                if img.size == (-(-w // factor), -(-h // factor)):
                    self.decoded.append(f"1/{factor}")
                    img.load()
                    result = img
            except _DECODE_ERRORS as exc:
                raise _decode_error(exc, self.format) from None
        self._reduced[factor] = result
        return result

    def reduced_luma(self, factor: int) -> ReducedLuma | None:
        """Luma decoded at 1/``factor`` scale by the codec itself, or None if impossible.

        Only DCT-coded formats can do this cheaply (JPEG's scaled IDCT); the caller
        falls back to the full image otherwise.
        """
        if factor in self._reduced_luma:
            return self._reduced_luma[factor]
        img = self._reduced_image(factor)
        result = None
        if img is not None:
            if img.mode == "L":
                luma = np.asarray(img, dtype=np.float32)
            else:  # e.g. CMYK JPEG: the codec can't emit grey directly
                luma = luma_from_rgb(np.asarray(to_rgb8(img), dtype=np.uint8))
            result = ReducedLuma(luma=luma, factor=factor, full_size=self.stored_size,
                                 orientation=self.orientation)
        self._reduced_luma[factor] = result
        return result

    def grey(self, factor: int = 1) -> Image.Image:
        """The first frame as 8-bit grey (mode "L"), orientation applied, as a viewer
        shows it: decoded at 1/``factor`` scale where the codec can (see
        ``reduced_luma``), else converted from the full ``image`` the way
        ``Image.convert("L")`` does (ITU-R 601 weights, like the JPEG luma channel)."""
        if factor in self._grey:
            return self._grey[factor]
        img = self._reduced_image(factor) if factor > 1 else None
        if img is None:
            if factor != 1:
                grey = self.grey(1)
            else:
                try:
                    grey = to_grey8(self.full)
                except _DECODE_ERRORS as exc:
                    raise _decode_error(exc, self.format) from None
                if self.orientation.value != 1:
                    grey = self.orientation.apply_pil(grey)
        else:
            grey = to_grey8(img)
            if self.orientation.value != 1:
                grey = self.orientation.apply_pil(grey)
        self._grey[factor] = grey
        return grey


def luma_from_rgb(rgb: np.ndarray) -> np.ndarray:
    """PDQ's luma (ITU-R 601 weights), computed the way the ``pdqhash`` package does."""
    return (rgb[:, :, 0] * 0.299 + rgb[:, :, 1] * 0.587 + rgb[:, :, 2] * 0.114).astype(
        np.float32
    )


#: Deep single-channel modes: shown (and hashed) through an 8-bit grey copy.
DEEP_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})
#: Modes Pillow converts to grey directly, with the same weights as through RGB.
DIRECT_GREY = frozenset({"L", "RGB", "RGBA", "RGBX", "P", "PA", "LA", "1"})
#: Rows converted per step from a deep mode: the temporaries stay a few MiB.
STRIP_ROWS = 256


def _deep_to_grey8(img: Image.Image) -> Image.Image:
    """A 16-bit, 32-bit or float image as 8-bit grey, a strip of rows at a time (no
    whole-image copy in a wider type): 16/32-bit integers keep their top byte when
    the data uses more than 8 bits (as a viewer shows them); floats are clipped to
    0-255, NaN as 0."""
    w, h = img.size
    out = np.empty((h, w), np.uint8)
    extrema = img.getextrema()  # (min, max) of a single-channel image
    # Pillow types it for multi-band images too (a tuple of pairs); one band here
    high = float(extrema[1]) if isinstance(extrema, tuple) else 0.0  # type: ignore[arg-type]
    shift = 0
    if img.mode != "F" and high > 255:
        shift = 8 if high <= 0xFFFF else 24
    for top in range(0, h, STRIP_ROWS):
        strip = np.asarray(img.crop((0, top, w, min(h, top + STRIP_ROWS))))
        if img.mode == "F":
            out[top:top + len(strip)] = np.clip(np.nan_to_num(strip), 0, 255)
        else:
            out[top:top + len(strip)] = np.clip(strip.astype(np.int64) >> shift, 0, 255)
    return Image.fromarray(out, "L")


def to_grey8(img: Image.Image) -> Image.Image:
    """Any Pillow mode as 8-bit grey, never through a wider or RGB copy where Pillow
    can go straight to grey (ITU-R 601 weights, like the JPEG luma channel); a grey
    image is returned as it is, not copied."""
    if img.mode == "L":
        return img
    if img.mode in DEEP_MODES:
        return _deep_to_grey8(img)
    if img.mode in DIRECT_GREY:
        return img.convert("L")
    return img.convert("RGB").convert("L")  # CMYK, YCbCr, LAB …


def to_rgb8(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB without silently clipping deep images."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in DEEP_MODES:
        return _deep_to_grey8(img).convert("RGB")
    return img.convert("RGB")
