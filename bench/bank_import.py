"""``veil bank import`` at scale: throughput and peak memory for a 1M-row hash list.

Generates random PDQ rows into a temp CSV, then runs, each in a fresh process so
peak RSS (``getrusage``) belongs to that step alone:

* import: the file into an empty bank (SQLite at a temp ``VEIL_HOME``);
* re-import: the same file again (every row a duplicate, skipped);
* reject: the same rows plus one bad row at the very end (nothing imported);
* small import: a tenth of the rows, to show memory does not grow with the file;
* stream: ``Store.iter_active("pdq")`` over the whole bank (what indexes are built from);
* baseline: interpreter, imports and an open store only (the RSS floor of the others).

Each line gives seconds in-process (the timed step only, not interpreter start),
rows/s, and peak RSS of the process.

    .venv/bin/python bench/bank_import.py --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def generate(path: Path, rows: int, seed: int, bad_last: bool = False) -> None:
    rnd = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        f.write("signal,value,quality\n")
        for _ in range(rows):
            f.write(f"pdq,{rnd.getrandbits(256):064x},{rnd.randint(50, 100)}\n")
        if bad_last:
            f.write(f"pdq,{rnd.getrandbits(252):063x},80\n")


def child(step: str, arg: str) -> None:
    """One measured step, run in its own process; prints one JSON line last."""
    from veil.cli import app
    from veil.config import load_settings
    from veil.store import open_store

    started = time.perf_counter()
    rows = 0
    code: object = 0
    if step == "import":
        sys.argv = ["veil", "bank", "import", "bench", arg]
        try:
            app()
        except SystemExit as exc:
            code = exc.code
    elif step == "baseline":  # interpreter, imports and an open store: the floor
        with open_store(load_settings()) as store:
            store.list_banks()
    elif step == "stream":
        with open_store(load_settings()) as store:
            rows = sum(1 for _ in store.iter_active("pdq"))
    took = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": took, "peak_mib": peak_mib, "exit": code, "rows": rows}))


def run_step(env: dict[str, str], step: str, arg: str = "") -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", step, arg], env=env,
                         capture_output=True, text=True, check=False)
    if not out.stdout.strip():
        sys.exit(f"{step} failed:\n{out.stderr}")
    lines = out.stdout.strip().splitlines()
    for line in lines[:-1]:
        print(f"    veil: {line}")
    for line in out.stderr.strip().splitlines()[-3:]:
        print(f"    veil (stderr): {line}")
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=2, metavar=("STEP", "ARG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    with tempfile.TemporaryDirectory(prefix="veil-bench-") as tmp:
        home = Path(tmp) / "home"
        env = {**os.environ, "VEIL_HOME": str(home)}
        env.pop("VEIL_DATABASE_URL", None)
        big, bad, small = Path(tmp) / "big.csv", Path(tmp) / "bad.csv", Path(tmp) / "small.csv"
        t = time.perf_counter()
        generate(big, args.rows, seed=1)
        generate(bad, args.rows, seed=2, bad_last=True)
        generate(small, args.rows // 10, seed=3)
        print(f"generated {args.rows:,} rows ({big.stat().st_size / 2**20:.0f} MiB) "
              f"in {time.perf_counter() - t:.1f} s")
        subprocess.run([sys.executable, "-c", "from veil.cli import app; app()", "bank",
                        "create", "bench", "-c", "imported"], env=env, check=True,
                       capture_output=True)

        results = []
        for label, step, arg, n in [
            ("baseline (start, open store)", "baseline", "", 1),
            ("import", "import", big, args.rows),
            ("re-import (all duplicates)", "import", big, args.rows),
            ("reject (1 bad row at the end)", "import", bad, args.rows + 1),
            ("small import (1/10 of the rows)", "import", small, args.rows // 10),
            ("stream iter_active('pdq')", "stream", "", 0),
        ]:
            r = run_step(env, step, str(arg))
            n = int(r["rows"]) or n
            results.append((label, n, r))
            rate = f"{n / r['seconds']:>10,.0f} rows/s" if step != "baseline" else " " * 17
            print(f"{label:34} {n if step != 'baseline' else 0:>10,} rows "
                  f"{r['seconds']:7.1f} s {rate}  peak RSS {r['peak_mib']:6.0f} MiB  "
                  f"exit {r['exit']}")
        db = home / "veil.db"
        print(f"database: {db.stat().st_size / 2**20:.0f} MiB for "
              f"{args.rows + args.rows // 10:,} entries")


if __name__ == "__main__":
    main()
