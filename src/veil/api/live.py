"""The banks' matcher as the service uses it: loaded once, then kept current.

Every change the service makes to the banks (a victim's case, a withdrawal, an
import, a dispute) is applied to the store first, then here, so a withdrawn hash
stops matching before the request that withdrew it returns.

``veil.matching.BankMatcher`` is the matcher. Its live-update methods
(``add``/``withdraw``, issue 4) are called when it has them; until then this
adapter updates the per-signal indexes the matcher holds (they support live
changes), and as a last resort reloads the whole matcher from the store. Changes
made while the first load runs are queued and replayed on top of it.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from veil.config import Settings
from veil.errors import ApiNotReady
from veil.matching import BankMatcher
from veil.signals.batch import FileSignals
from veil.store.records import ActiveEntry
from veil.verdict import MatchedEntry, Verdict

log = logging.getLogger("veil.api")

#: Above this many entries at once (an import), the signal's index takes them in bulk.
BULK = 256


@dataclass
class BankPolicy:
    """What ``BankMatcher.banks`` holds per bank (category and policy)."""

    category: str
    policy: dict[str, Any] = field(default_factory=dict)


def load_matcher(settings: Settings) -> BankMatcher:
    params = inspect.signature(BankMatcher.load).parameters
    # index snapshots make a restart with millions of entries fast, where supported
    return BankMatcher.load(settings, snapshots=True) if "snapshots" in params else (
        BankMatcher.load(settings))


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
            self._apply(lambda m: self._add(m, signal, entries))

    def withdraw(self, signal: str, entry_ids: Iterable[int]) -> None:
        ids = list(entry_ids)
        if ids:
            self._apply(lambda m: self._withdraw(m, signal, ids))

    def set_bank(self, name: str, category: str, policy: dict[str, Any]) -> None:
        def change(m: BankMatcher) -> None:
            set_bank = getattr(m, "set_bank", None)
            if callable(set_bank):
                set_bank(name, category, dict(policy))
            else:
                m.banks[name] = BankPolicy(category, dict(policy))  # type: ignore[assignment]

        self._apply(change)

    def _add(self, m: BankMatcher, signal: str, entries: Sequence[ActiveEntry]) -> None:
        indexes = getattr(m, "indexes", None)
        idx = indexes.get(signal) if isinstance(indexes, dict) else None
        if len(entries) > BULK and idx is not None and hasattr(idx, "add_many"):
            # an import: one bulk add instead of a million single ones
            idx.add_many([(e.entry_id, e.bank, e.category, e.value, e.quality)
                          for e in entries])
            return
        add = getattr(m, "add", None)
        if callable(add):
            takes_quality = "quality" in inspect.signature(add).parameters
            for e in entries:
                extra = {"quality": e.quality} if takes_quality else {}
                add(signal=signal, entry_id=e.entry_id, bank=e.bank, category=e.category,
                    value=e.value, **extra)
            return
        if isinstance(indexes, dict):
            if idx is None:
                from veil.index.factory import empty_index

                idx = indexes[signal] = empty_index(signal)
            idx.add_many([(e.entry_id, e.bank, e.category, e.value, e.quality)
                          for e in entries])
            return
        self._reload()

    def _withdraw(self, m: BankMatcher, signal: str, ids: list[int]) -> None:
        withdraw = getattr(m, "withdraw", None)
        if callable(withdraw):
            for i in ids:
                withdraw(signal=signal, entry_id=i)
            return
        indexes = getattr(m, "indexes", None)
        if isinstance(indexes, dict):
            idx = indexes.get(signal)
            if idx is not None:
                idx.withdraw_many(ids)
            return
        self._reload()

    def _reload(self) -> None:
        # the slow, always-correct path: read every active entry again
        self._matcher = self.loader(self.settings)

    # -- reading ------------------------------------------------------------------------
    def sizes(self) -> dict[str, int]:
        m = self._matcher
        if m is None:
            return {}
        sizes = getattr(m, "sizes", None)
        if callable(sizes):
            return dict(sizes())
        indexes = getattr(m, "indexes", None)
        return {n: len(i) for n, i in indexes.items()} if isinstance(indexes, dict) else {}

    def match(self, signal: str, value: str, threshold: int | None) -> list[MatchedEntry]:
        m = self.matcher
        return m.match(signal, value, m.threshold(signal, threshold))

    def verdict(self, file: FileSignals, pdq_threshold: int | None) -> Verdict:
        return self.matcher.verdict(file, pdq_threshold=pdq_threshold)

    def decide(self, matches: Iterable[MatchedEntry]) -> Verdict:
        from veil.verdict import decide

        m = self.matcher
        return decide(matches, {n: b.policy for n, b in m.banks.items()})
