"""``Media``'s decoded views: each made at most once, shared by every signal.

Files are upscales of corpus photos made here.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from veil.config import MediaLimits
from veil.media.source import Media
from veil.signals import all_types

LIMITS = MediaLimits()


@pytest.fixture(scope="module")
def big_jpeg(photos: list[Path]) -> bytes:
    im = Image.open(photos[1]).convert("RGB")
    big = im.resize((im.width * 4, im.height * 4), Image.Resampling.BICUBIC)  # 1924x1284
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_views_are_decoded_once_and_cached(big_jpeg: bytes) -> None:
    media = Media.from_bytes(big_jpeg, LIMITS)
    assert media.decoded == []  # the header check decodes nothing
    a = media.reduced_luma(8)
    assert a is not None and media.reduced_luma(8) is a
    g = media.grey(8)
    assert media.grey(8) is g
    assert media.decoded == ["1/8"]  # luma and grey share the one reduced decode
    assert g.mode == "L" and g.size == a.luma.shape[::-1] == (241, 161)
    assert np.array_equal(np.asarray(g, dtype=np.float32), a.luma)
    media.reduced_luma(4)
    assert media.image is media.image
    assert media.decoded == ["1/8", "1/4", "full"]


def test_grey_at_factor_one_is_pillows_conversion(big_jpeg: bytes) -> None:
    media = Media.from_bytes(big_jpeg, LIMITS)
    assert np.array_equal(np.asarray(media.grey(1)), np.asarray(media.image.convert("L")))


def test_reduced_grey_is_close_to_the_shrunk_full_image(big_jpeg: bytes) -> None:
    # The codec's 1/8 decode is the mean of each 8x8 block of the luma channel.
    media = Media.from_bytes(big_jpeg, LIMITS)
    full = np.asarray(media.image.convert("L"), dtype=np.float64)
    h, w = (full.shape[0] // 8) * 8, (full.shape[1] // 8) * 8
    means = full[:h, :w].reshape(h // 8, 8, w // 8, 8).mean(axis=(1, 3))
    reduced = np.asarray(media.grey(8), dtype=np.float64)[: h // 8, : w // 8]
    assert float(np.abs(reduced - means).mean()) < 2.0


def test_formats_without_a_scaled_decode_fall_back(big_jpeg: bytes) -> None:
    buf = io.BytesIO()
    Image.open(io.BytesIO(big_jpeg)).save(buf, "PNG")
    media = Media.from_bytes(buf.getvalue(), LIMITS)
    assert not media.can_reduce(8) and media.reduced_luma(8) is None
    assert media.grey(8).size == media.size
    assert media.decoded == ["full"]


def test_every_signal_shares_one_decode(big_jpeg: bytes) -> None:
    media = Media.from_bytes(big_jpeg, LIMITS)
    for t in all_types():
        t.compute(media)
        if t.variants:
            t.compute_variants(media)
    assert media.decoded == ["1/4"]  # 1924x1284: PDQ and pHash/dHash both use 1/4


def test_truncated_jpeg_fails_loudly_on_the_reduced_path(big_jpeg: bytes) -> None:
    from veil.errors import MediaError

    media = Media.from_bytes(big_jpeg[: len(big_jpeg) // 2], LIMITS)
    for t in all_types():
        if t.perceptual:
            with pytest.raises(MediaError) as info:
                t.compute(media)
            assert info.value.code == "media.truncated"
