"""PDQ hashing throughput: Veil's fast path vs the reference, on 12 MP JPEGs.

The script upscales photos of the shared corpus to ~12 MP JPEGs in a temp dir
(what a phone uploads), then times in one run:

* reference: Pillow full decode + ``pdqhash.compute`` (Meta's C++ core);
* veil: ``veil.signals.pdq.compute_pdq`` (header check, DCT-scaled JPEG decode,
  full-resolution filter weights);
* floor: the reduced JPEG decode alone (the practical limit of any such path);
* naive: Pillow ``draft`` to ~512 px then ``pdqhash`` (the shortcut that drifts).

It prints throughput, ratios to the reference, and the Hamming distance of each
path's hash to the reference hash (median, p99, max).

    .venv/bin/python bench/hashing.py --images 20
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from veil.config import MediaLimits
from veil.media.source import Media
from veil.signals.hexhash import hamming_hex
from veil.signals.pdq import compute_pdq, reduction_factor, reference_hash

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("VEIL_TEST_DATA", REPO.parent / "shared" / "data"))


def make_images(src: Path, out: Path, count: int, megapixels: float, grain: bool) -> list[Path]:
    photos = sorted(src.glob("*.jpg"))[:count]
    if len(photos) < count:
        sys.exit(f"need {count} photos in {src}, found {len(photos)}")
    paths = []
    rng = np.random.default_rng(0)
    for i, p in enumerate(photos):
        im = Image.open(p).convert("RGB")
        s = (megapixels * 1e6 / (im.width * im.height)) ** 0.5
        big = im.resize((round(im.width * s), round(im.height * s)), Image.Resampling.BICUBIC)
        if grain:  # sensor-like per-pixel detail that upscaling alone lacks
            a = np.asarray(big, dtype=np.int16)
            a = a + rng.integers(-20, 21, size=(*a.shape[:2], 1), dtype=np.int16)
            big = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
        path = out / f"{'g' if grain else 'u'}{i:03d}.jpg"
        big.save(path, quality=90)
        paths.append(path)
    return paths


def timed(fn: Callable[[Path], object], paths: list[Path], repeat: int) -> tuple[float, list]:
    best = float("inf")
    results: list = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        results = [fn(p) for p in paths]
        best = min(best, time.perf_counter() - t0)
    return len(paths) / best, results


def reference(p: Path) -> str:
    return reference_hash(np.asarray(Image.open(p).convert("RGB")))[0]


def veil_path(p: Path) -> str:
    return compute_pdq(Media.from_path(p, MediaLimits())).hash


def floor(p: Path) -> None:
    im = Image.open(p)
    im.draft("L", (im.width // 8, im.height // 8))
    im.load()


def naive(p: Path) -> str:
    im = Image.open(p)
    im.draft("RGB", (512, 512))
    return reference_hash(np.asarray(im.convert("RGB")))[0]


def dist_stats(hashes: list[str], ref: list[str]) -> str:
    d = sorted(hamming_hex(a, b) for a, b in zip(hashes, ref, strict=True))
    p99 = float(np.percentile(d, 99))
    return f"median {statistics.median(d):g}, p99 {p99:g}, max {d[-1]}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=20)
    ap.add_argument("--megapixels", type=float, default=12.0)
    ap.add_argument("--repeat", type=int, default=2, help="best of N timings")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for grain in (False, True):
            paths = make_images(DATA / "photos", Path(tmp), args.images, args.megapixels, grain)
            w, h = Image.open(paths[0]).size
            label = "upscaled + grain" if grain else "upscaled"
            print(f"\n{len(paths)} JPEGs ~{w}x{h} ({label}); reduction factor "
                  f"{reduction_factor(w, h)}; best of {args.repeat}")
            ref_ips, ref_hashes = timed(reference, paths, args.repeat)
            rows = [("reference (full decode + pdqhash)", ref_ips, ref_hashes)]
            for name, fn in (("veil fast path", veil_path),
                             ("naive draft-512 + pdqhash", naive),
                             ("floor: reduced decode alone", floor)):
                ips, hashes = timed(fn, paths, args.repeat)
                rows.append((name, ips, hashes))
            print(f"{'path':36} {'images/s':>9} {'× ref':>7}  distance to reference")
            for name, ips, hashes in rows:
                dist = dist_stats(hashes, ref_hashes) if hashes[0] is not None else "-"
                print(f"{name:36} {ips:9.1f} {ips / ref_ips:7.1f}  {dist}")


if __name__ == "__main__":
    main()
