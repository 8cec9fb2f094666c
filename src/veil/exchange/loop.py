"""``veil serve``'s exchange syncs: a daemon thread that, every
``VEIL_EXCHANGE_SYNC_S``, syncs each enabled exchange whose turn it is.

Several nodes on one database take turns through a lease on each exchange
(``Store.claim_exchange``): one node walks it at a time, so their checkpoints
never race. A sync's failure is on the exchange's status; the loop goes on.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable

from veil.config import Settings
from veil.exchange.sync import SyncReport, sync_exchange
from veil.store.interface import BankStore

log = logging.getLogger("veil.exchange")

#: A lease outlives a sync by far: a walk that takes longer keeps renewing nothing,
#: so another node may take over after this many sync intervals (at least 10 min).
LEASE_INTERVALS = 20
MIN_LEASE_S = 600.0


class ExchangeSyncer:
    def __init__(self, store: BankStore, settings: Settings, *,
                 on_report: Callable[[SyncReport], None] | None = None) -> None:
        self.store = store
        self.settings = settings
        self.on_report = on_report
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="veil-exchange", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Sync now rather than at the next interval (an exchange was added)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None

    def run_once(self) -> list[SyncReport]:
        """One round: every enabled exchange this node may sync now."""
        interval = self.settings.exchange.sync_s
        lease = max(MIN_LEASE_S, interval * LEASE_INTERVALS)
        reports = []
        for x in self.store.list_exchanges():
            if self._stop.is_set():
                break
            if not x.enabled:
                continue
            # due: at most one sync per interval across every node
            if not self.store.claim_exchange(x.name, self.holder, lease_s=lease,
                                             due_s=interval * 0.9):
                continue
            try:
                report = sync_exchange(self.store, x.name, self.settings)
            finally:
                self.store.release_exchange(x.name, self.holder)
            reports.append(report)
            if self.on_report is not None:
                self.on_report(report)
        return reports

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # logged; the next round retries
                log.exception("exchange sync round failed")
            self._wake.wait(self.settings.exchange.sync_s)
            self._wake.clear()
