"""How fast the command line answers: ``veil --help``, ``veil --version``, and a
subcommand's help, as whole processes, against a bare ``python -c pass`` and
``python -c "import typer"`` (the floor any Typer CLI pays) from the same run.

    .venv/bin/python bench/cli_startup.py --repeat 15

Prints the best and median wall time of each over ``--repeat`` runs, and the ratio
to the bare interpreter. The load average is printed too: start-up is I/O- and
cache-bound, so a loaded machine inflates every figure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

VEIL = shutil.which("veil") or str(Path(sys.executable).with_name("veil"))


def timed(cmd: list[str], repeat: int) -> tuple[float, float]:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        runs.append(time.perf_counter() - t0)
    return min(runs), statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    cases = [
        ("python -c pass (floor)", [sys.executable, "-c", "pass"]),
        ("python -c 'import typer'", [sys.executable, "-c", "import typer"]),
        ("veil --version", [VEIL, "--version"]),
        ("veil --help", [VEIL, "--help"]),
        ("veil scan --help", [VEIL, "scan", "--help"]),
    ]
    floor = None
    print(f"{'command':28} {'best s':>8} {'median s':>9} {'× python':>9}")
    for name, cmd in cases:
        best, median = timed(cmd, args.repeat)
        floor = floor or best
        print(f"{name:28} {best:8.3f} {median:9.3f} {best / floor:9.1f}")


if __name__ == "__main__":
    main()
