"""pHash and dHash against the ``imagehash`` package, which stays the reference.

(a) given the same grey pixels, Veil's arithmetic (numpy DCT, no scipy) gives
    ``imagehash.phash``/``dhash`` bit for bit;
(b) where no reduced decode is used (the corpus photos as they are, PNG) the signals
    *are* ``imagehash`` on the full image;
(c) where the JPEG codec decodes a reduced grey copy (larger photos), the drift from
    ``imagehash`` on the full image stays within the limits of bench/imagehash_drift.py
    and BENCHMARKS.md: median <= 2 bits, and no more than 6;
(d) the reduced copy is the one PDQ uses: every signal of a file costs one decode.

All images are the benign corpus photos or upscales of them made here.
"""

from __future__ import annotations

import io
from pathlib import Path

import imagehash
import numpy as np
import pytest
from PIL import Image

from oriented import jpeg, oriented_jpeg
from veil.config import MediaLimits
from veil.media.jpeg import BLOCKS_PER_WINDOW, reduction_factor
from veil.media.source import Media
from veil.signals import get, names
from veil.signals.batch import hash_media
from veil.signals.hexhash import hamming_hex
from veil.signals.imagehash_types import dhash_pixels, grey_view, phash_pixels
from veil.signals.pdq_core import jarosz_window

LIMITS = MediaLimits()
PHASH, DHASH = get("phash"), get("dhash")
LANCZOS = Image.Resampling.LANCZOS
#: The drift limits (bits, of 64) for the reduced path.
MEDIAN_LIMIT, MAX_LIMIT = 2, 6



def _upscale(path: Path, megapixels: float, grain: bool = False, seed: int = 0) -> Image.Image:
    im = Image.open(path).convert("RGB")
    s = (megapixels * 1e6 / (im.width * im.height)) ** 0.5
    big = im.resize((round(im.width * s), round(im.height * s)), Image.Resampling.BICUBIC)
    if grain:
        a = np.asarray(big, dtype=np.int16)
        rng = np.random.default_rng(seed)
        a = a + rng.integers(-20, 21, size=(*a.shape[:2], 1), dtype=np.int16)
        big = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    return big


def _reference(media: Media) -> tuple[str, str]:
    """``imagehash`` on the full decode (RGB, orientation applied)."""
    return str(imagehash.phash(media.image)), str(imagehash.dhash(media.image))


def _ours(media: Media) -> tuple[str, str]:
    return PHASH.compute(media).value, DHASH.compute(media).value


# -- (a) same pixels, same bits ----------------------------------------------------------
def test_own_arithmetic_is_bit_exact_on_random_pixels() -> None:
    rng = np.random.default_rng(11)
    for _ in range(500):
        im = Image.fromarray(rng.integers(0, 256, (32, 32), dtype=np.uint8))
        assert phash_pixels(np.asarray(im)) == str(imagehash.phash(im))
        small = Image.fromarray(rng.integers(0, 256, (8, 9), dtype=np.uint8))
        assert dhash_pixels(np.asarray(small)) == str(imagehash.dhash(small))


@pytest.mark.slow
def test_own_arithmetic_is_bit_exact_on_photo_corpus(photos: list[Path]) -> None:
    for p in photos:
        media = Media.from_path(p, LIMITS)
        assert reduction_factor(*media.stored_size) == 1  # 481x321: no reduced decode
        assert _ours(media) == _reference(media), p.name


def test_small_photos_hash_exactly_as_imagehash(photos: list[Path]) -> None:
    for p in photos[::10]:
        media = Media.from_path(p, LIMITS)
        assert _ours(media) == _reference(media), p.name
        assert media.decoded == ["full"]  # PDQ's view too: one decode


def test_non_jpeg_is_hashed_from_the_full_image_exactly(photos: list[Path]) -> None:
    big = _upscale(photos[5], 3.0)
    buf = io.BytesIO()
    big.save(buf, "PNG")
    media = Media.from_bytes(buf.getvalue(), LIMITS)
    assert reduction_factor(*media.stored_size) > 1 and not media.can_reduce(2)
    assert _ours(media) == _reference(media)
    assert media.decoded == ["full"]


def test_fast_false_is_the_reference(photos: list[Path]) -> None:
    media = Media.from_bytes(jpeg(_upscale(photos[7], 12.0)), LIMITS)
    grey = grey_view(media, fast=False)
    assert grey.size == media.size
    assert (PHASH.hash_grey(grey), DHASH.hash_grey(grey)) == _reference(media)


# -- (c) drift of the reduced path -------------------------------------------------------
def _drift(paths: list[Path], megapixels: float, grain: bool) -> tuple[np.ndarray, set[int]]:
    dists, factors = [], set()
    for i, p in enumerate(paths):
        media = Media.from_bytes(jpeg(_upscale(p, megapixels, grain, seed=i)), LIMITS)
        factors.add(reduction_factor(*media.stored_size))
        ours, ref = _ours(media), _reference(media)
        dists.append([hamming_hex(ours[0], ref[0]), hamming_hex(ours[1], ref[1])])
    return np.array(dists), factors


def _check(d: np.ndarray, label: str) -> None:
    for col, name in enumerate(("phash", "dhash")):
        x = d[:, col]
        median, p99, worst = float(np.median(x)), float(np.percentile(x, 99)), int(x.max())
        print(f"{label} {name}: median {median} p99 {p99} max {worst} (n {len(x)})")
        assert median <= MEDIAN_LIMIT and worst <= MAX_LIMIT, (label, name, sorted(x))


@pytest.mark.parametrize("megapixels,factor", [(0.6, 2), (1.5, 4), (12.0, 8)])
def test_reduced_path_drift_small_sample(photos: list[Path], megapixels: float,
                                         factor: int) -> None:
    d, factors = _drift(photos[3::53], megapixels, grain=False)
    assert factors == {factor}
    _check(d, f"{megapixels} MP")


@pytest.mark.slow
@pytest.mark.parametrize("grain", [False, True])
@pytest.mark.parametrize("megapixels,count", [(0.6, 80), (1.5, 60), (3.0, 40), (12.0, 24)])
def test_reduced_path_drift_within_limits(photos: list[Path], megapixels: float, count: int,
                                          grain: bool) -> None:
    d, factors = _drift(photos[1::len(photos) // count][:count], megapixels, grain)
    assert min(factors) > 1, "the reduced path was not exercised"
    _check(d, f"{megapixels} MP{' + grain' if grain else ''}")


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_reduced_path_applies_exif_orientation(photos: list[Path], orientation: int) -> None:
    shown = _upscale(photos[3], 3.0)
    media = Media.from_bytes(oriented_jpeg(shown, orientation), LIMITS)
    k = reduction_factor(*media.stored_size)
    assert media.size == shown.size and k > 1
    grey = grey_view(media)
    assert grey.size == (-(-shown.width // k), -(-shown.height // k))  # as shown
    ours, ref = _ours(media), _reference(media)
    assert hamming_hex(ours[0], ref[0]) <= MAX_LIMIT
    assert hamming_hex(ours[1], ref[1]) <= MAX_LIMIT


def test_cmyk_jpeg_reduced_path(photos: list[Path]) -> None:
    big = _upscale(photos[9], 3.0)
    media = Media.from_bytes(jpeg(big.convert("CMYK"), quality=95), LIMITS)
    assert media.can_reduce(8)
    ours, ref = _ours(media), _reference(media)
    assert media.grey(reduction_factor(*media.stored_size)).mode == "L"
    assert hamming_hex(ours[0], ref[0]) <= MAX_LIMIT
    assert hamming_hex(ours[1], ref[1]) <= MAX_LIMIT


# -- (d) one decode for every signal -------------------------------------------------------
def test_scale_is_the_largest_pdqs_window_spans_enough_blocks_of() -> None:
    for w in range(8, 6000, 7):
        k = reduction_factor(w, w * 3 // 2)
        window = jarosz_window(w)  # the shorter side's
        assert [f for f in (8, 4, 2) if window >= BLOCKS_PER_WINDOW * f][:1] == (
            [k] if k > 1 else [])


@pytest.mark.parametrize("dihedral", [False, True])
def test_every_signal_of_a_12mp_jpeg_costs_one_reduced_decode(photos: list[Path],
                                                              dihedral: bool) -> None:
    media = Media.from_bytes(jpeg(_upscale(photos[2], 12.0)), LIMITS)
    result = hash_media(media, tuple(names()), dihedral=dihedral)
    assert [s.type for s in result.signals] == names()
    assert media.decoded == ["1/8"]
