"""A folder of uploads for backfill tests: photos from the shared corpus, a banked
one, and real malformed files (each must become an error row, never a crash)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from backfill_support import PHOTOS
from PIL import Image

from veil.config import MediaLimits, load_settings
from veil.media.source import Media
from veil.signals.pdq import compute_pdq
from veil.store import open_store


def _copy(src: Path, dst: Path, *, scale: float = 1.0, quality: int = 85) -> Path:
    img = Image.open(src).convert("RGB")
    if scale != 1.0:
        img = img.resize((round(img.width * scale), round(img.height * scale)))
    img.save(dst, quality=quality)
    return dst


@pytest.fixture
def uploads(veil_home: Path, tmp_path: Path, photos: list[Path]) -> Path:
    """``uploads/`` (12 photos, two in a subfolder, and the four malformed files); a
    bank ``ncii`` holding the PDQ of a re-encoded, shrunk copy of photo 0."""
    folder = tmp_path / "uploads"
    (folder / "sub").mkdir(parents=True)
    for i, p in enumerate(photos[:PHOTOS]):
        _copy(p, folder / ("sub" if i in (3, 7) else ".") / f"p{i:02d}.jpg")
    whole = (folder / "p01.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("not a picture, a text file named .jpg\n")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("inside.txt", "a zip archive named .png")
    (folder / "archive.png").write_bytes(buf.getvalue())
    banked = _copy(photos[0], tmp_path / "banked.jpg", scale=0.8, quality=60)
    r = compute_pdq(Media.from_path(banked, MediaLimits()))
    with open_store(load_settings()) as store:
        store.create_bank("ncii", "confirmed_ncii", actor="test")
        store.add_entry("ncii", "pdq", r.hash, quality=r.quality, actor="test")
    return folder
