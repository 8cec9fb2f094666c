"""``LiveMatcher``: the banks' matcher a long-running process holds, kept current.

Changes reach it through the store's change feed (``BankMatcher.catch_up``), whoever
made them. The service registers ``after_commit`` as the store's post-commit hook,
so its own writes (a case, a withdrawal, an import, a dispute) are applied before
the request that made them returns, without any route having to remember it; a
background thread catches up every ``index_sync_ms`` with what other processes
commit (``veil bank import`` run elsewhere, other workers). Changes committed while
the first load runs are picked up by the catch-up that ends the load. With
``index_shared`` the poller also keeps the mapped snapshots fresh
(``veil.matching.shared``), in its own thread; it holds the sync lock only to swap
an index in, so no request waits for a rewrite.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from veil.config import Settings
from veil.errors import ApiNotReady
from veil.matching.loading import MatchSource
from veil.matching.matcher import BankMatcher, CatchUp
from veil.matching.shared import refresh

log = logging.getLogger("veil.matching")

Loader = Callable[[Settings, MatchSource], BankMatcher]


def load_matcher(settings: Settings, source: MatchSource) -> BankMatcher:
    # index snapshots make a restart with millions of entries fast
    return BankMatcher.load(settings, source, snapshots=True, mapped=settings.index_shared)


class LiveMatcher:
    def __init__(self, settings: Settings, source: MatchSource,
                 loader: Loader = load_matcher) -> None:
        self.settings = settings
        self.source = source
        self.loader = loader
        self._matcher: BankMatcher | None = None
        self._sync_lock = threading.Lock()
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self.load_seconds: float | None = None
        self.load_error: str | None = None
        #: When the feed was last read successfully (monotonic), and the last failure.
        self.synced_at: float | None = None
        self.sync_error: str | None = None

    # -- loading ------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self._matcher is not None

    @property
    def matcher(self) -> BankMatcher:
        m = self._matcher
        if m is None:
            raise ApiNotReady("the bank index is still loading; retry shortly")
        return m

    def load(self) -> None:
        started = time.perf_counter()
        try:
            m = self.loader(self.settings, self.source)
        except Exception as exc:
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.exception("bank index failed to load")
            raise
        self._matcher = m  # a sync before this found None and did nothing
        # what was committed while the load ran; if unreadable, the poller retries
        self._sync_or_log(logging.WARNING, "change feed not read after loading")
        self.load_seconds = time.perf_counter() - started
        log.info("bank index ready", extra={"seconds": round(self.load_seconds, 3),
                                            "index": m.describe()})

    # -- keeping current ----------------------------------------------------------------
    def sync(self) -> CatchUp | None:
        """Apply what the store committed since the last catch-up (None before the
        first load). Raises the store's error if it cannot be read."""
        with self._sync_lock:
            m = self._matcher
            if m is None:
                return None
            done = m.catch_up(self.source)
            self.synced_at = time.monotonic()
            self.sync_error = None
        if done.changed:
            log.info("bank index caught up", extra={
                "watermark": done.watermark, "added": done.added, "removed": done.removed,
                "banks_reloaded": done.banks_reloaded})
        return done

    def after_commit(self) -> None:
        """The store's post-commit hook: catch up right after this process committed a
        change, so it matches (or stops matching) before the response. The change is
        committed whatever happens here: a failure is logged and left to the poller,
        not turned into an error that would make the client retry a write that
        succeeded."""
        self._sync_or_log(logging.ERROR, "change not applied to the index yet")

    def _sync_or_log(self, level: int, message: str) -> None:
        try:
            self.sync()
        except Exception as exc:  # a database hiccup: recorded, retried by the poller
            self.sync_error = f"{type(exc).__name__}: {exc}"
            log.log(level, "%s: %s", message, self.sync_error)

    def refresh_shared(self) -> list[str]:
        """Remap or rewrite the shared indexes that need it (``veil.matching.shared``);
        the signals done. The poller calls it after each catch-up."""
        m = self._matcher
        return [] if m is None else refresh(m, self.source, self.settings, self._sync_lock)

    def _refresh_or_log(self) -> None:
        try:
            self.refresh_shared()
        except Exception as exc:  # a full disk, a database hiccup: the next round retries
            log.warning("shared index not refreshed: %s: %s", type(exc).__name__, exc)

    def sync_age(self) -> float | None:
        """Seconds since the feed was last read (None before the first read)."""
        at = self.synced_at
        return None if at is None else time.monotonic() - at

    def start_polling(self, interval_s: float) -> None:
        if interval_s <= 0 or self._poller is not None:
            return
        self._stop.clear()

        def run() -> None:
            while not self._stop.wait(interval_s):
                self._sync_or_log(logging.WARNING, "change feed not read")
                if self.settings.index_shared:
                    self._refresh_or_log()

        self._poller = threading.Thread(target=run, name="veil-index-sync", daemon=True)
        self._poller.start()

    def stop_polling(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(10)
            self._poller = None

    # -- reading ------------------------------------------------------------------------
    def sizes(self) -> dict[str, int]:
        m = self._matcher
        return m.sizes() if m is not None else {}

    def regions_unreadable(self) -> int:
        """Region signals that did not open (a region key not shared between nodes)."""
        m = self._matcher
        return len(m.regions.unreadable) if m is not None and m.regions is not None else 0
