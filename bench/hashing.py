"""Hashing throughput: Veil against the reference path, on 12 MP JPEGs.

The script upscales photos of the shared corpus to ~12 MP JPEGs in a temp dir (what
a phone uploads) and measures two things, each against its reference in the same run.

**In process** (``--images`` photos, plain upscales and upscales with per-pixel
grain), best of ``--repeat`` passes:

* PDQ: the reference (Pillow full decode + ``pdqhash.compute``, Meta's C++ core);
  Veil (``compute_pdq``: DCT-scaled JPEG decode, full-resolution filter weights);
  the naive shortcut (Pillow ``draft`` to ~512 px, then ``pdqhash``); the floor (the
  reduced JPEG decode alone);
* every signal (pdq, md5, sha256, phash, dhash): the reference (one full decode,
  ``pdqhash``, ``imagehash.phash``/``dhash``, ``hashlib``) against Veil's
  ``hash_media``, with each perceptual hash's distance to the reference.

**Whole process** (``--files`` distinct photos, plain upscales; ``--grain`` adds a
set with grain): each command is a fresh process, startup included, timed as the
best of ``--repeat`` runs after one untimed warm-up, the runs interleaved so load
on the machine hits both sides alike:

* ``veil hash --json DIR`` (every signal) against a plain script that does what a
  careful user would do without Veil: one process, Pillow full decode,
  ``pdqhash.compute``, ``imagehash.phash``/``dhash``, ``hashlib`` md5/sha256;
* ``veil scan --json DIR`` against the same script with PDQ only, with a bank of
  ``--bank-entries`` random PDQ hashes in a fresh ``VEIL_HOME``.

Ratios are reference time / Veil time. The load average is printed at the start
and the end.

    .venv/bin/python bench/hashing.py                       # both parts
    .venv/bin/python bench/hashing.py --part process --files 48
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image

from veil.config import MediaLimits
from veil.media.jpeg import reduction_factor
from veil.media.source import Media
from veil.signals import names
from veil.signals.batch import hash_media
from veil.signals.hexhash import hamming_hex
from veil.signals.pdq import compute_pdq, reference_hash

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("VEIL_TEST_DATA", REPO.parent / "shared" / "data"))
PERCEPTUAL = ("pdq", "phash", "dhash")

#: The reference as a plain script: ``REFERENCE all|pdq DIR`` prints one line per file.
REFERENCE = '''\
import hashlib, sys
from pathlib import Path
import numpy as np
import pdqhash
from PIL import Image
everything = sys.argv[1] == "all"
if everything:
    import imagehash
for path in sorted(Path(sys.argv[2]).iterdir()):
    data = path.read_bytes()
    image = Image.open(path).convert("RGB")
    bits, quality = pdqhash.compute(np.asarray(image))
    row = {"pdq": np.packbits(bits).tobytes().hex()}
    if everything:
        row["md5"] = hashlib.md5(data).hexdigest()
        row["sha256"] = hashlib.sha256(data).hexdigest()
        row["phash"] = str(imagehash.phash(image))
        row["dhash"] = str(imagehash.dhash(image))
    print(path, *(f"{k}={v}" for k, v in row.items()))
'''


def make_images(src: Path, out: Path, count: int, megapixels: float, grain: bool) -> list[Path]:
    """``count`` distinct photos upscaled to ``megapixels`` MP, quality-90 JPEGs."""
    photos = sorted(src.glob("*.jpg"))[:count]
    if len(photos) < count:
        sys.exit(f"need {count} photos in {src}, found {len(photos)}")
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    rng = np.random.default_rng(0)
    for i, p in enumerate(photos):
        im = Image.open(p).convert("RGB")
        s = (megapixels * 1e6 / (im.width * im.height)) ** 0.5
        big = im.resize((round(im.width * s), round(im.height * s)), Image.Resampling.BICUBIC)
        if grain:  # sensor-like per-pixel detail that upscaling alone lacks
            a = np.asarray(big, dtype=np.int16)
            a = a + rng.integers(-20, 21, size=(*a.shape[:2], 1), dtype=np.int16)
            big = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
        path = out / f"{'g' if grain else 'u'}{i:03d}.jpg"
        big.save(path, quality=90)
        paths.append(path)
    return paths


def dist_stats(d: list[int]) -> str:
    d = sorted(d)
    return f"{statistics.median(d):g} / {float(np.percentile(d, 99)):.1f} / {d[-1]}"


def load_text() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


# -- in process ---------------------------------------------------------------------------
def timed(fn: Callable[[Path], object], paths: list[Path], repeat: int) -> tuple[float, list]:
    best = float("inf")
    results: list = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        results = [fn(p) for p in paths]
        best = min(best, time.perf_counter() - t0)
    return len(paths) / best, results


def pdq_reference(p: Path) -> str:
    return reference_hash(np.asarray(Image.open(p).convert("RGB")))[0]


def pdq_veil(p: Path) -> str:
    return compute_pdq(Media.from_path(p, MediaLimits())).hash


def pdq_floor(p: Path) -> None:
    im = Image.open(p)
    im.draft("L", (im.width // 8, im.height // 8))
    im.load()


def pdq_naive(p: Path) -> str:
    im = Image.open(p)
    im.draft("RGB", (512, 512))
    return reference_hash(np.asarray(im.convert("RGB")))[0]


def all_reference(p: Path) -> dict[str, str]:
    data = p.read_bytes()
    im = Image.open(p).convert("RGB")
    return {"pdq": reference_hash(np.asarray(im))[0],
            "md5": hashlib.md5(data).hexdigest(), "sha256": hashlib.sha256(data).hexdigest(),
            "phash": str(imagehash.phash(im)), "dhash": str(imagehash.dhash(im))}


def all_veil(p: Path) -> dict[str, str]:
    r = hash_media(Media.from_path(p, MediaLimits()), tuple(names()))
    return {s.type: s.value for s in r.signals}


def in_process(paths: list[Path], label: str, repeat: int) -> None:
    w, h = Image.open(paths[0]).size
    print(f"\n{len(paths)} JPEGs ~{w}x{h} ({label}); reduction factor "
          f"{reduction_factor(w, h)}; in process, best of {repeat}")
    ref_ips, ref_hashes = timed(pdq_reference, paths, repeat)
    rows = [("PDQ reference (full decode + pdqhash)", ref_ips, ref_hashes)]
    for name, fn in (("PDQ veil fast path", pdq_veil),
                     ("PDQ naive draft-512 + pdqhash", pdq_naive),
                     ("PDQ floor: reduced decode alone", pdq_floor)):
        ips, hashes = timed(fn, paths, repeat)
        rows.append((name, ips, hashes))
    print(f"{'path':40} {'images/s':>9} {'× ref':>7}  distance to reference "
          "(median / p99 / max)")
    for name, ips, hashes in rows:
        dist = "-" if hashes[0] is None else dist_stats(
            [hamming_hex(a, b) for a, b in zip(hashes, ref_hashes, strict=True)])
        print(f"{name:40} {ips:9.1f} {ips / ref_ips:7.1f}  {dist}")
    ref_ips, refs = timed(all_reference, paths, repeat)
    ips, ours = timed(all_veil, paths, repeat)
    dists = "; ".join(
        f"{n} {dist_stats([hamming_hex(a[n], b[n]) for a, b in zip(ours, refs, strict=True)])}"
        for n in PERCEPTUAL)
    exact = all(a[n] == b[n] for a, b in zip(ours, refs, strict=True) for n in ("md5", "sha256"))
    print(f"{'all signals, reference':40} {ref_ips:9.1f} {1:7.1f}")
    print(f"{'all signals, veil hash_media':40} {ips:9.1f} {ips / ref_ips:7.1f}  {dists}"
          f"{'' if exact else '  DIGESTS DIFFER'}")


# -- whole process ------------------------------------------------------------------------
def run_timed(cmd: list[str], env: dict[str, str], out: Path) -> float:
    t0 = time.perf_counter()
    with out.open("w") as fh:
        proc = subprocess.run(cmd, env=env, stdout=fh, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 1):  # scan exits 1 when something matched
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed


def parse_reference(out: Path) -> dict[str, dict[str, str]]:
    rows = {}
    for line in out.read_text().splitlines():
        path, *fields = line.split()
        rows[path] = dict(f.split("=", 1) for f in fields)
    return rows


def parse_veil(out: Path) -> dict[str, dict[str, str]]:
    rows = {}
    for line in out.read_text().splitlines():
        obj = json.loads(line)
        rows[obj["file"]] = {s["signal"]: s["value"] for s in obj.get("signals", [])}
    return rows


def make_bank(home: Path, entries: int, env: dict[str, str], veil: list[str]) -> None:
    csv = home / "bank.csv"
    with csv.open("w") as fh:
        fh.write("signal,value,quality\n")
        for _ in range(entries):
            fh.write(f"pdq,{secrets.token_hex(32)},100\n")
    for args in (["bank", "create", "-c", "confirmed_ncii", "bench"],
                 ["bank", "import", "bench", str(csv)]):
        subprocess.run([*veil, *args], env=env, check=True, capture_output=True)


def whole_process(folder: Path, label: str, repeat: int, bank_entries: int,
                  tmp: Path) -> None:
    count = len(list(folder.iterdir()))
    home = tmp / f"home-{label.replace(' ', '-')}"
    home.mkdir()
    env = {**os.environ, "VEIL_HOME": str(home)}
    veil = [sys.executable, "-m", "veil.cli"]
    make_bank(home, bank_entries, env, veil)
    script = tmp / "reference.py"
    script.write_text(REFERENCE)
    out = tmp / "out.txt"
    pairs = {
        "hash": ([sys.executable, str(script), "all", str(folder)],
                 [*veil, "hash", "--json", str(folder)]),
        "scan": ([sys.executable, str(script), "pdq", str(folder)],
                 [*veil, "scan", "--json", str(folder)]),
    }
    print(f"\n{count} distinct JPEGs ({label}); whole process, startup included; "
          f"best of {repeat} after a warm-up; scan against {bank_entries:,} PDQ entries")
    print(f"start: {load_text()}")
    print(f"{'command':12} {'reference s':>12} {'veil s':>8} {'× ref':>7}  "
          "veil's distance to reference (median / p99 / max)")
    for what, (ref_cmd, veil_cmd) in pairs.items():
        run_timed(ref_cmd, env, out)
        refs = parse_reference(out)
        run_timed(veil_cmd, env, out)
        ours = parse_veil(out)
        ref_t, veil_t = [], []
        for _ in range(repeat):
            ref_t.append(run_timed(ref_cmd, env, out))
            veil_t.append(run_timed(veil_cmd, env, out))
        if set(ours) != set(refs):
            sys.exit(f"veil {what} and the reference saw different files")
        dists = "; ".join(
            f"{n} {dist_stats([hamming_hex(ours[f][n], refs[f][n]) for f in refs])}"
            for n in PERCEPTUAL if n in next(iter(refs.values())))
        print(f"veil {what:7} {min(ref_t):12.2f} {min(veil_t):8.2f} "
              f"{min(ref_t) / min(veil_t):7.1f}  {dists}")
        print(f"{'':12} {'runs: ' + ' '.join(f'{t:.2f}' for t in ref_t):>26}  "
              f"{' '.join(f'{t:.2f}' for t in veil_t)}")
    print(f"end: {load_text()}")
    print("commands: reference = python REFERENCE {all|pdq} DIR (see bench/hashing.py); "
          "veil = python -m veil.cli {hash|scan} --json DIR")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=("both", "inprocess", "process"), default="both")
    ap.add_argument("--images", type=int, default=20, help="photos for the in-process part")
    ap.add_argument("--files", type=int, default=48, help="photos for the whole-process part")
    ap.add_argument("--megapixels", type=float, default=12.0)
    ap.add_argument("--repeat", type=int, default=3, help="best of N timings")
    ap.add_argument("--bank-entries", type=int, default=10_000)
    ap.add_argument("--grain", action="store_true",
                    help="whole process: also time a set with per-pixel grain")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        if args.part in ("both", "inprocess"):
            for grain in (False, True):
                label = "upscaled + grain" if grain else "upscaled"
                paths = make_images(DATA / "photos", tmp / f"in-{int(grain)}", args.images,
                                    args.megapixels, grain)
                in_process(paths, label, args.repeat)
        if args.part in ("both", "process"):
            for grain in (False, True) if args.grain else (False,):
                label = "upscaled + grain" if grain else "upscaled"
                folder = tmp / f"files-{int(grain)}"
                make_images(DATA / "photos", folder, args.files, args.megapixels, grain)
                whole_process(folder, label, args.repeat, args.bank_entries, tmp)


if __name__ == "__main__":
    main()
