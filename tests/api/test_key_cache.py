"""KeyCache: a key revoked through this process stops at once, even when the cache
is being re-read at that moment (by another request, or in the background)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from veil.api import auth
from veil.api.auth import KeyCache
from veil.store.keys import ApiKeyRecord, key_hash

KEY = "veil_test-key"
RECORD = ApiKeyRecord(id=1, name="k", prefix=KEY[:12], scopes=("platform",),
                      created_by="test", created_at=datetime(2024, 1, 1, tzinfo=UTC),
                      revoked_at=None)


class GatedStore:
    """Active keys whose read takes its snapshot, then waits for ``gate``: a read that
    began before a change returns what was there before it."""

    def __init__(self) -> None:
        self.keys = {key_hash(KEY): RECORD}
        self.gate = threading.Event()
        self.gate.set()
        self.reading = threading.Event()

    def active_key_hashes(self) -> dict[str, ApiKeyRecord]:
        snapshot = dict(self.keys)
        self.reading.set()
        assert self.gate.wait(10)
        return snapshot

    def revoke(self, cache: KeyCache) -> None:
        self.keys.clear()  # committed, then the post-commit hook:
        cache.invalidate()


async def _reading(store: GatedStore) -> None:
    assert await asyncio.to_thread(store.reading.wait, 10)
    store.reading.clear()


def test_a_request_during_another_ones_reread_waits_for_it() -> None:
    async def run() -> None:
        store = GatedStore()
        cache = KeyCache(store, ttl_s=3600)  # type: ignore[arg-type]
        assert await cache.lookup(KEY) == RECORD
        store.reading.clear()
        store.gate.clear()
        store.revoke(cache)
        first = asyncio.create_task(cache.lookup(KEY))
        await _reading(store)  # the first request's re-read is under way
        second = asyncio.create_task(cache.lookup(KEY))
        for _ in range(5):
            await asyncio.sleep(0)
        store.gate.set()
        assert await first is None
        assert await second is None  # not answered from the keys before the revoke

    asyncio.run(run())


def test_a_background_read_from_before_the_revoke_does_not_count_as_fresh(
        monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(auth, "time", SimpleNamespace(monotonic=lambda: now[0]))

    async def run() -> None:
        store = GatedStore()
        cache = KeyCache(store, ttl_s=60)  # type: ignore[arg-type]
        assert await cache.lookup(KEY) == RECORD
        store.reading.clear()
        now[0] += 61  # stale: the next look-up answers now and re-reads in the background
        store.gate.clear()
        assert await cache.lookup(KEY) == RECORD
        background = cache._background
        assert background is not None
        await _reading(store)  # it read the keys before the revoke committed
        store.revoke(cache)
        store.gate.set()
        await background
        assert await cache.lookup(KEY) is None  # well within the ttl of that read

    asyncio.run(run())


def test_a_change_during_the_wait_for_a_read_is_read_again() -> None:
    async def run() -> None:
        store = GatedStore()
        cache = KeyCache(store, ttl_s=3600)  # type: ignore[arg-type]
        assert await cache.lookup(KEY) == RECORD
        other = "veil_other-key"
        store.reading.clear()
        store.gate.clear()
        cache.invalidate()  # some other change: a read starts
        first = asyncio.create_task(cache.lookup(KEY))
        await _reading(store)
        store.keys[key_hash(other)] = RECORD  # committed while that read runs
        cache.invalidate()
        store.gate.set()
        assert await first == RECORD
        assert await cache.lookup(other) == RECORD

    asyncio.run(run())
