"""Freshness: seconds from a victim's submission on hub A to a match on platform B.

Two real ``veil serve`` on loopback (separate homes, SQLite): A serves its victim
bank to partner B (``/stopncii/v1``); B pulls it with ``veil exchange`` (kind
``veil``) every ``--sync-s`` seconds. Each trial submits a new case on A at a random
moment of B's cycle and polls B's ``/v1/match`` every 20 ms until the hash matches
through the pulled bank; then, at another random moment, the case is withdrawn and
the time until B stops matching is taken too. It prints the median and p99 of both
against HMA's documented goal of 10 minutes from a hash's arrival to a match, and
the load average.

    .venv/bin/python bench/exchange_freshness.py               # 30 trials, ~2 min
    .venv/bin/python bench/exchange_freshness.py --sync-s 30   # the default interval
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

VEIL = Path(sys.executable).parent / "veil"
HMA_GOAL_S = 600.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEIL_")}
    return {**env, "VEIL_HOME": str(home), "VEIL_DATABASE_URL": f"sqlite:///{home}/veil.db",
            "VEIL_API_INTAKE_RATE_PER_MIN": "1000000", "VEIL_API_INTAKE_BURST": "1000000",
            **extra}


def serve(home: Path, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([str(VEIL), "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=(home / "serve.log").open("ab"),
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"veil serve did not start; see {home / 'serve.log'}")


def until(check: Callable[[], bool], limit_s: float) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > limit_s:
            raise SystemExit("timed out waiting for B")
        time.sleep(0.02)
    return time.monotonic() - started


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--sync-s", type=float, default=2.0,
                        help="B's VEIL_EXCHANGE_SYNC_S (default 2; the service's is 30)")
    args = parser.parse_args()
    print("load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    root = Path(tempfile.mkdtemp(prefix="veil-bench-freshness-"))
    home_a, home_b = root / "a", root / "b"
    port_a, port_b = free_port(), free_port()

    from veil.config import load_settings
    from veil.store import open_store

    os.environ.update(env_for(home_a))
    with open_store(load_settings()) as store:
        store.create_bank("victims", "victim_submitted", {"share": True}, actor="bench")
        exchange_key = store.create_api_key(["exchange"], name="node-b", actor="bench")[1]
        store.set_partner("node-b", ["victims"], None, actor="bench")
    env_b = env_for(home_b, VEIL_EXCHANGE_SYNC_S=str(args.sync_s),
                    VEIL_EXCHANGE_KEY_A=exchange_key)
    os.environ.update(env_b)
    with open_store(load_settings()) as store:
        platform_key = store.create_api_key(["platform"], name="b", actor="bench")[1]
        store.add_exchange("a", kind="veil", url=f"http://127.0.0.1:{port_a}/stopncii/v1",
                           bank="from-a", credentials=None, actor="bench")
    procs = [serve(home_a, env_for(home_a), port_a), serve(home_b, env_b, port_b)]
    a, b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    client = httpx.Client(timeout=30)

    def matches(value: str) -> bool:
        r = client.post(b + "/v1/match", headers={"Authorization": f"Bearer {platform_key}"},
                        json={"signals": [{"signal": "pdq", "value": value}]})
        return any(m["bank"] == "from-a" for m in r.json()["results"][0]["matches"])

    def gone(value: str) -> bool:
        return not matches(value)

    arrive: list[float] = []
    leave: list[float] = []
    rng = random.Random(1)
    try:
        for i in range(args.trials):
            time.sleep(rng.uniform(0, args.sync_s))
            value = hashlib.sha256(f"freshness-{i}".encode()).hexdigest()
            r = client.post(a + "/v1/cases", json={
                "signals": [{"signal": "pdq", "value": value, "quality": 100}],
                "attestation": {"self_or_guardian": True, "intimate": True,
                                "share_with_partners": True}})
            r.raise_for_status()
            arrive.append(until(functools.partial(matches, value), 600))
            # a random moment of B's cycle again: right after the match B has just
            # synced, so withdrawing at once would always wait a whole interval
            time.sleep(rng.uniform(0, args.sync_s))
            client.delete(a + "/v1/cases/me",
                          headers={"X-Case-Token": r.json()["case_token"]}).raise_for_status()
            leave.append(until(functools.partial(gone, value), 600))
            print(f"trial {i + 1:>3}: matchable on B after {arrive[-1]:.2f} s, withdrawn "
                  f"after {leave[-1]:.2f} s", flush=True)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            p.wait(30)
    for label, xs in (("submit on A → match on B", arrive),
                      ("withdraw on A → no match on B", leave)):
        print(f"{label}: median {statistics.median(xs):.2f} s, p99 {pct(xs, 0.99):.2f} s, "
              f"max {max(xs):.2f} s over {len(xs)} trials (sync every {args.sync_s:g} s); "
              f"HMA's goal {HMA_GOAL_S:.0f} s: {HMA_GOAL_S / statistics.median(xs):,.0f}x "
              "sooner at the median")
    print("load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
