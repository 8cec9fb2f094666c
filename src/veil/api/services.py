"""Everything one service instance holds: store, live matcher, keys, limits, metrics.

Routes reach it through ``ServicesDep``. The store's post-commit hook keeps the
rest current: a committed change to banks or entries is applied to the live index
(it matches, or stops matching, before the response), a change to API keys drops
the key cache. No route has to remember either.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from typing import Annotated, TypeVar

import anyio
from fastapi import Depends, Request

from veil.api.auth import KeyCache
from veil.api.counters import MatchCounter
from veil.api.idempotency import IdempotencyCache
from veil.api.metrics import Metrics
from veil.api.ratelimit import RateLimiter
from veil.config import Settings
from veil.matching import LiveMatcher, load_matcher
from veil.matching.live import Loader
from veil.media.spool import clear_spool
from veil.signals import check_settings
from veil.store import open_store
from veil.store.interface import BankStore
from veil.store.transactions import Topic
from veil.verdict import Match

T = TypeVar("T")


class Services:
    def __init__(self, settings: Settings, store: BankStore | None = None,
                 loader: Loader = load_matcher) -> None:
        check_settings(settings)  # before anything starts: not on the first match
        api = settings.api
        self.settings = settings
        self.store = store or open_store(settings)
        self.live = LiveMatcher(settings, self.store, loader)
        self.keys = KeyCache(self.store, api.key_cache_s)
        self.counter = MatchCounter(self.store, api.match_count_flush_s)
        self.intake_limiter = RateLimiter(api.intake_rate_per_min, api.intake_burst)
        self.idempotency = IdempotencyCache(api.idempotency_ttl_s, api.idempotency_max_keys,
                                            api.idempotency_max_bytes,
                                            api.idempotency_max_anonymous)
        self.metrics = Metrics(self.live.sizes, lambda: self.live.ready, self.live.sync_age)
        cores = os.cpu_count() or 1
        #: Uploads decoded at once (each holds its decoded pixels).
        self.scan_slots = anyio.CapacityLimiter(api.scan_concurrency or cores)
        #: Threads that match and hash: no request does either on the event loop.
        self.work = anyio.CapacityLimiter(api.work_threads or cores)
        self.started_at = time.time()
        self._loader: threading.Thread | None = None
        self.store.after_commit(self._committed)

    def _committed(self, topic: Topic) -> None:
        if topic == "keys":
            self.keys.invalidate()
        else:
            self.live.after_commit()

    def start(self, *, background: bool = True) -> None:
        """Load the index (in a thread: /healthz answers meanwhile, /readyz says 503)."""
        self.counter.start()
        # the eraser retries erasure a busy reader or a failed VACUUM left pending, and
        # where erasure is slow (the store decides: PostgreSQL's VACUUM) runs it instead
        # of the withdrawing request
        self.store.start_eraser()
        # video uploads a crash left behind: older than a whole upload and scan can take
        api = self.settings.api
        clear_spool(self.settings.home, 2 * (self.settings.media.video.max_hash_seconds
                                             + api.body_timeout_s))
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

    async def in_worker(self, fn: Callable[..., T], *args: object,
                        limiter: anyio.CapacityLimiter | None = None) -> T:
        """``fn(*args)`` on one of the ``work`` threads, or of ``limiter``'s (waiting
        for one if all are busy): matching and hashing never hold the event loop."""
        return await anyio.to_thread.run_sync(fn, *args, limiter=limiter or self.work)

    def stop(self) -> None:
        self.live.stop_polling()
        self.counter.stop()
        self.store.close()

    def matched(self, matches: list[Match]) -> None:
        if matches:
            self.counter.record(matches)
            self.metrics.count_matches(matches)


async def get_services(request: Request) -> Services:
    # async: FastAPI runs a plain def dependency on a worker thread, a hand-off (and a
    # GIL round trip) on every request for what is an attribute read
    services: Services = request.app.state.services
    return services


#: What a route declares to reach the service's parts.
ServicesDep = Annotated[Services, Depends(get_services)]
