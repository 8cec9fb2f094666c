"""How often each entry matched, counted in memory and written to the store in the
background, so matching never waits for (or fails on) a database write.

Victims see these counts on their case (how often, never where)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import datetime

from veil.store.coltypes import utcnow
from veil.store.interface import BankStore
from veil.verdict import Match

log = logging.getLogger("veil.api")


class MatchCounter:
    def __init__(self, store: BankStore, every_s: float) -> None:
        self.store = store
        self.every_s = every_s
        self._pending: dict[int, tuple[int, datetime]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(self, matches: Iterable[Match]) -> None:
        now = utcnow()
        with self._lock:
            for m in matches:
                count, _ = self._pending.get(m.entry_id, (0, now))
                self._pending[m.entry_id] = (count + 1, now)

    def pending(self, entry_id: int) -> int:
        with self._lock:
            return self._pending.get(entry_id, (0, None))[0]

    def flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, {}
        if not batch:
            return
        try:
            self.store.add_match_counts(batch)
        except Exception as exc:  # keep them for the next try
            log.warning("match counters not written; will retry",
                        extra={"error_type": type(exc).__name__, "entries": len(batch)})
            with self._lock:
                for entry_id, (count, at) in batch.items():
                    prev, _ = self._pending.get(entry_id, (0, at))
                    self._pending[entry_id] = (prev + count, at)

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.wait(self.every_s):
                self.flush()

        self._thread = threading.Thread(target=loop, name="veil-match-counter", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()
