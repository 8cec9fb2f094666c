"""The hash worker (src/veil/web/static/js/hash-worker.js) on files the BROWSER decodes.

(b) JPEG photos: Chromium's decoder, not Pillow's, makes the pixels, so the hash may
    drift from the server's by a few bits: median <= 2, p99 <= 6 over the photo
    corpus, and every expected.csv row within 10 bits (ThreatExchange's bar for a
    correct port). EXIF orientation is applied like the server does.
(c) PNG decoding is lossless, and the worker asks for no colour management
    (colorSpaceConversion 'none'), so PNGs, with or without gAMA/iCCP/sRGB chunks,
    hash exactly as ``pdqhash`` does on Pillow's pixels.
WebP/AVIF/GIF/BMP: lossless encodings exact, lossy ones within 6 bits.
A 12 MP phone-sized JPEG is hashed end to end and its timing printed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import struct
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageCms, features

from veil.config import MediaLimits
from veil.media.source import Media
from veil.signals.hexhash import hamming_hex
from veil.signals.pdq import compute_pdq, reference_hash

LIMITS = MediaLimits()


def _ok(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    bad = [r for r in results if r.get("type") != "result"]
    assert not bad, bad[:3]
    return results


@pytest.mark.slow
@pytest.mark.corpus
def test_browser_decoded_photos_near_server(worker_hash: Any, photos: list[Path],
                                           shared_data: Path) -> None:
    # the region signal has its own corpus test (test_browser_region.py): hashes only
    # here, a fifth of the time
    results = _ok(worker_hash([{"url": f"/data/photos/{p.name}", "options": {"region": False}}
                               for p in photos]))
    dists = []
    for p, r in zip(photos, results, strict=True):
        media = Media.from_path(p, LIMITS)
        assert (r["width"], r["height"]) == media.size, p.name
        assert r["md5"] == hashlib.md5(p.read_bytes()).hexdigest(), p.name
        assert r["format"] == "jpeg" and r["region"] is None
        assert r["stages"] == ["read", "md5", "decode", "pixels", "pdq"], r["stages"]
        dists.append(hamming_hex(r["pdq"], compute_pdq(media).hash))
    d = np.asarray(dists)
    stats = {
        "n": len(d), "exact": int((d == 0).sum()), "median": float(np.median(d)),
        "p99": float(np.percentile(d, 99)), "max": int(d.max()), "mean": float(d.mean()),
    }
    print(f"\nbrowser-decoded JPEG vs server PDQ: {stats}")
    assert stats["median"] <= 2, stats
    assert stats["p99"] <= 6, stats


@pytest.mark.corpus
def test_browser_decoded_reference_rows_within_ten_bits(worker_hash: Any,
                                                       shared_data: Path) -> None:
    ref = shared_data / "pdq-reference"
    with (ref / "expected.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 9
    results = _ok(worker_hash([{"url": f"/data/pdq-reference/{r['file']}"} for r in rows]))
    dists = []
    for row, r in zip(rows, results, strict=True):
        d = hamming_hex(r["pdq"], row["pdq_hex"])
        dists.append(d)
        assert d <= 10, (row["file"], d)
        assert r["quality"] >= 80, (row["file"], r["quality"])
        assert not r["lowQuality"]
    print(f"\nbrowser-decoded vs C++ reference (expected.csv): {dists}")


@pytest.mark.corpus
def test_exif_orientation_applied_like_server(worker_hash: Any, web_server: Any,
                                              photos: list[Path]) -> None:
    src = photos[0].read_bytes()
    jobs, datas = [], []
    for orientation in (3, 6, 8):
        with Image.open(io.BytesIO(src)) as im:
            exif = Image.Exif()
            exif[0x0112] = orientation
            buf = io.BytesIO()
            im.save(buf, "JPEG", quality=95, exif=exif.tobytes())
        datas.append(buf.getvalue())
        jobs.append({"url": web_server.put(f"orient-{orientation}.jpg", buf.getvalue())})
    results = _ok(worker_hash(jobs))
    for data, r in zip(datas, results, strict=True):
        media = Media.from_bytes(data, LIMITS)
        assert (r["width"], r["height"]) == media.size
        assert hamming_hex(r["pdq"], compute_pdq(media).hash) <= 6


def _png(img: Image.Image, **save: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", **save)
    return buf.getvalue()


def _insert_chunk(png: bytes, ctype: bytes, data: bytes) -> bytes:
    """Insert an ancillary chunk right after IHDR (where gAMA/sRGB/iCCP belong)."""
    chunk = struct.pack(">I", len(data)) + ctype + data
    chunk += struct.pack(">I", zlib.crc32(ctype + data) & 0xFFFFFFFF)
    end_ihdr = 8 + 8 + 13 + 4
    return png[:end_ihdr] + chunk + png[end_ihdr:]


def _png_cases(shared_data: Path, photos: list[Path]) -> list[tuple[str, bytes]]:
    ref = shared_data / "pdq-reference" / "images"
    cases = [
        ("c.png (RGBA, iCCP)", (ref / "misc-images/c.png").read_bytes()),
        ("pen-and-coaster.png (RGBA, iCCP)", (ref / "reg-test-input/pen-and-coaster.png")
         .read_bytes()),
    ]
    with Image.open(photos[1]) as im:
        rgb = im.convert("RGB")
    cases.append(("RGB", _png(rgb)))
    cases.append(("grey L", _png(rgb.convert("L"))))
    cases.append(("palette P", _png(rgb.quantize(64))))
    cases.append(("opaque RGBA", _png(rgb.convert("RGBA"))))
    plain = _png(rgb)
    # gAMA 1.0 (linear): a colour-managed decode would brighten every mid-tone.
    cases.append(("gAMA 1.0", _insert_chunk(plain, b"gAMA", struct.pack(">I", 100000))))
    cases.append(("gAMA 0.25", _insert_chunk(plain, b"gAMA", struct.pack(">I", 25000))))
    cases.append(("sRGB intent", _insert_chunk(plain, b"sRGB", b"\x00")))
    # iCCP with a far-from-sRGB profile (Lab): converting would wreck the colours.
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    cases.append(("iCCP Lab profile", _png(rgb, icc_profile=lab)))
    return cases


@pytest.mark.corpus
def test_browser_decoded_png_exact(worker_hash: Any, web_server: Any, shared_data: Path,
                                   photos: list[Path]) -> None:
    cases = _png_cases(shared_data, photos)
    jobs = [{"url": web_server.put(f"png-{i}.png", data)} for i, (_, data) in enumerate(cases)]
    results = _ok(worker_hash(jobs))
    wrong = []
    for (name, data), r in zip(cases, results, strict=True):
        media = Media.from_bytes(data, LIMITS)
        want = reference_hash(media.rgb)
        assert compute_pdq(media).hash == want[0]
        if (r["pdq"], r["quality"]) != want:
            wrong.append((name, hamming_hex(r["pdq"], want[0]), r["quality"], want[1]))
        assert r["format"] == "png"
        assert r["md5"] == hashlib.md5(data).hexdigest()
    assert not wrong, f"PNG decoded by the browser differs from Pillow's pixels: {wrong}"


@pytest.mark.corpus
def test_browser_decoded_other_formats(worker_hash: Any, web_server: Any,
                                       photos: list[Path]) -> None:
    """WebP, AVIF, GIF and BMP: lossless ones exact, lossy ones within a few bits."""
    encodings: list[tuple[str, bool, dict[str, Any]]] = [
        ("WEBP", True, {"lossless": True, "method": 0}), ("GIF", True, {}), ("BMP", True, {}),
        ("WEBP", False, {"quality": 85}),
    ]
    if features.check("avif"):
        encodings.append(("AVIF", False, {"quality": 70, "speed": 8}))
    sources = []
    for p in photos[:8]:
        with Image.open(p) as im:
            sources.append(im.convert("RGB"))
    jobs, expected = [], []
    for fmt, lossless, kw in encodings:
        for i, img in enumerate(sources):
            buf = io.BytesIO()
            img.save(buf, fmt, **kw)
            jobs.append({"url": web_server.put(f"{fmt}-{lossless}-{i}", buf.getvalue())})
            media = Media.from_bytes(buf.getvalue(), LIMITS)
            expected.append((fmt, lossless, compute_pdq(media).hash))
    results = _ok(worker_hash(jobs))
    summary: dict[str, list[int]] = {}
    for (fmt, lossless, want), r in zip(expected, results, strict=True):
        d = hamming_hex(r["pdq"], want)
        summary.setdefault(f"{fmt}{'' if lossless else ' lossy'}", []).append(d)
        assert d <= (0 if lossless else 6), (fmt, lossless, d)
    print(f"\nother formats, browser vs server distances: {summary}")


def _twelve_megapixel_jpeg(photo: Path) -> bytes:
    """A 4032x3024 JPEG the size of a phone photo: an upscaled photo plus sensor-like
    grain (an upscale alone compresses to under 1 MB and decodes unrealistically fast)."""
    with Image.open(photo) as im:
        big = np.asarray(im.convert("RGB").resize((4032, 3024), Image.Resampling.BICUBIC))
    grain = np.random.default_rng(12).normal(0, 5, (*big.shape[:2], 1)).astype(np.float32)
    noisy = np.clip(big + grain, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noisy).save(buf, "JPEG", quality=92)
    return buf.getvalue()


@pytest.mark.corpus
def test_twelve_megapixel_photo_timing(worker_hash: Any, web_server: Any,
                                       photos: list[Path], capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    landscape = next(p for p in photos if Image.open(p).size[0] > Image.open(p).size[1])
    data = _twelve_megapixel_jpeg(landscape)
    url = web_server.put("12mp.jpg", data)
    runs = _ok(worker_hash([{"url": url}, {"url": url}]))  # cold worker, then warm
    t = time.perf_counter()
    media = Media.from_bytes(data, LIMITS)
    server = compute_pdq(media)
    server_s = time.perf_counter() - t
    full = reference_hash(media.rgb)
    for r in runs:
        assert (r["width"], r["height"]) == (4032, 3024)
        assert r["pdq"] == runs[0]["pdq"]
        assert r["md5"] == hashlib.md5(data).hexdigest()
    d_full = hamming_hex(runs[0]["pdq"], full[0])
    d_fast = hamming_hex(runs[0]["pdq"], server.hash)
    with capsys.disabled():
        for label, r in zip(("cold", "warm"), runs, strict=True):
            parts = ", ".join(f"{k} {v:.0f} ms" for k, v in r["timings"].items())
            print(f"\n12 MP JPEG ({len(data) / 1e6:.1f} MB) in Chromium worker, {label}: "
                  f"{r['wallMs']:.0f} ms total ({parts})", end="")
        print(f"\n12 MP: distance to pdqhash on Pillow pixels {d_full}, to the server's fast "
              f"path {d_fast} (server {server_s * 1000:.0f} ms)")
    assert d_full <= 6
    assert d_fast <= 10
    # "under a couple of seconds on an ordinary laptop"; CI machines are slower and
    # shared, so the bound here is loose — the figure above is what to watch.
    assert runs[0]["wallMs"] < 10_000
