"""Pictures with no region signal to give: strips, a pixel, flat grey, and a picture
OpenCV refuses. Each gets empty features (its hashes still stand), never an error
that would fail a scan."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from veil.config import Settings
from veil.regions import blob
from veil.regions.features import BANK, QUERY
from veil.signals.batch import hash_bytes

RNG = np.random.default_rng(3)


def png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize("pixels", [
    np.zeros((1, 1, 3), np.uint8),
    np.full((300, 400, 3), 128, np.uint8),
    RNG.integers(0, 255, (2, 4000, 3), dtype=np.uint8),  # a banner: ORB's pyramid
    RNG.integers(0, 255, (4000, 3, 3), dtype=np.uint8),  # would shrink a side to 0
    RNG.integers(0, 255, (33, 5000, 3), dtype=np.uint8),
], ids=["pixel", "flat", "banner", "column", "strip"])
def test_nothing_to_find_gives_empty_features_and_a_valid_blob(pixels: np.ndarray) -> None:
    file = hash_bytes(png(pixels), Settings().media, ("pdq", BANK, QUERY))
    assert file.ok and file.signals[0].type == "pdq"
    for name in (BANK, QUERY):
        assert len(file.features[name]) == 0
    assert len(blob.decode(blob.encode(file.features[BANK]))) == 0


def test_a_picture_opencv_refuses_has_no_region_signal(monkeypatch: pytest.MonkeyPatch) -> None:
    import cv2

    class Refusing:
        def detect(self, *_: object) -> None:
            raise cv2.error("refused")

    monkeypatch.setattr(cv2.ORB, "create", staticmethod(lambda **_: Refusing()))
    noise = RNG.integers(0, 255, (300, 400, 3), dtype=np.uint8)
    file = hash_bytes(png(noise), Settings().media, ("pdq", QUERY))
    assert file.ok and len(file.features[QUERY]) == 0 and file.signals[0].quality
