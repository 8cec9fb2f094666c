"""XMP digital source type, EXIF Software, PNG text chunks and watermarks on benign
photos, what survives the way to a platform, and hostile files."""

from __future__ import annotations

import struct
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image
from provenance_kit import (
    TRANSFORMS,
    WATERMARK_PHOTOS,
    inspect,
    jpeg,
    png,
    reencode,
    screenshot,
    strip,
    watermarked,
    with_png_text,
    with_software,
    with_xmp,
    xmp_packet,
)

from veil.errors import MediaError
from veil.inspect.watermark import KNOWN_MARKS

pytestmark = pytest.mark.corpus


def _values(data: bytes, source: str) -> list[tuple[str, str, bool]]:
    return [(o.kind, o.value, o.declares_ai) for o in inspect(data).observations
            if o.source == source]


@pytest.mark.parametrize("dst", ["trainedAlgorithmicMedia",
                                 "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia"])
def test_xmp_source_type_declares_ai(textured: Image.Image, dst: str) -> None:
    assert _values(with_xmp(textured, dst), "xmp") == [("digital_source_type", dst, True)]


def test_xmp_capture_is_reported_not_counted_as_ai(textured: Image.Image) -> None:
    assert _values(with_xmp(textured, "digitalCapture"), "xmp") == [
        ("digital_source_type", "digitalCapture", False)]


def test_exif_software_is_reported(textured: Image.Image) -> None:
    assert _values(with_software(textured, "GIMP 2.10.34"), "exif") == [
        ("software", "GIMP 2.10.34", False)]


def test_generator_png_chunks_declare_ai_and_others_are_ignored(textured: Image.Image) -> None:
    data = with_png_text(textured, {
        "parameters": "a lighthouse\nSteps: 20, Sampler: Euler a, CFG scale: 7",
        "prompt": '{"3": {"class_type": "KSampler"}}', "workflow": '{"nodes": []}',
        "Title": "holiday", "Comment": "nothing to see"})
    found = _values(data, "png")
    assert [v.split(":")[0] for _, v, _ in found] == ["parameters", "prompt", "workflow"]
    assert all(ai for _, _, ai in found)


@pytest.mark.parametrize("mark", KNOWN_MARKS, ids=lambda m: m.name.split(" (")[0])
def test_known_watermarks_are_read(shared_data: Path, mark: object) -> None:
    found_on = 0
    for name in WATERMARK_PHOTOS:
        img = Image.open(shared_data / "photos" / name).convert("RGB")
        values = [v for k, v, ai in _values(png(watermarked(img, mark.bits)), "watermark")]  # type: ignore[attr-defined]
        found_on += any(v.startswith(mark.name) for v in values)  # type: ignore[attr-defined]
    # the 136-bit SD 1 mark spreads over fewer blocks per bit: the package itself
    # loses some of it on these small photos
    assert found_on >= (1 if len(mark.bits) > 100 else len(WATERMARK_PHOTOS))  # type: ignore[attr-defined]


def test_no_watermark_is_seen_on_ordinary_photos(photos: list[Path]) -> None:
    for path in photos[:40]:
        assert _values(path.read_bytes(), "watermark") == [], path.name


def test_what_survives_the_way_to_a_platform(textured: Image.Image) -> None:
    """Metadata is lost by every transformation (the watermark lives in the pixels and
    survives the lossless ones): absence of a declaration means nothing."""
    xmp = with_xmp(textured)
    chunk = with_png_text(textured, {"parameters": "a lighthouse, Steps: 20"})
    mark = png(watermarked(textured, KNOWN_MARKS[2].bits))
    for name, transform in TRANSFORMS.items():
        assert _values(transform(xmp), "xmp") == [], name
        assert _values(transform(chunk), "png") == [], name
    assert _values(screenshot(mark), "watermark") and _values(strip(mark), "watermark")
    assert _values(reencode(mark), "watermark") == []


# -- hostile files ------------------------------------------------------------------

def _png_with(img: Image.Image, chunk_type: bytes, body: bytes) -> bytes:
    base = png(img)
    chunk = (struct.pack(">I", len(body)) + chunk_type + body
             + struct.pack(">I", zlib.crc32(chunk_type + body)))
    return base[:33] + chunk + base[33:]  # after the signature and IHDR


def test_malformed_xmp_gives_what_it_can() -> None:
    img = Image.new("RGB", (64, 64), (90, 120, 30))
    broken = (b'<x:xmpmeta><rdf:RDF><rdf:Description Iptc4xmpExt:DigitalSourceType="'
              b'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia'
              + b"A" * 60_000)  # unterminated, no closing tags
    found = _values(jpeg(img, xmp=broken), "xmp")
    assert len(found) == 1 and len(found[0][1]) <= 200
    many = b"".join(xmp_packet(f"type{i}") for i in range(500))
    assert len(_values(jpeg(img, xmp=many[:60_000]), "xmp")) <= 10


def test_decompression_bomb_text_chunk_is_a_clear_error() -> None:
    img = Image.new("RGB", (64, 64))
    bomb = _png_with(img, b"zTXt",
                     b"parameters\x00\x00" + zlib.compress(b"a" * (200 << 20), 9))
    with pytest.raises(MediaError) as exc:
        inspect(bomb)
    assert exc.value.code == "media.invalid" and "MAX_TEXT_CHUNK" in exc.value.message


def test_huge_plain_text_chunk_is_bounded() -> None:
    big = _png_with(Image.new("RGB", (64, 64)), b"tEXt", b"prompt\x00" + b"x" * (8 << 20))
    (_kind, value, ai) = _values(big, "png")[0]
    assert value.startswith("prompt: xxx") and len(value) <= 200 and ai


def test_broken_manifest_is_reported_unreadable(reference: Path) -> None:
    data = bytearray((reference / "C.jpg").read_bytes())
    start = data.find(b"jumb")
    for i in range(start + 200, start + 2000, 7):
        data[i] ^= 0x5A
    found = inspect(bytes(data))
    assert found.c2pa == "unreadable"
    assert [o.kind for o in found.observations if o.source == "c2pa"] == ["unreadable"]


def test_c2pa_size_limit(reference: Path) -> None:
    data = (reference / "C.jpg").read_bytes()
    found = inspect(data, c2pa_max_bytes=len(data) - 1)
    assert found.c2pa == "not_checked" and not found.declares_ai


def test_watermark_pixel_limit_and_small_images(textured: Image.Image) -> None:
    marked = png(watermarked(textured, KNOWN_MARKS[2].bits))
    found = inspect(marked, watermark_max_pixels=1000)
    assert not _values(png(Image.new("RGB", (100, 100))), "watermark")
    assert [o for o in found.observations if o.source == "watermark"] == []
    assert any("not checked" in s for s in found.skipped)
    assert any("too small" in s for s in inspect(png(Image.new("RGB", (100, 100)))).skipped)


def test_cost_is_bounded(textured: Image.Image) -> None:
    big = textured.resize((2000, 2000))  # 4 MP: the largest checked for a watermark
    data = png(big)
    start = time.perf_counter()
    inspect(data)
    assert time.perf_counter() - start < 5


def test_truncated_pixels_keep_the_metadata_and_skip_the_watermark(
        textured: Image.Image) -> None:
    data = with_xmp(textured)
    found = inspect(data[:len(data) * 2 // 3])
    assert [o.value for o in found.observations] == ["trainedAlgorithmicMedia"]
    assert any(s.startswith("watermark:") and "truncated" in s for s in found.skipped)


def test_vectorised_decoding_is_the_packages_bit_for_bit(photos: list[Path]) -> None:
    """``block_bits`` reads each block as ``EmbedMaxDct.decode_frame`` does, on plain
    and on marked photos."""
    import cv2
    import numpy as np
    import pywt

    from veil.inspect import watermark

    module = watermark._max_dct()
    assert module is not None
    for path in photos[:12]:
        bgr = np.asarray(Image.open(path).convert("RGB"))[:, :, ::-1].copy()
        marked = module.EmbedMaxDct(list(KNOWN_MARKS[1].bits), wmLen=32).encode(bgr.copy())
        for image in (bgr, marked):
            rows, cols = image.shape[:2]
            yuv = cv2.cvtColor(image, cv2.COLOR_BGR2YUV)
            ca1, _ = pywt.dwt2(yuv[:rows // 4 * 4, :cols // 4 * 4, 1], "haar")
            n = (ca1.shape[0] // 4) * (ca1.shape[1] // 4)
            # one "bit" per block: the package's own per-block reading, unaveraged
            scores = module.EmbedMaxDct([], wmLen=n).decode_frame(ca1, 36, [[] for _ in range(n)])
            assert np.array_equal(watermark.block_bits(image),
                                  np.array([s[0] for s in scores], dtype=np.float64)), path.name
