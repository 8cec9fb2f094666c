"""Everything one service instance holds: store, live matcher, keys, limits, metrics,
the webhook delivery worker.

Routes reach it through ``ServicesDep``. The store's post-commit hook keeps the
rest current: a committed change to banks or entries is applied to the live index
(it matches, or stops matching, before the response), a change to API keys drops
the key cache, an event put in the webhook outbox wakes the delivery worker. No
route has to remember any of it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Annotated, TypeVar

import anyio
from fastapi import Depends, Request

from veil.actions.delivery import DeliveryWorker
from veil.actions.sealing import Sealer
from veil.api.auth import KeyCache
from veil.api.counters import MatchCounter
from veil.api.idempotency import IdempotencyCache
from veil.api.metrics import Metrics
from veil.api.ratelimit import RateLimiter
from veil.api.sessions import ReviewSessions
from veil.config import Settings
from veil.errors import VeilError
from veil.exchange.hub import CaseRefs
from veil.exchange.loop import ExchangeSyncer
from veil.matching import LiveMatcher, load_matcher
from veil.matching.flood import FloodWatch, Trip
from veil.matching.live import Loader
from veil.media.spool import clear_spool
from veil.regions.sealing import load_region_sealer
from veil.review.retention import Purger
from veil.review.sealing import load_sealer
from veil.signals import check_settings
from veil.store import open_store
from veil.store.interface import BankStore
from veil.store.records import QuarantineRecord
from veil.store.transactions import Topic
from veil.verdict import NO_QUARANTINES, Match, Quarantines, Verdict

T = TypeVar("T")
log = logging.getLogger("veil.api")

#: Who the audit log names for what flood protection does.
FLOOD_ACTOR = "veil:flood-protection"


#: The webhook event a new quarantine sends to the webhooks following its bank.
QUARANTINE_EVENT = "quarantine.created"


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
        self.sealer = Sealer(settings)
        #: Sends the webhook outbox (a thread, started with the service).
        self.webhooks = DeliveryWorker(
            self.store, settings.webhooks, self.sealer,
            on_outcome=lambda outcome: self.metrics.webhook_deliveries.labels(outcome).inc())
        self.metrics = Metrics(self.live.sizes, lambda: self.live.ready, self.live.sync_age,
                               self._quarantines, self.live.regions_unreadable)
        self.flood = FloodWatch(settings.flood)
        cores = os.cpu_count() or 1
        #: Uploads decoded at once (each holds its decoded pixels).
        self.scan_slots = anyio.CapacityLimiter(api.scan_concurrency or cores)
        #: Threads that match and hash: no request does either on the event loop.
        self.work = anyio.CapacityLimiter(api.work_threads or cores)
        #: Seals review items' media (the key is read, or its file made, here: at start).
        self.media_sealer = load_sealer(settings)
        #: Seals the region signals victims submit (the same key the matcher opens with).
        self.region_sealer = load_region_sealer(settings)
        self.review_sessions = ReviewSessions(self.store,
                                              settings.review.session_idle_min * 60,
                                              settings.review.session_max_h * 3600)
        # review media past retention, the exchange's tombstones past
        # VEIL_EXCHANGE_TOMBSTONE_DAYS and ended reviewer sessions, on one schedule
        self.purger = Purger(self.store, settings.review.purge_interval_s,
                             also=[self.store.purge_tombstones, self.review_sessions.purge])
        #: Partners' opaque case references (the hub's caseNumbers).
        self.case_refs = CaseRefs(settings.home)
        #: Pulls the exchanges (veil exchange) every VEIL_EXCHANGE_SYNC_S.
        self.exchanges = ExchangeSyncer(self.store, settings,
                                        on_report=lambda r: self.metrics.count_sync(r))
        #: Reviewer page log-ins, rate-limited per address like intake (guessing keys).
        self.login_limiter = RateLimiter(api.intake_rate_per_min, api.intake_burst)
        self.started_at = time.time()
        self._loader: threading.Thread | None = None
        self.store.after_commit(self._committed)

    def _committed(self, topic: Topic) -> None:
        if topic == "keys":
            self.keys.invalidate()
        elif topic == "webhooks":
            self.webhooks.wake()
        else:
            self.live.after_commit()

    def start(self, *, background: bool = True) -> None:
        """Load the index (in a thread: /healthz answers meanwhile, /readyz says 503)."""
        self.counter.start()
        self.webhooks.start()
        # the eraser retries erasure a busy reader or a failed VACUUM left pending, and
        # where erasure is slow (the store decides: PostgreSQL's VACUUM) runs it instead
        # of the withdrawing request
        self.store.start_eraser()
        # video uploads a crash left behind: older than a whole upload and scan can take
        api = self.settings.api
        clear_spool(self.settings.home, 2 * (self.settings.media.video.max_hash_seconds
                                             + api.body_timeout_s))
        self.purger.start()  # purges at once, then every VEIL_REVIEW_PURGE_INTERVAL_S
        self.exchanges.start()
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
        self.exchanges.stop()
        self.purger.stop()
        self.live.stop_polling()
        self.webhooks.stop()
        self.counter.stop()
        self.store.close()

    def _quarantines(self) -> Quarantines:
        return self.live.matcher.quarantines if self.live.ready else NO_QUARANTINES

    def watch(self, upload: Mapping[str, str], verdict: Verdict, caller: str) -> None:
        """Flood protection's look at one decided upload (on the worker thread that
        decided it): a bank or entry that trips is quarantined at once."""
        trips = self.flood.observe(upload, (m for m, _ in verdict.counted()),
                                   self._quarantines(), caller)
        for trip in trips:
            self.quarantine(trip)

    def quarantine(self, trip: Trip) -> None:
        try:
            record, new = self.store.quarantine(trip.kind, trip.bank, trip.entry_id,
                                                detail=trip.detail, actor=FLOOD_ACTOR)
        except VeilError as exc:  # the bank went meanwhile, a database hiccup: next time
            log.warning("quarantine not recorded: %s", exc)
            return
        if new:
            self.metrics.quarantines.labels(record.kind, record.bank).inc()
            self.announce_quarantine(record)

    def announce_quarantine(self, record: QuarantineRecord) -> None:
        """Tell admins: a warning log line, and a ``quarantine.created`` event for the
        webhooks following the bank (the audit log and ``veil_quarantines_total``
        have it already)."""
        log.warning("flood protection quarantined %s; its matches go to review until an "
                    "admin decides", record.target, extra={
                        "quarantine_id": record.id, "kind": record.kind,
                        "bank": record.bank, "entry_id": record.entry_id})
        try:
            if self.webhooks.targets.wanted(None, {record.bank}):
                self.store.emit(QUARANTINE_EVENT, f"quarantine-{record.id}", {
                    "event": QUARANTINE_EVENT, "quarantine_id": record.id,
                    "kind": record.kind, "bank": record.bank, "entry_id": record.entry_id,
                    "detail": record.detail, "at": record.created_at.isoformat()},
                    banks={record.bank})
                self.metrics.webhook_events.labels(QUARANTINE_EVENT).inc()
        except VeilError as exc:  # recorded and logged already; the event is a courtesy
            log.warning("quarantine event not queued: %s", exc)

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
