"""``veil demo`` (what ``make run`` runs): a bank of re-encoded copies of some photos,
a scan of the folder, then, with ``--serve``, the service and what to try next.

It uses ``../shared/data/photos`` where it exists; elsewhere it draws a small set of
synthetic pictures itself (gradients and shapes), so no photo is ever committed.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from veil.cli.output import EXIT_ERROR, console, fail, handles_errors
from veil.cli.serve import ensure_port_free

if TYPE_CHECKING:
    from veil.config import Settings
    from veil.store import BankStore

#: Photos whose re-encoded copies go into the demo bank (the rest must stay clean).
BANKED = 12
SYNTHETIC_COUNT = 24
DEMO_BANK = "demo-protected"
DEMO_KEYS = {"demo-admin": ["admin", "review"], "demo-platform": ["platform"]}


def shared_photos() -> Path | None:
    """The shared benign corpus: $VEIL_TEST_DATA, else ../shared/data beside the checkout."""
    env = os.environ.get("VEIL_TEST_DATA")
    candidates = [Path(env)] if env else [
        Path.cwd().parent / "shared" / "data",
        Path(__file__).resolve().parents[4] / "shared" / "data",  # src/veil/cli/demo.py
    ]
    for base in candidates:
        photos = base / "photos"
        if photos.is_dir() and any(photos.glob("*.jpg")):
            return photos
    return None


def synthetic_photos(folder: Path, count: int = SYNTHETIC_COUNT) -> Path:
    """Draw ``count`` distinct, textured 640x480 pictures (deterministic)."""
    import numpy as np
    from PIL import Image, ImageDraw

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
            x0, y0 = int(rng.integers(0, 560)), int(rng.integers(0, 400))
            box = (x0, y0, x0 + int(rng.integers(20, 200)), y0 + int(rng.integers(20, 200)))
            color = tuple(int(c) for c in rng.integers(0, 256, 3))
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=color)
        img.save(path, quality=92)
    return folder


def reencoded_copy(path: Path) -> bytes:
    """What a re-share does to a photo: a smaller, recompressed JPEG."""
    import io

    from PIL import Image

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
    from veil.errors import VeilError

    shared = shared_photos()
    try:
        folder = shared if shared else synthetic_photos(home / "demo-photos")
    except OSError as exc:
        raise VeilError(f"cannot draw the demo's pictures in {home / 'demo-photos'}: "
                        f"{exc.strerror or exc}", code="demo.unwritable") from None
    files = sorted(folder.glob("*.jpg"))
    # every 7th photo, so banked ones are spread through the folder
    return DemoCorpus(folder, files[::7][:BANKED], synthetic=shared is None)


def build_demo_bank(store: BankStore, corpus: DemoCorpus, settings: Settings) -> int:
    """Create (once) the demo bank and add the copies' PDQ + MD5; returns entries added."""
    from veil.errors import Conflict
    from veil.signals.batch import hash_bytes
    from veil.store import HashRow

    with contextlib.suppress(Conflict):  # the second run reuses the bank
        store.create_bank(DEMO_BANK, "protected_photo", {"action": "review"}, actor="demo")
    rows = []
    for path in corpus.banked:
        copy = hash_bytes(reencoded_copy(path), settings.media, ("pdq", "md5"))
        note = f"re-encoded copy of {path.name}"
        rows += [HashRow(s.type, s.value, s.quality, source="demo", note=note)
                 for s in copy.signals]
    report = store.import_entries(DEMO_BANK, rows, actor="demo", source_name="veil demo")
    return int(report.imported)


def run_demo(settings: Settings) -> tuple[int, DemoCorpus]:
    """Build the bank, scan the corpus, explain. Returns the exit status and corpus."""
    from veil.cli.scan import run_scan
    from veil.store import open_store

    corpus = demo_corpus(settings.home)
    where = "synthetic pictures drawn by the demo" if corpus.synthetic else "the shared corpus"
    console.print(f"[bold]Veil demo[/] — data in {escape(str(settings.home))}")
    console.print(f"Photos: {escape(str(corpus.folder))} ({where})")
    with open_store(settings) as store:
        added = build_demo_bank(store, corpus, settings)
    console.print(f"Bank [bold]{DEMO_BANK}[/] (protected_photo, action review): "
                  f"PDQ + MD5 of re-encoded, 90%-size copies of {len(corpus.banked)} photos "
                  f"({added} new entries).")
    console.print("Scanning the originals: the banked photos should be found by PDQ (their "
                  "bytes differ from the copies, so MD5 can't), the rest should be clean.\n")
    code = run_scan([corpus.folder], as_json=False, threshold=None, dihedral=False,
                    workers=None, show_clean=False, settings=settings)
    # a scan that finds matches exits 1; for the demo that is the expected outcome
    return (0 if code in (0, 1) else code), corpus


def demo_keys(settings: Settings) -> dict[str, str]:
    """Fresh demo keys by name (``DEMO_KEYS``); earlier demo keys are revoked, since a
    key is shown only once and the last one printed is the one a person has."""
    from veil.store import open_store

    with open_store(settings) as store:
        for k in store.list_api_keys(include_revoked=False):
            if k.name in DEMO_KEYS:
                store.revoke_api_key(k.id, actor="demo")
        return {name: store.create_api_key(scopes, name=name, actor="demo")[1]
                for name, scopes in DEMO_KEYS.items()}


def next_steps(base: str, keys: dict[str, str], corpus: DemoCorpus) -> str:
    """What to try once the service is up: each audience, one ready command (Rich
    markup: the address, path and keys in it are escaped)."""
    photo = escape(str(corpus.banked[0] if corpus.banked else corpus.folder))
    base = escape(base)
    platform, admin = escape(keys["demo-platform"]), escape(keys["demo-admin"])
    return (
        f"\n[bold]Service[/] on {base}/ (status page; API documentation at {base}/docs)\n"
        f"\n[bold]Try next[/]\n"
        f"• A person protecting their photos: open {base}/protect — the photos are hashed "
        "in the browser and never leave it.\n"
        f"• A platform scanning an upload (this photo's copy is in the demo bank):\n"
        f"  curl -s {base}/v1/scan -H 'Authorization: Bearer {platform}' -F 'file=@{photo}'\n"
        f"• An admin listing the banks:\n"
        f"  curl -s {base}/v1/admin/banks -H 'Authorization: Bearer {admin}'\n"
        f"\nDemo keys, shown once (earlier demo keys are now revoked):\n"
        f"  platform:      {platform}\n"
        f"  admin, review: {admin}\n"
        f"\nStop the service with Ctrl-C.")


@handles_errors
def demo_command(
    serve: bool = typer.Option(False, "--serve", help="Then start the service with fresh "
                               "demo keys (what make run does)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address for --serve."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port for --serve."),
) -> None:
    """Build a demo bank from re-encoded copies of some photos, then scan the folder."""
    from veil.config import load_settings

    settings = load_settings()
    if serve:
        ensure_port_free(host, port, f"pick another (PORT={port + 1} make run, or veil demo "
                         f"--serve --port {port + 1})")
    code, corpus = run_demo(settings)
    if code or not serve:
        raise typer.Exit(code)
    from veil.cli.serve import serve as start_service

    keys = demo_keys(settings)
    console.print(next_steps(f"http://{host}:{port}", keys, corpus), soft_wrap=True,
                  highlight=False)
    try:
        start_service(settings, host=host, port=port, log_level="warning")
    except OSError as exc:
        raise fail(f"the service could not start: {exc}", "serve.failed") from None
    raise typer.Exit(0 if code == 0 else EXIT_ERROR)
