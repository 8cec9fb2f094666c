"""Video matching at scale: a query video's frames against a bank of N banked frames.

The bank holds N random frame hashes (filler videos of 300 frames each) plus the
frames of Meta's sample videos, every frame, each sample its own banked video. A
query is a sample video sampled once a second (the service's default, 6–23 unique
frames), or 60 random frames (a clean upload). For each query:

* **veil**: ``veil.matching.video.match_video`` as the service runs it: one batched
  radius-31 search of the exact ``vpdq`` index, hits grouped by banked video through
  a ``VideoSource`` (here in memory, in the store an indexed query), the vPDQ rule;
* **reference**: FAISS ``IndexBinaryFlat`` range search of the same frames (the exact
  baseline a system without Veil's index would run), then the same grouping.

It prints the index's build time and size, p50/p99 milliseconds per query for both,
their ratio, and checks that both find the same banked videos. The load average is
printed at the start and the end.

    .venv/bin/python bench/video_match.py               # 10M banked frames, ~3 min
    .venv/bin/python bench/video_match.py --frames 1M   # ~30 s
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from veil.index import build_index
from veil.index.packing import unpack_hex
from veil.matching.video import VideoRule, match_video
from veil.signals.vpdq import VideoFrame, parse_vpdq, unique_frames

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("VEIL_TEST_DATA", REPO.parent / "shared" / "data"))
REF = DATA / "video-reference" / "vpdq-hashes"
FILLER_FRAMES = 300
RULE = VideoRule(threshold=31, query_percent=80.0, candidate_percent=0.0, range_gap=2.0)


def load_text() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def size(text: str) -> int:
    text = text.strip().upper()
    scale = {"K": 1_000, "M": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("KM")) * scale)


class MemorySource:
    """Where each banked frame entry is: the store's ``frame_links`` in memory (filler
    entry ``e`` is frame ``e % 300`` of filler video ``first_filler + e // 300``)."""

    def __init__(self, videos: dict[int, int], links: dict[int, tuple[int, float]],
                 fillers: int, first_filler: int) -> None:
        self.videos = videos
        self.samples = links
        self.fillers = fillers
        self.first_filler = first_filler

    def link(self, e: int) -> tuple[int, float]:
        if e < self.fillers:
            return self.first_filler + e // FILLER_FRAMES, float(e % FILLER_FRAMES)
        return self.samples[e]

    def frame_links(self, entry_ids: Iterable[int]) -> list[tuple[int, int, float]]:
        return [(e, *self.link(e)) for e in entry_ids]

    def video_frame_counts(self, ids: Iterable[int]) -> dict[int, int]:
        return {i: self.videos[i] for i in ids if i in self.videos}


def samples() -> dict[str, list[VideoFrame]]:
    return {p.stem: parse_vpdq(p.read_text().splitlines(), max_frames=10**6)
            for p in sorted(REF.glob("*.txt"))}


def build(n: int, banked: dict[str, list[VideoFrame]]) -> tuple[object, MemorySource,
                                                                 np.ndarray, dict[str, int]]:
    rng = np.random.default_rng(7)
    words = rng.integers(0, 2**63, size=(n, 4), dtype=np.uint64)
    videos: dict[int, int] = {}
    links: dict[int, tuple[int, float]] = {}
    sample_ids: dict[str, int] = {}
    extra: list[str] = []
    next_id = n
    for vid, (name, frames) in enumerate(banked.items(), start=1):
        sample_ids[name] = vid
        kept = unique_frames(frames, 50)
        videos[vid] = len(kept)
        for f in kept:
            links[next_id] = (vid, f.timestamp)
            extra.append(f.hash)
            next_id += 1
    fillers = len(banked) + 1
    for i in range(0, n, FILLER_FRAMES):
        videos[fillers + i // FILLER_FRAMES] = min(FILLER_FRAMES, n - i)

    def entries() -> Iterator[tuple[int, str, str, str, None]]:
        for start in range(0, n, 65_536):
            for i, h in enumerate(unpack_hex(words[start:start + 65_536]), start):
                yield (i, "bank", "confirmed_ncii", h, None)
        for j, h in enumerate(extra):
            yield (n + j, "bank", "confirmed_ncii", h, None)

    index = build_index("vpdq", entries())
    packed = np.concatenate([words.astype(">u8").view(np.uint8).reshape(n, 32),
                             np.frombuffer(bytes.fromhex("".join(extra)), np.uint8)
                             .reshape(len(extra), 32)])
    return index, MemorySource(videos, links, n, fillers), packed, sample_ids


def one_per_second(frames: Sequence[VideoFrame]) -> list[VideoFrame]:
    return [f for f in frames if f.number % 30 == 0]


def reference_match(faiss_index: object, source: MemorySource,
                    query: Sequence[VideoFrame]) -> set[int]:
    """FAISS flat range search of the query's frames, grouped by the same rule."""
    q = unique_frames(query, 50)
    if not q:
        return set()
    xq = np.frombuffer(bytes.fromhex("".join(f.hash for f in q)), np.uint8).reshape(len(q), 32)
    lims, _, ids = faiss_index.range_search(xq, RULE.threshold + 1)  # type: ignore[attr-defined]
    hit_q: dict[int, set[int]] = defaultdict(set)
    for qi in range(len(q)):
        for e in ids[lims[qi]:lims[qi + 1]]:
            video, _ = source.link(int(e))
            hit_q[video].add(qi)
    return {v for v, qs in hit_q.items() if 100.0 * len(qs) / len(q) >= RULE.query_percent}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", default="10M", help="random banked frames (e.g. 1M, 10M)")
    parser.add_argument("--repeat", type=int, default=20, help="runs of each query")
    args = parser.parse_args()
    import faiss

    print(load_text())
    n = size(args.frames)
    banked = samples()
    t = time.perf_counter()
    index, source, packed, sample_ids = build(n, banked)
    built = time.perf_counter() - t
    print(f"veil index: {len(index):,} frames built in {built:.1f} s")  # type: ignore[arg-type]
    t = time.perf_counter()
    flat = faiss.IndexBinaryFlat(256)
    flat.add(packed)
    print(f"faiss flat: built in {time.perf_counter() - t:.1f} s")
    rng = np.random.default_rng(11)
    queries = {name: one_per_second(frames) for name, frames in banked.items()}
    queries["random (60 frames)"] = [
        VideoFrame(i, 100, rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex(), float(i))
        for i in range(60)]
    print("\n| query | frames | veil p50 / p99 ms | flat p50 / p99 ms | flat ÷ veil | "
          "matched videos |")
    print("|---|---:|---|---|---:|---|")
    ratios = []
    for query in queries.values():  # compile the index's kernels before timing
        match_video(index, source, query, RULE, 50, {})  # type: ignore[arg-type]
    for name, query in queries.items():
        veil_ms, flat_ms = [], []
        found: set[int] = set()
        expected: set[int] = set()
        for _ in range(args.repeat):
            t = time.perf_counter()
            matches = match_video(index, source, query, RULE, 50, {})  # type: ignore[arg-type]
            veil_ms.append(1000 * (time.perf_counter() - t))
            t = time.perf_counter()
            expected = reference_match(flat, source, query)
            flat_ms.append(1000 * (time.perf_counter() - t))
            found = {m.video.video_id for m in matches if m.video and m.video.video_id}
        if found != expected:
            raise SystemExit(f"{name}: veil found {sorted(found)}, flat {sorted(expected)}")
        names = sorted(k for k, v in sample_ids.items() if v in found)
        vp, fp = np.percentile(veil_ms, [50, 99]), np.percentile(flat_ms, [50, 99])
        ratios.append(fp[0] / vp[0])
        print(f"| {name} | {len(unique_frames(query, 50))} | {vp[0]:.1f} / {vp[1]:.1f} | "
              f"{fp[0]:.0f} / {fp[1]:.0f} | {fp[0] / vp[0]:.0f}× | "
              f"{', '.join(names) or 'none'} |")
    print(f"\nmedian flat ÷ veil: {float(np.median(ratios)):.0f}×")
    print(load_text())


if __name__ == "__main__":
    main()
