"""Invisible watermarks embedded by default by image generators (``invisible-watermark``).

The package's ``dwtDct`` method is what Stable Diffusion's reference scripts and
diffusers' SDXL pipelines embed. Its top-level module imports torch for another method
(RivaGAN) that Veil never uses, so the ``dwtDct`` decoder (``maxDct.py``: numpy,
OpenCV, PyWavelets) is loaded from the installed package on its own: the package is
installed without its torch and GUI-OpenCV dependencies (see pyproject.toml).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any

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

#: The package refuses images under 256 × 256.
MIN_PIXELS = 256 * 256
#: Bits that may differ from a known mark and still count, per 16 bits of the mark:
#: the decoder loses a bit or two even on an untouched output, and a chance match of a
#: 32-bit mark within 2 bits is about one in ten million.
MAX_BIT_ERRORS_PER_16 = 1


@cache
def _max_dct() -> ModuleType | None:
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
    return _max_dct() is not None


def block_bits(bgr: np.ndarray) -> np.ndarray:
    """The bit each 4 × 4 block of the image carries, read by the package's decoder
    once; every known mark is then an average over the blocks of its bit position."""
    module = _max_dct()
    assert module is not None
    rows, cols = bgr.shape[:2]
    blocks = (rows // 8) * (cols // 8)  # dwt halves each side, blocks are 4 × 4
    decoder: Any = module.EmbedMaxDct(watermarks=[], wmLen=max(blocks, 1))
    # the package decodes channel U only (scales [0, 36, 36]; channel V is never read)
    import cv2
    import pywt

    yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)
    ca1, _ = pywt.dwt2(yuv[:rows // 4 * 4, :cols // 4 * 4, 1], "haar")
    scores = decoder.decode_frame(ca1, decoder._scales[1], [[] for _ in range(blocks)])
    return np.array([s[0] if s else 0 for s in scores], dtype=np.float64)


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
