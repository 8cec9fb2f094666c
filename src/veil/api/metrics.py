"""Prometheus metrics of one service instance, on its own registry (``/metrics``).

Request latency by route template (never the raw path: paths can hold ids),
matches by bank and signal, flood quarantines (active, and made), the live index's
size per signal, how long ago the store's change feed was last read, webhook events
and deliveries by outcome, exchange syncs and their records, and how late the event
loop runs (a request that held it would show here).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from veil.exchange.sync import SyncReport
from veil.verdict import Match, Quarantines

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
LAG_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)
#: How often the loop-lag probe wakes.
LAG_PROBE_S = 0.25


class _IndexCollector(Collector):
    def __init__(self, sizes: Callable[[], dict[str, int]], ready: Callable[[], bool],
                 sync_age: Callable[[], float | None],
                 quarantines: Callable[[], Quarantines],
                 unreadable: Callable[[], int]) -> None:
        self.sizes = sizes
        self.ready = ready
        self.sync_age = sync_age
        self.quarantines = quarantines
        self.unreadable = unreadable

    def collect(self) -> Iterator[GaugeMetricFamily]:
        entries = GaugeMetricFamily("veil_index_entries", "Active entries in the live index",
                                    labels=["signal"])
        for signal, n in sorted(self.sizes().items()):
            entries.add_metric([signal], n)
        yield entries
        yield GaugeMetricFamily("veil_index_ready", "1 once the bank index is loaded",
                                value=1 if self.ready() else 0)
        age = self.sync_age()
        if age is not None:
            # growing beyond the sync interval: other processes' changes are not arriving
            yield GaugeMetricFamily(
                "veil_index_sync_age_seconds",
                "Seconds since the store's change feed was last read", value=age)
        q = self.quarantines()
        active = GaugeMetricFamily("veil_quarantines_active", "Banks and entries flood "
                                   "protection holds in review until an admin decides",
                                   labels=["kind"])
        active.add_metric(["bank"], len(q.banks))
        active.add_metric(["entry"], len(q.entries))
        yield active
        # above 0: this node's region key differs from the one that sealed them
        yield GaugeMetricFamily("veil_region_signals_unreadable", "Banked region signals "
                                "this node could not open (skipped)", value=self.unreadable())


class Metrics:
    def __init__(self, sizes: Callable[[], dict[str, int]], ready: Callable[[], bool],
                 sync_age: Callable[[], float | None] = lambda: None,
                 quarantines: Callable[[], Quarantines] = Quarantines,
                 unreadable: Callable[[], int] = lambda: 0) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "veil_http_request_duration_seconds", "Time to answer a request",
            ["method", "route", "status"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.matches = Counter("veil_matches_total", "Matches returned, by bank and signal",
                               ["bank", "signal"], registry=self.registry)
        self.scans = Counter("veil_scans_total", "Uploads scanned, by verdict", ["decision"],
                             registry=self.registry)
        self.texts = Counter("veil_text_checks_total", "Texts checked for advertising of "
                             "undressing services, by result", ["result"],
                             registry=self.registry)
        self.webhook_deliveries = Counter(
            "veil_webhook_deliveries_total", "Webhook delivery tries, by outcome (delivered; "
            "retry: failed, tried again later; dead: failed for the last time, in the "
            "dead-letter list)", ["outcome"], registry=self.registry)
        self.webhook_events = Counter(
            "veil_webhook_events_total", "Webhook events put in the outbox, by type (one per "
            "subscription that follows it)", ["event"], registry=self.registry)
        self.loop_lag = Histogram(
            "veil_event_loop_lag_seconds", "How much later than asked the event loop woke "
            f"a {LAG_PROBE_S} s sleep (time it was held by something)", buckets=LAG_BUCKETS,
            registry=self.registry)
        self.quarantines = Counter("veil_quarantines_total", "Banks and entries flood "
                                   "protection quarantined (this process)", ["kind", "bank"],
                                   registry=self.registry)
        self.exchange_records = Counter(
            "veil_exchange_records_total", "Records exchanges brought by outcome (added, "
            "removed, rejected) in this process's syncs", ["exchange", "outcome"],
            registry=self.registry)
        self.exchange_syncs = Counter(
            "veil_exchange_syncs_total", "Syncs of each exchange this process ran, by "
            "result (ok, error)", ["exchange", "result"], registry=self.registry)
        self.exchange_last_success = Gauge(
            "veil_exchange_last_success_timestamp_seconds", "When this process last "
            "finished a sync of the exchange without error (Unix time)", ["exchange"],
            registry=self.registry)
        self.registry.register(_IndexCollector(sizes, ready, sync_age, quarantines,
                                               unreadable))

    async def watch_loop(self) -> None:
        """Measure the event loop's lag until cancelled (runs for the app's lifetime)."""
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(LAG_PROBE_S)
            self.loop_lag.observe(max(0.0, loop.time() - asked - LAG_PROBE_S))

    def count_sync(self, report: SyncReport) -> None:
        name = report.name
        self.exchange_syncs.labels(name, "ok" if report.ok else "error").inc()
        for outcome in ("added", "removed", "rejected"):
            self.exchange_records.labels(name, outcome).inc(getattr(report, outcome))
        if report.ok:
            self.exchange_last_success.labels(name).set(time.time())

    def count_matches(self, matches: Iterable[Match]) -> None:
        for m in matches:
            self.matches.labels(m.bank, m.signal).inc()
