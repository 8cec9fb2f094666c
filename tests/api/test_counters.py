"""The in-memory match counter: bounded writes, nothing lost to a failed write or at
shutdown, and a case shown only the matches since it submitted (issue 12, points 5-6)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, cast

import pytest

from veil.api import counters
from veil.api.counters import MatchCounter
from veil.api.services import Services
from veil.store.cases import CaseSignalIn, MatchTally
from veil.store.coltypes import utcnow
from veil.store.interface import BankStore
from veil.verdict import Match


def hit(*entry_ids: int) -> list[Match]:
    return [Match(signal="md5", entry_id=e, bank="b", category="imported", distance=0,
                  threshold=0) for e in entry_ids]


class FakeStore:
    """Takes match counts, failing the calls numbered in ``fail_on`` (from 1)."""

    def __init__(self, fail_on: set[int] | None = None, fail_always: bool = False) -> None:
        self.calls: list[dict[int, MatchTally]] = []
        self.fail_on = fail_on or set()
        self.fail_always = fail_always
        self.tries = 0

    def add_match_counts(self, counts: Mapping[int, MatchTally]) -> None:
        self.tries += 1
        if self.fail_always or self.tries in self.fail_on:
            raise OSError("database away")
        self.calls.append(dict(counts))

    def written(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for call in self.calls:
            for e, t in call.items():
                out[e] = out.get(e, 0) + t.matches
        return out


def counter(store: FakeStore, batch: int = 100) -> MatchCounter:
    return MatchCounter(cast(BankStore, store), 3600, batch=batch)


def test_flush_writes_in_bounded_batches() -> None:
    store = FakeStore()
    c = counter(store)
    c.record(hit(*range(1, 251)))
    c.record(hit(7, 7))
    assert c.flush()
    assert [len(call) for call in store.calls] == [100, 100, 50]
    assert store.written() == {e: 3 if e == 7 else 1 for e in range(1, 251)}
    assert c.pending_entries() == 0


def test_a_failed_batch_is_kept_merged_with_newer_matches_and_written_later() -> None:
    store = FakeStore(fail_on={2})
    c = counter(store)
    c.record(hit(*range(1, 251)))
    assert not c.flush()  # the second batch failed: the round stops there
    assert [len(call) for call in store.calls] == [100]
    assert c.pending_entries() == 150
    c.record(hit(150, 250))  # newer matches of entries waiting to be written
    assert c.flush()
    expected = {e: 2 if e in (150, 250) else 1 for e in range(1, 251)}
    assert store.written() == expected
    # the kept tally still starts at its first match (what decides who counts it)
    assert all(t.first_at <= t.last_at for call in store.calls for t in call.values())


def test_flush_entries_writes_only_those_entries_and_keeps_them_on_failure() -> None:
    store = FakeStore(fail_on={1})
    c = counter(store, batch=2)
    c.record(hit(1, 2, 3, 4, 5, 5))
    assert not c.flush_entries([5, 1, 99])  # 99 has nothing pending
    assert store.calls == [] and c.pending_entries() == 5
    assert c.flush_entries([5, 1, 99])
    assert store.written() == {1: 1, 5: 2}
    assert c.pending_entries() == 3  # 2, 3 and 4 wait for the next round


def test_stop_retries_and_loses_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(counters, "STOP_PAUSE_S", 0)
    store = FakeStore(fail_on={1, 2})
    c = counter(store)
    c.start()
    c.record(hit(*range(1, 301)))
    c.stop()
    assert store.written() == {e: 1 for e in range(1, 301)}


def test_stop_says_what_it_could_not_write(monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(counters, "STOP_PAUSE_S", 0)
    store = FakeStore(fail_always=True)
    c = counter(store)
    c.record(hit(1, 1, 2))
    with caplog.at_level(logging.ERROR, logger="veil.api"):
        c.stop()
    assert store.tries == counters.STOP_TRIES
    lost = [r for r in caplog.records if "lost" in r.getMessage()]
    assert len(lost) == 1
    assert (cast(Any, lost[0]).entries, cast(Any, lost[0]).matches) == (2, 3)


def test_pending_counts_only_tallies_begun_after_a_submission() -> None:
    c = counter(FakeStore())
    before = utcnow()
    c.record(hit(1))
    after = utcnow() + timedelta(microseconds=1)
    c.record(hit(1, 2))
    assert c.pending_since(1, before) == 2
    assert c.pending_since(1, after) == 0  # the tally began before: none of it is shown
    assert c.pending_since(2, before) == 1
    assert c.pending_since(3, before) == 0


def test_a_backlog_larger_than_any_statement_allows_is_written(services: Services) -> None:
    """Issue 12 point 6 end to end: 300 000 pending ids (beyond SQLite's and
    PostgreSQL's bound-parameter limits) reach the store; the real ones count."""
    store = services.store
    made = store.create_case([CaseSignalIn("md5", "ab" * 16)], {}, bank="victims",
                             actor="t")
    (_sig, entry), = made.added
    c = services.counter
    c.record(hit(*range(10_000_000, 10_300_000)))
    c.record(hit(entry.entry_id, entry.entry_id))
    assert c.flush()
    assert c.pending_entries() == 0
    assert [s.matched for s in store.case_view(made.case_id).signals] == [2]
