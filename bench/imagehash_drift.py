"""pHash/dHash drift of the reduced-decode path against ``imagehash`` on the full image.

For each corpus photo, at several sizes (the photo as it is, and JPEG upscales to
0.6-12 MP, plain and with per-pixel grain), the script computes the reference
(``imagehash.phash``/``dhash`` on Pillow's full RGB decode, which is what the
package does for a JPEG) and Veil's hash from the grey copy the JPEG codec decodes
at 1/2, 1/4 and 1/8 scale. It prints the Hamming distance (median / p99 / max)

* for each scale factor, bucketed by the shorter side of the reduced copy: this is
  what ``MIN_REDUCED_SIDE`` in ``veil.signals.imagehash_types`` is chosen from;
* for the factor Veil actually picks at each size (``reduction_factor``).

    .venv/bin/python bench/imagehash_drift.py                   # every 4th photo
    .venv/bin/python bench/imagehash_drift.py --every 1 --workers 2  # whole corpus
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image

from veil.config import MediaLimits
from veil.media.jpeg import reduction_factor
from veil.media.source import Media
from veil.signals.hexhash import hamming_hex
from veil.signals.imagehash_types import dhash_image, phash_image

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("VEIL_TEST_DATA", REPO.parent / "shared" / "data"))
LIMITS = MediaLimits()
#: Short-side buckets of the reduced grey copy (pixels).
BUCKETS = (0, 64, 96, 128, 192, 256, 384, 512, 1024)


def jpeg_at(photo: Path, megapixels: float, grain: bool, seed: int) -> bytes:
    """The photo itself (``megapixels`` 0), or a quality-90 JPEG upscale of it."""
    if megapixels == 0:
        return photo.read_bytes()
    im = Image.open(photo).convert("RGB")
    s = (megapixels * 1e6 / (im.width * im.height)) ** 0.5
    big = im.resize((round(im.width * s), round(im.height * s)), Image.Resampling.BICUBIC)
    if grain:  # sensor-like per-pixel detail that upscaling alone lacks
        a = np.asarray(big, dtype=np.int16)
        rng = np.random.default_rng(seed)
        a = a + rng.integers(-20, 21, size=(*a.shape[:2], 1), dtype=np.int16)
        big = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def measure(job: tuple[Path, float, bool, int]) -> list[tuple]:
    """Rows (megapixels, grain, factor, reduced short side, chosen, d_phash, d_dhash)."""
    photo, mp, grain, seed = job
    media = Media.from_bytes(jpeg_at(photo, mp, grain, seed), LIMITS)
    ref_p, ref_d = str(imagehash.phash(media.image)), str(imagehash.dhash(media.image))
    w, h = media.stored_size
    chosen = reduction_factor(w, h)
    rows = []
    for k in (1, 2, 4, 8):
        if k > 1 and not media.can_reduce(k):
            continue
        grey = media.grey(k)
        rows.append((mp, grain, k, min(grey.size), k == chosen,
                     hamming_hex(phash_image(grey), ref_p),
                     hamming_hex(dhash_image(grey), ref_d)))
    return rows


def stats(d: list[int]) -> str:
    if not d:
        return "-"
    return f"{statistics.median(d):g} / {float(np.percentile(d, 99)):.1f} / {max(d)}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--every", type=int, default=4, help="use every Nth corpus photo")
    ap.add_argument("--megapixels", default="0,0.6,1.5,3,6,12",
                    help="sizes; 0 is the corpus photo itself, unchanged")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    photos = sorted((DATA / "photos").glob("*.jpg"))[:: args.every]
    sizes = [float(x) for x in args.megapixels.split(",")]
    jobs = [(p, mp, grain, i) for i, p in enumerate(photos) for mp in sizes
            for grain in ((False,) if mp == 0 else (False, True))]
    with ProcessPoolExecutor(args.workers) as pool:
        rows = [r for rs in pool.map(measure, jobs, chunksize=4) for r in rs]
    print(f"{len(photos)} photos × sizes {sizes} MP (plain; upscales also with grain); "
          "distance in bits to imagehash on the full image, median / p99 / max")

    print("\nby scale factor and shorter side of the reduced grey copy:")
    print(f"{'factor':>6} {'short side':>12} {'n':>5}  {'phash':>16}  {'dhash':>16}")
    by: dict[tuple[int, int], list[tuple]] = defaultdict(list)
    for r in rows:
        lo = max(b for b in BUCKETS if b <= r[3])
        by[(r[2], lo)].append(r)
    for (k, lo), rs in sorted(by.items()):
        hi = min((b for b in BUCKETS if b > lo), default=None)
        side = f"{lo}-{hi - 1}" if hi else f">={lo}"
        print(f"{'1/' + str(k):>6} {side:>12} {len(rs):5d}  {stats([r[5] for r in rs]):>16}"
              f"  {stats([r[6] for r in rs]):>16}")

    print("\nthe factor Veil picks (reduction_factor), by size:")
    print(f"{'size':>10} {'grain':>5} {'factor':>6} {'n':>5}  {'phash':>16}  {'dhash':>16}")
    picked: dict[tuple[float, bool, int], list[tuple]] = defaultdict(list)
    for r in rows:
        if r[4]:
            picked[(r[0], r[1], r[2])].append(r)
    for (mp, grain, k), rs in sorted(picked.items()):
        size = "corpus" if mp == 0 else f"{mp:g} MP"
        print(f"{size:>10} {'yes' if grain else 'no':>5} {'1/' + str(k):>6} {len(rs):5d}  "
              f"{stats([r[5] for r in rs]):>16}  {stats([r[6] for r in rs]):>16}")
    for grain in (False, True):
        rs = [r for r in rows if r[4] and r[1] == grain and r[2] > 1]
        label = "with grain" if grain else "plain"
        print(f"all reduced ({label}): n {len(rs)}, phash {stats([r[5] for r in rs])}, "
              f"dhash {stats([r[6] for r in rs])}")


if __name__ == "__main__":
    main()
