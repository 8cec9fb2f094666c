"""In-browser PDQ (src/veil/web/static/js/pdq.js) is bit-exact with ``pdqhash``.

Given the same RGBA pixels (decoded here by Pillow and served to the page), the
JavaScript in real Chromium must give exactly ``pdqhash.compute``'s hash and
quality: on all 31 reference images, on the whole photo corpus, and on generated
images that hit the edge cases (64x64 shortcut, sides below 5, windows of 1 and 2,
odd sizes, flat and noisy content). Dihedral hashes equal ``pdqhash.compute_dihedral``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pdqhash
import pytest
from PIL import Image

from veil.signals import pdq_core
from veil.signals.hexhash import bits_hex

BATCH = 48

#: Hashes every [url, width, height] with pdq.js in the page; returns [hash, quality, dihedral?].
PDQ_BATCH = """
async ([items, dihedral]) => {
  const m = await import('/static/js/pdq.js');
  const bufs = await Promise.all(
    items.map(async ([url]) => new Uint8Array(await (await fetch(url)).arrayBuffer())));
  return items.map(([, w, h], i) => {
    const r = m.pdqFromRGBA(bufs[i], w, h, { dihedral });
    return dihedral ? [r.hash, r.quality, r.dihedral] : [r.hash, r.quality];
  });
}
"""


def _reference(rgba: np.ndarray) -> tuple[str, int]:
    vec, q = pdqhash.compute(np.ascontiguousarray(rgba[:, :, :3]))
    return bits_hex(vec), int(q)


def _hash_in_page(page: Any, web_server: Any, arrays: list[np.ndarray],
                  dihedral: bool = False) -> list[list[Any]]:
    out: list[list[Any]] = []
    for start in range(0, len(arrays), BATCH):
        items = []
        for i, a in enumerate(arrays[start:start + BATCH]):
            url = web_server.put(f"rgba-{start + i}", np.ascontiguousarray(a).tobytes())
            items.append([url, int(a.shape[1]), int(a.shape[0])])
        out.extend(page.evaluate(PDQ_BATCH, [items, dihedral]))
        web_server.clear()
    return out


def _rgba(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGBA"))


def _assert_exact(page: Any, web_server: Any, paths: list[Path]) -> int:
    """Hash each file's pixels in the page and by pdqhash; returns how many agree."""
    mismatches = []
    agree = 0
    for start in range(0, len(paths), BATCH * 2):
        chunk = paths[start:start + BATCH * 2]
        arrays = [_rgba(p) for p in chunk]
        got = _hash_in_page(page, web_server, arrays)
        for p, a, (h, q) in zip(chunk, arrays, got, strict=True):
            want = _reference(a)
            if (h, q) == want:
                agree += 1
            else:
                mismatches.append((p.name, (h, q), want))
    assert not mismatches, f"{len(mismatches)} of {len(paths)} differ: {mismatches[:5]}"
    return agree


def test_dct_matrix_is_the_references(page: Any) -> None:
    got = page.evaluate(
        "async () => Array.from((await import('/static/js/pdq.js')).DCT_MATRIX)")
    assert np.array_equal(np.asarray(got, dtype=np.float32), pdq_core.DCT.ravel())


@pytest.mark.corpus
def test_reference_images_exact(page: Any, web_server: Any, shared_data: Path) -> None:
    paths = sorted(p for p in (shared_data / "pdq-reference" / "images").rglob("*")
                   if p.suffix.lower() in (".jpg", ".png"))
    assert len(paths) == 31
    assert _assert_exact(page, web_server, paths) == 31


@pytest.mark.slow
@pytest.mark.corpus
def test_photo_corpus_exact(page: Any, web_server: Any, photos: list[Path]) -> None:
    assert _assert_exact(page, web_server, photos) == len(photos)


@pytest.mark.corpus
def test_dihedral_hashes_match_pdqhash(page: Any, web_server: Any, shared_data: Path) -> None:
    ref = shared_data / "pdq-reference" / "images"
    paths = [ref / "reg-test-input/dih/bridge-1-original.jpg",
             ref / "reg-test-input/labelme-subset/q0746.jpg",
             ref / "misc-images/wee.jpg"]
    arrays = [_rgba(p) for p in paths]
    got = _hash_in_page(page, web_server, arrays, dihedral=True)
    for a, (h, q, dih) in zip(arrays, got, strict=True):
        vecs, qq = pdqhash.compute_dihedral(np.ascontiguousarray(a[:, :, :3]))
        want = [bits_hex(v) for v in vecs]
        assert (dih, q) == (want, qq)
        assert h == want[0]


def _generated() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(6)
    cases: list[tuple[str, np.ndarray]] = []

    def rgba_of(rgb: np.ndarray) -> np.ndarray:
        alpha = np.full((*rgb.shape[:2], 1), 255, np.uint8)
        return np.concatenate([rgb.astype(np.uint8), alpha], axis=2)

    for h, w in [(64, 64), (5, 5), (4, 100), (100, 4), (1, 1), (5, 200), (64, 65), (65, 64),
                 (127, 129), (128, 128), (129, 257), (255, 256), (256, 257), (383, 384),
                 (385, 1000), (1000, 7), (640, 480), (1023, 769)]:
        cases.append((f"noise-{h}x{w}", rgba_of(rng.integers(0, 256, (h, w, 3)))))
    yy, xx = np.mgrid[0:300, 0:517]
    smooth = np.stack([(xx * 255 // 516), (yy * 255 // 299), ((xx + yy) % 256)], axis=2)
    cases.append(("gradient-300x517", rgba_of(smooth)))
    cases.append(("flat-200x200", rgba_of(np.full((200, 200, 3), 128))))
    cases.append(("black-50x80", rgba_of(np.zeros((50, 80, 3)))))
    cases.append(("white-81x49", rgba_of(np.full((81, 49, 3), 255))))
    blocks = np.kron(rng.integers(0, 256, (9, 13, 3)), np.ones((37, 41, 1)))
    cases.append(("blocks-333x533", rgba_of(blocks)))
    # alpha must be ignored, exactly as pdqhash (which sees RGB only) ignores it
    translucent = rgba_of(rng.integers(0, 256, (90, 120, 3)))
    translucent[:, :, 3] = rng.integers(0, 256, (90, 120))
    cases.append(("random-alpha-90x120", translucent))
    return cases


def test_generated_edge_cases_exact(page: Any, web_server: Any) -> None:
    cases = _generated()
    got = _hash_in_page(page, web_server, [a for _, a in cases])
    wrong = [(name, (h, q), _reference(a)) for (name, a), (h, q) in zip(cases, got, strict=True)
             if (h, q) != _reference(a)]
    assert not wrong, wrong
    by_name = dict(zip([n for n, _ in cases], got, strict=True))
    assert by_name["noise-1x1"] == ["0" * 64, 0]
    assert by_name["noise-4x100"] == ["0" * 64, 0]
    assert by_name["flat-200x200"][1] == 0


def test_hamming_helper(page: Any) -> None:
    a = "f8f8f0cce0f4e84d0e370a22028f67f0b36e2ed596623e1d33e6339c4e9c9b22"
    b = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
    got = page.evaluate(
        "async ([a, b]) => (await import('/static/js/pdq.js')).hamming(a, b)", [a, b])
    assert got == bin(int(a, 16) ^ int(b, 16)).count("1") == 8
