"""A file's decode estimate bounds what hashing it really holds, for JPEGs of several
sizes and modes (full-size, and decoded by the codec at 1/2, 1/4 and 1/8).

Each file is hashed in a fresh interpreter (every signal, with variants), measured
twice: Python's and numpy's allocations (tracemalloc), and the growth of the peak
resident memory, which also sees Pillow's images and libjpeg's buffers.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from veil.config import MediaLimits
from veil.errors import MediaTooLarge
from veil.media import jpeg as jpeg_rules
from veil.media.source import Media

_MEASURE = """
import gc, io, json, sys, tracemalloc
from PIL import Image
from veil.config import MediaLimits
from veil.errors import MediaTooLarge
from veil.media.source import Media
from veil.signals import names
from veil.signals.batch import hash_media

def status(field):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith(field))

every = tuple(names())
for size in ((320, 240), (1000, 700)):  # imports and first-use costs, not the file's
    b = io.BytesIO()
    Image.new("RGB", size, (9, 80, 200)).save(b, "JPEG")
    hash_media(Media.from_bytes(b.getvalue(), MediaLimits()), every, dihedral=True)
media = Media.from_bytes(open(sys.argv[1], "rb").read(), MediaLimits())
gc.collect()
if sys.argv[2] == "tracemalloc":
    tracemalloc.start()
    hash_media(media, every, dihedral=True)
    peak = tracemalloc.get_traced_memory()[1]
else:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak resident size starts again from now
    before = status("VmRSS")
    hash_media(media, every, dihedral=True)
    peak = status("VmHWM") - before
print(json.dumps({"peak": peak, "decoded": media.decoded}))
"""


def _jpeg(img: Image.Image, **options: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, **options)
    return buf.getvalue()


def _measured(path: Path, how: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(path), how],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("size, mode, options, decoded", [
    ((400, 300), "RGB", {}, "full"),
    ((384, 3000), "RGB", {}, "full"),  # too narrow to reduce, 1.2 MP
    ((600, 450), "RGB", {}, "1/2"),
    ((1200, 900), "L", {}, "1/4"),
    ((3000, 2000), "RGB", {}, "1/8"),
    ((2000, 1500), "CMYK", {}, "1/4"),  # no grey from the codec: luma through RGB
    ((1600, 1200), "RGB", {"orientation": 6}, "1/4"),
    ((3000, 2000), "RGB", {"progressive": True}, "1/8"),  # full coefficient buffer
    ((1000, 800), "RGB", {"progressive": True, "subsampling": 0}, "1/2"),
])
def test_the_estimate_bounds_what_hashing_holds(photos: list[Path], tmp_path: Path,
                                                size: tuple[int, int], mode: str,
                                                options: dict[str, object],
                                                decoded: str) -> None:
    img = Image.open(photos[3]).convert("RGB").resize(size).convert(mode)
    orientation = options.pop("orientation", 1)
    if orientation != 1:
        exif = Image.Exif()
        exif[0x0112] = orientation
        options["exif"] = exif.tobytes()
    data = _jpeg(img, **options)
    path = tmp_path / "file.jpg"
    path.write_bytes(data)
    estimate = Media.from_bytes(data, MediaLimits()).decode_estimate()
    for how in ("tracemalloc", "resident"):
        got = _measured(path, how)
        assert got["decoded"] == [decoded]
        assert isinstance(got["peak"], int) and estimate >= got["peak"], (how, got)


def test_a_reduced_decode_is_estimated_far_below_a_full_one(photos: list[Path]) -> None:
    img = Image.open(photos[0]).convert("RGB").resize((4000, 3000))
    media = Media.from_bytes(_jpeg(img), MediaLimits())
    assert media.hash_factor() == jpeg_rules.reduction_factor(4000, 3000) == 8
    assert media.decode_estimate() * 10 < media._full_estimate()


@pytest.mark.parametrize("options, multi_scan", [
    ({}, False), ({"progressive": True}, True),
])
def test_the_coefficient_buffer_is_counted_only_for_multi_scan_jpegs(
        photos: list[Path], options: dict[str, object], multi_scan: bool) -> None:
    img = Image.open(photos[0]).convert("RGB").resize((800, 600))
    # 4:2:0: luma 100×75 blocks, rounded up to whole 2×2 MCUs; chroma 50×38 each
    data = _jpeg(img, **options)
    expected = (100 * 76 + 2 * 50 * 38) * jpeg_rules.BLOCK_BYTES if multi_scan else 0
    assert jpeg_rules.coefficient_bytes(data, 800, 600, 3) == expected


def test_unreadable_markers_count_the_worst_coefficient_buffer() -> None:
    assert jpeg_rules.coefficient_bytes(b"\xff\xd8\x00junk", 80, 64, 3) == 3 * 10 * 8 * 128


def test_a_full_decode_of_a_reducible_jpeg_is_checked_at_its_full_cost(
        photos: list[Path]) -> None:
    img = Image.open(photos[0]).convert("RGB").resize((4000, 3000))
    media = Media.from_bytes(_jpeg(img), MediaLimits(max_decode_bytes=64 * 2**20))
    with media.decoding():  # the reduced decode hashing does fits
        assert media.grey(media.hash_factor()).size == (500, 375)
        with pytest.raises(MediaTooLarge):
            media.full  # noqa: B018 - a full decode (e.g. veil evaluate's) does not
    assert media.decoded == ["1/8"]
