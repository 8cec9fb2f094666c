"""The region signal made in the browser (src/veil/web/static/js/region.js) agrees with
the server's (``veil.regions``, OpenCV's ORB).

Given the same pixels (decoded by Pillow and served to the page), region.js must give
the blob ``veil.regions.blob.encode(features.for_bank(grey))`` gives: on the corpus
(bench/region_browser.py, docs/derived.md "In the browser") every blob was byte for
byte the server's, so a few corpus photos here must be too, and a picture enlarged
past 512 pixels (the area-average path) must agree on all but a few descriptor bits.
A photo the browser decodes itself (the hash worker) must match the server's query
features of that photo. ORB's test pattern (orb-pattern.js) is checked against
cv2 on fresh noise; the smaller pieces (grey, fast atan2, the Gaussian kernel) against
Pillow and cv2. Tiny, flat and strip-shaped pictures give valid (empty) blobs.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import orb_pattern
import pytest
from PIL import Image

from veil.config import MediaLimits
from veil.evaluation.region_port import agreement
from veil.media.source import Media
from veil.regions import blob, compare, features

#: Blobs of RGBA served to the page: [url, width, height] -> base64 blobs.
REGION_BATCH = """
async (items) => {
  const m = await import('/static/js/region.js');
  const bufs = await Promise.all(
    items.map(async ([url]) => new Uint8Array(await (await fetch(url)).arrayBuffer())));
  return items.map(([, w, h], i) => m.toBase64(m.regionFromRGBA(bufs[i], w, h)));
}
"""


def _rgba(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGBA"))


def _in_page(page: Any, web_server: Any, arrays: list[np.ndarray]) -> list[bytes]:
    items = []
    for i, a in enumerate(arrays):
        url = web_server.put(f"region-{i}", np.ascontiguousarray(a).tobytes())
        items.append([url, int(a.shape[1]), int(a.shape[0])])
    try:
        return [base64.b64decode(b) for b in page.evaluate(REGION_BATCH, items)]
    finally:
        web_server.clear()


def _server_blob(img: Image.Image) -> bytes:
    """What the server banks of these pixels (as a PNG upload: no reduced decode)."""
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return blob.encode(features.bank_features(Media.from_bytes(buf.getvalue(), MediaLimits())))


def test_pattern_file_is_opencvs() -> None:
    pattern = orb_pattern.read_js()
    assert pattern.shape == (256, 4) and np.abs(pattern).max() <= orb_pattern.HALF
    images = orb_pattern.noise(40, seed=99)
    assert np.array_equal(orb_pattern.predicted_bits(images, pattern),
                          orb_pattern.descriptor_bits(images))


def test_building_blocks_match_pillow_and_opencv(page: Any) -> None:
    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, (1, 4096, 4), dtype=np.uint8)
    ys = rng.integers(-3000, 3000, 2000).astype(np.float32)
    xs = rng.integers(-3000, 3000, 2000).astype(np.float32)
    got = page.evaluate("""async ([px, ys, xs]) => {
        const m = await import('/static/js/region.js');
        const n = px.length / 4;
        const grey = m.greyRows(Uint8Array.from(px), n, 1, new Uint8Array(n));
        return [Array.from(grey), ys.map((y, i) => m.fastAtan2(y, xs[i])),
                Array.from(m.GAUSS_KERNEL)];
    }""", [rgba.ravel().tolist(), ys.tolist(), xs.tolist()])
    grey, angles, kernel = got
    assert grey == np.asarray(Image.fromarray(rgba, "RGBA").convert("L")).ravel().tolist()
    want = [cv2.fastAtan2(float(y), float(x)) for y, x in zip(ys, xs, strict=True)]
    assert np.array_equal(np.asarray(angles, np.float32), np.asarray(want, np.float32))
    gauss = cv2.getGaussianKernel(7, 2, ktype=cv2.CV_32F).ravel()
    assert np.array_equal(np.asarray(kernel, np.float32), gauss)


@pytest.mark.corpus
def test_corpus_photos_give_the_servers_blob(page: Any, web_server: Any,
                                             photos: list[Path]) -> None:
    chosen = photos[:: max(1, len(photos) // 6)][:6]
    images = [Image.open(p).convert("RGB") for p in chosen]
    got = _in_page(page, web_server, [_rgba(im) for im in images])
    for path, im, b in zip(chosen, images, got, strict=True):
        assert b == _server_blob(im), path.name


@pytest.mark.corpus
def test_enlarged_photo_takes_the_area_path_and_agrees(page: Any, web_server: Any,
                                                       photos: list[Path]) -> None:
    with Image.open(photos[1]) as im:
        big = im.convert("RGB").resize((im.width * 5 // 2, im.height * 5 // 2),
                                       Image.Resampling.BICUBIC)
    (got,) = _in_page(page, web_server, [_rgba(big)])
    js, py = blob.decode(got), blob.decode(_server_blob(big))
    assert js.work_size == py.work_size and max(js.work_size) == features.WORK_SIDE
    a = agreement(js, py)
    # measured: the same keypoints, at most a few bits of a descriptor or two differ
    assert a.kept >= 0.99 and a.mean_bits <= 0.1, a


@pytest.mark.corpus
def test_worker_decoded_photo_matches_server_queries(worker_hash: Any, photos: list[Path]
                                                     ) -> None:
    path = photos[2]
    (r,) = worker_hash([{"url": f"/data/photos/{path.name}"}])
    assert r["type"] == "result", r
    banked = blob.decode(base64.b64decode(r["region"], validate=True))
    media = Media.from_path(path, MediaLimits())
    server = blob.decode(blob.encode(features.bank_features(media)))
    query = features.query_features(media)
    mine, theirs = compare.compare(banked, query), compare.compare(server, query)
    assert mine is not None and theirs is not None
    # Chromium's JPEG decoder is not Pillow's: a few keypoints move, the match stays
    assert mine.inliers >= 0.8 * theirs.inliers, (mine.inliers, theirs.inliers)


def _flat(w: int, h: int, v: int = 128) -> np.ndarray:
    return np.full((h, w, 4), v, np.uint8)


def test_tiny_flat_and_strip_pictures_give_valid_blobs(page: Any, web_server: Any) -> None:
    rng = np.random.default_rng(5)
    cases = {
        "1x1": _flat(1, 1),
        "3x2-noise": rng.integers(0, 256, (2, 3, 4), dtype=np.uint8),
        "flat-300x200": _flat(300, 200),
        "black-40x40": _flat(40, 40, 0),
        "strip-700x1": rng.integers(0, 256, (1, 700, 4), dtype=np.uint8),
        "strip-2x5000": rng.integers(0, 256, (5000, 2, 4), dtype=np.uint8),
        "noise-20x30": rng.integers(0, 256, (30, 20, 4), dtype=np.uint8),
        "strip-4000x40": rng.integers(0, 256, (40, 4000, 4), dtype=np.uint8),
    }
    got = dict(zip(cases, _in_page(page, web_server, list(cases.values())), strict=True))
    for name, b in got.items():
        f = blob.decode(b)  # strict: every field checked
        assert max(f.work_size) == features.WORK_SIDE or name == "1x1", (name, f.work_size)
        assert len(f) <= features.BANK_POINTS
    for name in ("1x1", "flat-300x200", "black-40x40", "strip-700x1", "strip-2x5000",
                 "strip-4000x40"):
        assert len(blob.decode(got[name])) == 0, name
    # the blob is the server's (strips: both empty, narrower than features.MIN_SIDE)
    for name in ("flat-300x200", "black-40x40", "noise-20x30", "strip-2x5000",
                 "strip-4000x40"):
        assert got[name] == _server_blob(Image.fromarray(cases[name], "RGBA").convert("RGB")), name
