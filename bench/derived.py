"""Edited copies and derived copies: region signals side by side, PDQ as the anchor.

From benign photos of ``../shared/data/photos`` only (docs/derived.md):

* **derived copies**: 10–60 % of the area replaced — a central-lower "body-like"
  box and a box at random — by another photo pasted in, OpenCV inpainting, a flat
  fill, heavy blur or noise (``veil.evaluation.derived``), then resized to 0.8, cut
  by up to 3 % at a corner and re-encoded as JPEG 75;
* **re-shares**: every transformation of ``veil eval robustness`` at each strength;
* **negatives**: every ordered pair of distinct photos (bank photo i, upload j), and
  each bank photo against a near-duplicate (three edits at once, ``combo`` mild) of
  every other photo.

Each candidate gives every (banked photo, upload) pair a score; thresholds are set
where 1 % and 0.1 % of the negatives pass, and recall is counted at them. The
candidates:

* ``orb`` — **Veil's region signal**: ORB keypoints spread over a grid, stored as
  blobs (quantised positions), RANSAC similarity (``veil.regions``); score = agreeing
  pairs; Veil's own operating point is ``MIN_INLIERS``;
* (AKAZE, the other binary local feature the issue names, is not in
  ``opencv-python-headless`` 5.x, which moved it to the contrib modules; SIFT's float
  descriptors are 16 times ORB's size, so neither is measured here.)
* ``tiles`` — PDQ (``pdqhash``, the reference) of the whole picture and of
  overlapping tiles at two scales (half-side windows at quarter steps, third-side
  windows at sixth steps: 35 hashes a picture); score = 256 − the closest pair;
* ``pdq`` — PDQ of the whole picture (the anchor: what hash lists hold today).

Each candidate also has its operating point (``op``): ``MIN_INLIERS`` agreeing
pairs for ``orb``, PDQ's published distance 31 for ``pdq`` and ``tiles``. For
``orb`` at its operating point the script also reports the share of matches
called ``derived`` (content replaced) and the IoU of the reported differing box
with the replaced box. It prints a table per set, the load average at the start and
the end, and writes ``recall-derived.png`` and ``recall-reshares.png`` under
``--out``.

    .venv/bin/python bench/derived.py                       # 30 photos, 100 for negatives
    .venv/bin/python bench/derived.py --photos 60 --candidates orb,pdq
    # CI's run (tests/regions/test_derived_bench.py): 10 photos, a few shares and edits
    .venv/bin/python bench/derived.py --photos 10 --negative-photos 10 --candidates orb,pdq \
        --shares 0.2,0.5 --transforms identity,crop_offcentre,rotate --quick
"""

from __future__ import annotations

import argparse
import io
import os
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from veil.evaluation import derived as D
from veil.evaluation import transforms as T
from veil.regions import blob, compare, features

PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "photos"
SHARES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
FPRS = (0.01, 0.001)


def grey(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("L"), dtype=np.uint8)


# --- candidates ------------------------------------------------------------------

def tile_hashes(img: Image.Image) -> np.ndarray:
    import pdqhash

    rgb = np.asarray(img.convert("RGB"))
    h, w = rgb.shape[:2]
    out = [pdqhash.compute(rgb)[0]]
    for frac, steps in ((0.5, 3), (1 / 3, 5)):
        tw, th = max(8, int(w * frac)), max(8, int(h * frac))
        for yi in range(steps):
            for xi in range(steps):
                x = int((w - tw) * xi / (steps - 1))
                y = int((h - th) * yi / (steps - 1))
                out.append(pdqhash.compute(np.ascontiguousarray(rgb[y:y + th, x:x + tw]))[0])
    return np.packbits(np.array(out, np.uint8), axis=1)


def tile_hashes_whole(img: Image.Image) -> np.ndarray:
    import pdqhash

    bits = pdqhash.compute(np.asarray(img.convert("RGB")))[0]
    return np.packbits(np.array([bits], np.uint8), axis=1)


def _popcount_min(a: np.ndarray, b: np.ndarray) -> int:
    x = np.bitwise_xor(a[:, None, :], b[None, :, :])
    return int(np.unpackbits(x, axis=2).sum(axis=2).min())


@dataclass(frozen=True)
class Candidate:
    name: str
    bank: Callable[[Image.Image], Any]
    query: Callable[[Image.Image], Any]
    score: Callable[[Any, Any], float]


def _orb_bank(img: Image.Image) -> features.Features:
    # through the stored form, so the quantised positions are what is measured
    return blob.decode(blob.encode(features.for_bank(grey(img))))


def _orb_query(img: Image.Image) -> features.Features:
    return features.for_query(grey(img))


def _inliers(b: features.Features, q: features.Features) -> float:
    m = compare.compare(b, q, min_inliers=0)
    return float(m.inliers) if m else 0.0


CANDIDATES = {
    "orb": Candidate("orb", _orb_bank, _orb_query, _inliers),
    "tiles": Candidate("tiles", tile_hashes, tile_hashes,
                       lambda b, q: 256.0 - _popcount_min(b, q)),
    "pdq": Candidate("pdq", tile_hashes_whole, tile_hashes_whole,
                     lambda b, q: 256.0 - _popcount_min(b, q)),
}


# --- the sets --------------------------------------------------------------------

@dataclass(frozen=True)
class Query:
    set: str  # "derived" or "reshare"
    label: str  # e.g. "paste body 30%" or "crop_centre 10%"
    group: str  # what the plots group by: the share, or the family
    photo: int
    data: bytes
    box: tuple[int, int, int, int] | None = None


def make_queries(k: int, photos: list[Path], shares: tuple[float, ...] = SHARES,
                 reshares: list[T.Variant] | None = None) -> list[Query]:
    img = Image.open(photos[k]).convert("RGB")
    donor = Image.open(photos[(k + 7) % len(photos)]).convert("RGB")
    rng = np.random.default_rng(1000 + k)
    out = []
    for share in shares:
        for fill in D.FILLS:
            for place in D.PLACES:
                d = D.derive(img, share=share, fill=fill, place=place, rng=rng, donor=donor)
                out.append(Query("derived", f"{fill} {place}", f"{share:.0%}", k, d.data, d.box))
    for v in T.variants() if reshares is None else reshares:
        out.append(Query("reshare", v.label, v.name, k,
                         T.render(v, img, seed=1, key=photos[k].name)))
    return out


_STATE: dict[str, Any] = {}


def _init(names: list[str], photos: list[Path], n_neg: int, shares: tuple[float, ...],
          reshares: list[tuple[str, float]]) -> None:
    cands = [CANDIDATES[n] for n in names]
    imgs = [Image.open(p).convert("RGB") for p in photos[:n_neg]]
    _STATE.update(cands=cands, photos=photos, shares=shares,
                  reshares=[T.find_variant(n, s) for n, s in reshares],
                  banks={c.name: [c.bank(i) for i in imgs] for c in cands})


def _positives(k: int) -> list[dict[str, Any]]:
    rows = []
    for q in make_queries(k, _STATE["photos"], _STATE["shares"], _STATE["reshares"]):
        img = Image.open(io.BytesIO(q.data)).convert("RGB")
        row: dict[str, Any] = {"set": q.set, "label": q.label, "group": q.group}
        for c in _STATE["cands"]:
            b = _STATE["banks"][c.name][k]
            qf = c.query(img)
            if c.name != "orb":
                row[c.name] = c.score(b, qf)
                continue
            # one comparison gives both the score and the match at the operating
            # point: RANSAC is seeded alike on every call, so the default threshold
            # would only drop matches below it
            found = compare.compare(b, qf, min_inliers=0)
            row["orb"] = float(found.inliers) if found else 0.0
            m = found if found and found.inliers >= compare.MIN_INLIERS else None
            row["orb_kind"] = m.kind if m else None
            row["orb_iou"] = (D.iou(m.differing, q.box) if m and q.box and m.differing
                              else (0.0 if m else None))
        rows.append(row)
    return rows


def _negatives(j: int) -> list[dict[str, Any]]:
    photos = _STATE["photos"]
    img = Image.open(photos[j]).convert("RGB")
    near = Image.open(io.BytesIO(T.render(T.find_variant("combo", 1), img, seed=2,
                                          key=photos[j].name))).convert("RGB")
    rows = []
    for kind, pic in (("distinct", img), ("near-duplicate", near)):
        qs = {c.name: c.query(pic) for c in _STATE["cands"]}
        for i in range(len(_STATE["banks"][_STATE["cands"][0].name])):
            if i == j:
                continue
            rows.append({"set": kind, **{c.name: c.score(_STATE["banks"][c.name][i],
                                                         qs[c.name]) for c in _STATE["cands"]}})
    return rows


def threshold_at(neg: np.ndarray, fpr: float) -> float:
    """The lowest score at which at most ``fpr`` of the negatives pass."""
    s = np.sort(neg)[::-1]
    allowed = int(np.floor(fpr * len(s)))
    return float(s[allowed]) + 1e-9 if allowed < len(s) else float(s[-1])


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=30, help="photos giving positives")
    ap.add_argument("--negative-photos", type=int, default=100,
                    help="photos in the bank for the negative pairs (n·(n−1) each kind)")
    ap.add_argument("--candidates", default="orb,tiles,pdq")
    ap.add_argument("--shares", default=",".join(f"{s:g}" for s in SHARES),
                    help="shares of the photo replaced in the derived copies")
    ap.add_argument("--transforms", default=None,
                    help="re-shares: these transformations of the robustness suite "
                    "(default: all)")
    ap.add_argument("--quick", action="store_true",
                    help="re-shares: only the mildest and strongest strength of each")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--corpus", type=Path, default=PHOTOS, help="folder of benign photos")
    ap.add_argument("--out", type=Path, default=Path("out/derived"))
    args = ap.parse_args(argv)
    names = _names(args.candidates)
    unknown = sorted(set(names) - set(CANDIDATES))
    if unknown:
        raise SystemExit(f"unknown candidate(s) {', '.join(unknown)}; known: "
                         f"{', '.join(CANDIDATES)}")
    shares = tuple(float(s) for s in _names(args.shares))
    if not shares or not all(0 < s < 1 for s in shares):
        raise SystemExit("--shares: fractions between 0 and 1")
    reshares = T.variants(_names(args.transforms) if args.transforms else None,
                          quick=args.quick)
    photos = sorted(args.corpus.glob("*.jpg"))
    n_neg = max(args.photos, args.negative_photos)
    if len(photos) < n_neg:
        raise SystemExit(f"need {n_neg} photos in {args.corpus}")
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.workers, initializer=_init,
                             initargs=(names, photos, n_neg, shares,
                                       [(v.name, v.strength) for v in reshares])) as pool:
        pos = [r for rows in pool.map(_positives, range(args.photos)) for r in rows]
        neg = [r for rows in pool.map(_negatives, range(n_neg)) for r in rows]
    print(f"{len(pos)} positive pairs, {len(neg)} negative pairs, "
          f"{time.perf_counter() - t0:.0f} s")
    thresholds = {c: {f: threshold_at(np.array([r[c] for r in neg]), f) for f in FPRS}
                  for c in names}
    report(pos, neg, names, thresholds)
    plots(pos, names, thresholds, args.out, shares)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


#: Each candidate's operating point: Veil's inlier count; PDQ's published distance 31
#: (for tiles: the closest tile pair within 31).
def operating_points() -> dict[str, float]:
    return {"orb": float(compare.MIN_INLIERS), "tiles": 256.0 - 31, "pdq": 256.0 - 31}


def _recall(rows: list[dict[str, Any]], c: str, t: float) -> float:
    return float(np.mean([r[c] >= t for r in rows])) if rows else float("nan")


def report(pos: list[dict[str, Any]], neg: list[dict[str, Any]], names: list[str],
           thresholds: dict[str, dict[float, float]]) -> None:
    ops = operating_points()
    op = ops["orb"]
    print("\nnegatives: highest score per candidate, and pairs passing each operating point")
    for kind in ("distinct", "near-duplicate"):
        rows = [r for r in neg if r["set"] == kind]
        tops = ", ".join(f"{c} {max(r[c] for r in rows):g}" for c in names)
        passing = ", ".join(f"{c} {sum(r[c] >= ops[c] for r in rows)}" for c in names)
        print(f"  {kind}: {len(rows)} pairs; max {tops}; passing {passing}")
    print("thresholds at 1% / 0.1% of negatives: " + ", ".join(
        f"{c} {thresholds[c][0.01]:.0f} / {thresholds[c][0.001]:.0f}" for c in names))
    header = " | ".join(f"{c} @1% | {c} @0.1% | {c} op" for c in names)
    for set_name, key in (("derived", "group"), ("reshare", "group")):
        print(f"\n{set_name}: recall where 1% / 0.1% of negatives pass, and at each "
              "operating point (op)" + ("; of orb's matches, called derived; IoU of the "
                                        "differing box" if "orb" in names else ""))
        print(f"| {key} | n | {header} |" + (" derived | IoU |" if "orb" in names else ""))
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in pos:
            if r["set"] == set_name:
                groups[r[key]].append(r)
        for g, rows in groups.items():
            cells = " | ".join(
                " | ".join([*(f"{_recall(rows, c, thresholds[c][f]):.1%}" for f in FPRS),
                            f"{_recall(rows, c, ops[c]):.1%}"]) for c in names)
            line = f"| {g} | {len(rows)} | {cells} |"
            if "orb" in names:
                hits = [r for r in rows if r["orb"] >= op]
                der = np.mean([r["orb_kind"] == "derived" for r in hits]) if hits else 0
                ious = [r["orb_iou"] for r in hits if r.get("orb_iou") is not None]
                mean_iou = np.mean(ious) if ious and set_name == "derived" else float("nan")
                line += f" {der:.0%} | {mean_iou:.2f} |"
            print(line)


def plots(pos: list[dict[str, Any]], names: list[str],
          thresholds: dict[str, dict[float, float]], out: Path,
          shares: tuple[float, ...] = SHARES) -> None:
    from veil.evaluation.plots import _pyplot, save_compact

    plt = _pyplot()
    out.mkdir(parents=True, exist_ok=True)
    ops = operating_points()
    fig, ax = plt.subplots(figsize=(6, 3.8))
    xs = [f"{s:.0%}" for s in shares]
    for i, c in enumerate(names):
        rows = {x: [r for r in pos if r["set"] == "derived" and r["group"] == x] for x in xs}
        colour = f"C{i}"
        ax.plot(xs, [_recall(rows[x], c, thresholds[c][0.001]) for x in xs], marker="o",
                color=colour, label=f"{c}, at 0.1% false positives")
        ax.plot(xs, [_recall(rows[x], c, ops[c]) for x in xs], marker=".", ls="--",
                color=colour, label=f"{c}, at its operating point")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("share of the photo replaced, then re-shared")
    ax.set_ylabel("recall")
    ax.set_title("Derived copies (benign photos): which signal still finds the original")
    ax.legend(fontsize=7)
    fig.tight_layout()
    print("wrote", save_compact(fig, out / "recall-derived.png"))
    plt.close(fig)
    fams = list(dict.fromkeys(r["group"] for r in pos if r["set"] == "reshare"))
    fig, ax = plt.subplots(figsize=(9, 3.8))
    width = 0.8 / len(names)
    for i, c in enumerate(names):
        ys = [_recall([r for r in pos if r["set"] == "reshare" and r["group"] == f], c,
                      thresholds[c][0.001]) for f in fams]
        ax.bar(np.arange(len(fams)) + i * width, ys, width, label=c)
    ax.set_xticks(np.arange(len(fams)) + 0.4, fams, rotation=60, ha="right")
    ax.set_ylabel("recall at 0.1% FP (all strengths)")
    ax.set_title("Re-shares: every transformation of the robustness suite")
    ax.legend(ncols=len(names))
    fig.tight_layout()
    print("wrote", save_compact(fig, out / "recall-reshares.png"))
    plt.close(fig)


if __name__ == "__main__":
    main()
