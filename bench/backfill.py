"""Backfill throughput: ``veil backfill`` (Ray and local engines) against ``veil scan``.

The same machine, the same files, the same bank: ``--images`` corpus photos (as they
are, or upscaled to ``--megapixels``), a fresh ``VEIL_HOME`` with a bank of
``--bank-entries`` random PDQ hashes. Each command is a fresh process, startup
included, run for 1 and 2 worker processes (``--workers``):

* ``veil scan --json --workers W DIR``;
* ``veil backfill DIR --out OUT --engine local --workers W``;
* ``veil backfill DIR --out OUT --engine ray --workers W`` (Ray started by the
  command on this machine, every core given to it; W actors of one CPU each).

Two rates for each, so the fixed cost of a start (interpreter, imports, Ray's
processes, each worker's matcher) can be told from the cost per image: "end to
end" is images / the whole process's time; "steady" is the images after the first
results / the time from the first results to the end, what a long backfill runs
at once started (``veil scan``: its JSON lines, timed as they arrive; ``veil
backfill``: ``last_run.steady_images_per_second`` of its report). Ratios are
against ``veil scan`` with the same worker count; each command runs ``--repeat``
times, interleaved, and the best is kept; the load average is printed at the start
and the end.

    .venv/bin/python bench/backfill.py                      # 200 photos, 1 and 2 workers
    .venv/bin/python bench/backfill.py --images 400 --workers 2
"""

from __future__ import annotations

import argparse
import json
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


def timed(cmd: list[str], env: dict[str, str], out: Path | None) -> tuple[float, float]:
    """(end-to-end seconds, steady images per second) of one run."""
    t0 = time.perf_counter()
    arrivals: list[float] = []
    with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        for line in proc.stdout:
            if line.startswith("{"):
                arrivals.append(time.perf_counter())
        err = proc.stderr.read()
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 1):  # 1: a match (none expected against random hashes)
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-2000:]}")
    if out is not None:  # veil backfill: its report says
        run = json.loads((out / "report.json").read_text())["last_run"]
        return elapsed, float(run["steady_images_per_second"])
    steady = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0
    return elapsed, steady


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--megapixels", type=float, default=0.0,
                    help="upscale to this size (0: the corpus photos as they are)")
    ap.add_argument("--bank-entries", type=int, default=10_000)
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    ap.add_argument("--engines", default="scan,local,ray")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    engines = args.engines.split(",")
    veil = [sys.executable, "-m", "veil.cli"]
    with tempfile.TemporaryDirectory(prefix="veil-bench-backfill-") as t:
        tmp = Path(t)
        folder = corpus(tmp / "photos", args.images, args.megapixels)
        home = tmp / "home"
        home.mkdir()
        # unbuffered: veil scan's JSON lines are timed as they are printed
        env = {**os.environ, "VEIL_HOME": str(home), "PYTHONUNBUFFERED": "1"}
        make_bank(home, args.bank_entries, env, veil)
        size = f"{args.megapixels} MP" if args.megapixels else "as in the corpus"
        print(f"{args.images} photos ({size}), "
              f"bank of {args.bank_entries:,} random PDQ hashes, {os.cpu_count()} cores")
        print(f"start: {load_text()}")
        timed([*veil, "scan", "--json", str(folder)], env, None)  # warm-up: file cache
        # best (shortest, fastest) of --repeat runs, interleaved so load hits all alike
        best: dict[tuple[str, int], tuple[float, float]] = {}
        for _ in range(args.repeat):
            for w in workers:
                for engine in engines:
                    out = tmp / f"out-{engine}-{w}"
                    shutil.rmtree(out, ignore_errors=True)
                    cmd = ([*veil, "scan", "--json", "--workers", str(w), str(folder)]
                           if engine == "scan" else
                           [*veil, "backfill", str(folder), "--out", str(out), "--engine",
                            engine, "--workers", str(w)])
                    got = timed(cmd, env, None if engine == "scan" else out)
                    was = best.get((engine, w), (float("inf"), 0.0))
                    best[(engine, w)] = (min(was[0], got[0]), max(was[1], got[1]))
        print(f"end:   {load_text()}\n")
        print("| command | workers | whole run | end to end | steady | "
              "× veil scan, end to end | × veil scan, steady |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for w in workers:
            base = best.get(("scan", w))
            for engine in engines:
                seconds, steady = best[(engine, w)]
                name = "veil scan" if engine == "scan" else f"veil backfill --engine {engine}"
                cells = [f"{seconds:.1f} s", f"{args.images / seconds:.1f} images/s",
                         f"{steady:.1f} images/s"]
                if base:
                    cells += [f"{base[0] / seconds:.2f}",
                              f"{steady / base[1]:.2f}" if base[1] else "–"]
                else:
                    cells += ["–", "–"]
                print(f"| `{name}` | {w} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
