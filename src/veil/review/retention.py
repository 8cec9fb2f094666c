"""Purging review media past its retention deadline (``VEIL_REVIEW_RETENTION_DAYS``).

``purge`` deletes the sealed bytes of every item whose deadline has passed and has
the store erase the database's other copies (``Store.purge_review_media``); the
item's record and decisions stay, status ``purged``. ``veil serve`` runs it every
``VEIL_REVIEW_PURGE_INTERVAL_S`` on a thread of its own (``Purger``), and once at
start (a service that was down past a deadline purges at once); ``veil review purge``
runs it on demand.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime

from veil.store.interface import BankStore

log = logging.getLogger("veil.review")


def purge(store: BankStore, now: datetime | None = None) -> list[str]:
    """Purge every item due by ``now``; returns their ids."""
    ids = store.purge_review_media(now=now)
    if ids:
        log.info("review media purged", extra={"items": len(ids)})
    return ids


class Purger:
    """A daemon thread that purges every ``interval_s`` until ``stop``; ``also``: other
    erasures due on a schedule (the exchange's tombstones), run after each purge."""

    def __init__(self, store: BankStore, interval_s: float,
                 also: Sequence[Callable[[], object]] = ()) -> None:
        self.store = store
        self.interval_s = interval_s
        self.also = tuple(also)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return

        def run() -> None:
            while True:
                try:
                    purge(self.store)
                except Exception:  # logged; the next round retries
                    log.exception("review purge failed")
                for task in self.also:
                    try:
                        task()
                    except Exception:
                        log.exception("scheduled erasure failed")
                if self._stop.wait(self.interval_s):
                    return

        self._thread = threading.Thread(target=run, name="veil-review-purge", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None
