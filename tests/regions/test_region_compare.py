"""Region signals on benign photos: an edited copy agrees with its banked photo and
is called a copy, a derived copy (a large part replaced) agrees and is called
derived with the replaced part reported, distinct photos never agree."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from veil.config import MediaLimits
from veil.evaluation import derived as D
from veil.evaluation import transforms as T
from veil.media.source import Media
from veil.regions import blob, compare, features

pytestmark = pytest.mark.corpus


def _grey(data: bytes | Image.Image) -> np.ndarray:
    img = Image.open(io.BytesIO(data)) if isinstance(data, bytes) else data
    return np.asarray(img.convert("L"), dtype=np.uint8)


def _banked(img: Image.Image) -> features.Features:
    return blob.decode(blob.encode(features.for_bank(_grey(img))))


@pytest.fixture(scope="module")
def pictures(photos: list[Path]) -> list[Image.Image]:
    return [Image.open(p).convert("RGB") for p in photos[:8]]


@pytest.mark.parametrize("family,strength", [
    ("crop_offcentre", 0.3), ("rotate_small", 10), ("caption", 0.2), ("border", 0.2),
    ("screenshot", 0.7), ("rotate", 90), ("sticker", 0.2),
])
def test_an_edited_copy_agrees_and_is_a_copy(pictures: list[Image.Image], family: str,
                                             strength: float) -> None:
    img = pictures[0]
    data = T.render(T.find_variant(family, strength), img, seed=1, key="p0")
    m = compare.compare(_banked(img), features.for_query(_grey(data)))
    assert m is not None
    assert m.inliers >= compare.MIN_INLIERS
    assert m.kind == "copy"
    upload = Image.open(io.BytesIO(data))
    box = m.agreeing
    assert box.x >= 0 and box.x + box.w <= upload.width
    assert box.y >= 0 and box.y + box.h <= upload.height


@pytest.mark.parametrize("fill", ["paste", "flat", "inpaint"])
def test_a_derived_copy_agrees_and_shows_where_it_differs(pictures: list[Image.Image],
                                                          fill: str) -> None:
    img, donor = pictures[1], pictures[2]
    d = D.derive(img, share=0.4, fill=fill, place="body", rng=np.random.default_rng(5),
                 donor=donor)
    m = compare.compare(_banked(img), features.for_query(_grey(d.data)))
    assert m is not None
    assert m.kind == "derived"
    assert m.differing is not None
    truth = d.box
    assert D.iou(m.differing, truth) >= 0.3
    # the agreeing part is mostly outside what was replaced
    assert m.agree_share > m.differ_share / 2


def test_distinct_photos_never_agree(pictures: list[Image.Image]) -> None:
    banked = [_banked(p) for p in pictures]
    queries = [features.for_query(_grey(p)) for p in pictures]
    for i, b in enumerate(banked):
        for j, q in enumerate(queries):
            if i != j:
                assert compare.compare(b, q) is None, (i, j)


def test_flat_and_tiny_pictures_have_no_features_and_match_nothing(
        pictures: list[Image.Image]) -> None:
    banked = _banked(pictures[0])
    for arr in (np.full((300, 400), 128, np.uint8), np.zeros((1, 1), np.uint8)):
        q = features.for_query(arr)
        assert compare.compare(banked, q) is None
        assert compare.compare(features.for_bank(arr), q) is None


def test_spread_keeps_every_part_of_the_picture(pictures: list[Image.Image]) -> None:
    f = features.for_bank(_grey(pictures[3]))
    assert len(f) == features.BANK_POINTS
    w, h = f.work_size
    cells = {(int(x * 4 / w), int(y * 4 / h)) for x, y in f.points}
    assert len(cells) >= 14  # of 16: only a featureless cell may be empty


def test_a_large_jpeg_is_decoded_reduced(pictures: list[Image.Image]) -> None:
    big = pictures[4].resize((2200, 1467))
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=90)
    media = Media.from_bytes(buf.getvalue(), MediaLimits())
    f = features.bank_features(media)
    assert max(f.work_size) == features.WORK_SIDE
    assert media.decoded == ["1/4"]
    q = features.query_features(Media.from_bytes(buf.getvalue(), MediaLimits()))
    assert compare.compare(f, q) is not None


def test_an_exact_copy_agrees_everywhere(pictures: list[Image.Image]) -> None:
    img = pictures[0]
    m = compare.compare(_banked(img), features.for_query(_grey(img)))
    assert m is not None and m.kind == "copy" and m.differing is None
    assert m.inliers > 200 and m.differ_share == 0 and m.score == 1.0


def test_a_quadrant_replaced_is_found_where_it_was_replaced(pictures: list[Image.Image]) -> None:
    img, donor = pictures[0], pictures[3]
    w, h = img.size
    quadrant = (w // 2, h // 2, w - w // 2, h - h // 2)
    edited = img.copy()
    edited.paste(donor.resize((w, h)).crop((w // 2, h // 2, w, h)), (w // 2, h // 2))
    out = io.BytesIO()
    edited.save(out, "JPEG", quality=85)
    m = compare.compare(_banked(img), features.for_query(_grey(out.getvalue())))
    assert m is not None and m.differing is not None
    assert D.iou(m.differing, quadrant) >= 0.5
    assert 0.1 <= m.differ_share <= 0.3  # a quarter of the picture, give or take a cell


def test_agreement_within_one_patch_is_not_a_match() -> None:
    """Between distinct photos, the pairs that agree enough agree inside a patch of
    repeating texture: the agreeing keypoints must cover ``MIN_CELLS`` cells."""
    rng = np.random.default_rng(11)
    desc = rng.integers(0, 256, (40, 32), dtype=np.uint8)

    def pair(points: np.ndarray) -> tuple[features.Features, features.Features]:
        bank = features.Features(points.astype(np.float32), desc, (512, 384), 1.0)
        moved = (points + np.array([30.0, 20.0])).astype(np.float32)
        return bank, features.Features(moved, desc.copy(), (600, 450), 1.0)

    patch = rng.uniform(5, 80, (40, 2))  # all inside the first cell (85 × 64 pixels)
    assert compare.compare(*pair(patch)) is None
    found = compare.compare(*pair(patch), min_cells=1)
    assert found is not None and found.inliers == 40
    spread = rng.uniform(0, 1, (40, 2)) * [500, 370]
    found = compare.compare(*pair(spread))
    assert found is not None and found.inliers == 40 and found.kind == "copy"
