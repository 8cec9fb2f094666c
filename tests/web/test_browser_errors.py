"""The hash worker refuses bad files with a clear code, and flags unprotectable images.

Browsers draw a truncated JPEG or PNG with a grey/transparent remainder instead of
failing; the server refuses such files, so the worker must refuse them too (it
checks the file's structure before decoding). Too-small or too-flat images hash
fine but get quality < 50 (``lowQuality``), which the page explains.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

CODES = {"empty", "too_large", "unsupported", "truncated", "unreadable", "internal"}


def _encode(img: Image.Image, fmt: str, **kw: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def photo_bytes(photos: list[Path]) -> bytes:
    return photos[3].read_bytes()


def _run(worker_hash: Any, web_server: Any, cases: dict[str, bytes],
         options: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    jobs = [{"url": web_server.put(f"err-{i}", data), "options": options or {}}
            for i, data in enumerate(cases.values())]
    return dict(zip(cases, worker_hash(jobs), strict=True))


def test_unreadable_files_get_clear_errors(worker_hash: Any, web_server: Any,
                                           photo_bytes: bytes) -> None:
    rng = np.random.default_rng(1)
    with Image.open(io.BytesIO(photo_bytes)) as im:
        rgb = im.convert("RGB")
    png = _encode(rgb, "PNG")
    progressive = _encode(rgb, "JPEG", quality=90, progressive=True)
    corrupt_png = bytearray(png)
    idat = png.index(b"IDAT")
    corrupt_png[idat + 40: idat + 240] = rng.integers(0, 256, 200, dtype=np.uint8).tobytes()
    cases = {
        "zero bytes": b"",
        "random bytes": rng.integers(0, 256, 5000, dtype=np.uint8).tobytes(),
        "text": b"hello, this is not an image\n" * 20,
        "jpeg cut at 60%": photo_bytes[: len(photo_bytes) * 6 // 10],
        "jpeg cut in header": photo_bytes[:120],
        "jpeg magic then noise": b"\xff\xd8\xff" + rng.integers(0, 256, 3000, dtype=np.uint8)
        .tobytes(),
        "progressive jpeg cut at 70%": progressive[: len(progressive) * 7 // 10],
        "png cut at 50%": png[: len(png) // 2],
        "png without IEND": png[:-12],
        "png with corrupt IDAT": bytes(corrupt_png),
        "tiff": _encode(rgb, "TIFF"),
        "heic (ftyp only)": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(200),
    }
    got = _run(worker_hash, web_server, cases)
    expect = {
        "zero bytes": {"empty"},
        "random bytes": {"unreadable"},
        "text": {"unreadable"},
        "jpeg cut at 60%": {"truncated"},
        "jpeg cut in header": {"truncated"},
        "jpeg magic then noise": {"truncated", "unreadable"},
        "progressive jpeg cut at 70%": {"truncated"},
        "png cut at 50%": {"truncated"},
        "png without IEND": {"truncated"},
        "png with corrupt IDAT": {"unreadable"},
        "tiff": {"unsupported"},
        "heic (ftyp only)": {"unsupported"},
    }
    for name, r in got.items():
        assert r["type"] == "error", (name, r)
        assert r["code"] in expect[name], (name, r["code"], r["message"])
        assert r["code"] in CODES
        assert isinstance(r["message"], str) and len(r["message"]) > 15, (name, r)
    assert "JPEG" in got["heic (ftyp only)"]["message"]  # tells the person what to do
    assert "empty" in got["zero bytes"]["message"]


def test_size_limits(worker_hash: Any, web_server: Any, photo_bytes: bytes) -> None:
    wide = _encode(Image.new("L", (40_000, 8), 128), "PNG")
    got = _run(worker_hash, web_server, {"40000 px wide": wide})
    assert got["40000 px wide"]["code"] == "too_large"
    assert "40000x8" in got["40000 px wide"]["message"]
    got = _run(worker_hash, web_server, {"photo": photo_bytes}, {"maxPixels": 10_000})
    assert got["photo"]["code"] == "too_large"
    got = _run(worker_hash, web_server, {"photo": photo_bytes}, {"maxBytes": 1000})
    assert got["photo"]["code"] == "too_large"


def test_small_and_flat_images_get_low_quality(worker_hash: Any, web_server: Any,
                                               shared_data: Path, photo_bytes: bytes) -> None:
    rng = np.random.default_rng(2)
    near_flat = (shared_data / "pdq-reference/images/reg-test-input/labelme-subset/q0003.jpg")
    cases = {
        "3x3 noise": _encode(Image.fromarray(rng.integers(0, 256, (3, 3, 3), dtype=np.uint8)),
                             "PNG"),
        "flat grey 300x200": _encode(Image.new("RGB", (300, 200), (120, 130, 140)), "PNG"),
        "black jpeg": _encode(Image.new("RGB", (640, 480)), "JPEG"),
        "near-flat q0003": near_flat.read_bytes(),
        "a real photo": photo_bytes,
    }
    got = _run(worker_hash, web_server, cases)
    for name, r in got.items():
        assert r["type"] == "result", (name, r)
    assert got["3x3 noise"]["pdq"] == "0" * 64
    for name in ("3x3 noise", "flat grey 300x200", "black jpeg", "near-flat q0003"):
        assert got[name]["quality"] < 50 and got[name]["lowQuality"], (name, got[name])
    assert got["a real photo"]["quality"] >= 50 and not got["a real photo"]["lowQuality"]


def test_worker_keeps_working_after_errors(worker_hash: Any, web_server: Any,
                                           photo_bytes: bytes) -> None:
    got = _run(worker_hash, web_server, {"bad": b"\x00" * 50, "good": photo_bytes,
                                         "empty": b"", "good again": photo_bytes})
    assert [r["type"] for r in got.values()] == ["error", "result", "error", "result"]
    assert got["good"]["pdq"] == got["good again"]["pdq"]
