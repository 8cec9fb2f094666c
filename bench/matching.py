"""Exact PDQ matching at platform scale: Veil's index vs the indexes a platform would use.

For each bank size and data set it builds, side by side in one run (each index in
its own child process, so resident memory is measured cleanly):

* ``veil``: ``veil.index`` (8-table multi-index hashing over cycle tables, which
  hold each hash once; compiled loops);
* ``flat``: ``faiss.IndexBinaryFlat``, exact brute force over the packed 32 bytes
  (also the ground truth every recall figure is measured against);
* ``mh-nflip0``: ``faiss.IndexBinaryMultiHash(256, 16, 16)`` with ``nflip = 0``,
  fast but exact only up to distance 15 (pigeonhole over 16 chunks);
* ``mh-nflip1``: the same with ``nflip = 1``, exact up to 31;
* ``PDQIndex2``: HMA's FAISS ``IndexFlatL2`` over 256 float32s, through the
  ``threatexchange`` package's own API (1M only: ~1 KiB per hash).

Data sets (``--datasets``):

* ``uniform``: random hashes;
* ``mixed``: random hashes plus what real banks hold: PDQ of the shared photo corpus
  (queries: crops, re-encodes, resizes … made by code), hashes of near-flat images
  (which cluster), and planted clusters of 10k hashes within 10 bits of one another
  (one per 200k entries), the worst case for chunk-based indexes.

Both plant neighbours of the ``planted`` queries at every distance 0…threshold+2.
Reported: build time (Veil's from hex entries, as the store streams them, below
``FILE_BUILD_MIN`` entries, and from a Parquet file of the hashes at or above it,
with a progress bar, as a hub's list of 100M would arrive; FAISS's from packed
bytes), peak resident memory over the build, resident memory per entry (RSS growth
over the build, after handing freed heap back to the OS), single-query latency p50/p99, batch
throughput (best of 3; also per CPU-second, which a busy shared machine disturbs
less), and recall at every distance (1.0 = every entry within the threshold
returned), against ``flat``'s exact answers (themselves checked against the
planted neighbours).

    .venv/bin/python bench/matching.py --sizes 1M
    .venv/bin/python bench/matching.py --sizes 10M
    .venv/bin/python bench/matching.py --sizes 100M --datasets uniform --kinds veil,flat

Needs the ``bench`` extra (``pip install -e '.[bench]'``) for ``PDQIndex2``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("VEIL_TEST_DATA", REPO.parent / "shared" / "data"))
CACHE = REPO / "out" / "bench-cache"
WORK = REPO / "out" / "bench-work"

THRESHOLD = 31
#: Planted queries per distance 0…threshold+2.
PLANTED_PER_DISTANCE = 8
CLUSTER_SIZE = 10_000
CLUSTER_SPREAD = 5  # members are within 5 bits of the centre: within 10 of each other
ENTRIES_PER_CLUSTER = 200_000
CLUSTER_QUERY_DISTANCES = (0, 10, 20, 26, 31, 34, 38, 44)
#: Every this-many-th transformed photo is a query (all of them take FAISS's exact
#: indexes over a minute at 10M and add nothing the first third does not show).
PHOTO_QUERY_STRIDE = 3
#: PDQIndex2 holds 1 KiB per hash plus Python objects; above this it is not run.
PDQINDEX2_MAX = 2_000_000
LATENCY_QUERIES = 200
#: Batch timings are the best of this many runs (fewer when a run takes over 5 s).
BATCH_REPEATS = 3
#: PDQIndex2 answers one query in ~0.1 s at 1M: it runs the first this many of a set.
PDQINDEX2_QUERIES = 300
KINDS = ("veil", "flat", "mh-nflip0", "mh-nflip1", "PDQIndex2")
#: From this many entries Veil's index is built from a Parquet file of the hashes
#: (``veil.index.hash_table``): 100M hex strings streamed one by one would measure
#: Python's string handling, not the index.
FILE_BUILD_MIN = 50_000_000


# -- data ---------------------------------------------------------------------------
def flips(rng: np.random.Generator, row: np.ndarray, d: int) -> np.ndarray:
    bits = np.unpackbits(row)
    bits[rng.choice(256, d, replace=False)] ^= 1
    return np.packbits(bits)


def photo_hashes() -> tuple[np.ndarray, np.ndarray]:
    """PDQ of the corpus photos and near-flat images (bank), and of transformed copies
    made by code (queries). Cached: hashing ~5k images takes half a minute."""
    cache = CACHE / "photo-pdq-v1.npz"
    if cache.exists():
        z = np.load(cache)
        return z["bank"], z["queries"]
    from PIL import Image, ImageEnhance, ImageFilter

    from veil.signals.pdq import reference_hash

    photos = sorted((DATA / "photos").glob("*.jpg"))
    if len(photos) < 100:
        sys.exit(f"expected the photo corpus in {DATA / 'photos'}")

    def pdq(im: Image.Image) -> bytes:
        return bytes.fromhex(reference_hash(np.asarray(im.convert("RGB")))[0])

    def reencode(im: Image.Image, q: int) -> Image.Image:
        import io
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=q)
        return Image.open(io.BytesIO(buf.getvalue()))

    transforms: list[Callable[[Image.Image], Image.Image]] = [
        lambda im: reencode(im, 30),
        lambda im: reencode(im, 70),
        lambda im: im.resize((im.width // 2, im.height // 2)),
        lambda im: im.crop((im.width // 20, im.height // 20, im.width * 19 // 20,
                            im.height * 19 // 20)),
        lambda im: im.crop((im.width // 8, 0, im.width, im.height * 7 // 8)),
        lambda im: ImageEnhance.Brightness(im).enhance(1.3),
        lambda im: im.filter(ImageFilter.GaussianBlur(2)),
        lambda im: im.rotate(3, expand=False),
        lambda im: im.convert("L"),
    ]
    bank, queries = [], []
    for p in photos:
        im = Image.open(p).convert("RGB")
        bank.append(pdq(im))
        queries.extend(pdq(t(im)) for t in transforms)
    rng = np.random.default_rng(7)
    for i in range(400):  # near-flat images: solid colours, faint gradients and noise
        base = rng.integers(0, 256, 3)
        a = np.broadcast_to(base, (64, 64, 3)).astype(np.float32)
        a = a + np.linspace(0, rng.uniform(0, 12), 64)[None, :, None]
        a = a + rng.normal(0, rng.uniform(0, 3), a.shape)
        h = pdq(Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)))
        (bank if i % 8 else queries).append(h)
    CACHE.mkdir(parents=True, exist_ok=True)
    out = (np.frombuffer(b"".join(bank), np.uint8).reshape(-1, 32),
           np.frombuffer(b"".join(queries), np.uint8).reshape(-1, 32))
    np.savez(cache, bank=out[0], queries=out[1])
    return out


def make_dataset(n: int, kind: str, out: Path, seed: int = 0,
                 file_build_min: int = FILE_BUILD_MIN) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    bank = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    free = rng.permutation(n)  # rows not yet overwritten, handed out in order
    used = 0

    def take(k: int) -> np.ndarray:
        nonlocal used
        rows = free[used:used + k]
        used += k
        return rows

    sets: dict[str, np.ndarray] = {}
    planted = []
    for d in range(THRESHOLD + 3):
        for _ in range(PLANTED_PER_DISTANCE):
            q = rng.integers(0, 256, 32, dtype=np.uint8)
            bank[take(1)[0]] = flips(rng, q, d)
            planted.append(q)
    sets["planted"] = np.array(planted)
    if kind == "mixed":
        pb, pq = photo_hashes()
        bank[take(len(pb))] = pb
        sets["photos"] = pq[::PHOTO_QUERY_STRIDE]
        centres = []
        for _ in range(max(1, n // ENTRIES_PER_CLUSTER)):
            c = rng.integers(0, 256, 32, dtype=np.uint8)
            centres.append(c)
            members = np.unpackbits(np.broadcast_to(c, (CLUSTER_SIZE, 32)), axis=1)
            for m in range(CLUSTER_SIZE):
                members[m, rng.choice(256, rng.integers(0, CLUSTER_SPREAD + 1), replace=False)] ^= 1
            bank[take(CLUSTER_SIZE)] = np.packbits(members, axis=1)
        sets["clusters"] = np.array([flips(rng, c, d) for c in centres[:8]
                                     for d in CLUSTER_QUERY_DISTANCES])
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "bank.npy", bank)
    if n >= file_build_min:
        write_parquet(bank, out / "bank.parquet")
    for name, q in sets.items():
        np.save(out / f"q-{name}.npy", np.ascontiguousarray(q, np.uint8))
    return {name: len(q) for name, q in sets.items()}


def write_parquet(bank: np.ndarray, path: Path) -> None:
    """The bank as a hub would ship it: ids and raw 32-byte hashes, 1M rows a group."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("id", pa.int64()), ("hash", pa.binary(32))])
    with pq.ParquetWriter(path, schema, compression="none") as w:
        for start in range(0, len(bank), 1 << 20):
            part = np.ascontiguousarray(bank[start:start + (1 << 20)])
            hashes = pa.FixedSizeBinaryArray.from_buffers(
                pa.binary(32), len(part), [None, pa.py_buffer(part)])
            ids = pa.array(np.arange(start, start + len(part), dtype=np.int64))
            w.write_table(pa.table({"id": ids, "hash": hashes}, schema=schema))


# -- child: one index ---------------------------------------------------------------
def trim_heap() -> None:
    """Hand freed heap back to the OS (glibc keeps freed build temporaries mapped), so
    resident memory after a build measures what the index keeps, for every index."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _status_bytes(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def rss_bytes() -> int:
    return _status_bytes("VmRSS")


def peak_rss_bytes() -> int:
    """The process's largest resident memory so far."""
    return _status_bytes("VmHWM")


class Subject:
    """One index under test: build, batch search (rows, distances), single search."""

    def prepare(self) -> None:
        """Load code before the memory baseline (JIT compilation is not the index)."""

    def build(self, bank: np.ndarray) -> None: ...
    def batch(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
    def single(self, q: np.ndarray) -> object: ...


class Faiss(Subject):
    def __init__(self, kind: str) -> None:
        self.kind = kind

    def build(self, bank: np.ndarray) -> None:
        import faiss
        if self.kind == "flat":
            self.index = faiss.IndexBinaryFlat(256)
        else:
            self.index = faiss.IndexBinaryMultiHash(256, 16, 16)
            self.index.nflip = 0 if self.kind == "mh-nflip0" else 1
        self.index.add(bank)

    def batch(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lims, dist, rows = self.index.range_search(q, THRESHOLD + 1)  # strict <
        return (np.repeat(np.arange(len(q)), np.diff(lims).astype(np.int64)), rows.astype(np.int64),
                dist.astype(np.int64))

    def single(self, q: np.ndarray) -> object:
        return self.index.range_search(q, THRESHOLD + 1)


class Veil(Subject):
    def prepare(self) -> None:
        from veil.index import build_index
        from veil.index.packing import unpack_hex

        rng = np.random.default_rng(1)
        hexes = unpack_hex(rng.integers(0, 2**63, size=(50_000, 4), dtype=np.uint64))
        index = build_index("pdq", ((i, "b", "c", h, None) for i, h in enumerate(hexes)))
        index.search(hexes[:64])  # parallel kernels
        index.search(hexes[:1])  # serial kernels
        index.search(hexes[:64], 200)  # the scan fallback
        index.search(hexes[:1], 200)

    def __init__(self, source: Path | None = None) -> None:
        self.source = source

    def build(self, bank: np.ndarray) -> None:
        from veil.index import build_index
        from veil.index.packing import unpack_hex

        if self.source is not None:
            self.build_from_file(self.source)
            return
        words = bank.view(">u8").astype(np.uint64)

        def entries() -> Iterator[tuple[int, str, str, str, None]]:
            # what the store streams: ids, bank names, categories, hex values
            for start in range(0, len(words), 65_536):
                for i, h in enumerate(unpack_hex(words[start:start + 65_536]), start):
                    yield (i, f"bank{i % 4}", "victim_submitted", h, None)

        self.index = build_index("pdq", entries())

    def build_from_file(self, path: Path) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        from veil.index import empty_index
        from veil.index.hash_table import read_packed

        self.index = empty_index("pdq")
        with Progress("[progress.description]{task.description}", BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(), transient=False) as bar:
            rows = bar.add_task("reading hashes", total=None)
            tables = bar.add_task("building tables", total=self.index.tables)
            self.index.load_packed(
                read_packed(path, 256,
                            progress=lambda done, total: bar.update(rows, completed=done,
                                                                    total=total)),
                "bank0", "victim_submitted",
                on_table=lambda t: bar.update(tables, completed=t + 1))

    def batch(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        parts = self.index.search_packed(q.view(">u8").astype(np.uint64), THRESHOLD)
        if not parts:
            e = np.empty(0, np.int64)
            return e, e, e
        return (np.concatenate([h.query for _, h in parts]),
                np.concatenate([b.entry_ids[h.row] for b, h in parts]),
                np.concatenate([h.distance for _, h in parts]))

    def single(self, q: np.ndarray) -> object:
        return self.index.match(q[0].tobytes().hex())


class PDQIndex2Subject(Subject):
    def build(self, bank: np.ndarray) -> None:
        from threatexchange.signal_type.pdq.pdq_index2 import PDQIndex2

        self.index = PDQIndex2(entries=((bank[i].tobytes().hex(), i) for i in range(len(bank))),
                               threshold=THRESHOLD)

    def batch(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # the package's API is one query at a time; that is how HMA calls it
        qs, rows, dists = [], [], []
        for i in range(len(q)):
            for m in self.index.query(q[i].tobytes().hex()):
                qs.append(i)
                rows.append(m.metadata)
                dists.append(m.similarity_info.distance)
        return np.array(qs, np.int64), np.array(rows, np.int64), np.array(dists, np.int64)

    def single(self, q: np.ndarray) -> object:
        return self.index.query(q[0].tobytes().hex())


def child(kind: str, data: Path, out: Path) -> None:
    from_file = kind == "veil" and (data / "bank.parquet").exists()
    # mapped, not read, when the veil index reads the Parquet file: never touched, so
    # it is not in this process's resident memory
    bank = np.load(data / "bank.npy", mmap_mode="r" if from_file else None)
    sets = {p.stem[2:]: np.load(p) for p in sorted(data.glob("q-*.npy"))}
    subject: Subject = (Veil(data / "bank.parquet" if from_file else None) if kind == "veil"
                        else PDQIndex2Subject() if kind == "PDQIndex2" else Faiss(kind))
    subject.prepare()
    gc.collect()
    trim_heap()
    base = rss_bytes()
    t = time.perf_counter()
    subject.build(bank)
    build_s = time.perf_counter() - t
    gc.collect()
    trim_heap()
    res: dict[str, object] = {"kind": kind, "build_s": build_s, **(
                                  {"build_from_file": True} if from_file else {}),
                              "rss_per_entry": (rss_bytes() - base) / len(bank),
                              "build_peak_gb": peak_rss_bytes() / 2**30,
                              "resident_gb": rss_bytes() / 2**30}
    subject.batch(sets["planted"][:4])  # warm up (JIT, caches)
    arrays = {}
    for name, q in sets.items():
        if kind == "PDQIndex2":  # ~0.1 s a query: a subset, and recall over that subset
            q = q[:PDQINDEX2_QUERIES]
        res[f"queries_{name}"] = len(q)
        wall = cpu = float("inf")
        for _ in range(BATCH_REPEATS):  # best of a few: the machine is shared
            t, c = time.perf_counter(), time.process_time()
            qi, rows, dist = subject.batch(q)
            wall = min(wall, time.perf_counter() - t)
            cpu = min(cpu, time.process_time() - c)
            if wall > 5:
                break
        res[f"qps_{name}"] = len(q) / wall
        res[f"qpcpu_{name}"] = len(q) / cpu
        arrays[f"{name}_q"], arrays[f"{name}_row"], arrays[f"{name}_dist"] = qi, rows, dist
    lat = []
    q = sets["planted"]
    n_lat = LATENCY_QUERIES if kind != "PDQIndex2" else 50
    for i in range(n_lat):
        t = time.perf_counter()
        subject.single(q[i % len(q):i % len(q) + 1])
        lat.append(time.perf_counter() - t)
    res["p50_ms"] = float(np.percentile(lat, 50) * 1e3)
    res["p99_ms"] = float(np.percentile(lat, 99) * 1e3)
    if kind == "veil":
        res["index_bytes_per_entry"] = subject.index.stats().nbytes / len(bank)  # type: ignore[attr-defined]
        from veil.index import save_snapshot

        idx = subject.index  # type: ignore[attr-defined]
        hexes = [r.tobytes().hex() for r in q]
        t = time.perf_counter()
        idx.search(hexes)
        res["qps_planted_objects"] = len(q) / (time.perf_counter() - t)
        with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
            path = Path(tmp) / "pdq.snapshot"
            t = time.perf_counter()
            save_snapshot(idx, path)
            res["snapshot_save_s"] = time.perf_counter() - t
            del subject, idx
            gc.collect()
            trim_heap()
            res["snapshot_gb"] = path.stat().st_size / 2**30
            # in a fresh process, as a restarted service loads it
            loaded = out.with_suffix(".load.json")
            subprocess.run([sys.executable, __file__, "--load-snapshot", str(path),
                            "--out", str(loaded)], check=True)
            res.update(json.loads(loaded.read_text()))
    np.savez(out.with_suffix(".npz"), **arrays)
    out.write_text(json.dumps(res))


def load_child(path: Path, out: Path) -> None:
    """Load a snapshot as a restarting service does: seconds, and resident memory."""
    from veil.index import empty_index, kernels
    from veil.index.snapshot import load_snapshot

    kernels.cycle_check(np.zeros((8, 5 * 64), np.uint8), 64, 6, 1)  # compiled code, not the load
    gc.collect()
    trim_heap()
    t = time.perf_counter()
    index = load_snapshot(path, empty_index("pdq"), watermark=None)
    seconds = time.perf_counter() - t
    gc.collect()
    trim_heap()
    out.write_text(json.dumps({"snapshot_load_s": seconds, "loaded_entries": len(index),
                               "loaded_resident_gb": rss_bytes() / 2**30}))


# -- parent ---------------------------------------------------------------------------
def run_child(kind: str, data: Path, work: Path) -> dict[str, object] | None:
    out = work / f"{kind}.json"
    t = time.perf_counter()
    # the child's stderr is the terminal's: its progress bars and any traceback show
    proc = subprocess.run([sys.executable, __file__, "--child", kind, "--data", str(data),
                           "--out", str(out)], stdout=subprocess.DEVNULL)
    if proc.returncode != 0:
        print(f"  {kind}: FAILED ({proc.returncode})", file=sys.stderr)
        return None
    res = json.loads(out.read_text())
    res["arrays"] = dict(np.load(out.with_suffix(".npz")))
    print(f"  {kind}: done in {time.perf_counter() - t:.0f}s", file=sys.stderr, flush=True)
    return res


def recall(res: dict, truth: dict, sets: list[str]) -> tuple[np.ndarray, np.ndarray, int]:
    """Per distance 0…threshold: (found, expected); plus wrong pairs returned."""
    found = np.zeros(THRESHOLD + 1, np.int64)
    expected = np.zeros(THRESHOLD + 1, np.int64)
    wrong = 0
    for s in sets:
        limit = res[f"queries_{s}"]
        t_pairs = {(int(q), int(r)): int(d) for q, r, d in zip(
            truth[f"{s}_q"], truth[f"{s}_row"], truth[f"{s}_dist"], strict=True) if q < limit}
        got = {(int(q), int(r)) for q, r in zip(res[f"{s}_q"], res[f"{s}_row"], strict=True)}
        np.add.at(expected, list(t_pairs.values()), 1)
        for pair, d in t_pairs.items():
            found[d] += pair in got
        wrong += len(got - t_pairs.keys())
    return found, expected, wrong


def fmt_rate(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f}"


def report(n: int, dataset: str, results: dict[str, dict], counts: dict[str, int]) -> None:
    truth = results["flat"]["arrays"]
    sets = list(counts)
    # the planted neighbours are known independently of FAISS: check the truth has them
    planted = {(int(q), int(d)) for q, d in zip(truth["planted_q"], truth["planted_dist"],
                                               strict=True)}
    for qi in range(counts["planted"]):
        d = qi // PLANTED_PER_DISTANCE
        if d <= THRESHOLD and (qi, d) not in planted:
            sys.exit(f"ground truth lacks planted neighbour {qi} at distance {d}")
    flat_qps = results["flat"]["qps_planted"]
    print(f"\n## {n:,} entries, {dataset} data, threshold {THRESHOLD}"
          f" (queries: {', '.join(f'{c} {s}' for s, c in counts.items())})\n")
    head = ["index", "build s", "RSS B/entry", "p50 ms", "p99 ms",
            *[f"q/s {s}" for s in sets], "q/CPU-s planted", "× flat", "recall ≤15",
            "recall 16–31", "missed", "wrong"]
    rows = []
    for kind, r in results.items():
        found, expected, wrong = recall({**r["arrays"], **{
            f"queries_{s}": r[f"queries_{s}"] for s in sets}}, truth, sets)
        lo, hi = slice(0, 16), slice(16, THRESHOLD + 1)
        rows.append([
            kind, f"{r['build_s']:.1f}", f"{r['rss_per_entry']:.0f}", f"{r['p50_ms']:.2f}",
            f"{r['p99_ms']:.2f}", *[fmt_rate(r[f"qps_{s}"]) for s in sets],
            fmt_rate(r["qpcpu_planted"]), f"{r['qps_planted'] / flat_qps:.1f}",
            f"{found[lo].sum() / max(expected[lo].sum(), 1):.4f}",
            f"{found[hi].sum() / max(expected[hi].sum(), 1):.4f}",
            f"{int(expected.sum() - found.sum())}/{int(expected.sum())}", str(wrong)])
        r["recall_by_distance"] = (found, expected)
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    for kind, r in results.items():
        found, expected = r["recall_by_distance"]
        miss = [f"d={d}: {found[d]}/{expected[d]}" for d in range(THRESHOLD + 1)
                if found[d] < expected[d]]
        if miss:
            print(f"\n{kind} misses at: " + ", ".join(miss))
    v = results.get("veil")
    if v:
        ids = 11  # entry id (8), bank label (2), tombstone (1)
        print(f"\nveil: index arrays {v['index_bytes_per_entry']:.1f} B/entry, of which "
              f"{ids} ids, labels and tombstones: the hashes and their tables take "
              f"{(v['index_bytes_per_entry'] - ids) / 32:.2f}× the raw 32 B; search() with "
              f"Match objects "
              f"{v['qps_planted_objects']:,.0f} q/s; snapshot save {v['snapshot_save_s']:.1f}s, "
              f"({v['snapshot_gb']:.2f} GiB file); "
              f"resident {v['resident_gb']:.2f} GiB after the build (peak "
              f"{v['build_peak_gb']:.2f}); a fresh process loading the snapshot: "
              f"{v['snapshot_load_s']:.1f}s, {v['loaded_resident_gb']:.2f} GiB resident")
        if "build_from_file" in v:
            print(f"veil built from a Parquet file of ids and raw hashes "
                  f"(veil.index.hash_table), {n / v['build_s']:,.0f} hashes/s")
    if "PDQIndex2" in results:
        print(f"PDQIndex2 ran the first {PDQINDEX2_QUERIES} queries of each set (its API takes "
              "one query at a time); its recall and q/s are over those.")
    if n > PDQINDEX2_MAX:
        print(f"PDQIndex2 not run at {n:,}: it cannot be built beyond about 8M hashes on "
              "this 24 GiB machine (bench/pdqindex2_capacity.py: FAISS grows its float32 "
              "codes by doubling, 8 GiB to 16 GiB at 8.4M hashes, beside ~2.6 GiB of "
              "Python dicts and lists).")


def parse_size(s: str) -> int:
    s = s.strip().lower()
    mult = {"k": 1_000, "m": 1_000_000}.get(s[-1], 1)
    return int(float(s[:-1] if s[-1] in "km" else s) * mult)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1M", help="comma-separated bank sizes, e.g. 1M,10M")
    ap.add_argument("--datasets", default="uniform,mixed", help="uniform and/or mixed")
    ap.add_argument("--kinds", default=",".join(KINDS), help="indexes to run")
    ap.add_argument("--file-build-min", type=parse_size, default=FILE_BUILD_MIN,
                    help="build Veil's index from a Parquet file from this many entries")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--load-snapshot", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.child, a.data, a.out)
        return
    if a.load_snapshot:
        load_child(a.load_snapshot, a.out)
        return
    kinds = [k for k in a.kinds.split(",") if k]
    if "flat" not in kinds:
        kinds.insert(0, "flat")  # the ground truth
    print(f"# bench/matching.py --sizes {a.sizes} --datasets {a.datasets}  "
          f"({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start)")
    for n in map(parse_size, a.sizes.split(",")):
        for dataset in a.datasets.split(","):
            # under the repo's ignored out/, not /tmp: shared-machine /tmp gets swept
            WORK.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix="matching-", dir=WORK) as tmp:
                work = Path(tmp)
                t = time.perf_counter()
                counts = make_dataset(n, dataset, work / "data",
                                      file_build_min=a.file_build_min)
                print(f"{n:,} {dataset}: data in {time.perf_counter() - t:.0f}s",
                      file=sys.stderr, flush=True)
                results = {}
                for kind in kinds:
                    if kind == "PDQIndex2" and n > PDQINDEX2_MAX:
                        continue
                    r = run_child(kind, work / "data", work)
                    if r is not None:
                        results[kind] = r
                if "flat" not in results:
                    sys.exit("the flat index (ground truth) failed")
                report(n, dataset, results, counts)
    print(f"\n(load average {os.getloadavg()[0]:.1f} at end)")


if __name__ == "__main__":
    main()
