"""The vPDQ rule through the exact index: which banked videos an uploaded video (or a
still, as a one-frame video) matches, and where.

The reference compares a query with each candidate video by brute force
(``veil.signals.vpdq.match_pair``). Here each of the query's unique frames of
matchable quality is one radius search in the ``vpdq`` index (batched), the hits are
grouped by the banked videos their entries belong to (``VideoSource``: a few rows
per hit), and a video matches when

* at least P_q of the query's unique frames are within the threshold of one of its
  frames, and
* at least P_c of its distinct frames are within the threshold of a query frame,

with P_q / P_c from the bank's policy (``BankPolicy.vpdq_query_percent`` /
``vpdq_candidate_percent``) or the settings. The shares are the reference's figures
exactly: each side's frame counts as matched when any frame of the other side is
within the distance, and the index finds every such pair. A ``vpdq`` entry banked on
its own (a hash list, ``veil bank add``) is a one-frame video.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Protocol

from veil.index import HammingIndex
from veil.signals.vpdq import VideoFrame, unique_frames
from veil.verdict import Match, VideoMatch

#: The vPDQ signal type's registry name.
VPDQ = "vpdq"


class VideoSource(Protocol):
    """What video matching reads from the store (``veil.store.Store``)."""

    def frame_links(self, entry_ids: Iterable[int]) -> Sequence[tuple[int, int, float]]: ...

    def video_frame_counts(self, ids: Iterable[int]) -> dict[int, int]: ...


@dataclass(frozen=True, slots=True)
class VideoRule:
    threshold: int
    query_percent: float
    candidate_percent: float
    #: Largest gap, in seconds, between matched frames of one reported time range.
    range_gap: float


@dataclass
class _Candidate:
    bank: str
    category: str
    frames: int
    query_hit: set[int] = field(default_factory=set)
    entries_hit: set[int] = field(default_factory=set)
    query_times: list[float] = field(default_factory=list)
    banked_times: list[float] = field(default_factory=list)
    best: tuple[int, int] = (1 << 30, 0)  # (distance, entry id)


def time_ranges(times: Iterable[float], gap: float) -> list[tuple[float, float]]:
    """Sorted timestamps joined into ranges wherever the next is within ``gap``."""
    out: list[list[float]] = []
    for t in sorted(set(times)):
        if out and t - out[-1][1] <= gap:
            out[-1][1] = t
        else:
            out.append([t, t])
    return [(round(a, 3), round(b, 3)) for a, b in out]


def _percent(policy: object, key: str, default: float) -> float:
    """The bank policy's ``key`` (``BankPolicy.vpdq_*_percent``), else ``default``."""
    value = getattr(policy, key, None)
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 100:
        return float(value)
    return default


def match_video(index: HammingIndex | None, source: VideoSource | None,
                frames: Sequence[VideoFrame], rule: VideoRule, min_quality: int,
                policies: Mapping[str, object]) -> list[Match]:
    """The banked videos ``frames`` (a query's sampled frames) match under ``rule``."""
    query = unique_frames(frames, min_quality)
    if index is None or not len(index) or not query:
        return []
    seen_at = _times(frames)
    hits = index.search([f.hash for f in query], rule.threshold)
    links: dict[int, list[tuple[int, float]]] = defaultdict(list)
    if source is not None:
        wanted = {h.entry_id for per in hits for h in per}
        for entry_id, video_id, ts in source.frame_links(wanted) if wanted else ():
            links[entry_id].append((video_id, ts))
    counts = source.video_frame_counts(
        {v for per in links.values() for v, _ in per}) if source is not None else {}
    found: dict[tuple[str, int], _Candidate] = {}
    for qi, per in enumerate(hits):
        for h in per:
            # an entry with no video is a one-frame video of its own
            homes: list[tuple[tuple[str, int], float | None]] = [
                (("video", v), ts) for v, ts in links.get(h.entry_id, ()) if v in counts]
            if not homes:
                homes = [(("entry", h.entry_id), None)]
            for key, when in homes:
                c = found.get(key)
                if c is None:
                    frames_total = counts[key[1]] if key[0] == "video" else 1
                    c = found[key] = _Candidate(h.bank, h.category, frames_total)
                c.query_hit.add(qi)
                c.entries_hit.add(h.entry_id)
                c.query_times += seen_at[query[qi].hash]
                if when is not None:
                    c.banked_times.append(when)
                c.best = min(c.best, (h.distance, h.entry_id))
    matches = []
    for (kind, ident), c in found.items():
        policy = policies.get(c.bank)
        pq = _percent(policy, "vpdq_query_percent", rule.query_percent)
        pc = _percent(policy, "vpdq_candidate_percent", rule.candidate_percent)
        q_pct = 100.0 * len(c.query_hit) / len(query)
        c_pct = min(100.0, 100.0 * len(c.entries_hit) / max(c.frames, 1))
        if q_pct < pq or c_pct < pc:
            continue
        matches.append(Match(
            signal=VPDQ, entry_id=c.best[1], bank=c.bank, category=c.category,
            distance=c.best[0], threshold=rule.threshold,
            video=VideoMatch(
                video_id=ident if kind == "video" else None,
                query_percent=round(q_pct, 2), candidate_percent=round(c_pct, 2),
                query_frames=len(query), frames_matched=len(c.query_hit),
                query_ranges=time_ranges(c.query_times, rule.range_gap),
                banked_ranges=time_ranges(c.banked_times, rule.range_gap))))
    return matches


def match_frames_to_pictures(index: HammingIndex | None, frames: Sequence[VideoFrame],
                             threshold: int, min_quality: int) -> list[Match]:
    """Banked pictures (``pdq`` entries) that some frame of a video shows: a slideshow
    or a screen recording of a banked photo. One frame within the threshold is a match;
    the reply says where in the video the picture appears."""
    query = unique_frames(frames, min_quality)
    if index is None or not len(index) or not query:
        return []
    seen_at = _times(frames)
    per_entry: dict[int, tuple[str, str, int, list[float]]] = {}
    for f, hits in zip(query, index.search([f.hash for f in query], threshold), strict=True):
        for h in hits:
            bank, category, best, times = per_entry.get(
                h.entry_id, (h.bank, h.category, h.distance, []))
            times += seen_at[f.hash]
            per_entry[h.entry_id] = (bank, category, min(best, h.distance), times)
    gap = _step(frames) * 2
    shown = {e: len({f.hash for f in query if set(seen_at[f.hash]) & set(times)})
             for e, (_, _, _, times) in per_entry.items()}
    return [Match(signal="pdq", entry_id=entry_id, bank=bank, category=category,
                  distance=best, threshold=threshold,
                  video=VideoMatch(query_percent=round(100.0 * shown[entry_id] / len(query), 2),
                                   candidate_percent=100.0, query_frames=len(query),
                                   frames_matched=shown[entry_id],
                                   query_ranges=time_ranges(times, gap), banked_ranges=[]))
            for entry_id, (bank, category, best, times) in per_entry.items()]


def _times(frames: Sequence[VideoFrame]) -> dict[str, list[float]]:
    """When each hash is seen: a still scene repeats one hash for seconds, and the
    rule counts it once, but where it matched is every time it is shown."""
    out: dict[str, list[float]] = defaultdict(list)
    for f in frames:
        out[f.hash].append(f.timestamp)
    return out


def _step(frames: Sequence[VideoFrame]) -> float:
    """The sampling interval of ``frames`` (their smallest positive time step)."""
    steps = [b.timestamp - a.timestamp for a, b in pairwise(frames)
             if b.timestamp > a.timestamp]
    return min(steps) if steps else 1.0
