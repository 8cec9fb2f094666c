"""``vpdq``: Meta's video PDQ — a PDQ hash per sampled frame, with quality, frame
number and timestamp (docs/video.md).

A bank holds a video as one ``vpdq`` entry per distinct frame hash (after
``prune``), linked to the video by the store. A still image scanned against video
banks is a one-frame video: its ``vpdq`` signal is its PDQ hash.

Frames are hashed from their luma plane (``veil.media.video``) through PDQ's
full-resolution filter weights, the same arithmetic as ``pdq_core``'s grey path;
against ``pdqhash`` on the RGB frame the hash drifts by a few bits at most
(tests/signals/test_vpdq.py, docs/video.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from veil.errors import BadHash, BadInput
from veil.media.video import Decoded, LumaFrame, Source, VideoInfo, sampled_frames
from veil.signals import pdq_core
from veil.signals.base import Signal, SignalType
from veil.signals.digests import file_digest
from veil.signals.hexhash import hamming_hex, parse_hex
from veil.signals.pdq import compute_pdq, from_buffer

if TYPE_CHECKING:
    from veil.config import VideoLimits
    from veil.media.source import Media

#: The vPDQ rule's defaults (python-threatexchange's, which the issue follows): a
#: video matches when this share of the query's unique frames match (P_q) ...
QUERY_MATCH_PERCENT = 80.0
#: ... and this share of the banked video's (P_c).
CANDIDATE_MATCH_PERCENT = 0.0


class VPDQ(SignalType):
    name: ClassVar[str] = "vpdq"
    bits: ClassVar[int] = 256
    #: A frame matches within PDQ's distance.
    default_threshold: ClassVar[int] = 31
    #: The reference filters frames below quality 50 before matching.
    min_quality: ClassVar[int | None] = 50
    of_stills: ClassVar[bool] = False

    def compute(self, media: Media) -> Signal:
        r = compute_pdq(media)
        return Signal(self.name, r.hash, r.quality)


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """One sampled frame's hash, as a line of the reference's text format."""

    number: int
    quality: int
    hash: str
    timestamp: float

    def line(self) -> str:
        return f"{self.number},{self.quality},{self.hash},{self.timestamp:.3f}"


@dataclass(frozen=True)
class VideoHash:
    """A video's vPDQ frames (every sampled frame, in order) and its MD5."""

    frames: tuple[VideoFrame, ...]
    md5: str
    info: VideoInfo
    frames_decoded: int
    duration: float
    warnings: tuple[str, ...] = ()

    def unique(self, min_quality: int) -> list[VideoFrame]:
        return unique_frames(self.frames, min_quality)

    def as_json(self, *, frames: bool = False) -> dict[str, object]:
        out: dict[str, object] = {
            "format": self.info.format, "codec": self.info.codec,
            "width": self.info.width, "height": self.info.height,
            "frame_rate": round(self.info.frame_rate, 3),
            "duration": round(self.duration, 3), "frames_decoded": self.frames_decoded,
            "frames_hashed": len(self.frames),
            "frames_unique": len(unique_frames(self.frames, VPDQ.min_quality or 0))}
        if frames:
            out["frames"] = [{"frame": f.number, "quality": f.quality, "hash": f.hash,
                              "timestamp": round(f.timestamp, 3)} for f in self.frames]
        return out


@lru_cache(maxsize=8)
def _weights(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    wr = pdq_core.tent_weights(rows).astype(np.float32)
    wc = np.ascontiguousarray(pdq_core.tent_weights(cols).T.astype(np.float32))
    return wr, wc


def hash_luma(luma: np.ndarray) -> tuple[str, int]:
    """PDQ hash and quality of a luma plane (0..255 floats)."""
    rows, cols = luma.shape
    if min(rows, cols) < pdq_core.MIN_HASHABLE_DIM:
        return "0" * 64, 0
    wr, wc = _weights(rows, cols)
    r = from_buffer((wr @ luma) @ wc)
    return r.hash, r.quality


def hash_frames(frames: Iterable[LumaFrame]) -> Iterator[VideoFrame]:
    for f in frames:
        h, q = hash_luma(f.luma)
        yield VideoFrame(f.number, q, h, f.timestamp)


def file_md5(source: Source) -> str:
    """MD5 of the file's bytes: the video hash StopNCII exchanges."""
    return file_digest(source, "md5")


def hash_video(path: Source, fmt: str, limits: VideoLimits, *,
               seconds_per_hash: float | None = None, decode_all: bool = False) -> VideoHash:
    """vPDQ and MD5 of the video at ``path`` (a file, or an animation's bytes in
    memory). ``decode_all`` turns off leaving unsampled non-reference frames out of
    the decoder (the result is the same; tests and bench/video.py compare). Raises
    ``MediaError`` subclasses."""
    from threadpoolctl import threadpool_limits

    found: list[Decoded] = []
    # one BLAS thread: the decoder's threads already use the cores, and BLAS threads
    # fighting them made each frame's two small products ten times slower
    with threadpool_limits(limits=1, user_api="blas"):
        frames = tuple(hash_frames(sampled_frames(path, fmt, limits,
                                                  seconds_per_hash=seconds_per_hash,
                                                  found=found, decode_all=decode_all)))
    decoded = found[0]
    return VideoHash(frames, file_md5(path), decoded.info, decoded.frames_decoded,
                     decoded.duration, tuple(decoded.warnings))


# -- what is kept, and what is compared ---------------------------------------------------
def unique_frames(frames: Iterable[VideoFrame], min_quality: int) -> list[VideoFrame]:
    """Frames of at least ``min_quality``, each hash once (its first occurrence): the
    "bag of hashes" the vPDQ rule compares."""
    seen: set[str] = set()
    out = []
    for f in frames:
        if f.quality >= min_quality and f.hash not in seen:
            seen.add(f.hash)
            out.append(f)
    return out


def prune(frames: Iterable[VideoFrame], distance: int) -> list[VideoFrame]:
    """vPDQ's pruning for storage: drop each frame within ``distance`` bits of the last
    frame kept."""
    kept: list[VideoFrame] = []
    for f in frames:
        if not kept or hamming_hex(f.hash, kept[-1].hash) > distance:
            kept.append(f)
    return kept


@dataclass(frozen=True, slots=True)
class PairMatch:
    query_percent: float
    candidate_percent: float

    def matches(self, query_percent: float, candidate_percent: float) -> bool:
        return (self.query_percent >= query_percent
                and self.candidate_percent >= candidate_percent)


def match_pair(query: Sequence[VideoFrame], candidate: Sequence[VideoFrame], *,
               distance: int = 31, min_quality: int = 50) -> PairMatch:
    """The vPDQ comparison of two videos by brute force (the reference's
    ``matchTwoHashBrute``, with ``<=`` as its documentation states): the share of each
    side's unique frames within ``distance`` of some frame of the other. The service
    reaches the same figures through the index (``veil.matching.video``); this is
    its yardstick and the conformance tests'."""
    q = unique_frames(query, min_quality)
    c = unique_frames(candidate, min_quality)
    if not q or not c:
        return PairMatch(0.0, 0.0)
    qa = _bits(q)
    ca = _bits(c)
    within = _distances(qa, ca) <= distance
    return PairMatch(100.0 * within.any(axis=1).sum() / len(q),
                     100.0 * within.any(axis=0).sum() / len(c))


def _bits(frames: Sequence[VideoFrame]) -> np.ndarray:
    return np.unpackbits(np.frombuffer(b"".join(bytes.fromhex(f.hash) for f in frames),
                                       np.uint8).reshape(len(frames), 32), axis=1)


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # float32 products go to BLAS (integer ones do not: 50x slower on 600-frame videos)
    # and are exact here, every sum being a count of at most 256 bits
    af = a.astype(np.float32)
    bf = b.astype(np.float32)
    # |a - b| summed over bits = a·(1-b) + (1-a)·b
    dist: np.ndarray = (af @ (1 - bf).T + (1 - af) @ bf.T).astype(np.int32)
    return dist


# -- the reference's text format -----------------------------------------------------------
def format_vpdq(frames: Iterable[VideoFrame]) -> str:
    """``frame,quality,hash,timestamp`` lines, as the reference writes them."""
    return "".join(f.line() + "\n" for f in frames)


def parse_vpdq(lines: Iterable[str], *, max_frames: int, label: str = "") -> list[VideoFrame]:
    """Frames from the reference's text format; blank lines are skipped, anything else
    malformed raises ``BadInput`` naming the line."""
    out: list[VideoFrame] = []
    where = f"{label}: " if label else ""
    for i, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        if len(out) >= max_frames:
            raise BadInput(f"{where}more than {max_frames:,} frames", code="input.too_many")
        parts = line.split(",")
        if len(parts) != 4:
            raise BadInput(f"{where}line {i}: expected frame,quality,hash,timestamp")
        try:
            number, quality = int(parts[0]), int(parts[1])
            timestamp = float(parts[3])
            value = parse_hex(parts[2], VPDQ.bits, VPDQ.name)
        except BadHash as exc:
            raise BadInput(f"{where}line {i}: {exc.message}") from None
        except ValueError:
            raise BadInput(f"{where}line {i}: frame, quality and timestamp must be "
                           "numbers") from None
        if number < 0 or not 0 <= quality <= 100 or not 0 <= timestamp < 1e7 \
                or timestamp != timestamp:
            raise BadInput(f"{where}line {i}: frame must be >= 0, quality 0-100 and the "
                           "timestamp a time in seconds")
        out.append(VideoFrame(number, quality, value, timestamp))
    return out
