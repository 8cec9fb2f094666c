"""Leaving unsampled non-reference H.264 frames out of the decoder changes nothing:
the same frames, numbers, timestamps and hashes as decoding every packet, on Meta's
sample videos and on generated ones (B-frames, variable frame rate, Annex-B).

Videos are made here from synthetic patterns; the samples come from the shared data.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from veil.config import VideoLimits
from veil.errors import MediaTruncated
from veil.media import video
from veil.media.video import IDR, NON_REFERENCE, OTHER, _avcc_length_size, _skip_plan, h264_packet
from veil.signals.vpdq import hash_video

LIMITS = VideoLimits()


@pytest.fixture(scope="module")
def samples(shared_data: Path) -> list[Path]:
    files = sorted((shared_data / "video-reference" / "videos").glob("*.mp4"))
    assert len(files) >= 10, "expected Meta's sample videos in video-reference/videos"
    return files


def _pattern(i: int, w: int, h: int) -> np.ndarray:
    """A moving pattern with a cut every 20 frames, so frames hash apart."""
    y, x = np.mgrid[0:h, 0:w]
    shot = i // 20
    v = (x * (1 + shot % 3) + y * (2 + shot % 2) + 4 * i) % 256
    rgb = np.stack([v, (v * 3 + 85 * shot) % 256, 255 - v], axis=-1)
    return rgb.astype(np.uint8)


def _encode(path: Path, frames: int = 90, *, fmt: str | None = None,
            options: dict[str, str] | None = None,
            pts: list[int] | None = None, container_options: dict[str, str] | None = None
            ) -> Path:
    w, h = 160, 96
    with av.open(str(path), "w", format=fmt, options=container_options or {}) as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": "veryfast", **(options or {})}
        if pts is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(_pattern(i, w, h), format="rgb24")
            if pts is not None:
                frame.pts, frame.time_base = pts[i], Fraction(1, 1000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _frames(path: Path, sph: float, decode_all: bool, fmt: str = "mp4"
            ) -> tuple[tuple[tuple[int, int, str, float], ...], int, float, tuple[str, ...]]:
    vh = hash_video(path, fmt, LIMITS, seconds_per_hash=sph, decode_all=decode_all)
    return (tuple((f.number, f.quality, f.hash, f.timestamp) for f in vh.frames),
            vh.frames_decoded, vh.duration, vh.warnings)


def _plan(path: Path, sph: float = 1.0) -> video._SkipPlan | None:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        fps = float(s.average_rate)
        index = s.index
    return _skip_plan(path, index, fps, video.frame_mod(sph, fps), LIMITS)


def _counted(path: Path) -> Iterator[tuple[int, int]]:
    """(frame number by counting decoded frames, pts) for every frame."""
    with av.open(str(path)) as c:
        for n, frame in enumerate(c.decode(c.streams.video[0])):
            yield n, frame.pts


@pytest.mark.slow
@pytest.mark.corpus
def test_samples_same_hashes_with_and_without_skipping(samples: list[Path]) -> None:
    skipped = 0
    for path in samples:
        plan = _plan(path)
        assert plan is not None, path.name  # every sample is H.264 in MP4 at 30 fps
        skipped += len(plan.skip)
        # the numbering from timestamps is the counting, for every frame
        counted = list(_counted(path))
        assert [plan.number(pts) for _, pts in counted] == [n for n, _ in counted], path.name
        assert plan.frames == len(counted)
        assert _frames(path, 1.0, False) == _frames(path, 1.0, True), path.name
    assert skipped > 1000  # the speed path is really taken (~40% of frames)


@pytest.mark.corpus
@pytest.mark.parametrize("sph", [0.0, 0.5, 2.0])
def test_sample_other_rates(samples: list[Path], sph: float) -> None:
    path = next(p for p in samples if p.name.startswith("doorknob"))
    assert _frames(path, sph, False) == _frames(path, sph, True)


@pytest.mark.parametrize("params", ["bframes=3:b-pyramid=normal", "bframes=3:b-pyramid=none",
                                    "bframes=0:keyint=25", "bframes=2:keyint=16:open-gop=1"],
                         ids=["b-pyramid", "b-no-pyramid", "no-b", "open-gop"])
def test_generated(tmp_path: Path, params: str) -> None:
    path = _encode(tmp_path / "b.mp4", options={"x264-params": params})
    plan = _plan(path, 0.2)
    # without B-frames every picture is a reference: only those after the last
    # sampled one before an IDR picture are left out
    assert plan is not None and plan.skip
    for sph in (0.2, 1.0):
        ours = _frames(path, sph, False)
        assert ours == _frames(path, sph, True)
        assert [f[0] for f in ours[0]] == list(range(0, 90, video.frame_mod(sph, 30.0)))
        assert ours[1] == 90


def test_generated_in_matroska(tmp_path: Path) -> None:
    path = _encode(tmp_path / "b.mkv", fmt="matroska")
    assert _plan(path) is not None
    assert _frames(path, 1.0, False, "mkv") == _frames(path, 1.0, True, "mkv")


def test_variable_frame_rate_decodes_everything(tmp_path: Path) -> None:
    pts = [round(i * 33.3 + (25 if i % 7 == 3 else 0)) for i in range(90)]
    path = _encode(tmp_path / "vfr.mp4", pts=pts)
    assert _plan(path) is None  # timestamps do not number 0, 1, 2, ...
    assert _frames(path, 1.0, False) == _frames(path, 1.0, True)


def test_annex_b_decodes_everything(tmp_path: Path) -> None:
    path = _encode(tmp_path / "raw.h264", fmt="h264")
    assert _plan(path) is None
    assert _frames(path, 1.0, False) == _frames(path, 1.0, True)


@pytest.mark.parametrize("decode_all", [False, True])
def test_truncated_file_is_refused_either_way(tmp_path: Path, decode_all: bool) -> None:
    # the index first (faststart), then the file cut: it lists frames no longer there
    path = _encode(tmp_path / "b.mp4", frames=150, container_options={"movflags": "faststart"})
    data = path.read_bytes()
    path.write_bytes(data[:len(data) * 6 // 10])
    with pytest.raises(MediaTruncated):
        hash_video(path, "mp4", LIMITS, seconds_per_hash=1.0, decode_all=decode_all)


def test_irregular_decode_falls_back_without_repeating(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = _encode(tmp_path / "b.mp4")
    expected = _frames(path, 0.2, True)
    calls = 0
    number = video._SkipPlan.number

    def faulty(self: video._SkipPlan, pts: int) -> int:
        nonlocal calls
        calls += 1
        return 0 if calls == 40 else number(self, pts)  # a timestamp going back

    monkeypatch.setattr(video._SkipPlan, "number", faulty)
    assert _frames(path, 0.2, False) == expected
    assert calls >= 40


def test_packet_parsing() -> None:
    def nal(header: int, body: bytes = b"\x88\x84") -> bytes:
        return (1 + len(body)).to_bytes(4, "big") + bytes([header]) + body

    assert h264_packet(nal(0x01), 4) == NON_REFERENCE  # slice, nal_ref_idc 0
    assert h264_packet(nal(0x09, b"\xf0") + nal(0x01), 4) == NON_REFERENCE  # AUD + slice
    assert h264_packet(nal(0x21), 4) == OTHER  # slice, nal_ref_idc 1
    assert h264_packet(nal(0x65), 4) == IDR
    assert h264_packet(nal(0x67) + nal(0x68) + nal(0x06) + nal(0x65) + nal(0x65), 4) == IDR
    assert h264_packet(nal(0x65) + nal(0x21), 4) == OTHER  # IDR and non-IDR slices: invalid
    assert h264_packet(nal(0x06) + nal(0x01), 4) == OTHER  # SEI keeps it
    assert h264_packet(nal(0x09, b"\xf0"), 4) == OTHER  # no slice
    assert h264_packet(nal(0x01)[:-1], 4) == OTHER  # truncated
    assert h264_packet(nal(0x65)[:-1], 4) == OTHER
    assert h264_packet(b"\x00\x00\x00\x01\x01\x88", 4) == OTHER  # Annex-B start code
    assert h264_packet(b"", 4) == OTHER
    assert _avcc_length_size(b"\x01\x4d\x40\x1f\xff\xe1\x00") == 4
    assert _avcc_length_size(b"\x01\x4d\x40\x1f\xfd\xe1\x00") == 2
    assert _avcc_length_size(b"\x00\x00\x00\x01\x67") is None
    assert _avcc_length_size(None) is None
