"""Prometheus metrics of one service instance, on its own registry (``/metrics``).

Request latency by route template (never the raw path: paths can hold ids),
matches by bank and signal, and the live index's size per signal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from veil.verdict import MatchedEntry

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class _IndexCollector(Collector):
    def __init__(self, sizes: Callable[[], dict[str, int]], ready: Callable[[], bool]) -> None:
        self.sizes = sizes
        self.ready = ready

    def collect(self) -> Iterator[GaugeMetricFamily]:
        entries = GaugeMetricFamily("veil_index_entries", "Active entries in the live index",
                                    labels=["signal"])
        for signal, n in sorted(self.sizes().items()):
            entries.add_metric([signal], n)
        yield entries
        yield GaugeMetricFamily("veil_index_ready", "1 once the bank index is loaded",
                                value=1 if self.ready() else 0)


class Metrics:
    def __init__(self, sizes: Callable[[], dict[str, int]], ready: Callable[[], bool]) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "veil_http_request_duration_seconds", "Time to answer a request",
            ["method", "route", "status"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.matches = Counter("veil_matches_total", "Matches returned, by bank and signal",
                               ["bank", "signal"], registry=self.registry)
        self.scans = Counter("veil_scans_total", "Uploads scanned, by verdict", ["decision"],
                             registry=self.registry)
        self.registry.register(_IndexCollector(sizes, ready))

    def count_matches(self, matches: Iterable[MatchedEntry]) -> None:
        for m in matches:
            self.matches.labels(m.bank, m.signal).inc()
