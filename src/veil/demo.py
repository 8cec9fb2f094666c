"""The demo behind ``make run``: a bank of re-encoded copies of some photos, then a scan.

It uses ``../shared/data/photos`` where it exists; elsewhere it draws a small set of
synthetic pictures itself (gradients and shapes), so no photo is ever committed.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw

if TYPE_CHECKING:
    from veil.store import Store

#: Photos whose re-encoded copies go into the demo bank (the rest must stay clean).
BANKED = 12
SYNTHETIC_COUNT = 24


def shared_photos() -> Path | None:
    """The shared benign corpus: $VEIL_TEST_DATA, else ../shared/data beside the checkout."""
    env = os.environ.get("VEIL_TEST_DATA")
    candidates = [Path(env)] if env else [
        Path.cwd().parent / "shared" / "data",
        Path(__file__).resolve().parents[3] / "shared" / "data",  # src/veil/demo.py
    ]
    for base in candidates:
        photos = base / "photos"
        if photos.is_dir() and any(photos.glob("*.jpg")):
            return photos
    return None


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


DEMO_BANK = "demo-protected"


def build_demo_bank(store: Store, corpus: DemoCorpus) -> int:
    """Create (once) the demo bank and add the copies' PDQ + MD5; returns entries added."""
    from veil.config import MediaLimits
    from veil.errors import Conflict
    from veil.media.source import Media
    from veil.signals.digests import MD5
    from veil.signals.pdq import compute_pdq
    from veil.store.rows import HashRow

    with contextlib.suppress(Conflict):  # the second run reuses the bank
        store.create_bank(DEMO_BANK, "protected_photo", {"action": "review"}, actor="demo")
    rows = []
    for path in corpus.banked:
        data = reencoded_copy(path)
        r = compute_pdq(Media.from_bytes(data, MediaLimits()))
        note = f"re-encoded copy of {path.name}"
        rows.append(HashRow("pdq", r.hash, r.quality, source="demo", note=note))
        rows.append(HashRow("md5", MD5().compute_bytes(data).value, source="demo", note=note))
    report = store.import_entries(DEMO_BANK, rows, actor="demo", source_name="veil demo")
    return int(report.imported)


def run_demo() -> int:
    """Build the bank, scan the corpus, explain. Returns the process exit status."""
    from veil.cli.output import console
    from veil.config import load_settings
    from veil.store import open_store

    settings = load_settings()
    corpus = demo_corpus(settings.home)
    where = "synthetic pictures drawn by the demo" if corpus.synthetic else "the shared corpus"
    console.print(f"[bold]Veil demo[/] — data in {settings.home}")
    console.print(f"Photos: {corpus.folder} ({where})")
    with open_store(settings) as store:
        added = build_demo_bank(store, corpus)
    console.print(f"Bank [bold]{DEMO_BANK}[/] (protected_photo, action review): "
                  f"PDQ + MD5 of re-encoded, 90%-size copies of {len(corpus.banked)} photos "
                  f"({added} new entries).")
    console.print("Scanning the originals: the banked photos should be found by PDQ (their "
                  "bytes differ from the copies, so MD5 can't), the rest should be clean.\n")
    from veil.cli.scan import run_scan

    code = run_scan([corpus.folder], as_json=False, threshold=None, dihedral=False,
                    workers=None, show_clean=False, settings=settings)
    # a scan that finds matches exits 1; for the demo that is the expected outcome
    return 0 if code in (0, 1) else code


DEMO_KEY_NAME = "demo-admin"


def demo_admin_key() -> str:
    """A fresh admin key for the demo service; earlier demo keys are revoked, since a
    key is shown only once and the last one printed is the one a person has."""
    from veil.store import open_store

    with open_store() as store:
        for k in store.list_api_keys(include_revoked=False):
            if k.name == DEMO_KEY_NAME:
                store.revoke_api_key(k.id, actor="demo")
        _, key = store.create_api_key(["admin", "platform", "review"], name=DEMO_KEY_NAME,
                                      actor="demo")
    return key
