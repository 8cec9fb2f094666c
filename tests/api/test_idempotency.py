"""Idempotency-Key: what the cache keeps, and whose replies a retry can receive."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from veil.api import idempotency
from veil.api.idempotency import IdempotencyCache


def _consistent(cache: IdempotencyCache) -> None:
    """Byte totals exist only for callers with records, and are what they remember."""
    assert set(cache._bytes) <= set(cache._callers)
    for caller, records in cache._callers.items():
        kept = sum(len(r.body) for r in records.values() if r.done)
        assert cache._bytes.get(caller, 0) == kept, caller


def _finish(cache: IdempotencyCache, caller: str, key: str, body: bytes) -> None:
    rec = cache.get(caller, key)
    assert rec is not None and not rec.done
    rec.status, rec.body = 200, body
    cache.finish(caller, key, rec)


def test_running_anonymous_records_are_not_evicted_and_leave_nothing_behind() -> None:
    cache = IdempotencyCache(ttl_s=3600, max_keys=10, max_bytes=1 << 20, max_anonymous=4)
    callers = [f"ip:10.0.0.{i}" for i in range(50)]
    for c in callers:
        cache.start(c, "k", "fp")
    # all still running: a retry of any of them is told to wait (409), not run again
    assert all(cache.get(c, "k") is not None for c in callers)
    for i, c in enumerate(callers):
        _finish(cache, c, "k", b"x" * i)
        _consistent(cache)
    assert len(cache) == 4 and len(cache._bytes) == 4
    assert {c for c in cache._callers} == set(callers[-4:])


def test_a_keys_running_records_outlive_its_count_and_byte_limits() -> None:
    cache = IdempotencyCache(ttl_s=3600, max_keys=2, max_bytes=1024, max_anonymous=10)
    caller = "key:1"
    for k in ("a", "b", "c"):
        cache.start(caller, k, "fp")
    assert all(cache.get(caller, k) is not None for k in "abc")
    _finish(cache, caller, "c", b"x" * 2000)  # over max_bytes: a and b still run
    assert cache.get(caller, "a") is not None and cache.get(caller, "b") is not None
    _consistent(cache)
    _finish(cache, caller, "a", b"y" * 10)  # c, done and oldest over the limits, goes
    _consistent(cache)
    _finish(cache, caller, "b", b"z" * 20)
    _consistent(cache)
    assert len(cache) == 2 and cache._bytes[caller] == 30


def test_a_finished_record_dropped_meanwhile_is_not_accounted() -> None:
    cache = IdempotencyCache(ttl_s=3600, max_keys=2, max_bytes=1024, max_anonymous=10)
    rec = cache.start("ip:1", "k", "fp")
    cache.drop("ip:1", "k")
    rec.status, rec.body = 200, b"x" * 100
    cache.finish("ip:1", "k", rec)
    assert "ip:1" not in cache._bytes and len(cache) == 0


def test_a_running_record_outlives_the_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(idempotency, "time", SimpleNamespace(monotonic=lambda: now[0]))
    cache = IdempotencyCache(ttl_s=10, max_keys=2, max_bytes=1024, max_anonymous=10)
    cache.start("key:1", "k", "fp")
    now[0] += 60
    assert cache.get("key:1", "k") is not None  # still running: a retry gets 409
    _finish(cache, "key:1", "k", b"done")
    assert cache.get("key:1", "k") is None  # done and past the ttl: forgotten
    _consistent(cache)
