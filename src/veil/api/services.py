"""Everything one service instance holds: store, live matcher, keys, limits, metrics."""

from __future__ import annotations

import contextlib
import os
import threading
import time

import anyio

from veil.api.auth import KeyCache
from veil.api.counters import MatchCounter
from veil.api.idempotency import IdempotencyCache
from veil.api.live import LiveMatcher
from veil.api.metrics import Metrics
from veil.api.ratelimit import RateLimiter
from veil.config import Settings
from veil.store import Store, open_store
from veil.verdict import MatchedEntry


class Services:
    def __init__(self, settings: Settings, store: Store | None = None,
                 live: LiveMatcher | None = None) -> None:
        api = settings.api
        self.settings = settings
        self.store = store or open_store(settings)
        self.live = live or LiveMatcher(settings)
        self.live.attach(self.store)
        self.keys = KeyCache(self.store, api.key_cache_s)
        self.counter = MatchCounter(self.store, api.match_count_flush_s)
        self.intake_limiter = RateLimiter(api.intake_rate_per_min, api.intake_burst)
        self.idempotency = IdempotencyCache(api.idempotency_ttl_s, api.idempotency_max_keys)
        self.metrics = Metrics(self.live.sizes, lambda: self.live.ready, self.live.sync_age)
        workers = api.scan_concurrency or os.cpu_count() or 1
        self.scan_slots = anyio.CapacityLimiter(workers)
        self.started_at = time.time()
        self._loader: threading.Thread | None = None

    def start(self, *, background: bool = True) -> None:
        """Load the index (in a thread: /healthz answers meanwhile, /readyz says 503)."""
        self.counter.start()
        poll_s = self.settings.api.index_sync_ms / 1000
        if not background:
            self.live.load()
            self.live.start_polling(poll_s)
            return

        def run() -> None:
            # a failure is logged by load(); /readyz then keeps saying not ready
            with contextlib.suppress(Exception):
                self.live.load()
                self.live.start_polling(poll_s)

        self._loader = threading.Thread(target=run, name="veil-index-load", daemon=True)
        self._loader.start()

    def stop(self) -> None:
        self.live.stop_polling()
        self.counter.stop()
        self.store.close()

    def matched(self, matches: list[MatchedEntry]) -> None:
        if matches:
            self.counter.record(matches)
            self.metrics.count_matches(matches)
