"""Small videos made by code for the video tests: frames cut from the benign photo
corpus (a slow pan, so consecutive frames differ a little, as in real footage),
encoded with PyAV, and the ways a file can be broken on purpose.

Everything here is small (QCIF-sized frames, a few seconds) so that a test builds
its files in well under a second.
"""

from __future__ import annotations

import io
import zipfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

#: Default frame size: small, but above PDQ's smallest hashable size.
SIZE = (176, 144)


def pan_frames(photo: Path, count: int, size: tuple[int, int] = SIZE) -> list[np.ndarray]:
    """``count`` RGB frames of ``size`` panning slowly across ``photo``."""
    w, h = size
    with Image.open(photo) as im:
        big = im.convert("RGB").resize((w * 2, h * 2))
    step = max(1, w // max(count, 1))
    pixels = np.asarray(big)
    return [np.ascontiguousarray(pixels[h // 2:h // 2 + h, (i * step) % w:(i * step) % w + w])
            for i in range(count)]


def write_mp4(path: Path, frames: list[np.ndarray], *, fps: int = 30,
              faststart: bool = False, codec: str = "libx264",
              pts: list[int] | None = None, time_base: Fraction | None = None) -> Path:
    """Encode ``frames`` (RGB arrays) as H.264 in MP4. ``faststart`` puts the moov
    atom before the media data; ``pts`` (in ``time_base`` units) overrides the
    frames' presentation times, to make streams whose timestamps jump."""
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", format="mp4", options=options) as out:
        stream = out.add_stream(codec, rate=fps)
        h, w = frames[0].shape[:2] if frames else SIZE[::-1]
        stream.width, stream.height = w, h
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "bf": "0"}
        if time_base is not None:
            stream.codec_context.time_base = time_base
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            if pts is not None:
                frame.pts = pts[i]
                frame.time_base = time_base
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def write_audio_only(path: Path, seconds: float = 1.0, codec: str = "aac") -> Path:
    """An MP4 holding one mono audio stream (a tone) and no video."""
    rate = 44100
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        t = np.arange(int(rate * seconds), dtype=np.float32) / rate
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for i in range(0, len(tone), 1024):
            chunk = tone[i:i + 1024].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            frame.sample_rate = rate
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def write_no_frames(path: Path) -> Path:
    """An MP4 that declares an H.264 video stream and holds no frame of it."""
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        out.start_encoding()  # writes the header, which no packet will
    return path


def zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "not a video " * 100)
    return buf.getvalue()


def box(data: bytes, name: bytes) -> int:
    """Offset of the first ``name`` box's size field (its type is 4 bytes later)."""
    at = data.find(name)
    assert at >= 4, f"no {name!r} box"
    return at - 4


def set_declared_duration(data: bytes, seconds: float) -> bytes:
    """``data`` (an MP4) with the movie header's and every track header's duration
    rewritten to claim ``seconds``: what the container says, not what the stream
    holds."""
    out = bytearray(data)
    for name, (scale_at, dur_at) in ((b"mvhd", (12, 16)), (b"mdhd", (12, 16)),
                                     (b"tkhd", (None, 20))):
        start = 0
        while (at := out.find(name, start)) >= 0:
            body = at + 4
            assert out[body] == 0, "version 0 headers only"
            if scale_at is None:  # tkhd counts in the movie's time scale
                mv = out.find(b"mvhd") + 4
                scale = int.from_bytes(out[mv + 12:mv + 16], "big")
            else:
                scale = int.from_bytes(out[body + scale_at:body + scale_at + 4], "big")
            value = min(int(seconds * scale), 0xFFFFFFFF)
            out[body + dur_at:body + dur_at + 4] = value.to_bytes(4, "big")
            start = at + 4
    return bytes(out)
