"""Pulling a large StopNCII-shaped feed: records per second and memory.

A partner hub in a child process serves N synthetic PDQ records (each made from its
index on request: the partner holds nothing) in FetchHashes pages. Then, against
the same hub and in the same run:

* **veil**: ``veil exchange sync`` as the service runs it (``sync_exchange``): a full
  walk, every page checked (the common page in one pass over its bytes), staged and
  merged with its checkpoint into a fresh SQLite store (a file on disk), the walk's
  sweep at the end;
* **reference**: python-threatexchange's own StopNCII client
  (``StopNCIISignalExchangeAPI.fetch_iter``, what HMA's fetcher runs), folding the
  deltas into a dict as its in-memory fetch does (it stores nothing on disk).

It prints records/s for both and their ratio, and the peak growth of resident
memory during each walk (each in a process of its own, sampled every 50 ms), at N/4
and at N (flat memory: veil's figure does not grow with N). The load average is
printed at the start and end.

    .venv/bin/python bench/exchange.py              # 1M records, ~2 min
    .venv/bin/python bench/exchange.py --records 100k
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

PAGE = 10_000


def load_text() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def count(text: str) -> int:
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def value(i: int) -> str:
    return hashlib.sha256(i.to_bytes(8, "little")).hexdigest()


def render(n: int, start: int) -> bytes:
    end = min(n, start + PAGE)
    records = [{"lastModtimestamp": 1_700_000_000, "signalType": "ImagePDQ",
                "hashValue": value(i), "hashStatus": "Active",
                "caseNumbers": {f"case-{i}": "Active"}, "CSPFeedbacks": []}
               for i in range(start, end)]
    more = end < n
    return json.dumps({"count": len(records), "nextPageToken": str(end) if more else None,
                       "nextSetTimestamp": 1_700_000_001, "hasMoreRecords": more,
                       "hashRecords": records}).encode()


def serve(n: int, port_out: Any) -> None:
    # every page made before the first request: the hub's own cost stays out of both
    # walks' figures (a real hub is another machine)
    pages = {start: render(n, start) for start in range(0, n, PAGE)}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            q = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
            body = pages[int(q.get("nextPageToken") or 0)]
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_out.put(server.server_address[1])
    server.serve_forever()


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def measured(fn: Callable[[], tuple[int, float]]) -> tuple[int, float, float]:
    """(records, seconds, peak RSS growth in MB) of ``fn``, which times its walk
    itself (setting up a store or a client is not part of it)."""
    base = rss_mb()
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], rss_mb())

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    records, elapsed = fn()
    done.set()
    t.join()
    return records, elapsed, max(peak[0], rss_mb()) - base


def veil_walk(url: str, n: int) -> tuple[int, float]:
    os.environ["VEIL_HOME"] = tempfile.mkdtemp(prefix="veil-bench-exchange-")
    os.environ.pop("VEIL_DATABASE_URL", None)
    os.environ["VEIL_EXCHANGE_PAGE_SIZE"] = str(PAGE)
    os.environ["BENCH_KEYS"] = "fetch,sub"
    from veil.config import load_settings
    from veil.exchange.sync import sync_exchange
    from veil.store import open_store

    settings = load_settings()
    with open_store(settings) as store:
        store.add_exchange("bench", kind="stopncii", url=url, bank="bench-list",
                           credentials="env:BENCH_KEYS", actor="bench")
        started = time.perf_counter()
        report = sync_exchange(store, "bench", settings)
        elapsed = time.perf_counter() - started
        assert report.ok, report.error
        assert store.exchange_entry_count("bench") == n
        return report.added, elapsed


def reference_walk(url: str, n: int) -> tuple[int, float]:
    from threatexchange.exchanges.clients.stopncii.api import StopNCIIAPI
    from threatexchange.exchanges.collab_config import CollaborationConfigBase
    from threatexchange.exchanges.impl.stop_ncii_api import StopNCIISignalExchangeAPI
    from threatexchange.signal_type.pdq.signal import PdqSignal

    api = StopNCIIAPI("sub", "fetch", base_url_override=url)
    exchange = StopNCIISignalExchangeAPI(
        CollaborationConfigBase(name="bench", api="stopncii", enabled=True), api)
    # its client asks for 800 records a page; give it the same pages as veil's
    original = api.fetch_hashes
    api.fetch_hashes = lambda **kw: original(**{**kw, "page_size": PAGE})  # type: ignore[method-assign]
    state: dict[tuple[str, str], Any] = {}
    started = time.perf_counter()
    for delta in exchange.fetch_iter([PdqSignal], None):
        state.update(delta.updates)
    elapsed = time.perf_counter() - started
    assert len(state) == n
    return len(state), elapsed


def _child(kind: str, url: str, size: int, out: Any) -> None:
    walk = veil_walk if kind == "veil" else reference_walk
    out.put(measured(lambda: walk(url, size)))


def in_child(ctx: Any, kind: str, url: str, size: int) -> tuple[int, float, float]:
    """One walk in a process of its own: its memory figure is its own."""
    out = ctx.Queue()
    p = ctx.Process(target=_child, args=(kind, url, size, out))
    p.start()
    result = out.get(timeout=3600)
    p.join()
    return result  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", default="1M", help="records in the feed (e.g. 1M)")
    args = parser.parse_args()
    n = count(args.records)
    print(load_text())
    ctx = mp.get_context("spawn")
    rows = []
    for size in (max(PAGE, n // 4), n):
        port_q = ctx.Queue()
        hub = ctx.Process(target=serve, args=(size, port_q), daemon=True)
        hub.start()
        url = f"http://127.0.0.1:{port_q.get(timeout=600)}/v1"
        try:
            ref = in_child(ctx, "reference", url, size)
            ours = in_child(ctx, "veil", url, size)
        finally:
            hub.terminate()
        rows.append((size, ours, ref))
        print(f"{size:>9,} records  veil {ours[0] / ours[1]:>9,.0f}/s ({ours[1]:.1f} s, "
              f"peak +{ours[2]:.0f} MB)  reference {ref[0] / ref[1]:>9,.0f}/s "
              f"({ref[1]:.1f} s, peak +{ref[2]:.0f} MB)  "
              f"ratio {(ours[0] / ours[1]) / (ref[0] / ref[1]):.2f}x", flush=True)
    print(load_text())
    Path(tempfile.gettempdir(), "veil-bench-exchange.json").write_text(json.dumps(rows))


if __name__ == "__main__":
    main()
