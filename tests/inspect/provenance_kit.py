"""Make benign test pictures that declare an origin: C2PA-signed with the reference
fixtures' TEST certificate, XMP-tagged, PNG text chunks, an invisible watermark; and the
transformations a picture goes through on its way to a platform. Shared by the tests
and bench/provenance.py."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

from veil.config import MediaLimits, ProvenanceLimits
from veil.inspect import Inspection, inspect_bytes

DST = "http://cv.iptc.org/newscodes/digitalsourcetype/"
#: Photos of the shared corpus that carry the package's marks well (textured enough
#: that the decoder reads every bit back straight after embedding; on flat pictures
#: the dwtDct method loses bits even untouched: docs/provenance.md).
WATERMARK_PHOTOS = ("bsds500_test_100039.jpg", "bsds500_test_100099.jpg",
                    "bsds500_test_101084.jpg")


def inspect(data: bytes, **limits: int) -> Inspection:
    return inspect_bytes(data, MediaLimits(), ProvenanceLimits(**limits))


def jpeg(img: Image.Image, quality: int = 95, **kwargs: object) -> bytes:
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=quality, **kwargs)
    return out.getvalue()


def sign_c2pa(data: bytes, reference: Path, source_type: str = "trainedAlgorithmicMedia",
              mime: str = "image/jpeg") -> bytes:
    """``data`` with a C2PA manifest (action c2pa.created, ``source_type``) signed by
    the fixtures' TEST certificate (es256)."""
    import c2pa

    manifest = {
        "claim_generator_info": [{"name": "veil-tests", "version": "1"}],
        "title": "test image",
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [
            {"action": "c2pa.created", "digitalSourceType": DST + source_type}]}}],
    }
    info = c2pa.C2paSignerInfo(b"es256", (reference / "es256_certs.pem").read_bytes(),
                               (reference / "es256_private.key").read_bytes(), None)
    signer = c2pa.Signer.from_info(info)
    with c2pa.Builder(json.dumps(manifest)) as builder:
        out = io.BytesIO()
        builder.sign(signer, mime, io.BytesIO(data), out)
    return out.getvalue()


def xmp_packet(source_type: str = "trainedAlgorithmicMedia") -> bytes:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" '
        'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        f'Iptc4xmpExt:DigitalSourceType="{DST}{source_type}"/>'
        '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>').encode()


def with_xmp(img: Image.Image, source_type: str = "trainedAlgorithmicMedia") -> bytes:
    return jpeg(img, xmp=xmp_packet(source_type))


def with_png_text(img: Image.Image, chunks: dict[str, str]) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    out = io.BytesIO()
    img.convert("RGB").save(out, "PNG", pnginfo=info)
    return out.getvalue()


def with_software(img: Image.Image, software: str) -> bytes:
    exif = Image.Exif()
    exif[0x0131] = software
    return jpeg(img, exif=exif)


def watermarked(img: Image.Image, bits: tuple[int, ...]) -> Image.Image:
    """``img`` with ``bits`` embedded as Stable Diffusion's scripts do (dwtDct on BGR)."""
    from veil.inspect import watermark

    module = watermark._max_dct()
    assert module is not None
    bgr = np.asarray(img.convert("RGB"))[:, :, ::-1].copy()
    marked = module.EmbedMaxDct(list(bits), wmLen=len(bits)).encode(bgr)
    return Image.fromarray(np.ascontiguousarray(marked[:, :, ::-1]))


def png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.convert("RGB").save(out, "PNG")
    return out.getvalue()


# -- what happens to a picture between its maker and a platform ----------------------

def reencode(data: bytes) -> bytes:
    """Decoded and saved again as JPEG quality 85 (what most sites do)."""
    return jpeg(Image.open(io.BytesIO(data)), quality=85)


def resize(data: bytes) -> bytes:
    """Half size each side, saved as JPEG quality 95."""
    img = Image.open(io.BytesIO(data))
    return jpeg(img.resize((img.width // 2, img.height // 2), Image.Resampling.LANCZOS))


def screenshot(data: bytes) -> bytes:
    """Its RGB pixels as a new PNG (a screenshot of the picture at 100%)."""
    return png(Image.open(io.BytesIO(data)).convert("RGB"))


def strip(data: bytes) -> bytes:
    """Metadata removed, the pixels left as they are: JPEG segments APP1–APP15 and COM
    dropped (what exiftool -all= does), PNG text chunks dropped."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return _strip_png(data)
    return _strip_jpeg(data)


def _strip_jpeg(data: bytes) -> bytes:
    out = bytearray(data[:2])
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: the rest is entropy-coded data
            break
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if not (0xE1 <= marker <= 0xEF or marker == 0xFE):
            out += data[i:i + 2 + length]
        i += 2 + length
    return bytes(out + data[i:])


def _strip_png(data: bytes) -> bytes:
    out = bytearray(data[:8])
    i = 8
    while i + 8 <= len(data):
        length = int.from_bytes(data[i:i + 4], "big")
        kind = data[i + 4:i + 8]
        if kind not in (b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"caBX"):
            out += data[i:i + 12 + length]
        i += 12 + length
    return bytes(out)


TRANSFORMS: dict[str, Callable[[bytes], bytes]] = {
    "re-encode (JPEG q85)": reencode,
    "resize (50%)": resize,
    "screenshot (RGB → PNG)": screenshot,
    "metadata strip": strip,
}
