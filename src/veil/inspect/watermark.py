"""Invisible watermarks embedded by default by image generators (``invisible-watermark``).

The package's ``dwtDct`` method is what Stable Diffusion's reference scripts and
diffusers' SDXL pipelines embed. Its top-level module imports torch for another method
(RivaGAN) that Veil never uses, so its ``dwtDct`` module (``maxDct.py``: numpy,
OpenCV, PyWavelets) is loaded from the installed package on its own (the package is
installed without its torch and GUI-OpenCV dependencies: Makefile). Scans read marks
with ``block_bits``, the same decoding vectorised; the package's module is the
reference the tests hold it to and what embeds marks in them.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache
from types import ModuleType

import numpy as np


@dataclass(frozen=True)
class KnownMark:
    name: str
    #: The embedded bits, most significant first, as the embedding code sets them.
    bits: tuple[int, ...]


def _bytes_bits(text: bytes) -> tuple[int, ...]:
    return tuple(int(b) for b in np.unpackbits(np.frombuffer(text, dtype=np.uint8)))


#: diffusers' SDXL pipelines: ``WATERMARK_MESSAGE`` (48 bits), set with ``set_by_bits``.
_SDXL = 0b101100111110110010010000011110111011000110011110

KNOWN_MARKS: tuple[KnownMark, ...] = (
    # CompVis stable-diffusion scripts/txt2img.py: set_watermark('bytes', b"StableDiffusionV1")
    KnownMark("Stable Diffusion 1 (StableDiffusionV1)", _bytes_bits(b"StableDiffusionV1")),
    # Stability-AI stablediffusion scripts/txt2img.py: set_watermark('bytes', b"SDV2")
    KnownMark("Stable Diffusion 2 (SDV2)", _bytes_bits(b"SDV2")),
    KnownMark("Stable Diffusion XL (diffusers)", tuple(int(b) for b in bin(_SDXL)[2:])),
)

#: The package's defaults for dwtDct: 4 × 4 blocks, channel U quantised by 36.
BLOCK = 4
SCALE = 36
#: The package refuses images under 256 × 256.
MIN_PIXELS = 256 * 256
#: Bits that may differ from a known mark and still count, per 16 bits of the mark:
#: the decoder loses a bit or two even on an untouched output, and a chance match of a
#: 32-bit mark within 2 bits is about one in ten million.
MAX_BIT_ERRORS_PER_16 = 1


@cache
def _max_dct() -> ModuleType | None:
    """The package's dwtDct module (``maxDct.py``) on its own, or None."""
    spec = importlib.util.find_spec("imwatermark")  # finds, does not import, the package
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        sub = importlib.util.spec_from_file_location("veil_imwatermark_maxdct",
                                                     f"{folder}/maxDct.py")
        if sub is None or sub.loader is None:
            continue
        try:
            module = importlib.util.module_from_spec(sub)
            sub.loader.exec_module(module)
        except (ImportError, OSError):
            return None  # cv2 or pywt missing, or a package without maxDct.py
        return module
    return None


def available() -> bool:
    """OpenCV and PyWavelets, which the decoder needs (the package itself is the
    reference the tests hold it to, and what embeds marks in them)."""
    try:
        import cv2  # noqa: F401
        import pywt  # noqa: F401
    except ImportError:
        return False
    return True


def block_bits(bgr: np.ndarray) -> np.ndarray:
    """The bit each 4 × 4 block of the image carries, as the package's ``dwtDct``
    decoder reads it (``EmbedMaxDct.decode_frame``: channel U of YUV, one Haar level,
    per block the largest non-DC coefficient modulo 36), in numpy: the package's
    Python loop over blocks costs 0.06 s a megapixel, this about 0.01 s.
    ``tests/inspect`` hold it to the package's own decoder bit for bit."""
    import cv2
    import pywt

    rows, cols = bgr.shape[:2]
    yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)
    approx, _ = pywt.dwt2(yuv[:rows // 4 * 4, :cols // 4 * 4, 1], "haar")
    ca1 = np.asarray(approx, dtype=np.float64)
    br, bc = ca1.shape[0] // BLOCK, ca1.shape[1] // BLOCK
    blocks = (ca1[:br * BLOCK, :bc * BLOCK].reshape(br, BLOCK, bc, BLOCK)
              .transpose(0, 2, 1, 3).reshape(br * bc, BLOCK * BLOCK))
    pos = np.argmax(np.abs(blocks[:, 1:]), axis=1) + 1  # first of equals, as the package
    val: np.ndarray = np.abs(blocks[np.arange(len(blocks)), pos])
    ones: np.ndarray = np.remainder(val, SCALE) > 0.5 * SCALE
    return ones.astype(np.float64)


def read_marks(bgr: np.ndarray) -> list[tuple[KnownMark, int]]:
    """The known marks found in ``bgr`` (uint8, rows × cols × 3, BGR), each with its
    count of differing bits."""
    per_block = block_bits(bgr)
    found = []
    for mark in KNOWN_MARKS:
        n = len(mark.bits)
        usable = len(per_block) // n * n
        if usable == 0:
            continue
        mean = per_block[:usable].reshape(-1, n).mean(axis=0)
        bits = (mean * 255 > 127).astype(np.uint8)
        errors = int(np.count_nonzero(bits != np.array(mark.bits, dtype=np.uint8)))
        if errors <= max(2, n // 16 * MAX_BIT_ERRORS_PER_16):
            found.append((mark, errors))
    return found
