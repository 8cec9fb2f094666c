"""``veil serve --workers N``: memory and throughput as workers are added.

Builds (once, or reuses with ``--home``) a store of ``--entries`` random PDQ hashes
(``api_load.build_store``), then for each configuration starts a real ``veil serve``
on a free loopback port and measures

* memory: the proportional set size (PSS) of every process of the service summed
  (shared pages, such as a mapped snapshot or code, counted once across them), and
  each process's unique set (USS); ``extra per added worker`` is the difference in
  total PSS from the configuration before;
* throughput: ``/v1/match`` in a closed loop on ``--connections`` connections, with
  one hash per request and with ``--batch`` hashes per request, and the cores the
  service's processes used meanwhile (their CPU time over the wall time).

Configurations: ``1 copy`` (plain ``veil serve``: the index copied into memory, the
default), ``1 mapped`` (``VEIL_INDEX_SHARED=true``: the same single process mapping
the snapshot) and ``--workers N`` for each N of ``--workers``, each started
``--repeat`` times in turn (A B C A B C …: a slow minute of the machine falls on
all of them), throughput the median of its runs.

The load comes from ``wrk`` (Debian's package; ``bench/wrk_match.lua`` sends the
requests), one thread, for ``--seconds`` after a 3 s warm-up: a compiled client
takes a few percent of a core, where a Python one would take the core a second
worker needs. ``--client python`` uses ``api_load``'s asyncio client instead
(``--requests`` and ``--batch-requests`` requests). The client shares the 2 cores
with the server; the load average and the CPU time the host stole are printed.

    .venv/bin/python bench/workers.py --entries 10000000 --workers 2 --repeat 5 \
        --home /tmp/w10m
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from api_load import VEIL, build_store, closed_loop, free_port, match_queries, match_request


def tree(pid: int) -> list[int]:
    """``pid`` and its children (the workers)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *(int(c) for c in children)]


def memory(pid: int) -> tuple[int, int, int]:
    """(RSS, PSS, USS) of one process, in KiB."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        values[name] = int(rest.split()[0])
    return (values["Rss"], values["Pss"],
            values["Private_Clean"] + values["Private_Dirty"])


def start(home: Path, port: int, workers: int, mapped: bool) -> subprocess.Popen[bytes]:
    env = {**os.environ, "VEIL_HOME": str(home), "VEIL_INDEX_SHARED": str(mapped).lower()}
    env.pop("VEIL_DATABASE_URL", None)
    log = open(home / "serve.log", "ab")  # noqa: SIM115 (lives as long as the server)
    cmd = [str(VEIL), "serve", "--port", str(port), "--log-level", "warning"]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 900
    ready = 0
    while ready < 4 * workers:  # new connections, spread over the workers: all ready
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"veil serve did not start: see {home / 'serve.log'}")
        try:
            status = asyncio.run(_status(port))
        except OSError:
            status = 0
        ready = ready + 1 if status == 200 else 0
        time.sleep(0.05 if status == 200 else 0.5)
    return proc


async def _status(port: int) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /readyz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
    await writer.drain()
    line = await reader.readline()
    writer.close()
    return int(line.split()[1])


#: What measures one load: (port, "single" or "batch") -> {"achieved": requests/s, ...}.
Load = Callable[[int, str], dict[str, float]]
WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_match.lua"


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of ``pids`` so far."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def wrk_load(bodies: dict[str, Path], key: str, seconds: float, connections: int) -> Load:
    def load(port: int, kind: str, duration: float = seconds) -> dict[str, float]:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--timeout", "30s",
             "-s", str(WRK_SCRIPT), f"http://127.0.0.1:{port}/", "--", str(bodies[kind]),
             key], capture_output=True, text=True, check=True).stdout
        rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
        refused = re.search(r"Non-2xx or 3xx responses: .*", out)
        if rate is None or refused:  # a refused request is a failure, not a figure
            raise SystemExit(f"wrk: {refused.group(0) if refused else out}")
        errors = re.search(r"Socket errors: .*", out)
        if errors:
            print(f"  wrk on {kind}: {errors.group(0)}", file=sys.stderr)
        return {"achieved": float(rate.group(1))}

    return load


def python_load(raws: dict[str, list[bytes]], counts: dict[str, int],
                connections: int) -> Load:
    def load(port: int, kind: str) -> dict[str, float]:
        return asyncio.run(closed_loop(port, raws[kind], counts[kind], connections))

    return load


def run(home: Path, label: str, workers: int, mapped: bool, load: Load,
        warm: Callable[[int], object]) -> dict[str, object]:
    port = free_port()
    t = time.perf_counter()
    proc = start(home, port, workers, mapped)
    ready_s = time.perf_counter() - t
    try:
        warm(port)
        out: dict[str, object] = {"label": label, "ready_s": ready_s}
        for kind in ("single", "batch"):
            procs = tree(proc.pid)
            cpu, wall = cpu_seconds(procs), time.perf_counter()
            result = load(port, kind)
            result["cores"] = (cpu_seconds(procs) - cpu) / (time.perf_counter() - wall)
            out[kind] = result
        mem = [memory(p) for p in tree(proc.pid)]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    out.update({"pss": sum(m[1] for m in mem), "rss": sum(m[0] for m in mem),
                "uss": [m[2] for m in mem]})
    print(f"  {label}: {json.dumps(out)}", file=sys.stderr)
    return out


def cpu_times() -> tuple[int, int]:
    """(steal, total) jiffies of the machine: a virtual machine whose host takes
    its cores away (steal) serves less, whatever is measured."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[7], sum(fields[:8])


def median_run(trials: list[dict[str, object]]) -> dict[str, object]:
    """One configuration's runs: memory of the first, the median throughputs (and
    the cores used in that run)."""
    out = dict(trials[0])
    for kind in ("single", "batch"):
        runs = sorted((t[kind] for t in trials), key=lambda r: r["achieved"])  # type: ignore[index]
        middle = runs[len(runs) // 2]
        out[kind] = {**middle, "all": [r["achieved"] for r in runs]}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=10_000_000)
    ap.add_argument("--workers", default="2", help="worker counts to compare with one")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--client", choices=("wrk", "python"),
                    default="wrk" if shutil.which("wrk") else "python")
    ap.add_argument("--seconds", type=float, default=10, help="wrk: seconds per load")
    ap.add_argument("--requests", type=int, default=20_000,
                    help="python client: 1-hash requests per run")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--batch-requests", type=int, default=400,
                    help="python client: batch requests per run")
    ap.add_argument("--home", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each configuration")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="veil-bench-"))
    home.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    key, banked = build_store(home, args.entries, args.seed)
    queries = match_queries(banked, 20_000, args.seed + 1)
    groups = {"single": [[q] for q in queries],
              "batch": [queries[i:i + args.batch]
                        for i in range(0, len(queries) - args.batch, args.batch)]}
    load: Load
    if args.client == "wrk":
        bodies = {}
        for kind, values in groups.items():
            bodies[kind] = home / f"bench-{kind}.jsonl"
            bodies[kind].write_text("".join(json.dumps(
                {"signals": [{"signal": "pdq", "value": v} for v in vs]}) + "\n"
                for vs in values))
        wrk = wrk_load(bodies, key, args.seconds, args.connections)
        load = wrk

        def warm(port: int) -> object:
            return wrk(port, "single", 3)
    else:
        raws = {kind: [match_request(key, vs) for vs in values]
                for kind, values in groups.items()}
        load = python_load(raws, {"single": args.requests, "batch": args.batch_requests},
                           args.connections)

        def warm(port: int) -> object:
            return asyncio.run(closed_loop(port, raws["single"][:500], 500,
                                           args.connections))

    configs = [("1 copy", 1, False), ("1 mapped", 1, True),
               *((f"--workers {n}", n, True) for n in map(int, args.workers.split(",")))]
    steal_before = cpu_times()
    trials = [[run(home, *c, load, warm) for c in configs] for _ in range(args.repeat)]
    steal_after = cpu_times()
    steal = (steal_after[0] - steal_before[0]) / max(1, steal_after[1] - steal_before[1])
    runs = [median_run([t[i] for t in trials]) for i in range(len(configs))]
    load_after = os.getloadavg()

    print(f"\nveil serve, {args.entries:,} PDQ entries, {args.connections} connections, "
          f"{os.cpu_count()} cores shared with the load generator; load average before "
          f"{load_before[0]:.2f}, after {load_after[0]:.2f}; CPU time stolen by the "
          f"host during the runs {steal:.0%}")
    print(f"{'configuration':<14}{'ready s':>8}{'PSS MiB':>9}{'extra MiB':>10}"
          f"{'USS MiB (each process)':>26}{'1-hash/s':>10}{'×copy':>7}{'×mapped':>8}"
          f"{'cores':>7}{f'{args.batch}-hash/s':>11}{'×copy':>7}{'cores':>7}")
    copy, mapped = runs[0], runs[1]

    def rate(r: dict[str, object], kind: str) -> float:
        return float(r[kind]["achieved"])  # type: ignore[index]

    for prev, r in zip([None, *runs], runs, strict=False):
        extra = "" if prev is None or r is mapped else (
            f"{(r['pss'] - prev['pss']) / 1024:.0f}")  # type: ignore[operator]
        print(f"{r['label']:<14}{r['ready_s']:>8.1f}{r['pss'] / 1024:>9.0f}{extra:>10}"  # type: ignore[operator]
              f"{' '.join(f'{u / 1024:.0f}' for u in r['uss']):>26}"  # type: ignore[attr-defined]
              f"{rate(r, 'single'):>10.0f}{rate(r, 'single') / rate(copy, 'single'):>7.2f}"
              f"{rate(r, 'single') / rate(mapped, 'single'):>8.2f}"
              f"{r['single']['cores']:>7.2f}"  # type: ignore[index]
              f"{rate(r, 'batch'):>11.1f}{rate(r, 'batch') / rate(copy, 'batch'):>7.2f}"
              f"{r['batch']['cores']:>7.2f}")  # type: ignore[index]
    print(f"client: {args.client}; medians of {args.repeat} runs; ×copy and ×mapped: "
          "throughput relative to one process with the index copied (the default) and "
          "mapped; cores: CPU time of the service's processes over the load's wall time; "
          "extra MiB: the total PSS added over the row above ('1 mapped' is compared with "
          "nothing: it swaps the copy for a mapping).")
    for r in runs:
        print(f"{r['label']}: 1-hash runs {[round(x) for x in r['single']['all']]}, "  # type: ignore[index]
              f"{args.batch}-hash runs {[round(x, 1) for x in r['batch']['all']]}")  # type: ignore[index]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
