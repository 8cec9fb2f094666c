"""How many PDQ hashes HMA's ``PDQIndex2`` can hold on this machine.

``bench/matching.py`` compares Veil with ``PDQIndex2`` at 1M. At 10M the question
is whether it fits at all: the index keeps each hash as 256 float32s (1 KiB) in
FAISS's ``IndexFlatL2``, plus a Python dict and a list per hash. This adds random
hashes through the package's own API, 500k at a time, printing resident memory,
until the target count or a memory failure. The limit on address space
(``--limit-gib``, default 22 of the machine's 24) makes a failure a clean
``MemoryError`` instead of the kernel's OOM killer picking a process.

    .venv/bin/python bench/pdqindex2_capacity.py --entries 10M
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np

from matching import parse_size, rss_bytes

STEP = 500_000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entries", default="10M")
    ap.add_argument("--limit-gib", type=float, default=22.0)
    a = ap.parse_args()
    n = parse_size(a.entries)
    limit = int(a.limit_gib * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    from threatexchange.signal_type.pdq.pdq_index2 import PDQIndex2

    rng = np.random.default_rng(1)
    index = PDQIndex2(threshold=31)
    started = time.perf_counter()
    done = 0
    print(f"# PDQIndex2 capacity, target {n:,} hashes, address space limited to "
          f"{a.limit_gib:g} GiB")
    print("| hashes | seconds | RSS GiB | B/hash |\n|---:|---:|---:|---:|")
    try:
        while done < n:
            rows = rng.integers(0, 256, (STEP, 32), dtype=np.uint8)
            index.add_all((rows[i].tobytes().hex(), done + i) for i in range(STEP))
            done += STEP
            rss = rss_bytes()
            print(f"| {done:,} | {time.perf_counter() - started:.1f} | {rss / 2**30:.2f} | "
                  f"{rss / done:,.0f} |", flush=True)
    except MemoryError as exc:
        print(f"\nFAILED after {done:,} hashes ({time.perf_counter() - started:.0f} s): "
              f"MemoryError: {exc}")
        sys.exit(3)
    q = rng.integers(0, 256, (20, 32), dtype=np.uint8)
    t = time.perf_counter()
    for row in q:
        index.query(row.tobytes().hex())
    print(f"\nheld {done:,} hashes; {20 / (time.perf_counter() - t):.2f} queries/s")


if __name__ == "__main__":
    main()
