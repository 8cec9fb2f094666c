"""Where a whole ``veil scan`` process spends its time, phase by phase.

Runs, in fresh processes (the OS file cache warm after a warm-up run), the steps
``veil scan --json DIR`` takes, in its order, with a clock between them:
interpreter start, the CLI's imports, settings, the matching/index/hashing imports,
the start of the worker pool (forked, handed the first files), the store's imports
and opening (schema check) and the index load while the workers hash, the wait for
the rest of the hashing, and the verdicts. Each step's imports are what that step
adds to the ones before it; the steps after the fork share the cores with the
workers, so their times are wall time under that load. It then times,
in isolation, what some alternatives would cost, so changes outside the hashing
code can be weighed before they are made:

* the imports ``veil.store.database`` makes only to migrate (alembic);
* a numpy linear scan of the same bank (no numba) for the same queries.

    .venv/bin/python bench/scan_phases.py --files 48 --bank-entries 10000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hashing import DATA, load_text, make_bank, make_images

#: Runs in a fresh interpreter: argv = DIR WORKERS; prints {phase: seconds} as JSON.
PHASES = r'''
import json, sys, time
from pathlib import Path
t = [("start", time.perf_counter())]
def mark(name):
    t.append((name, time.perf_counter()))
import typer, rich
mark("import typer, rich")
from veil.cli import app
import atexit, gc
atexit.register(gc.freeze)  # as the CLI's callback does: no last collection at exit
mark("import veil.cli")
from veil.config import load_settings
settings = load_settings()
mark("import veil.config + load_settings")
from veil.matching import BankMatcher, start_scan
from veil.media.discover import Skipped
mark("import matching, index, signals, inspect")
workers = int(sys.argv[2])
hashing = start_scan([Path(sys.argv[1])], settings, workers=workers)
mark(f"fork {workers} workers, hand out the first files")
import veil.store.database, veil.store.repository
mark("import store (SQLAlchemy, ORM), workers hashing")
from veil.store import open_store
store = open_store(settings)
mark("open store (schema check)")
matcher = BankMatcher.load(settings, store)
mark(f"load banks + index ({len(matcher):,} entries)")
done = [r for r in hashing.results(matcher.scan_names()) if not isinstance(r, Skipped)]
mark(f"wait for the rest of the {len(done)} files")
for file, seen in done:
    matcher.verdict(file).observing(seen or ())
mark(f"{len(done)} verdicts")
hashing.close()
store.close()
mark("pool shutdown, store closed")
print(json.dumps([(a, t2 - t1) for (_, t1), (a, t2) in zip(t, t[1:])]))
'''

ISOLATED = {
    "python -c pass (interpreter start)": "pass",
    "import numpy, PIL.Image": "import numpy, PIL.Image",
    "import sqlalchemy": "import sqlalchemy",
    "import alembic (after sqlalchemy)": (
        "import sqlalchemy, time; t = time.perf_counter(); "
        "import alembic.command, alembic.config, alembic.runtime.migration, alembic.script; "
        "print(time.perf_counter() - t)"),
    "import numba (after numpy)": (
        "import numpy, time; t = time.perf_counter(); import numba; "
        "print(time.perf_counter() - t)"),
}

#: A numpy linear scan of the bank for 48 random queries: what a small bank needs.
LINEAR = r'''
import secrets, sys, time
import numpy as np
from veil.config import load_settings
from veil.store import open_store
settings = load_settings()
store = open_store(settings)
t = time.perf_counter()
vals = [row.value for row in store.iter_active("pdq")]
words = np.frombuffer(b"".join(bytes.fromhex(v) for v in vals), dtype=np.uint64).reshape(-1, 4)
load = time.perf_counter() - t
q = np.frombuffer(bytes.fromhex("".join(secrets.token_hex(32) for _ in range(48))),
                  dtype=np.uint64).reshape(-1, 4)
t = time.perf_counter()
for row in q:
    d = np.bitwise_count(words ^ row).sum(axis=1, dtype=np.int32)
    hits = np.flatnonzero(d <= 31)
print(load, time.perf_counter() - t, len(words))
'''


def run(code: str, env: dict[str, str], *args: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, check=True,
                         capture_output=True, text=True).stdout
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=48)
    ap.add_argument("--megapixels", type=float, default=12.0)
    ap.add_argument("--bank-entries", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--repeat", type=int, default=3, help="median of N runs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        folder = tmp / "files"
        make_images(DATA / "photos", folder, args.files, args.megapixels, grain=False)
        home = tmp / "home"
        home.mkdir()
        env = {**os.environ, "VEIL_HOME": str(home)}
        make_bank(home, args.bank_entries, env, [sys.executable, "-m", "veil.cli"])
        print(f"start: {load_text()}")
        subprocess.run([sys.executable, "-m", "veil.cli", "scan", "--json", str(folder)],
                       env=env, capture_output=True)  # warm-up: numba cache, file cache
        runs = []
        for _ in range(args.repeat):
            wall, out = run(PHASES, env, str(folder), str(args.workers))
            runs.append((wall, json.loads(out)))
        runs.sort(key=lambda r: r[0])
        wall, phases = runs[len(runs) // 2]
        print(f"\nveil scan, phase by phase (the median of {args.repeat} runs by wall time: "
              f"{wall:.2f} s in all, interpreter start included)")
        for phase, sec in phases:
            print(f"  {phase:48} {sec:6.3f} s")
        rest = wall - sum(sec for _, sec in phases)
        print(f"  {'interpreter start and exit, pool shutdown':48} {rest:6.3f} s")
        print("\nin isolation (median of runs):")
        for label, code in ISOLATED.items():
            results = sorted(run(code, env) for _ in range(args.repeat))
            wall, out = results[len(results) // 2]
            shown = float(out) if out.strip() else wall
            print(f"  {label:48} {shown:6.3f} s")
        _, out = run(LINEAR, env)
        load, search, n = out.split()
        print(f"  {'numpy linear scan: read ' + n + ' pdq hashes':48} {float(load):6.3f} s")
        print(f"  {'numpy linear scan: 48 queries':48} {float(search):6.3f} s")
        print(f"\nend: {load_text()}")


if __name__ == "__main__":
    main()
