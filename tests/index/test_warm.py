"""``warm_serial_kernels``: what ``veil serve --workers`` loads before forking. It
must load the serial search loops and start no OpenMP threads, or a forked worker
that runs a parallel loop is aborted by GNU OpenMP."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import os
from veil.index import build_index, kernels
from veil.index.warm import warm_serial_kernels

warm_serial_kernels()
loaded = sorted(n for n in dir(kernels) if getattr(getattr(kernels, n), "signatures", None))
assert loaded == ["brute_search_serial", "cycle_decode_serial", "cycle_erase",
                  "cycle_search_serial"], loaded
pid = os.fork()
if pid == 0:
    values = [f"{i:064x}" for i in range(40_000)]
    index = build_index("pdq", [(i, "b", "c", v, 100) for i, v in enumerate(values)])
    hits = index.search(values[:5000], 0)  # many queries: the parallel loops
    os._exit(0 if all(len(h) == 1 for h in hits) else 3)
_, status = os.waitpid(pid, 0)
raise SystemExit(os.waitstatus_to_exitcode(status))
"""


def test_a_process_forked_after_warming_runs_the_parallel_loops() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
