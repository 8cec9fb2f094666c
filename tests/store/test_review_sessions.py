"""Reviewer page sessions in the store: found by the digest of the cookie only, ended
when idle, too old, logged out or their key revoked, capped in number, and never
holding the cookie's value (on SQLite, not even in the database's files)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from veil.api.sessions import ReviewSessions
from veil.config import Settings
from veil.store import Store
from veil.store.coltypes import utcnow
from veil.store.keys import key_hash
from veil.store.models import ReviewSessionRow
from veil.store.review_sessions import MAX_SKIPPED, SessionTimes

TIMES = SessionTimes(idle=timedelta(minutes=30), lifetime=timedelta(hours=8),
                     touch=timedelta(seconds=30))


def rows(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(ReviewSessionRow)).scalar_one())


def test_a_session_is_found_by_its_digest_and_ends_when_idle_or_old(store: Store) -> None:
    t0 = utcnow()
    store.create_review_session("a" * 64, "k" * 64, "key:1:r", TIMES, now=t0)
    found = store.review_session("a" * 64, TIMES, now=t0 + timedelta(minutes=29))
    assert found is not None and found.actor == "key:1:r" and found.current_item is None
    assert store.review_session("b" * 64, TIMES, now=t0) is None
    # that look-up was 29 minutes on: it restarted the idle clock
    assert store.review_session("a" * 64, TIMES, now=t0 + timedelta(minutes=58)) is not None
    # idle: ended, and the look-up that found it so deleted it
    assert store.review_session("a" * 64, TIMES, now=t0 + timedelta(minutes=89)) is None
    assert rows(store) == 0

    store.create_review_session("c" * 64, "k" * 64, "key:1:r", TIMES, now=t0)
    for minutes in range(20, 8 * 60, 20):  # busy all shift long
        assert store.review_session("c" * 64, TIMES, now=t0 + timedelta(minutes=minutes))
    assert store.review_session("c" * 64, TIMES, now=t0 + timedelta(hours=8, minutes=1)) is None
    assert rows(store) == 0


def test_a_look_up_writes_only_when_the_last_seen_time_is_stale(store: Store) -> None:
    t0 = utcnow()
    store.create_review_session("a" * 64, "k" * 64, "key:1:r", TIMES, now=t0)
    store.review_session("a" * 64, TIMES, now=t0 + timedelta(seconds=29))
    assert store.review_session("a" * 64, TIMES, now=t0).seen_at == t0  # type: ignore[union-attr]
    store.review_session("a" * 64, TIMES, now=t0 + timedelta(seconds=31))
    seen = store.review_session("a" * 64, TIMES, now=t0)
    assert seen is not None and seen.seen_at == t0 + timedelta(seconds=31)


def test_what_the_page_showed_is_kept_and_skips_are_bounded(store: Store) -> None:
    store.create_review_session("a" * 64, "k" * 64, "key:1:r", TIMES)
    store.update_review_session("a" * 64, current_item="i1", last_subjects=["case:2", "case:1"])
    s = store.review_session("a" * 64, TIMES)
    assert s is not None and s.current_item == "i1"
    assert s.last_subjects == {"case:1", "case:2"}
    store.update_review_session("a" * 64, current_item=None, skip="i1")
    store.update_review_session("a" * 64, skip="i1")  # twice: kept once
    s = store.review_session("a" * 64, TIMES)
    assert s is not None and s.current_item is None and s.skipped == {"i1"}
    assert s.last_subjects == {"case:1", "case:2"}  # untouched by that update
    for i in range(MAX_SKIPPED + 5):
        store.update_review_session("a" * 64, skip=f"x{i}")
    s = store.review_session("a" * 64, TIMES)
    assert s is not None and len(s.skipped) == MAX_SKIPPED and "i1" not in s.skipped
    assert f"x{MAX_SKIPPED + 4}" in s.skipped
    store.end_review_session("a" * 64)
    store.update_review_session("a" * 64, current_item="i2")  # ended: stays ended
    assert store.review_session("a" * 64, TIMES) is None and rows(store) == 0


def test_log_ins_clear_ended_sessions_and_keep_at_most_the_cap(store: Store) -> None:
    t0 = utcnow()
    store.create_review_session("old" + "0" * 61, "k" * 64, "key:1:r", TIMES,
                                now=t0 - timedelta(hours=1))
    for i in range(3):
        store.create_review_session(f"{i:064d}", "k" * 64, "key:1:r", TIMES,
                                    now=t0 + timedelta(seconds=i), max_sessions=3)
    assert rows(store) == 3  # the idle one went first, and nothing else had to
    store.create_review_session("new" + "0" * 61, "k" * 64, "key:1:r", TIMES,
                                now=t0 + timedelta(seconds=5), max_sessions=3)
    assert rows(store) == 3
    assert store.review_session(f"{0:064d}", TIMES, now=t0) is None  # least recently seen
    assert store.review_session(f"{1:064d}", TIMES, now=t0) is not None


def test_revoking_a_key_ends_its_sessions_only(store: Store) -> None:
    record, key = store.create_api_key(["review"], name="r", actor="t")
    _, other = store.create_api_key(["review"], name="o", actor="t")
    store.create_review_session("a" * 64, key_hash(key), "key:1:r", TIMES)
    store.create_review_session("b" * 64, key_hash(other), "key:2:o", TIMES)
    store.revoke_api_key(record.id, actor="t")
    assert store.review_session("a" * 64, TIMES) is None
    assert store.review_session("b" * 64, TIMES) is not None


def test_the_cookie_value_is_never_stored(store: Store, settings: Settings) -> None:
    sessions = ReviewSessions(store, idle_s=1800, max_s=8 * 3600)
    token, session = sessions.create("k" * 64, "key:1:r")
    assert session.id != token and token not in session.csrf
    assert sessions.get(token) is not None and sessions.get(token + "x") is None
    assert sessions.get("x" * 101) is None  # longer than any cookie: not even looked up
    with store.engine.connect() as conn:
        stored = conn.execute(select(ReviewSessionRow.id)).scalars().all()
    assert stored == [session.id]
    if settings.database_url.startswith("sqlite"):
        path = Path(settings.database_url.removeprefix("sqlite:///"))
        for f in path.parent.glob(path.name + "*"):  # the database, its WAL and index
            data = f.read_bytes()
            assert token.encode() not in data and session.csrf.encode() not in data
    sessions.end(token)
    assert sessions.get(token) is None and rows(store) == 0


def test_the_scheduled_purge_deletes_ended_sessions_only(store: Store) -> None:
    t0 = utcnow()
    store.create_review_session("a" * 64, "k" * 64, "key:1:r", TIMES,
                                now=t0 - timedelta(minutes=31))
    store.create_review_session("b" * 64, "k" * 64, "key:1:r", TIMES,
                                now=t0 - timedelta(minutes=20))
    assert rows(store) == 2
    assert store.purge_review_sessions(TIMES, now=t0) == 1
    assert store.purge_review_sessions(TIMES, now=t0) == 0
    assert rows(store) == 1 and store.review_session("b" * 64, TIMES, now=t0) is not None
