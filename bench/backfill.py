"""Backfill throughput: ``veil backfill`` (Ray and local engines) against ``veil scan``.

The same machine, the same files, the same bank: ``--images`` corpus photos (as they
are, or upscaled to ``--megapixels``), a fresh ``VEIL_HOME`` with a bank of
``--bank-entries`` random PDQ hashes. Each command is a fresh process, startup
included, run for 1 and 2 worker processes (``--workers``):

* ``veil scan --json --workers W DIR``;
* ``veil backfill DIR --out OUT --engine local --workers W``;
* ``veil backfill DIR --out OUT --engine ray --workers W`` (Ray started by the
  command on this machine, every core given to it; W actors of one CPU each).

Each runs on all the images and on the first half of them, so the fixed cost of
a start (interpreter, imports, Ray's processes, each worker's matcher) can be told
from the cost per image: "end to end" is images / time of the full run; "per image"
is the marginal rate, (full − half) images / (full time − half time), what a long
backfill runs at once started. Ratios are against ``veil scan`` with the same
worker count; the load average is printed at the start and the end.

    .venv/bin/python bench/backfill.py                      # 200 photos, 1 and 2 workers
    .venv/bin/python bench/backfill.py --images 400 --workers 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hashing import DATA, load_text, make_bank, make_images


def corpus(out: Path, count: int, megapixels: float) -> Path:
    if megapixels:
        make_images(DATA / "photos", out, count, megapixels, grain=False)
        return out
    photos = sorted((DATA / "photos").glob("*.jpg"))[:count]
    if len(photos) < count:
        sys.exit(f"need {count} photos in {DATA / 'photos'}, found {len(photos)}")
    out.mkdir(parents=True)
    for p in photos:
        shutil.copyfile(p, out / p.name)
    return out


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    elapsed = time.perf_counter() - t0
    if done.returncode not in (0, 1):  # 1: a match (none expected against random hashes)
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


def _marginal(sizes: dict[str, int], times: dict[str, float]) -> float | None:
    """Images per second past the first half; None when the machine's load made the
    full run no slower than the half (the difference is then noise)."""
    extra = times["full"] - times["half"]
    return (sizes["full"] - sizes["half"]) / extra if extra > 0 else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--megapixels", type=float, default=0.0,
                    help="upscale to this size (0: the corpus photos as they are)")
    ap.add_argument("--bank-entries", type=int, default=10_000)
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    ap.add_argument("--engines", default="scan,local,ray")
    args = ap.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    engines = args.engines.split(",")
    veil = [sys.executable, "-m", "veil.cli"]
    with tempfile.TemporaryDirectory(prefix="veil-bench-backfill-") as t:
        tmp = Path(t)
        full = corpus(tmp / "full", args.images, args.megapixels)
        half = tmp / "half"
        half.mkdir()
        for p in sorted(full.iterdir())[: args.images // 2]:
            os.link(p, half / p.name)
        sizes = {"full": args.images, "half": args.images // 2}
        home = tmp / "home"
        home.mkdir()
        env = {**os.environ, "VEIL_HOME": str(home)}
        make_bank(home, args.bank_entries, env, veil)
        size = f"{args.megapixels} MP" if args.megapixels else "as in the corpus"
        print(f"{args.images} photos ({size}), "
              f"bank of {args.bank_entries:,} random PDQ hashes, {os.cpu_count()} cores")
        print(f"start: {load_text()}")
        timed([*veil, "scan", "--json", str(half)], env)  # warm-up: file cache, numba's cache
        results: dict[tuple[str, int], dict[str, float]] = {}
        for w in workers:
            for engine in engines:
                for size, folder in (("half", half), ("full", full)):
                    out = tmp / f"out-{engine}-{w}-{size}"
                    cmd = ([*veil, "scan", "--json", "--workers", str(w), str(folder)]
                           if engine == "scan" else
                           [*veil, "backfill", str(folder), "--out", str(out), "--engine",
                            engine, "--workers", str(w)])
                    results.setdefault((engine, w), {})[size] = timed(cmd, env)
                    shutil.rmtree(out, ignore_errors=True)
        print(f"end:   {load_text()}\n")
        print("| command | workers | full run | end to end | per image (marginal) | "
              "× veil scan, end to end | × veil scan, per image |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for w in workers:
            base = results.get(("scan", w))
            for engine in engines:
                r = results[(engine, w)]
                e2e = sizes["full"] / r["full"]
                marginal = _marginal(sizes, r)
                name = "veil scan" if engine == "scan" else f"veil backfill --engine {engine}"
                cells = [f"{r['full']:.1f} s", f"{e2e:.1f} images/s",
                         f"{marginal:.1f} images/s" if marginal else "n/a (noise)"]
                if base:
                    bm = _marginal(sizes, base)
                    cells += [f"{e2e / (sizes['full'] / base['full']):.2f}",
                              f"{marginal / bm:.2f}" if marginal and bm else "n/a"]
                else:
                    cells += ["–", "–"]
                print(f"| `{name}` | {w} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
