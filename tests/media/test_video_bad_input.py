"""Bad video input (issue 17, point 5): real malformed files made by code — cut,
empty, not video at all, audio only, no frames, too large, too long, lying about
their length, damaged in the middle — each a clear ``MediaError`` with its code, in
bounded time; through the CLI, ``veil hash``/``veil scan`` report it and exit 2 and
``veil protect`` banks nothing. Animated GIF/WebP are videos; a one-frame GIF is not.
"""

from __future__ import annotations

import json
import os
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from veil.cli import app
from veil.config import MediaLimits, VideoLimits, load_settings
from veil.signals.batch import FileSignals, hash_bytes, hash_file
from veil.store import open_store
from videos import (
    box,
    pan_frames,
    set_declared_duration,
    write_audio_only,
    write_mp4,
    write_no_frames,
    zip_bytes,
)

pytestmark = pytest.mark.timeout(300)

runner = CliRunner()
#: Seconds any bad file may take to be refused (each takes well under one here).
BOUNDED_S = 10.0
#: The clip's frames: 60 at 30 fps, two seconds.
FRAMES = 60


def _cut_cluster(mkv: bytes) -> bytes:
    """A Matroska file cut right after its first Cluster's ID: the header and the video
    track are whole, and not one frame follows."""
    at = mkv.find(bytes.fromhex("1F43B675"))
    assert at > 0
    return mkv[:at + 4]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, photos: list[Path]) -> dict[str, Path]:
    """Every bad file, built once: name → path."""
    import av

    d = tmp_path_factory.mktemp("bad-videos")
    frames = pan_frames(photos[0], FRAMES)
    good = write_mp4(d / "good.mp4", frames)
    fast = write_mp4(d / "faststart.mp4", frames, faststart=True)
    plain, front = good.read_bytes(), fast.read_bytes()
    # where the boxes are is what the cuts below are about
    assert box(plain, b"mdat") < box(plain, b"moov"), "plain MP4: moov at the end"
    assert box(front, b"moov") < box(front, b"mdat"), "faststart MP4: moov first"
    files = {"good": good, "faststart": fast}

    def put(name: str, data: bytes) -> None:
        files[name] = d / name
        files[name].write_bytes(data)

    put("empty.mp4", b"")
    put("random.mp4", np.random.default_rng(17).bytes(20_000))
    put("zip.mp4", zip_bytes())
    put("cut-header.mp4", plain[:8])
    # moov at the end: every cut loses it, so nothing says what the data is
    put("cut-before-moov-early.mp4", plain[:box(plain, b"mdat") + 100])
    put("cut-before-moov-half.mp4", plain[:len(plain) // 2])
    put("cut-before-moov-late.mp4", plain[:box(plain, b"moov") - 1])
    # faststart: the cut lands in the moov, just after it, or in the media data
    put("fs-cut-in-moov.mp4", front[:box(front, b"moov") + 16])
    put("fs-cut-after-moov.mp4", front[:box(front, b"mdat") + 100])
    put("fs-cut-half.mp4", front[:len(front) // 2])
    put("fs-cut-tail.mp4", front[:-20])
    write_audio_only(d / "audio-aac.mp4")
    write_audio_only(d / "audio-mp3.mp4", codec="mp3")
    files["audio-aac.mp4"] = d / "audio-aac.mp4"
    files["audio-mp3.mp4"] = d / "audio-mp3.mp4"
    files["no-track.mp4"] = write_no_frames(d / "no-track.mp4")
    mkv = d / "clip.mkv"
    with av.open(str(mkv), "w", format="matroska") as out:
        s = out.add_stream("libx264", rate=30)
        s.width, s.height = frames[0].shape[1], frames[0].shape[0]
        s.pix_fmt = "yuv420p"
        for f in frames[:10]:
            for pk in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(pk)
        for pk in s.encode():
            out.mux(pk)
    put("no-frames.mkv", _cut_cluster(mkv.read_bytes()))
    # ten frames whose timestamps jump ten hours after the fifth
    hours = 30 * 3600 * 10
    files["jump.mp4"] = write_mp4(d / "jump.mp4", frames[:10],
                                  pts=[0, 1, 2, 3, 4, *(hours + i for i in range(5))],
                                  time_base=Fraction(1, 30))
    put("says-short.mp4", set_declared_duration(plain, 0.1))
    put("says-ten-hours.mp4", set_declared_duration(plain, 36_000))
    damaged = bytearray(plain)
    at = box(plain, b"mdat") + (box(plain, b"moov") - box(plain, b"mdat")) // 2
    damaged[at:at + 2000] = np.random.default_rng(5).bytes(2000)
    put("damaged-middle.mp4", bytes(damaged))
    return files


@pytest.fixture(scope="module")
def eight_k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 7680×4320 one-frame H.264 video (flat grey: about 100 kB)."""
    d = tmp_path_factory.mktemp("8k")
    return write_mp4(d / "8k.mp4", [np.full((4320, 7680, 3), 128, np.uint8)], fps=1)


def _hash(path: Path, **video: float) -> tuple[FileSignals, float]:
    limits = MediaLimits(video=VideoLimits(**video))
    start = time.monotonic()
    r = hash_file(path, limits, ("md5",))
    return r, time.monotonic() - start


# file → (error code, words its message must hold)
REFUSED = {
    "empty.mp4": ("media.empty", "empty"),
    "random.mp4": ("media.unsupported", "not a recognised"),
    "zip.mp4": ("media.unsupported", "not a recognised"),
    "cut-header.mp4": ("media.unsupported", "not a recognised"),
    "cut-before-moov-early.mp4": ("media.unsupported", "not a video Veil can read"),
    "cut-before-moov-half.mp4": ("media.unsupported", "not a video Veil can read"),
    "cut-before-moov-late.mp4": ("media.unsupported", "not a video Veil can read"),
    "fs-cut-in-moov.mp4": ("media.unsupported", "no video stream"),
    "fs-cut-after-moov.mp4": ("media.invalid", "could not be decoded"),
    # MP4's index counts every frame: fewer decoded than it declares is refused
    "fs-cut-half.mp4": ("media.truncated", "6 of the 60 frames it declares"),
    "damaged-middle.mp4": ("media.truncated", "truncated or damaged"),
    "audio-aac.mp4": ("media.unsupported", "audio only"),
    "audio-mp3.mp4": ("media.unsupported", "audio only"),
    # the MP4 muxer drops a track that never got a sample: no video stream at all
    "no-track.mp4": ("media.unsupported", "no video stream"),
    "no-frames.mkv": ("media.empty", "no decodable frames"),
    "jump.mp4": ("media.too_large", "VEIL_VIDEO_MAX_DURATION_S"),
}
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_bad_file_is_a_clear_media_error(made: dict[str, Path], name: str) -> None:
    code, words = REFUSED[name]
    r, took = _hash(made[name])
    assert not r.ok and r.video is None
    assert r.error_code == code, r.error_message
    assert words in (r.error_message or ""), r.error_message
    # the reason never carries the file's path (an upload's is a server's temporary file)
    assert str(made[name].parent) not in (r.error_message or "")
    assert took < BOUNDED_S


def test_whole_files_hash_without_warnings(made: dict[str, Path]) -> None:
    for name in ("good", "faststart"):
        r, _ = _hash(made[name], seconds_per_hash=0)
        assert r.ok and r.video is not None
        assert r.video.frames_decoded == FRAMES and len(r.video.frames) == FRAMES
        assert r.video.warnings == ()
        assert r.video.duration == pytest.approx(2.0)
    # a cut inside the last frame or two is within the slack left for edit lists
    r, _ = _hash(made["fs-cut-tail.mp4"], seconds_per_hash=0)
    assert r.ok and r.video is not None and r.video.frames_decoded >= FRAMES - 2


def test_real_8k_video_is_refused_before_decoding(eight_k: Path) -> None:
    r, took = _hash(eight_k)
    assert r.error_code == "media.too_large"
    assert "7680×4320" in (r.error_message or "")
    assert "VEIL_VIDEO_MAX_FRAME_PIXELS" in (r.error_message or "")
    assert took < BOUNDED_S


def test_frame_pixel_limit_from_settings(made: dict[str, Path]) -> None:
    r, _ = _hash(made["good"], max_frame_pixels=176 * 144 - 1)
    assert r.error_code == "media.too_large"
    assert "VEIL_VIDEO_MAX_FRAME_PIXELS" in (r.error_message or "")
    assert _hash(made["good"], max_frame_pixels=176 * 144)[0].ok


def test_duration_limit_counts_decoded_frames(made: dict[str, Path]) -> None:
    """A two-second video under a one-second limit is refused, never cut short."""
    r, _ = _hash(made["good"], max_duration_s=1)
    assert r.error_code == "media.too_large"
    assert "VEIL_VIDEO_MAX_DURATION_S" in (r.error_message or "")
    assert _hash(made["good"], max_duration_s=3)[0].ok


def test_timestamps_ten_hours_apart_trip_the_duration_limit(made: dict[str, Path]) -> None:
    r, took = _hash(made["jump.mp4"], max_duration_s=60)
    assert r.error_code == "media.too_large"
    assert took < BOUNDED_S


def test_a_container_that_lies_about_its_length(made: dict[str, Path]) -> None:
    """What decoding finds decides: a file claiming 0.1 s that holds 2 s is held to
    the limit it reaches; one claiming ten hours that holds 2 s is hashed."""
    import av

    with av.open(str(made["says-short.mp4"])) as c:
        assert c.duration is not None and c.duration < 500_000  # < 0.5 s claimed
    r, _ = _hash(made["says-short.mp4"], max_duration_s=1)
    assert r.error_code == "media.too_large"
    data = made["says-ten-hours.mp4"].read_bytes()
    mvhd = box(data, b"mvhd") + 8
    scale, claimed = (int.from_bytes(data[mvhd + i:mvhd + i + 4], "big") for i in (12, 16))
    assert claimed / scale == 36_000  # ffmpeg reads the sample table instead: 2 s
    r, took = _hash(made["says-ten-hours.mp4"], max_duration_s=60, seconds_per_hash=0)
    assert r.ok and r.video is not None, r.error_message
    assert r.video.frames_decoded == FRAMES and r.video.duration == pytest.approx(2.0)
    assert took < BOUNDED_S


def test_frame_count_limit(made: dict[str, Path]) -> None:
    r, _ = _hash(made["good"], max_frames=FRAMES - 1)
    assert r.error_code == "media.too_large"
    assert "VEIL_VIDEO_MAX_FRAMES" in (r.error_message or "")
    assert _hash(made["good"], max_frames=FRAMES)[0].ok


def test_wall_clock_limit(made: dict[str, Path]) -> None:
    r, _ = _hash(made["good"], max_hash_seconds=1e-9)
    assert r.error_code == "media.too_large"
    assert "VEIL_VIDEO_MAX_HASH_SECONDS" in (r.error_message or "")


# -- through the CLI ------------------------------------------------------------------------
CLI_REFUSED = ["empty.mp4", "random.mp4", "zip.mp4", "cut-before-moov-half.mp4",
               "fs-cut-in-moov.mp4", "fs-cut-after-moov.mp4", "audio-aac.mp4",
               "no-frames.mkv", "jump.mp4", "fs-cut-half.mp4", "damaged-middle.mp4"]


def _lines(output: str) -> dict[str, dict[str, object]]:
    rows = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return {Path(str(r["file"])).name: r for r in rows}


def test_veil_hash_reports_each_bad_file_and_exits_2(veil_home: Path,
                                                     made: dict[str, Path]) -> None:
    paths = [str(made[n]) for n in CLI_REFUSED]
    res = runner.invoke(app, ["hash", "--json", "--workers", "1", *paths])
    assert res.exit_code == 2, res.output
    rows = _lines(res.stdout)
    assert sorted(rows) == sorted(CLI_REFUSED)
    for name in CLI_REFUSED:
        error = rows[name]["error"]
        assert isinstance(error, dict)
        assert error["code"] == REFUSED[name][0]
        assert REFUSED[name][1] in str(error["message"])
    # the table form: one line per file on stderr, naming it and the reason
    res = runner.invoke(app, ["hash", "--workers", "1", str(made["zip.mp4"])])
    assert res.exit_code == 2
    assert "zip.mp4" in res.output and "media.unsupported" in res.output


def test_veil_scan_reports_each_bad_file_and_exits_2(veil_home: Path,
                                                     made: dict[str, Path]) -> None:
    with open_store(load_settings()) as store:
        store.create_bank("mine", "protected_photo", actor="test")
    paths = [str(made[n]) for n in CLI_REFUSED]
    res = runner.invoke(app, ["scan", "--json", "--workers", "1", *paths])
    assert res.exit_code == 2, res.output
    rows = _lines(res.stdout)
    assert sorted(rows) == sorted(CLI_REFUSED)
    for name in CLI_REFUSED:
        error = rows[name]["error"]
        assert isinstance(error, dict) and error["code"] == REFUSED[name][0]


def test_veil_scan_settings_limit_exits_2(veil_home: Path, made: dict[str, Path],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEIL_VIDEO_MAX_FRAME_PIXELS", "10000")
    with open_store(load_settings()) as store:
        store.create_bank("mine", "protected_photo", actor="test")
    res = runner.invoke(app, ["scan", "--json", "--workers", "1", str(made["good"])])
    assert res.exit_code == 2, res.output
    assert _lines(res.stdout)["good.mp4"]["error"] == {
        "code": "media.too_large",
        "message": "video frames of 176×144 are larger than 10,000 pixels "
                   "(VEIL_VIDEO_MAX_FRAME_PIXELS)"}


def test_veil_protect_banks_nothing_from_bad_files(veil_home: Path,
                                                   made: dict[str, Path]) -> None:
    settings = load_settings()
    with open_store(settings) as store:
        store.create_bank("mine", "protected_photo", actor="test")
        store.add_entry("mine", "md5", "0" * 32, actor="test")
        before = [e.id for e in store.list_entries(bank="mine")]
    names = CLI_REFUSED
    res = runner.invoke(app, ["protect", "--bank", "mine", "--json", "--workers", "1",
                              *(str(made[n]) for n in names)])
    assert res.exit_code == 2, res.output
    rows = _lines(res.stdout)
    assert sorted(rows) == sorted(names)
    assert all("error" in r and "added" not in r for r in rows.values()), rows
    with open_store(settings) as store:
        assert [e.id for e in store.list_entries(bank="mine")] == before
        assert store.list_videos("mine") == []


def test_veil_protect_refuses_a_video_whose_decoding_stopped(
        veil_home: Path, made: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream that breaks off where no index says how long it is (Matroska, WebM)
    is hashed up to the break with a warning: a scan checks that much, a bank takes
    nothing."""
    import dataclasses

    import veil.signals.batch as batch

    real = batch.hash_video

    def breaking(*args: object, **kwargs: object) -> object:
        v = real(*args, **kwargs)  # type: ignore[arg-type]
        return dataclasses.replace(v, warnings=("decoding stopped after frame 9: boom",))

    monkeypatch.setattr(batch, "hash_video", breaking)
    with open_store(load_settings()) as store:
        store.create_bank("mine", "protected_photo", actor="test")
    res = runner.invoke(app, ["protect", "--bank", "mine", "--json", "--workers", "1",
                              str(made["good"])])
    assert res.exit_code == 2, res.output
    (row,) = _lines(res.stdout).values()
    assert row["error"] == {"code": "media.invalid", "message": (
        "the video is damaged, nothing banked (decoding stopped after frame 9: boom)")}
    with open_store(load_settings()) as store:
        assert store.list_videos("mine") == []
        assert store.list_entries(bank="mine") == []
    res = runner.invoke(app, ["scan", "--json", "--workers", "1", str(made["good"])])
    assert res.exit_code == 0, res.output
    assert _lines(res.stdout)["good.mp4"]["warnings"] == ["decoding stopped after frame 9: boom"]


# -- animations ------------------------------------------------------------------------------
def _animation(photos: list[Path], path: Path, durations: list[int]) -> Path:
    frames = [Image.fromarray(f) for f in pan_frames(photos[1], len(durations), (160, 120))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations,
                   loop=0, **({"lossless": True} if path.suffix == ".webp" else {}))
    return path


@pytest.mark.parametrize("suffix", [".gif", ".webp"])
def test_animation_hashes_as_a_video_and_a_picture(tmp_path: Path, photos: list[Path],
                                                   suffix: str) -> None:
    durations = [100, 200, 300, 400, 500, 600]
    path = _animation(photos, tmp_path / f"anim{suffix}", durations)
    r = hash_file(path, MediaLimits(video=VideoLimits(seconds_per_hash=0)), ("pdq", "md5"))
    assert r.ok, r.error_message
    assert {s.type for s in r.signals} == {"pdq", "md5"}  # still a picture
    assert r.video is not None
    starts = np.cumsum([0, *durations[:-1]]) / 1000
    assert [f.number for f in r.video.frames] == list(range(len(durations)))
    assert [f.timestamp for f in r.video.frames] == pytest.approx(starts.tolist(), abs=1e-3)
    assert r.video.duration == pytest.approx(sum(durations) / 1000)
    assert all(f.quality >= 50 for f in r.video.frames)
    # one a second: frames starting at 0 s, then the first at or after 1 s (frame 4)
    r = hash_file(path, MediaLimits(), ("pdq",))
    assert r.video is not None
    assert [f.number for f in r.video.frames] == [0, 4]
    # from bytes (the service's path) the same
    b = hash_bytes(path.read_bytes(), MediaLimits(), ("pdq",))
    assert b.video is not None and b.video.frames == r.video.frames


def test_one_frame_gif_is_not_a_video(tmp_path: Path, photos: list[Path]) -> None:
    path = tmp_path / "still.gif"
    Image.open(photos[1]).convert("RGB").resize((160, 120)).save(path)
    r = hash_file(path, MediaLimits(), ("pdq",))
    assert r.ok and r.video is None and r.signals[0].type == "pdq"


def test_animation_frame_limit(tmp_path: Path, photos: list[Path]) -> None:
    path = _animation(photos, tmp_path / "anim.gif", [100] * 6)
    r = hash_file(path, MediaLimits(video=VideoLimits(max_frames=5)), ("pdq",))
    assert r.error_code == "media.too_large"
    assert "VEIL_VIDEO_MAX_FRAMES" in (r.error_message or "")


def test_no_file_is_left_open(made: dict[str, Path]) -> None:
    """Refusing a file closes it (a worker refuses thousands in a long scan)."""
    fd_dir = Path("/proc/self/fd")
    before = len(os.listdir(fd_dir))
    for name in REFUSED:
        _hash(made[name])
    assert len(os.listdir(fd_dir)) <= before


@pytest.mark.parametrize(("fmt", "ext", "codec"), [("matroska", "mkv", "libx264"),
                                                   ("webm", "webm", "libvpx-vp9")])
def test_a_matroska_or_webm_cut_short_is_refused(tmp_path: Path, fmt: str, ext: str,
                                                  codec: str) -> None:
    """No frame index in Matroska: the duration it declares is the check."""
    path = tmp_path / f"whole.{ext}"
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(60):
            rgb = np.full((120, 160, 3), i * 4, np.uint8)
            rgb[::8] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    whole, _ = _hash(path)
    assert whole.ok and whole.video is not None, whole.error_message
    assert whole.video.duration == pytest.approx(6.0)
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    r, took = _hash(cut)
    assert not r.ok and r.error_code == "media.truncated", r.error_message
    assert "of the 6.0 s it declares" in (r.error_message or "")
    assert took < BOUNDED_S
