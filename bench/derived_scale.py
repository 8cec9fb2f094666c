"""The region index at bank scale: candidate retrieval against brute force, uploads
per second end to end, memory per banked photo.

The bank holds the region blobs of the corpus photos (``../shared/data/photos``)
except a held-out set, plus synthetic fillers up to ``--bank`` photos. A filler takes
the positions and working size of a random corpus photo, and each of its 256
descriptors is a bitwise crossover of two random corpus descriptors (each bit from
one or the other at random): every bit keeps its corpus frequency and pairs of
bits keep half their correlation, so substring keys fall into buckets about as
unevenly as real ones (the script prints both), while no filler is a copy of a
corpus photo. Fillers are written straight to a blob file (``ShelfWriter``) and the
index is loaded from it (``RegionIndex.load``): blobs mapped, tables in memory.

Queries (as ``bench/derived.py`` makes them): derived copies and every re-share of
``--photos`` banked corpus photos, and the held-out photos and their re-shares as
unrelated uploads. Reported:

* candidate recall: of the (upload, source photo) pairs that ``compare`` matches
  (brute force's finding), the share ``RegionIndex.search`` finds; brute force over
  the whole corpus part of the bank is run on a sample of uploads to check it finds
  nothing else;
* false matches: verified matches to any other photo (fillers included);
* uploads/s end to end (decode, ``for_query``, ``search``) on ``--workers``
  processes forked after the bank is loaded (its tables shared), against brute
  force over a bank of ``--brute-bank`` corpus photos on the same workers (ratio);
* build time, resident memory (RSS; anonymous and file-backed apart), bytes a photo
  in memory and on disk.

    .venv/bin/python bench/derived_scale.py --bank 100000
    .venv/bin/python bench/derived_scale.py --bank 1000000 --photos 10
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import derived as bench_derived
from veil.evaluation import transforms as T
from veil.regions import blob, buckets, compare, features
from veil.regions.index import CANDIDATES, KEYS_FILE, META_FILE, RegionIndex
from veil.regions.shelf import ShelfWriter

HELD_OUT = 40
FILLER_CHUNK = 20_000
RANKS = (1, 2, 4, 8, 16, 32)


def rss() -> dict[str, int]:
    """This process's resident memory, bytes: all, anonymous, file-backed."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile"):
            out[name] = int(value.split()[0]) * 1024
    return out


def corpus_blobs(photos: list[Path]) -> list[bytes]:
    with ProcessPoolExecutor(2) as pool:
        return list(pool.map(_bank_blob, photos, chunksize=8))


def _bank_blob(path: Path) -> bytes:
    return blob.encode(features.for_bank(bench_derived.grey(Image.open(path))))


def write_bank(directory: Path, real: list[bytes], total: int, seed: int = 7) -> None:
    """Corpus blobs under keys 0.., then fillers up to ``total``."""
    rng = np.random.default_rng(seed)
    decoded = [blob.decode(b) for b in real]
    pool = np.concatenate([f.descriptors for f in decoded])
    heads = [np.frombuffer(b, np.uint8, blob.size_for(0) + 2 * len(f))
             for b, f in zip(real, decoded, strict=True)]
    full = [i for i, f in enumerate(decoded) if len(f) == features.BANK_POINTS]
    writer = ShelfWriter(directory)
    for data in real:
        writer.add(data)
    n = features.BANK_POINTS
    size = blob.size_for(n)
    head = size - n * features.DESCRIPTOR_BYTES
    for start in range(len(real), total, FILLER_CHUNK):
        m = min(FILLER_CHUNK, total - start)
        block = np.empty((m, size), np.uint8)
        block[:, :head] = np.stack([heads[i] for i in rng.choice(full, m)])
        a = pool[rng.integers(0, len(pool), m * n)]
        b = pool[rng.integers(0, len(pool), m * n)]
        # whole bytes from one or the other: ORB packs neighbouring tests of one
        # patch into a byte, whose correlations a key (3 bytes) then keeps
        mask = np.where(rng.random((m * n, features.DESCRIPTOR_BYTES)) < 0.5, 255, 0
                        ).astype(np.uint8)
        block[:, head:] = ((a & mask) | (b & ~mask)).reshape(m, -1)
        writer.add_block(block.ravel(), np.full(m, size))
    writer.close()
    np.save(directory / KEYS_FILE, np.arange(total, dtype=np.int64))
    (directory / META_FILE).write_text(json.dumps(
        {"version": 1, "tables": buckets.TABLES, "bits": buckets.BITS, "photos": total}))


def bucket_shape(index: RegionIndex, real: int) -> str:
    """How unevenly the corpus's and the fillers' entries fill table 0's buckets:
    the mean bucket size an entry sits in (what a probe of it costs)."""
    t = index._main.tables
    sizes = np.diff(t.offsets[0])
    per_entry = np.repeat(sizes, sizes)
    slots = t.slots[0]
    is_real = slots < real
    return (f"mean bucket size seen from an entry: corpus {per_entry[is_real].mean():.1f}, "
            f"fillers {per_entry[~is_real].mean():.1f}; buckets: largest {sizes.max()}, "
            f"mean {sizes.mean():.2f}")


# --- queries -----------------------------------------------------------------------

def make_queries(bank_photos: list[Path], held: list[Path], n: int) -> list[dict[str, Any]]:
    out = []
    step = max(1, len(bank_photos) // n)
    for k in range(0, step * n, step):
        for q in bench_derived.make_queries(k, bank_photos):
            out.append({"set": q.set, "source": k, "data": q.data})
    for j, path in enumerate(held):
        data = path.read_bytes()
        out.append({"set": "unrelated", "source": -1, "data": data})
        img = Image.open(path).convert("RGB")
        for v in T.variants()[::8]:
            out.append({"set": "unrelated", "source": -1,
                        "data": T.render(v, img, seed=j, key=path.name)})
    return out


_INDEX: dict[str, Any] = {}


def _query_features(data: bytes) -> features.Features:
    return features.for_query(bench_derived.grey(Image.open(io.BytesIO(data))))


def _serve(batch: list[bytes]) -> list[Any]:
    """End to end: decode, features, candidates, verification (what ``search``
    does, with the candidates' ranks kept up to ``RANKS[-1]`` for the table of
    recall by candidates verified)."""
    index: RegionIndex = _INDEX["index"]
    out = []
    for d in batch:
        t0 = time.perf_counter()
        q = _query_features(d)
        t1 = time.perf_counter()
        cands = index.candidates(q, RANKS[-1])
        t2 = time.perf_counter()
        found = index.verify(q, cands[:_INDEX["verify"]])
        t3 = time.perf_counter()
        out.append(([(k, m.inliers) for k, m in found], [k for k, _ in cands],
                    (t1 - t0, t2 - t1, t3 - t2)))
    return out


def _brute(batch: list[bytes]) -> list[list[int]]:
    bank: list[features.Features] = _INDEX["brute"]
    out = []
    for d in batch:
        q = _query_features(d)
        out.append([i for i, b in enumerate(bank) if compare.compare(b, q) is not None])
    return out


def _source_match(args: tuple[bytes, bytes]) -> bool:
    b, d = args
    return compare.compare(blob.decode(b), _query_features(d)) is not None


def timed(fn: Any, items: list[bytes], workers: int) -> tuple[list[Any], float]:
    batches = [items[i::workers * 8] for i in range(workers * 8)]
    t0 = time.perf_counter()
    with get_context("fork").Pool(workers) as pool:
        parts = pool.map(fn, batches)
    wall = time.perf_counter() - t0
    results: list[Any] = [None] * len(items)
    for i, part in enumerate(parts):
        for j, r in enumerate(part):
            results[i + j * workers * 8] = r
    return results, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bank", type=int, default=100_000, help="banked photos in all")
    ap.add_argument("--photos", type=int, default=12, help="banked corpus photos queried")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--verify", type=int, default=CANDIDATES,
                    help="candidates verified per upload (the index's default: CANDIDATES)")
    ap.add_argument("--brute-bank", type=int, default=100,
                    help="corpus photos in the brute-force reference's bank")
    ap.add_argument("--brute-sample", type=int, default=120,
                    help="uploads searched by brute force over the whole corpus part")
    ap.add_argument("--dir", type=Path, default=None,
                    help="where the bank is written (and kept, and reused by a later run)")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    photos = sorted(bench_derived.PHOTOS.glob("*.jpg"))
    held, banked = photos[-HELD_OUT:], photos[:-HELD_OUT]
    t0 = time.perf_counter()
    real = corpus_blobs(banked)
    print(f"{len(real)} corpus photos' blobs, {time.perf_counter() - t0:.0f} s")
    directory = args.dir or Path(tempfile.mkdtemp(prefix="veil-ridx-"))
    try:
        run(args, real, banked, held, directory)
    finally:
        if args.dir is None:
            shutil.rmtree(directory, ignore_errors=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


def run(args: argparse.Namespace, real: list[bytes], banked: list[Path], held: list[Path],
        directory: Path) -> None:
    t0 = time.perf_counter()
    meta = directory / META_FILE
    if meta.exists() and json.loads(meta.read_text())["photos"] == args.bank:
        print(f"reusing the bank in {directory}")
    else:
        write_bank(directory, real, args.bank)
    disk = sum(p.stat().st_size for p in directory.iterdir())
    print(f"bank written: {args.bank} photos, {disk / 1e9:.2f} GB on disk, "
          f"{time.perf_counter() - t0:.0f} s")
    before = rss()
    t0 = time.perf_counter()
    index = RegionIndex.load(directory)
    build = time.perf_counter() - t0
    after = rss()
    print(f"index built in {build:.0f} s: {index.memory_bytes / 1e9:.2f} GB of tables and "
          f"arrays ({index.memory_bytes / len(index):.0f} B a photo); RSS grew "
          f"{(after['VmRSS'] - before['VmRSS']) / 1e9:.2f} GB (anonymous "
          f"{(after['RssAnon'] - before['RssAnon']) / 1e9:.2f} GB); "
          f"disk {disk / len(index):.0f} B a photo")
    print(bucket_shape(index, len(real)))
    queries = make_queries(banked, held, args.photos)
    datas = [q["data"] for q in queries]
    print(f"{len(queries)} uploads: "
          + ", ".join(f"{s} {sum(q['set'] == s for q in queries)}"
                      for s in ("derived", "reshare", "unrelated")))
    # brute force's finding per (upload, source photo)
    pairs = [(real[q["source"]], q["data"]) for q in queries if q["source"] >= 0]
    with get_context("fork").Pool(args.workers) as pool:
        truth = pool.map(_source_match, pairs, chunksize=16)
    _INDEX["index"] = index
    _INDEX["verify"] = args.verify
    found, wall = timed(_serve, datas, args.workers)
    print(f"index: {len(datas) / wall:.1f} uploads/s end to end on {args.workers} "
          f"workers ({wall:.0f} s); RSS after {rss()['VmRSS'] / 1e9:.2f} GB")
    phases = np.array([f[2] for f in found]) * 1e3
    print("  per upload on one worker, ms (mean / 99th percentile): decode and features "
          f"{phases[:, 0].mean():.1f} / {np.percentile(phases[:, 0], 99):.1f}, candidates "
          f"{phases[:, 1].mean():.1f} / {np.percentile(phases[:, 1], 99):.1f}, verification "
          f"of {args.verify} {phases[:, 2].mean():.1f} / {np.percentile(phases[:, 2], 99):.1f}")
    positives = [q for q in queries if q["source"] >= 0]
    hits = {i: [k for k, _ in found[i][0]] for i in range(len(queries))}
    ranked = {i: found[i][1] for i in range(len(queries))}
    pos_idx = [i for i, q in enumerate(queries) if q["source"] >= 0]
    wanted = [i for i, t in zip(pos_idx, truth, strict=True) if t]
    got = [i for i in wanted if queries[i]["source"] in hits[i]]
    # a "paste" derived copy holds part of its donor photo (source + 7): finding it
    # is right, and brute force does too
    n_real = len(real)
    donor = [(i, k) for i in range(len(queries)) for k in hits[i]
             if queries[i]["source"] >= 0 and k == (queries[i]["source"] + 7) % n_real]
    false = [(i, k) for i in range(len(queries)) for k in hits[i]
             if k != queries[i]["source"] and (i, k) not in set(donor)]
    extra = [i for i in pos_idx if queries[i]["source"] in hits[i] and i not in set(wanted)]
    print(f"candidate recall: {len(got)} of {len(wanted)} source matches brute force finds "
          f"({len(got) / max(1, len(wanted)):.2%}); of {len(positives)} derived/re-shared "
          f"uploads, brute force finds {len(wanted)}; index finds {len(extra)} it does not")
    print("  source among the first L candidates (of brute force's matches): " + ", ".join(
        f"L={r} {np.mean([queries[i]['source'] in ranked[i][:r] for i in wanted]):.2%}"
        for r in RANKS))
    for s in ("derived", "reshare"):
        w = [i for i in wanted if queries[i]["set"] == s]
        g = [i for i in w if queries[i]["source"] in hits[i]]
        print(f"  {s}: {len(g)} of {len(w)} ({len(g) / max(1, len(w)):.2%})")
    print(f"false matches: {len(false)} (to fillers {sum(k >= n_real for _, k in false)}, "
          f"from unrelated uploads {sum(queries[i]['source'] < 0 for i, _ in false)}); "
          f"matches to a derived copy's donor photo: {len(donor)}")
    for i, k in false:
        print(f"  false: upload {i} ({queries[i]['set']}, source {queries[i]['source']}) "
              f"matched {k} with {dict(found[i][0])[k]} agreeing keypoints")
    # the reference: brute force over a small bank, same workers
    _INDEX["brute"] = [blob.decode(b) for b in real[:args.brute_bank]]
    rng = np.random.default_rng(3)
    sample = sorted(rng.choice(len(datas), min(args.brute_sample, len(datas)), replace=False))
    brute, bwall = timed(_brute, [datas[i] for i in sample], args.workers)
    rate, brate = len(datas) / wall, len(sample) / bwall
    print(f"brute force over {args.brute_bank} photos: {brate:.2f} uploads/s "
          f"({bwall:.0f} s for {len(sample)}); index at {len(index)} photos / brute force "
          f"at {args.brute_bank}: {rate / brate:.0f}×")
    # brute force finds nothing but the source (within its bank's photos)
    other = sum(1 for j, i in enumerate(sample) for k in brute[j]
                if k not in (queries[i]["source"], (queries[i]["source"] + 7) % len(real)))
    missed = sum(1 for j, i in enumerate(sample) for k in brute[j]
                 if k == queries[i]["source"] and k not in hits[i])
    print(f"brute force on the sample: {other} matches to other photos, {missed} source "
          "matches the index missed")


if __name__ == "__main__":
    main()
