"""Edited and derived copies of a benign photo for the region signal's end-to-end
tests: a crop with a border (an edited copy), and the photo with half its area,
centre-bottom, flattened to grey (a derived copy: what an "undressing" service
replaces, made here only by filling a box)."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps


def _jpeg(im: Image.Image) -> bytes:
    out = io.BytesIO()
    im.save(out, "JPEG", quality=85)
    return out.getvalue()


def edited(path: Path) -> bytes:
    """Cropped by a tenth on the left and top, framed by a white border."""
    im = Image.open(path).convert("RGB")
    w, h = im.size
    return _jpeg(ImageOps.expand(im.crop((w // 10, h // 10, w, h)), border=24, fill="white"))


def derived(path: Path, share: float = 0.5) -> bytes:
    """``share`` of the area, centre-bottom, replaced by a flat grey."""
    im = Image.open(path).convert("RGB")
    w, h = im.size
    bw, bh = w * share ** 0.5, h * share ** 0.5
    ImageDraw.Draw(im).rectangle([w / 2 - bw / 2, h - bh, w / 2 + bw / 2, h], fill=(128,) * 3)
    return _jpeg(im)


def region_b64(path: Path) -> str:
    """The photo's region signal as the intake page sends it."""
    from veil.config import Settings
    from veil.media.source import Media
    from veil.regions import blob
    from veil.regions.features import bank_features

    media = Media.from_bytes(path.read_bytes(), Settings().media)
    return base64.b64encode(blob.encode(bank_features(media))).decode()
