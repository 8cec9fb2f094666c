"""The benchmark's derived copies: the replaced box covers the asked share, stays in
the picture, and follows the copy through the resize and the crop."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from veil.evaluation import derived as D


@pytest.mark.parametrize("place", D.PLACES)
@pytest.mark.parametrize("share", [0.1, 0.35, 0.6])
def test_region_box_covers_the_share_inside_the_picture(place: str, share: float) -> None:
    rng = np.random.default_rng(7)
    for size in ((481, 321), (321, 481), (1000, 200)):
        x, y, w, h = D.region_box(size, share, place, rng)
        assert x >= 0 and y >= 0 and x + w <= size[0] and y + h <= size[1]
        assert abs(w * h / (size[0] * size[1]) - share) < 0.03
        if place == "body":
            assert y + h == size[1]  # reaches the bottom edge


@pytest.mark.parametrize("fill", D.FILLS)
def test_each_fill_changes_only_the_box_and_the_box_follows_the_reshare(fill: str) -> None:
    rng = np.random.default_rng(8)
    grad = np.add.outer(np.arange(200), np.arange(300)).astype(np.uint8)
    photo = Image.fromarray(np.stack([grad, grad[::-1], 255 - grad], axis=2))
    donor = Image.fromarray(np.full((200, 300, 3), 40, np.uint8))
    box = (100, 80, 120, 120)
    out = np.asarray(D.replace(photo, box, fill, rng, donor), dtype=np.int16)
    before = np.asarray(photo, dtype=np.int16)
    inside = np.zeros(before.shape[:2], bool)
    inside[80:200, 100:220] = True
    assert np.abs(out - before)[inside].mean() > 5
    assert np.array_equal(out[~inside], before[~inside])
    d = D.reshare(Image.fromarray(out.astype(np.uint8)), box, rng)
    copy = Image.open(io.BytesIO(d.data))
    assert copy.format == "JPEG" and copy.size == d.size
    bx, by, bw, bh = d.box
    assert bx + bw <= d.size[0] and by + bh <= d.size[1]
    assert D.iou(d.box, (80, 64, 96, 96)) > 0.8  # the box at 0.8 scale, less the crop


def test_iou() -> None:
    assert D.iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert D.iou((0, 0, 10, 10), (10, 10, 5, 5)) == 0.0
    assert D.iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
