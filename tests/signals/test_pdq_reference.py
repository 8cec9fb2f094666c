"""PDQ conformance with Meta's reference (see ../shared/data/pdq-reference/README.md).

(a) every expected.csv row within Hamming 10 and quality >= 80, as ThreatExchange
    defines a correct port; near-flat images keep their low quality;
(b) Veil's own PDQ arithmetic equals ``pdqhash`` bit for bit given identical pixels;
(c) the fast (reduced-decode) path stays within the drift limits of the benchmark.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pdqhash
import pytest
from PIL import Image

from oriented import jpeg, oriented_jpeg
from veil.config import MediaLimits
from veil.media.jpeg import reduction_factor
from veil.media.orientation import Orientation
from veil.media.source import Media, luma_from_rgb
from veil.signals import pdq_core
from veil.signals.hexhash import bits_hex, hamming_hex
from veil.signals.pdq import compute_pdq, from_buffer

LIMITS = MediaLimits()


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def ref_dir(shared_data: Path) -> Path:
    return shared_data / "pdq-reference"


def _reference_images(ref_dir: Path) -> list[Path]:
    files = sorted(p for p in (ref_dir / "images").rglob("*") if p.is_file())
    assert len(files) >= 30
    return files


def test_expected_csv_within_ten_bits(ref_dir: Path) -> None:
    rows = _rows(ref_dir / "expected.csv")
    assert len(rows) == 9
    for row in rows:
        media = Media.from_path(ref_dir / row["file"], LIMITS)
        for fast in (True, False):
            r = compute_pdq(media, fast=fast)
            d = hamming_hex(r.hash, row["pdq_hex"])
            assert d <= 10, (row["file"], fast, d)
            assert r.quality >= 80, (row["file"], r.quality)


def test_near_flat_images_get_low_quality(ref_dir: Path) -> None:
    expected = {r["file"]: int(r["quality"]) for r in _rows(ref_dir / "crosscheck-pdqhash.csv")}
    for name in ("q0003.jpg", "q0004.jpg"):
        rel = f"images/reg-test-input/labelme-subset/{name}"
        r = compute_pdq(Media.from_path(ref_dir / rel, LIMITS))
        assert r.quality == expected[rel] < 10
    black = compute_pdq(Media.from_path(ref_dir / "images/misc-images/small.jpg", LIMITS))
    assert black.quality == 0


def test_crosscheck_csv_reproduced_exactly_with_pillow_decoding(ref_dir: Path) -> None:
    # Same decoder (Pillow) as the crosscheck file: the reference path is exact.
    for row in _rows(ref_dir / "crosscheck-pdqhash.csv"):
        r = compute_pdq(Media.from_path(ref_dir / row["file"], LIMITS), fast=False)
        assert (r.hash, r.quality) == (row["pdq_hex"], int(row["quality"])), row["file"]


def _assert_own_code_exact(rgb: np.ndarray, label: str) -> None:
    vec, q = pdqhash.compute(rgb)
    ref = bits_hex(vec)
    exact = from_buffer(pdq_core.downsample_exact(luma_from_rgb(rgb)))
    assert (exact.hash, exact.quality) == (ref, q), label
    # the weight-matrix downsampler at factor 1 must reduce to the exact replay
    buf = pdq_core.downsample_reduced(
        luma_from_rgb(rgb), 1, (rgb.shape[1], rgb.shape[0]), Orientation(1)
    )
    reduced = from_buffer(buf)
    assert (reduced.hash, reduced.quality) == (ref, q), label
    dih_ref, _ = pdqhash.compute_dihedral(rgb)
    dct = pdq_core.dct16(buf)
    assert [pdq_core.dct_hex(b) for b in pdq_core.dihedral(dct)] == [
        bits_hex(v) for v in dih_ref
    ], label


def test_own_pdq_code_is_bit_exact_on_reference_images(ref_dir: Path) -> None:
    for path in _reference_images(ref_dir):
        rgb = np.asarray(Image.open(path).convert("RGB"))
        _assert_own_code_exact(rgb, path.name)


@pytest.mark.slow
def test_own_pdq_code_is_bit_exact_on_photo_corpus(photos: list[Path]) -> None:
    for path in photos:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        _assert_own_code_exact(rgb, path.name)


def test_dihedral_variants_match_rotated_files(ref_dir: Path) -> None:
    dih = ref_dir / "images/reg-test-input/dih"
    base = compute_pdq(Media.from_path(dih / "bridge-1-original.jpg", LIMITS))
    variants = base.dihedral()
    assert len(variants) == 8 and variants[0] == base.hash
    for i, name in enumerate(sorted(p.name for p in dih.glob("bridge-*.jpg"))):
        other = compute_pdq(Media.from_path(dih / name, LIMITS)).hash
        assert hamming_hex(variants[i], other) <= 16, name
        # and the un-rotated hash is far from a rotated copy (so dihedral matters)
        if i in (1, 2, 3):
            assert hamming_hex(base.hash, other) > 64, name



def _drift(paths: list[Path], scale: float) -> tuple[np.ndarray, set[int]]:
    dists, factors = [], set()
    for p in paths:
        im = Image.open(p).convert("RGB")
        big = im.resize((round(im.width * scale), round(im.height * scale)),
                        Image.Resampling.BICUBIC)
        media = Media.from_bytes(jpeg(big, 92), LIMITS)
        factors.add(reduction_factor(*media.stored_size))
        fast = compute_pdq(media, fast=True)
        full = compute_pdq(media, fast=False)
        dists.append(hamming_hex(fast.hash, full.hash))
    return np.array(dists), factors


def test_fast_path_is_the_reference_at_native_photo_size(photos: list[Path]) -> None:
    # 481x321: too small to gain from reduced decoding, so the fast path IS the
    # reference and the distance must be exactly zero.
    for p in photos[:50]:
        media = Media.from_path(p, LIMITS)
        assert compute_pdq(media).hash == compute_pdq(media, fast=False).hash


@pytest.mark.slow
@pytest.mark.parametrize("scale,count", [(3.0, 60), (8.8, 12)])
def test_fast_path_drift_within_limits(photos: list[Path], scale: float, count: int) -> None:
    d, factors = _drift(photos[::len(photos) // count][:count], scale)
    assert max(factors) > 1, "the fast path was not exercised"
    median, p99, worst = float(np.median(d)), float(np.percentile(d, 99)), int(d.max())
    print(f"scale {scale}: factors {sorted(factors)} median {median} p99 {p99} max {worst}")
    assert median <= 2 and worst <= 8


@pytest.mark.parametrize("orientation", range(1, 9))
def test_fast_path_applies_exif_orientation(photos: list[Path], orientation: int) -> None:
    shown = Image.open(photos[3]).convert("RGB").resize((1443, 963), Image.Resampling.BICUBIC)
    data = oriented_jpeg(shown, orientation, quality=92)
    media = Media.from_bytes(data, LIMITS)
    assert media.orientation.value == orientation
    assert media.size == shown.size
    expected = compute_pdq(Media.from_bytes(jpeg(shown, 92), LIMITS), fast=False).hash
    assert reduction_factor(*media.stored_size) > 1
    assert hamming_hex(compute_pdq(media).hash, expected) <= 8
    assert hamming_hex(compute_pdq(media, fast=False).hash, expected) <= 8
