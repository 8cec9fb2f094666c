"""The banks' matcher as the service uses it: loaded once, then kept current.

Every change the service makes to the banks (a victim's case, a withdrawal, an
import, a dispute) is applied to the store first, then here, so a withdrawn hash
stops matching before the request that withdrew it returns. Changes made while the
first load runs are queued and replayed on top of it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from veil.config import Settings
from veil.errors import ApiNotReady
from veil.matching import BankMatcher
from veil.signals.batch import FileSignals
from veil.store.records import ActiveEntry
from veil.verdict import MatchedEntry, Verdict

log = logging.getLogger("veil.api")


def load_matcher(settings: Settings) -> BankMatcher:
    # index snapshots make a restart with millions of entries fast
    return BankMatcher.load(settings, snapshots=True)


class LiveMatcher:
    def __init__(self, settings: Settings,
                 loader: Callable[[Settings], BankMatcher] = load_matcher) -> None:
        self.settings = settings
        self.loader = loader
        self._matcher: BankMatcher | None = None
        self._queued: list[Callable[[BankMatcher], None]] = []
        self._lock = threading.Lock()
        self.load_seconds: float | None = None
        self.load_error: str | None = None

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
            m = self.loader(self.settings)
        except Exception as exc:
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.exception("bank index failed to load")
            raise
        with self._lock:
            for change in self._queued:
                change(m)
            self._queued.clear()
            self._matcher = m
        self.load_seconds = time.perf_counter() - started
        log.info("bank index ready", extra={"seconds": round(self.load_seconds, 3),
                                            "index": m.describe()})

    def _apply(self, change: Callable[[BankMatcher], None]) -> None:
        with self._lock:
            if self._matcher is None:
                self._queued.append(change)
                return
            change(self._matcher)

    # -- live changes -------------------------------------------------------------------
    def add(self, signal: str, entries: Sequence[ActiveEntry]) -> None:
        if entries:
            rows = list(entries)
            self._apply(lambda m: m.add_many(signal, rows))

    def withdraw(self, signal: str, entry_ids: Iterable[int]) -> None:
        ids = list(entry_ids)
        if ids:
            self._apply(lambda m: m.withdraw_many(signal, ids))

    def set_bank(self, name: str, category: str, policy: dict[str, Any]) -> None:
        self._apply(lambda m: m.set_bank(name, category, dict(policy)))

    # -- reading ------------------------------------------------------------------------
    def sizes(self) -> dict[str, int]:
        m = self._matcher
        return m.sizes() if m is not None else {}

    def match_many(self, signal: str, values: Sequence[str],
                   threshold: int | None) -> list[list[MatchedEntry]]:
        m = self.matcher
        return m.match_many(signal, values, m.threshold(signal, threshold))

    def verdict(self, file: FileSignals, pdq_threshold: int | None) -> Verdict:
        return self.matcher.verdict(file, pdq_threshold=pdq_threshold)

    def decide(self, matches: Iterable[MatchedEntry]) -> Verdict:
        from veil.verdict import decide

        m = self.matcher
        return decide(matches, {n: b.policy for n, b in m.banks.items()})
