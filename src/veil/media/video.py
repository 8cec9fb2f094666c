"""Untrusted video → sampled frames as luma planes, within ``VideoLimits``.

Containers (MP4/MOV, WebM/Matroska) are decoded with PyAV (its wheels bring their own
ffmpeg); animated GIF and WebP with Pillow, which already reads them safely for
stills. Frames are sampled as vPDQ samples them: frame ``n`` (counted in
presentation order from 0) is taken when ``n % max(1, int(seconds_per_hash × fps))``
is 0, and its timestamp is ``n / fps``; ``seconds_per_hash = 0`` takes every frame.

Only the luma plane goes on: PDQ hashes luma (``0.299 R + 0.587 G + 0.114 B``), and
for Y'CbCr video that is the Y plane itself, scaled from studio range where the
stream is studio range — no RGB conversion, which would cost more than the hash. A
frame in any other pixel format is converted to RGB and reduced to luma as the
reference does.

Every limit is checked against what decoding finds (frame sizes, timestamps, frame
counts, time taken), not only against the container's claims.

Speed: at one frame a second most frames are decoded only to be thrown away. An H.264
picture that is not sampled and that no sampled picture is predicted from — a
non-reference picture (``nal_ref_idc`` 0, most B-frames), or any picture after the
last sampled one before the next IDR picture — is not sent to the decoder at all;
frames are then numbered
from their timestamps, which a pass over the packets first shows to number exactly as
counting would (``_skip_plan``). The frames, numbers and hashes are the same as with
every packet decoded (tests/media/test_video_speedpath.py); for other codecs, Annex-B
streams and irregular timestamps everything is decoded.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from veil.errors import MediaEmpty, MediaError, MediaTooLarge, MediaTruncated, MediaUnsupported

if TYPE_CHECKING:
    from veil.config import VideoLimits

#: Formats decoded as video, by what ``sniff`` recognises: containers always,
#: GIF and WebP when animated.
CONTAINERS = ("mp4", "mov", "webm", "mkv")
ANIMATIONS = ("gif", "webp")
#: A video's source: a file, or bytes already in memory (an animation).
Source = Path | BinaryIO
#: Bytes ``sniff`` needs from the start of a file.
SNIFF_BYTES = 64

# Y' in studio range spans 16..235; PDQ's luma is computed from full-range RGB.
_STUDIO_SCALE = np.float32(255.0 / 219.0)
_STUDIO_LUMA = ("yuv420p", "yuv422p", "yuv444p", "yuv410p", "yuv411p", "yuv440p", "nv12",
                "nv21", "nv16", "nv24", "yuva420p")
_FULL_LUMA = ("yuvj420p", "yuvj422p", "yuvj444p", "yuvj440p", "gray")
_LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], np.float32)


def sniff(head: bytes) -> str | None:
    """The video format of a file starting with ``head``, or None (a still image, or
    not media at all). Animated GIF and WebP are told from stills later, by frame
    count (``is_animated``)."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis", b"heic", b"heix", b"mif1", b"msf1", b"heim",
                     b"heis", b"hevc", b"hevx"):
            return None  # HEIF/AVIF stills share the ISO container
        return "mov" if brand == b"qt  " else "mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm" if b"webm" in head[:SNIFF_BYTES] else "mkv"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


@dataclass(frozen=True, slots=True)
class VideoInfo:
    format: str
    codec: str
    width: int
    height: int
    #: Frames a second, as the sampling uses it (the stream's average rate).
    frame_rate: float


@dataclass(frozen=True, slots=True)
class LumaFrame:
    #: Frame number in presentation order, from 0.
    number: int
    #: Seconds from the start: ``number / frame_rate`` as in vPDQ (animations: the
    #: frame's own start time).
    timestamp: float
    #: Luma in 0..255, float32, (height, width).
    luma: np.ndarray


@dataclass
class Decoded:
    """What decoding a video found; ``frames`` is filled as it goes."""

    info: VideoInfo
    frames_decoded: int = 0
    duration: float = 0.0
    warnings: list[str] = field(default_factory=list)


def frame_mod(seconds_per_hash: float, frame_rate: float) -> int:
    """Every how many frames one is sampled (vPDQ: truncated, at least 1)."""
    return max(1, int(seconds_per_hash * frame_rate))


class _Clock:
    def __init__(self, limits: VideoLimits) -> None:
        self.limits = limits
        self.start = time.monotonic()

    def check(self, decoded: int, timestamp: float) -> None:
        lim = self.limits
        if decoded > lim.max_frames:
            raise MediaTooLarge(f"the video has more than {lim.max_frames:,} frames "
                                "(VEIL_VIDEO_MAX_FRAMES)")
        if timestamp > lim.max_duration_s:
            raise MediaTooLarge(f"the video is longer than {lim.max_duration_s:,.0f} s "
                                "(VEIL_VIDEO_MAX_DURATION_S)")
        if time.monotonic() - self.start > lim.max_hash_seconds:
            raise MediaTooLarge(f"the video took longer than {lim.max_hash_seconds:,.0f} s "
                                "to decode (VEIL_VIDEO_MAX_HASH_SECONDS)")


def _check_size(width: int, height: int, limits: VideoLimits) -> None:
    if width <= 0 or height <= 0:
        raise MediaError("the video has no frame size")
    if width * height > limits.max_frame_pixels:
        raise MediaTooLarge(f"video frames of {width}×{height} are larger than "
                            f"{limits.max_frame_pixels:,} pixels (VEIL_VIDEO_MAX_FRAME_PIXELS)")


def luma_of(frame: Any) -> np.ndarray:
    """PDQ's luma of a PyAV ``VideoFrame`` (see the module docstring)."""
    fmt = frame.format.name
    if fmt in _STUDIO_LUMA or fmt in _FULL_LUMA:
        plane = frame.planes[0]
        rows = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
        y = rows[:frame.height, :frame.width].astype(np.float32)
        # color_range 2 is JPEG (full) range; unspecified (0) follows the pixel format
        studio = frame.color_range == 1 or (frame.color_range != 2 and fmt in _STUDIO_LUMA)
        if studio:
            y -= 16.0
            y *= _STUDIO_SCALE
        return y
    rgb = frame.to_ndarray(format="rgb24")
    luma: np.ndarray = rgb @ _LUMA_WEIGHTS
    return luma


def _av_error(exc: BaseException) -> MediaError:
    text = str(exc) or type(exc).__name__
    if "end of file" in text.lower() or "truncat" in text.lower():
        return MediaTruncated(f"the video is truncated ({text})")
    return MediaError(f"the video is corrupt and could not be decoded ({text})")


@contextmanager
def _opened(source: Source) -> Iterator[Any]:
    import av

    try:
        container = av.open(str(source) if isinstance(source, Path) else source, mode="r",
                            metadata_errors="ignore")
    except av.FFmpegError as exc:
        # the reason without the file name: an upload's is a server's temporary path
        why = getattr(exc, "strerror", None) or type(exc).__name__
        raise MediaUnsupported(f"not a video Veil can read ({why})") from None
    try:
        yield container
    finally:
        container.close()


class _Irregular(Exception):
    """Decoding with skipped packets met something the plan did not foresee."""


@dataclass(frozen=True, slots=True)
class _SkipPlan:
    """Which packets of an H.264 stream need not be decoded (see ``_skip_plan``)."""

    first_pts: int
    #: Seconds per unit of ``pts`` × frames a second: ``(pts - first_pts) × scale`` is
    #: the frame number.
    scale: float
    frames: int
    skip: frozenset[int]

    def number(self, pts: int) -> int:
        return round((pts - self.first_pts) * self.scale)


# non-IDR slice, IDR slice, access unit delimiter, filler: what a non-reference
# picture's packet may hold and still be left out (SEI, parameter sets and anything
# else keep it in)
_H264_SLICE, _H264_IDR, _H264_AUD, _H264_FILLER = 1, 5, 9, 12
#: What ``h264_packet`` tells of a packet.
NON_REFERENCE, IDR, OTHER = "non-reference", "idr", "other"


def _avcc_length_size(extradata: bytes | None) -> int | None:
    """Bytes in each NAL unit's length prefix, from an ``avcC`` record (MP4/MOV,
    Matroska); None for Annex-B streams (start codes) and anything unparsable."""
    if not extradata or len(extradata) < 7 or extradata[0] != 1:
        return None
    size = (extradata[4] & 3) + 1
    return size if size in (1, 2, 4) else None


def h264_packet(data: bytes | memoryview, length_size: int) -> str:
    """What an AVCC packet holds: ``NON_REFERENCE`` when only slices of a
    non-reference picture (``nal_ref_idc`` 0: no other frame is predicted from it,
    so leaving it out of the decoder changes no other frame — FFmpeg's
    ``AVDISCARD_NONREF`` rests on the same fact); ``IDR`` when an IDR picture (the
    decoder forgets every earlier picture: nothing after it is predicted from
    anything before it); ``OTHER`` for anything else, malformed packets included."""
    i, end = 0, len(data)
    slices = idr = 0
    referenced = False
    while i < end:
        if i + length_size >= end:
            return OTHER
        size = int.from_bytes(data[i:i + length_size], "big")
        header = data[i + length_size]
        if size == 0 or i + length_size + size > end or header & 0x80:
            return OTHER
        kind = header & 0x1F
        if kind == _H264_SLICE:
            slices += 1
            referenced = referenced or bool(header & 0x60)  # nal_ref_idc
        elif kind == _H264_IDR:
            idr += 1
        elif kind not in (_H264_AUD, _H264_FILLER):
            referenced = True  # SEI, parameter sets, other units: keep the packet
        i += length_size + size
    if idr:
        return IDR if not slices else OTHER
    return NON_REFERENCE if slices and not referenced else OTHER


def _skip_plan(path: Path, index: int, fps: float, mod: int,
               limits: VideoLimits) -> _SkipPlan | None:
    """The packets that need not be decoded when only every ``mod``-th frame is
    sampled: H.264 pictures not sampled that are either non-reference pictures or
    come, in decoding order, after the last sampled picture before the next IDR
    picture (or the end) — no sampled frame is predicted from them.

    Frames are then numbered from presentation timestamps, not by counting decoded
    frames, so a plan is made only where the two agree: one pass over the packets
    (no decoding) must find every packet timestamped, and the sorted timestamps must
    number ``0, 1, 2, …`` exactly (constant frame rate, no gaps, no duplicates).
    Otherwise — another codec, Annex-B, missing or irregular timestamps, more
    packets than ``max_frames``, packets marked discarded or corrupt — None: every
    packet is decoded, as without a plan. Should decoding still meet a timestamp out
    of step, ``_container_frames`` starts again with every packet decoded."""
    import av

    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            stream = container.streams.video[index]
            length_size = _avcc_length_size(stream.codec_context.extradata)
            if stream.codec_context.name != "h264" or length_size is None \
                    or stream.time_base is None:
                return None
            # in decoding order; arrays, not lists: a long video has a million packets
            stamps = array("q")
            kinds: list[str] = []
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue
                # a packet the container marks to discard (an edit list cutting the
                # start) gives no frame, and a corrupt one may give none: count-based
                # and timestamp-based numbering could part
                if packet.pts is None or packet.is_discard or packet.is_corrupt \
                        or len(stamps) >= limits.max_frames:
                    return None
                stamps.append(packet.pts)
                kinds.append(h264_packet(memoryview(packet), length_size))
            scale = float(stream.time_base) * fps
    except (av.FFmpegError, OSError, ValueError):
        return None
    if not stamps:
        return None
    ordered = np.sort(np.frombuffer(stamps, np.int64))
    first = int(ordered[0])
    if not np.array_equal(np.rint((ordered - first) * scale), np.arange(len(ordered))):
        return None
    # backwards in decoding order: a picture is needed when a sampled one after it,
    # with no IDR picture between, may be predicted from it
    skip = set()
    needed = False
    for pts, kind in zip(reversed(stamps), reversed(kinds), strict=True):
        if round((pts - first) * scale) % mod == 0:
            needed = True
        elif not needed or kind == NON_REFERENCE:
            skip.add(pts)
        if kind == IDR:
            needed = False
    return _SkipPlan(first, scale, len(stamps), frozenset(skip)) if skip else None


def _container_frames(path: Source, fmt: str, limits: VideoLimits, seconds_per_hash: float,
                      found: list[Decoded], decode_all: bool) -> Iterator[LumaFrame]:
    clock = _Clock(limits)
    last = -1
    if not decode_all and seconds_per_hash > 0 and isinstance(path, Path):
        try:
            for frame in _decoded_frames(path, fmt, limits, seconds_per_hash, found, clock,
                                         planned=True):
                last = frame.number
                yield frame
            return
        except _Irregular:
            # decode it all again, passing on only the frames not yet given
            found.clear()
    for frame in _decoded_frames(path, fmt, limits, seconds_per_hash, found, clock,
                                 planned=False):
        if frame.number > last:
            yield frame


def _decoded_frames(path: Source, fmt: str, limits: VideoLimits, seconds_per_hash: float,
                    found: list[Decoded], clock: _Clock, *,
                    planned: bool) -> Iterator[LumaFrame]:
    import av

    with _opened(path) as container:
        streams = container.streams.video
        if not streams:
            what = "audio only" if container.streams.audio else "no video stream"
            raise MediaUnsupported(f"the file has {what}: nothing to hash")
        stream = streams[0]
        ctx = stream.codec_context
        _check_size(ctx.width, ctx.height, limits)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if not fps > 0:
            raise MediaError("the video declares no frame rate")
        stream.thread_type = "AUTO"
        info = VideoInfo(fmt, ctx.name, ctx.width, ctx.height, fps)
        mod = 1 if seconds_per_hash == 0 else frame_mod(seconds_per_hash, fps)
        plan = None
        if planned and mod > 1 and isinstance(path, Path):
            plan = _skip_plan(path, stream.index, fps, mod, limits)
        decoded = Decoded(info)
        found.append(decoded)
        n = 0  # frames so far (decoded, or left out by the plan)
        t0: float | None = None
        try:
            for frame in (_frames_all(container, stream) if plan is None
                          else _frames_planned(container, stream, plan)):
                if plan is not None:
                    if frame.pts is None:
                        raise _Irregular
                    number = plan.number(frame.pts)
                    if number < n or (n == 0 and number != 0):
                        raise _Irregular
                    n = number
                if frame.width != ctx.width or frame.height != ctx.height:
                    _check_size(frame.width, frame.height, limits)
                # the clock runs on the later of counted frames and decoded time: a
                # stream whose timestamps jump hours ahead is as long as they say
                t = frame.time
                if t is not None and t0 is None:
                    t0 = t
                clock.check(n + 1, max(n / fps, t - t0 if t is not None and t0 is not None
                                       else 0.0))
                if n % mod == 0:
                    yield LumaFrame(n, n / fps, luma_of(frame))
                n += 1
                decoded.frames_decoded = n
        except av.FFmpegError as exc:
            if n == 0:
                raise _av_error(exc) from None
            # a damaged tail: the frames before it stand, and a warning says so
            decoded.warnings.append(f"decoding stopped after frame {n - 1}: {exc}")
        else:
            if plan is not None and n:
                # non-reference frames left out at the end still count, against the
                # limits too
                n = decoded.frames_decoded = max(n, plan.frames)
                clock.check(n, (n - 1) / fps)
        decoded.duration = n / fps
        if n == 0:
            raise MediaEmpty("the video has no decodable frames")
        declared = stream.frames or 0
        # MP4's index lists every frame: a file cut short decodes fewer and ffmpeg just
        # stops, so the count is the check (a little slack for edit lists)
        if declared and n < declared - max(2, declared // 100):
            raise MediaTruncated(f"the video is truncated or damaged: {n:,} of the "
                                 f"{declared:,} frames it declares could be decoded")
        # Matroska and WebM carry no frame index, but a duration (when the muxer could
        # write it): a file cut short decodes a fraction of it
        seconds = (container.duration or 0) / 1_000_000
        if fmt in ("webm", "mkv") and seconds > 2 and decoded.duration < 0.9 * seconds - 1:
            raise MediaTruncated(f"the video is truncated or damaged: {decoded.duration:.1f} s "
                                 f"of the {seconds:.1f} s it declares could be decoded")


def _frames_all(container: Any, stream: Any) -> Iterator[Any]:
    yield from container.decode(stream)


def _frames_planned(container: Any, stream: Any, plan: _SkipPlan) -> Iterator[Any]:
    for packet in container.demux(stream):
        # the empty packet at the end flushes the decoder; it is never left out
        if packet.size and packet.pts in plan.skip:
            continue
        yield from stream.decode(packet)


def _animation_frames(path: Source, fmt: str, limits: VideoLimits, seconds_per_hash: float,
                      found: list[Decoded]) -> Iterator[LumaFrame]:
    from PIL import Image

    try:
        im = Image.open(path)
    except (OSError, ValueError) as exc:
        raise MediaUnsupported(f"not an animation Veil can read ({exc})") from None
    with im:
        _check_size(im.width, im.height, limits)
        count = getattr(im, "n_frames", 1)
        if count > limits.max_frames:
            raise MediaTooLarge(f"the animation has more than {limits.max_frames:,} frames "
                                "(VEIL_VIDEO_MAX_FRAMES)")
        durations = []
        for i in range(count):
            im.seek(i)
            if fmt == "webp":
                im.load()  # Pillow sets a WebP frame's duration only once it is decoded
            durations.append(max(int(im.info.get("duration", 0) or 0), 0))
        # browsers show frames of 0-10 ms at 100 ms; so does this
        durations = [d if d > 10 else 100 for d in durations]
        total = sum(durations) / 1000
        fps = count / total if total > 0 else 10.0
        info = VideoInfo(fmt, fmt, im.width, im.height, fps)
        decoded = Decoded(info)
        found.append(decoded)
        clock = _Clock(limits)
        start = 0.0
        next_due = 0.0
        try:
            for i in range(count):
                clock.check(i + 1, start)
                if seconds_per_hash == 0 or start >= next_due - 1e-9:
                    im.seek(i)
                    rgb = np.asarray(im.convert("RGB"), np.float32)
                    yield LumaFrame(i, round(start, 3), rgb @ _LUMA_WEIGHTS)
                    if seconds_per_hash:
                        while next_due <= start + 1e-9:
                            next_due += seconds_per_hash
                start += durations[i] / 1000
                decoded.frames_decoded = i + 1
        except (OSError, ValueError, EOFError) as exc:
            raise MediaError(f"the animation is corrupt ({exc})") from None
        decoded.duration = start


def is_animated(path: Source) -> bool:
    """A GIF or WebP with more than one frame (one frame is a still image)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return bool(getattr(im, "is_animated", False))
    except (OSError, ValueError):
        return False
    finally:
        if not isinstance(path, Path):
            path.seek(0)


def sampled_frames(path: Source, fmt: str, limits: VideoLimits, *,
                   seconds_per_hash: float | None = None,
                   found: list[Decoded] | None = None,
                   decode_all: bool = False) -> Iterator[LumaFrame]:
    """The sampled frames of the video at ``path`` (format as ``sniff`` named it).

    ``found`` receives the ``Decoded`` record (info, frames decoded, duration) once the
    stream is open; it is complete when the iterator is exhausted. ``decode_all``
    sends every packet to the decoder (see ``_skip_plan`` for what is otherwise left
    out; the frames and their numbers are the same either way). Raises
    ``MediaError`` subclasses for what cannot be read or breaks a limit."""
    sph = limits.seconds_per_hash if seconds_per_hash is None else seconds_per_hash
    sink: list[Decoded] = [] if found is None else found
    if fmt in ("gif", "webp"):
        yield from _animation_frames(path, fmt, limits, sph, sink)
    else:
        yield from _container_frames(path, fmt, limits, sph, sink, decode_all)


def still_jpeg(path: Path, at: float, limits: VideoLimits, *, quality: int = 85) -> bytes:
    """The frame shown at ``at`` seconds (the last one, if the video ends first), as a
    JPEG: what a review item keeps of a video, so a reviewer sees one still — blurred
    first — and never a playing video."""
    import io

    import av

    with _opened(path) as container:
        if not container.streams.video:
            raise MediaUnsupported("the file has no video stream")
        stream = container.streams.video[0]
        _check_size(stream.codec_context.width, stream.codec_context.height, limits)
        stream.thread_type = "AUTO"
        clock = _Clock(limits)
        last = None
        try:
            for n, frame in enumerate(container.decode(stream)):
                clock.check(n + 1, 0.0)
                last = frame
                if frame.time is not None and frame.time >= at:
                    break
        except av.FFmpegError as exc:
            if last is None:
                raise _av_error(exc) from None
        if last is None:
            raise MediaEmpty("the video has no decodable frames")
        buf = io.BytesIO()
        last.to_image().save(buf, "JPEG", quality=quality)
        return buf.getvalue()
