"""Video hashing speed: seconds of video hashed per second of wall time, at 1 fps.

The script makes H.264 test videos from the shared corpus's photos (slow pans across
a photo, a cut every 3 s, light temporal grain so the encoder has real detail to
spend bits on; libx264 ``veryfast``, CRF 23, yuv420p, 30 fps — x264's default GOP,
with B-frames) at SD (854×480), HD (1280×720) and 4K (3840×2160), into a cache
directory that is reused on later runs. It then hashes them, and Meta's sample
videos, one frame a second, with:

* **reference**: PyAV decode of every frame (FFmpeg's threads), then each sampled
  frame converted to RGB and hashed by ``pdqhash`` (Meta's C++ PDQ) — what
  "ffmpeg + pdqhash" costs;
* **vpdq**: Meta's ``vpdq`` package (its own FFmpeg decode and PDQ), when it is
  installed;
* **veil, decode all**: ``hash_video`` sending every packet to the decoder;
* **veil**: ``hash_video`` as it runs, which does not decode H.264 frames that are
  not sampled and that no sampled frame is predicted from (non-reference pictures,
  and every picture after the last sampled one before the next IDR picture;
  ``veil.media.video``).

Each figure is the best of ``--repeat`` runs, the paths interleaved so load on the
shared machine hits each alike. "wall ×rt" is seconds of video per second of wall
time; "cpu ×rt" per second of CPU time of the process (all its threads), which a
loaded machine changes less; the ratios are the reference's time over each path's. It also
checks that both veil paths give the same frames and hashes. The load average is
printed at the start and the end.

    .venv/bin/python bench/video.py            # SD/HD 30 s, 4K 4 s, samples; ~5 min
    .venv/bin/python bench/video.py --quick    # SD/HD 6 s, 4K 1 s, no samples; <1 min
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
from PIL import Image

from veil.config import VideoLimits
from veil.signals.pdq import reference_hash
from veil.signals.vpdq import hash_video

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("VEIL_TEST_DATA", REPO.parent / "shared" / "data"))
SAMPLES = DATA / "video-reference" / "videos"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "veil-bench" / "video"
SIZES = {"SD": (854, 480), "HD": (1280, 720), "4K": (3840, 2160)}
FPS = 30
SHOT_S = 3


def load_text() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def make_video(path: Path, size: tuple[int, int], seconds: int) -> Path:
    """Pans across corpus photos, a cut every ``SHOT_S`` seconds (see the docstring)."""
    if path.exists():
        return path
    w, h = size
    photos = sorted((DATA / "photos").glob("*.jpg"))
    rng = np.random.default_rng(0)
    grain = [rng.integers(-6, 7, size=(h, w, 1), dtype=np.int16) for _ in range(4)]
    tmp = path.with_suffix(".part.mp4")
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "23"}
        for shot in range(-(-seconds // SHOT_S)):
            photo = Image.open(photos[(shot * 37) % len(photos)]).convert("RGB")
            # 1.25× the frame, so a window of the frame's size can pan across it
            s = 1.25 * max(w / photo.width, h / photo.height)
            big = np.asarray(photo.resize((round(photo.width * s), round(photo.height * s)),
                                          Image.Resampling.BICUBIC), np.int16)
            frames = min(SHOT_S, seconds - shot * SHOT_S) * FPS
            for i in range(frames):
                t = i / max(frames - 1, 1)
                x = round((t if shot % 2 else 1 - t) * (big.shape[1] - w))
                y = round(t * (big.shape[0] - h))
                rgb = np.clip(big[y:y + h, x:x + w] + grain[i % 4], 0, 255).astype(np.uint8)
                for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    tmp.rename(path)
    return path


# -- the paths measured ---------------------------------------------------------------------
def reference(path: Path) -> int:
    """PyAV decode + RGB + pdqhash every ``int(fps)`` frames; returns frames hashed."""
    hashed = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        mod = max(1, int(float(stream.average_rate)))
        for n, frame in enumerate(container.decode(stream)):
            if n % mod == 0:
                reference_hash(frame.to_ndarray(format="rgb24"))
                hashed += 1
    return hashed


def veil(path: Path, decode_all: bool) -> tuple[tuple[int, str], ...]:
    vh = hash_video(path, "mp4", VideoLimits(), seconds_per_hash=1.0, decode_all=decode_all)
    return tuple((f.number, f.hash) for f in vh.frames)


def vpdq_package() -> Callable[[Path], object] | None:
    try:
        import vpdq  # type: ignore[import-not-found]
    except ImportError:
        return None

    def run(path: Path) -> object:
        return vpdq.computeHash(str(path), seconds_per_hash=1)
    return run


def duration(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for p in container.demux(stream) if p.size)
        return frames / float(stream.average_rate)


def measure(paths: list[tuple[str, Path]], repeat: int) -> None:
    runners: dict[str, Callable[[Path], object]] = {
        "reference": reference,
        "veil, decode all": lambda p: veil(p, True),
        "veil": lambda p: veil(p, False)}
    package = vpdq_package()
    if package:
        runners["vpdq package"] = package
    else:
        print("(the vpdq package is not installed: its rows are left out)")
    print(f"{'video':34} {'size':>9} {'secs':>5}  {'path':17} {'wall ×rt':>9} {'cpu ×rt':>8} "
          f"{'wall/ref':>8} {'cpu/ref':>8}")
    for label, path in paths:
        with av.open(str(path)) as c:
            s = c.streams.video[0]
            size = f"{s.width}x{s.height}"
        secs = duration(path)
        wall = dict.fromkeys(runners, float("inf"))
        cpu = dict.fromkeys(runners, float("inf"))
        out: dict[str, object] = {}
        for _ in range(repeat):
            for name, run in runners.items():
                t0, c0 = time.perf_counter(), time.process_time()
                out[name] = run(path)
                wall[name] = min(wall[name], time.perf_counter() - t0)
                cpu[name] = min(cpu[name], time.process_time() - c0)
        for i, name in enumerate(runners):
            note = ""
            if name == "veil" and out["veil"] != out["veil, decode all"]:
                note = "  HASHES DIFFER FROM DECODE ALL"
            head = f"{label:34} {size:>9} {secs:5.1f}" if i == 0 else " " * 50
            print(f"{head}  {name:17} {secs / wall[name]:8.1f}x {secs / cpu[name]:7.1f}x "
                  f"{wall['reference'] / wall[name]:8.2f} {cpu['reference'] / cpu[name]:8.2f}"
                  f"{note}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="short videos (SD/HD 6 s, 4K 1 s), one run, no sample videos")
    ap.add_argument("--repeat", type=int, default=None, help="runs per path (best kept)")
    ap.add_argument("--sizes", default="SD,HD,4K", help="generated videos (\"\" for none)")
    ap.add_argument("--no-samples", action="store_true", help="skip Meta's sample videos")
    ap.add_argument("--cache", type=Path, default=CACHE)
    args = ap.parse_args()
    repeat = args.repeat or (1 if args.quick else 3)
    print(f"start: {load_text()}; {os.cpu_count()} CPUs; PyAV {av.__version__}")
    paths = []
    for name in filter(None, args.sizes.split(",")):
        seconds = (1 if name == "4K" else 6) if args.quick else (4 if name == "4K" else 30)
        w, h = SIZES[name]
        t0 = time.perf_counter()
        p = make_video(args.cache / f"{name}-{w}x{h}-{seconds}s.mp4", (w, h), seconds)
        made = time.perf_counter() - t0
        if made > 1:
            print(f"made {p} in {made:.0f} s")
        paths.append((f"{name} pans, x264 veryfast", p))
    if not (args.quick or args.no_samples):
        if not SAMPLES.is_dir():
            sys.exit(f"no sample videos in {SAMPLES}")
        paths += [(p.name, p) for p in sorted(SAMPLES.glob("*.mp4"))]
    print(f"seconds of video hashed per second, 1 frame a second, best of {repeat}:")
    measure(paths, repeat)
    print(f"end: {load_text()}")


if __name__ == "__main__":
    main()
