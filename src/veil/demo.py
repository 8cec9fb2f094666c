"""The demo behind ``make run``: a bank of re-encoded copies of some photos, then a scan.

It uses ``../shared/data/photos`` where it exists; elsewhere it draws a small set of
synthetic pictures itself (gradients and shapes), so no photo is ever committed.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

#: Photos whose re-encoded copies go into the demo bank (the rest must stay clean).
BANKED = 12
SYNTHETIC_COUNT = 24


def shared_photos() -> Path | None:
    root = os.environ.get("VEIL_TEST_DATA")
    base = Path(root) if root else Path(__file__).resolve().parents[3].parent / "shared" / "data"
    photos = base / "photos"
    return photos if photos.is_dir() and any(photos.glob("*.jpg")) else None


def synthetic_photos(folder: Path, count: int = SYNTHETIC_COUNT) -> Path:
    """Draw ``count`` distinct, textured 640x480 pictures (deterministic)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        path = folder / f"synthetic_{i:02d}.jpg"
        if path.exists():
            continue
        rng = np.random.default_rng(1000 + i)
        y, x = np.mgrid[0:480, 0:640].astype(np.float32)
        base = np.stack([
            127 + 100 * np.sin(x / rng.uniform(20, 90) + rng.uniform(0, 6)),
            127 + 100 * np.cos(y / rng.uniform(20, 90) + rng.uniform(0, 6)),
            127 + 100 * np.sin((x + y) / rng.uniform(30, 120)),
        ], axis=-1)
        img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(img)
        for _ in range(12):
            x0, y0 = rng.integers(0, 560), rng.integers(0, 400)
            box = (x0, y0, x0 + rng.integers(20, 200), y0 + rng.integers(20, 200))
            color = tuple(int(c) for c in rng.integers(0, 256, 3))
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=color)
        img.save(path, quality=92)
    return folder


def reencoded_copy(path: Path) -> bytes:
    """What a re-share does to a photo: a smaller, recompressed JPEG."""
    img = Image.open(path).convert("RGB")
    img = img.resize((img.width * 9 // 10, img.height * 9 // 10), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=60)
    return buf.getvalue()


@dataclass(frozen=True)
class DemoCorpus:
    folder: Path
    banked: list[Path]
    synthetic: bool


def demo_corpus(home: Path) -> DemoCorpus:
    shared = shared_photos()
    folder = shared if shared else synthetic_photos(home / "demo-photos")
    files = sorted(folder.glob("*.jpg"))
    # every 7th photo, so banked ones are spread through the folder
    return DemoCorpus(folder, files[::7][:BANKED], synthetic=shared is None)
