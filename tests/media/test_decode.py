"""Safe decoding: every supported format, EXIF orientation, and hostile files.

All files are generated here from the benign corpus or synthetic patterns.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from veil.config import MediaLimits
from veil.errors import MediaError, VeilError
from veil.media.source import Media
from veil.signals import all_types

LIMITS = MediaLimits()


@pytest.fixture(scope="module")
def photo(photos: list[Path]) -> Image.Image:
    return Image.open(photos[0]).convert("RGB")


def _encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _hash_all(media: Media) -> dict[str, str]:
    return {t.name: t.compute(media).value for t in all_types()}


@pytest.mark.parametrize("fmt,name", [
    ("JPEG", "jpeg"), ("PNG", "png"), ("WEBP", "webp"), ("GIF", "gif"), ("BMP", "bmp"),
    ("TIFF", "tiff"), ("HEIF", "heif"),
])
def test_supported_formats_decode_and_hash(photo: Image.Image, fmt: str, name: str) -> None:
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    data = _encode(photo, fmt)
    media = Media.from_bytes(data, LIMITS)
    assert media.format == name
    assert media.size == photo.size
    assert media.image.mode == "RGB" and media.image.size == photo.size
    hashes = _hash_all(media)
    assert len(hashes["pdq"]) == 64


def test_avif_decodes_where_supported(photo: Image.Image) -> None:
    from PIL import features

    from veil.media.formats import register_plugins

    register_plugins()
    Image.init()
    if "AVIF" not in Image.SAVE:
        assert not features.check("avif")  # nothing in this Pillow build can write it
        return
    media = Media.from_bytes(_encode(photo, "AVIF"), LIMITS)
    assert media.format == "avif" and media.size == photo.size


def test_lossless_formats_give_identical_pdq(photo: Image.Image) -> None:
    png = _hash_all(Media.from_bytes(_encode(photo, "PNG"), LIMITS))
    for fmt in ("BMP", "TIFF"):
        other = _hash_all(Media.from_bytes(_encode(photo, fmt), LIMITS))
        assert other["pdq"] == png["pdq"] and other["phash"] == png["phash"]
        assert other["md5"] != png["md5"]  # different bytes, same pixels


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(photo: Image.Image, orientation: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = _encode(photo, "JPEG", exif=exif.tobytes(), quality=95)
    media = Media.from_bytes(data, LIMITS)
    expected = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    assert media.size == expected.size
    assert np.array_equal(np.asarray(media.image), np.asarray(expected))


def _expect(data: bytes, code: str, limits: MediaLimits = LIMITS) -> VeilError:
    with pytest.raises(VeilError) as info:
        media = Media.from_bytes(data, limits)
        for t in all_types():
            t.compute(media)
    assert info.value.code == code, info.value
    assert info.value.message
    return info.value


def test_zero_byte_file() -> None:
    _expect(b"", "media.empty")


def test_random_bytes() -> None:
    rng = np.random.default_rng(1)
    err = _expect(rng.bytes(5000), "media.unsupported")
    assert "JPEG" in err.message  # tells the person what works


def test_text_file_with_image_extension(tmp_path: Path) -> None:
    p = tmp_path / "notes.jpg"
    p.write_text("this is not an image\n")
    with pytest.raises(MediaError) as info:
        Media.from_path(p, LIMITS)
    assert info.value.code == "media.unsupported"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_files(photo: Image.Image, fmt: str) -> None:
    data = _encode(photo, fmt)
    for cut in (len(data) // 2, len(data) - 40):
        _expect(data[:cut], "media.truncated")


def test_truncated_header_only(photo: Image.Image) -> None:
    data = _encode(photo, "PNG")
    err = _expect(data[:30], "media.unsupported")
    assert err.code.startswith("media.")


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(
        ">I", zlib.crc32(kind + body) & 0xFFFFFFFF
    )


def test_png_declaring_huge_size_is_refused_before_decoding() -> None:
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    data = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + \
        _png_chunk(b"IEND", b"")
    err = _expect(data, "media.too_large")
    assert "100000x100000" in err.message


def test_file_over_byte_limit_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "big.jpg"
    p.write_bytes(b"\xff\xd8" + b"\0" * 5000)
    with pytest.raises(MediaError) as info:
        Media.from_path(p, MediaLimits(max_bytes=1000))
    assert info.value.code == "media.too_large"


def test_gif_with_thousands_of_frames() -> None:
    rng = np.random.default_rng(3)
    frames = [Image.fromarray(rng.integers(0, 256, (4, 4), dtype=np.uint8)) for _ in range(3000)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=10)
    _expect(buf.getvalue(), "media.too_many_frames")
    # under a higher limit the same file hashes from its first frame
    media = Media.from_bytes(buf.getvalue(), MediaLimits(max_frames=5000))
    assert media.frames == 3000
    assert media.image.size == (4, 4)


def test_sixteen_bit_png_is_scaled_not_clipped() -> None:
    ramp = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 16).astype(np.uint16)
    img = Image.fromarray(ramp)
    assert img.mode.startswith("I;16")
    media = Media.from_bytes(_encode(img, "PNG"), LIMITS)
    grey = np.asarray(media.image)[:, :, 0]
    assert grey.min() == 0 and grey.max() >= 250  # full range kept, not saturated
    assert len(np.unique(grey)) > 200


def test_cmyk_jpeg(photo: Image.Image) -> None:
    data = _encode(photo.convert("CMYK"), "JPEG", quality=95)
    media = Media.from_bytes(data, LIMITS)
    assert media.image.mode == "RGB"
    rgb_pdq = all_types()[0].compute(Media.from_bytes(_encode(photo, "JPEG", quality=95), LIMITS))
    cmyk_pdq = all_types()[0].compute(media)
    assert all_types()[0].distance(rgb_pdq.value, cmyk_pdq.value) <= 16


def test_broken_exif_is_ignored_with_a_warning(photo: Image.Image) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    data = bytearray(_encode(photo, "JPEG", exif=exif.tobytes()))
    start = data.index(b"Exif\x00\x00") + 6
    data[start : start + 12] = b"\xde\xad\xbe\xef" * 3  # garbage TIFF header
    media = Media.from_bytes(bytes(data), LIMITS)
    assert media.orientation.value == 1
    assert media.size == photo.size
    assert len(all_types()[0].compute(media).value) == 64


def test_invalid_orientation_value_is_ignored(photo: Image.Image) -> None:
    exif = Image.Exif()
    exif[0x0112] = 42
    media = Media.from_bytes(_encode(photo, "JPEG", exif=exif.tobytes()), LIMITS)
    assert media.orientation.value == 1 and media.warnings


def test_unsupported_but_known_format(photo: Image.Image) -> None:
    data = _encode(photo, "PPM")
    err = _expect(data, "media.unsupported")
    assert "PPM" in err.message


def test_tiny_image_hashes_to_zero_quality() -> None:
    media = Media.from_bytes(_encode(Image.new("RGB", (3, 3), "white"), "PNG"), LIMITS)
    sig = all_types()[0].compute(media)
    assert sig.quality == 0
