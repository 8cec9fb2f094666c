"""Review items in the store: made sealed, capped per queue, purged at their deadline
(the bytes gone from the database file and everything under VEIL_HOME), decided
with reason codes that reach the confirmed and allowlist banks."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from veil.config import Settings
from veil.errors import Conflict
from veil.review.decisions import decide
from veil.review.items import create_item, describe
from veil.review.retention import purge
from veil.review.rotation import next_item
from veil.review.sealing import MediaSealer, load_sealer
from veil.store import Store
from veil.store.coltypes import utcnow
from veil.store.reviews import QueueFull

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "0123456789abcdef0123456789abcdef"


def picture(seed: int, size: int = 20_000) -> bytes:
    """Bytes no file under VEIL_HOME could hold by chance."""
    return os.urandom(8) + bytes([seed]) * 8 + os.urandom(size)


@pytest.fixture
def sealer(settings: Settings) -> MediaSealer:
    return load_sealer(settings)


def make(store: Store, sealer: MediaSealer, settings: Settings, data: bytes, *,
         matches: list[dict[str, object]] | None = None, signals: list[dict[str, object]]
         | None = None, **kw: object):  # type: ignore[no-untyped-def]
    verdict = {"decision": "review", "reasons": ["because"], "matches": matches or [],
               "matches_total": len(matches or [])}
    return create_item(store, sealer, settings, source="review_request",
                       platform="key:1:platform", data=data, fmt="JPEG", verdict=verdict,
                       signals=signals or [{"signal": "pdq", "value": PDQ, "quality": 90},
                                           {"signal": "md5", "value": MD5}], **kw)


def files_under(folder: Path) -> Iterator[tuple[Path, bytes]]:
    for path in folder.rglob("*"):
        if path.is_file():
            yield path, path.read_bytes()


def test_an_item_holds_its_media_sealed_and_its_deadlines(store: Store, sealer: MediaSealer,
                                                          settings: Settings) -> None:
    data = picture(1)
    before = utcnow()
    item = make(store, sealer, settings, data)
    assert item.status == "open" and item.media_type == "image/jpeg"
    assert item.media_bytes == len(data)
    assert timedelta(hours=47, minutes=59) < item.act_by - before < timedelta(hours=48, seconds=5)
    assert timedelta(days=6.99) < item.retain_until - before < timedelta(days=7, seconds=5)
    sealed = store.sealed_review_media(item.id, actor="tester")
    assert sealed is not None and data[:64] not in sealed
    assert sealer.open(item.id, sealed) == data
    view = describe(store.review_item(item.id))
    assert 47 * 3600 < view["time_left_s"] <= 48 * 3600
    assert view["region"] is None and view["has_media"]
    assert [a.action for a in store.audit(action="review.media_view")]


def test_the_queue_refuses_media_past_its_cap(store: Store, sealer: MediaSealer,
                                              settings: Settings) -> None:
    capped = settings.with_(review={"max_queue_bytes": 50_000})
    make(store, sealer, capped, picture(1, 20_000))
    make(store, sealer, capped, picture(2, 20_000))
    with pytest.raises(QueueFull) as refused:
        make(store, sealer, capped, picture(3, 20_000))
    assert refused.value.code == "review.queue_full" and refused.value.http_status == 507
    assert store.review_queue_bytes() < 50_000
    # purged media no longer counts
    purge(store, now=utcnow() + timedelta(days=8))
    make(store, sealer, capped, picture(4, 20_000))


def test_purge_deletes_the_media_from_the_database_and_disk(store: Store, sealer: MediaSealer,
                                                            settings: Settings) -> None:
    kept, doomed = picture(5, 60_000), picture(6, 60_000)
    early = make(store, sealer, settings, doomed)
    late = make(store, sealer, settings.with_(review={"retention_days": 30}), kept)
    sealed = store.sealed_review_media(early.id, actor="tester")
    assert sealed is not None
    # what the test looks for: pieces of the plaintext and of the ciphertext
    needles = [doomed[:32], doomed[30_000:30_032], sealed[20:52], sealed[40_000:40_032]]
    if settings.database_url.startswith("sqlite"):
        everything = b"".join(b for _, b in files_under(settings.home))
        assert any(n in everything for n in needles[2:])  # it was there, sealed

    purged = purge(store, now=utcnow() + timedelta(days=7, minutes=1))
    assert purged == [early.id]
    gone = store.review_item(early.id)
    assert gone.status == "purged" and gone.purged_at is not None
    assert store.sealed_review_media(early.id, actor="tester") is None
    assert store.sealed_review_media(late.id, actor="tester") is not None  # not due yet
    assert [e.detail["item"] for e in store.audit(action="review.purge")] == [early.id]
    if settings.database_url.startswith("sqlite"):
        for path, content in files_under(settings.home):
            for n in needles:
                assert n not in content, f"purged media still in {path}"
    with store.engine.connect() as conn:
        from sqlalchemy import text

        rows = conn.execute(text("SELECT item_id FROM review_media")).scalars().all()
    assert rows == [late.id]
    assert purge(store, now=utcnow() + timedelta(days=7, minutes=1)) == []  # once only


def test_decisions_reach_the_banks_and_unclear_needs_another_reviewer(
        store: Store, sealer: MediaSealer, settings: Settings) -> None:
    confirmed = make(store, sealer, settings, picture(7))
    decided = decide(store, settings, confirmed.id, "confirmed_ncii", actor="key:5:ana",
                     note="seen")
    assert decided.status == "decided" and decided.decisions[0]["code"] == "confirmed_ncii"
    entries = store.list_entries(bank="review-confirmed")
    assert {(e.signal, e.value) for e in entries} == {("pdq", PDQ), ("md5", MD5)}
    assert all(e.source == f"review:{confirmed.id}" for e in entries)
    assert store.get_bank("review-confirmed").category == "confirmed_ncii"
    with pytest.raises(Conflict):
        decide(store, settings, confirmed.id, "not_ncii", actor="key:5:ana")

    other = make(store, sealer, settings, picture(8),
                 signals=[{"signal": "pdq", "value": PDQ, "quality": 90}])
    decide(store, settings, other.id, "synthetic_ncii", actor="key:5:ana")  # already held
    assert len(store.list_entries(bank="review-confirmed")) == 2

    unsure = make(store, sealer, settings, picture(9))
    assert decide(store, settings, unsure.id, "unclear",
                  actor="key:5:ana").status == "second_review"
    with pytest.raises(Conflict, match="another reviewer"):
        decide(store, settings, unsure.id, "not_ncii", actor="key:5:ana")
    final = decide(store, settings, unsure.id, "not_ncii", actor="key:6:bo")
    assert final.status == "decided" and [d["actor"] for d in final.decisions] == [
        "key:5:ana", "key:6:bo"]
    allow = store.list_entries(bank="review-allowlist")
    assert {e.signal for e in allow} == {"pdq", "md5"}
    assert store.get_bank("review-allowlist").category == "allowlist"
    assert {a.detail["code"] for a in store.audit(action="review.decide")} == {
        "confirmed_ncii", "synthetic_ncii", "unclear", "not_ncii"}


def test_a_reviewer_never_gets_one_case_twice_in_a_row(store: Store, sealer: MediaSealer,
                                                       settings: Settings) -> None:
    store.create_bank("victims", "victim_submitted", actor="t")
    e1 = store.add_entry("victims", "pdq", PDQ, actor="t", quality=90)
    e2 = store.add_entry("victims", "md5", MD5, actor="t")

    def match(entry_id: int) -> list[dict[str, object]]:
        return [{"entry_id": entry_id, "bank": "victims", "signal": "pdq", "distance": 3}]

    a1 = make(store, sealer, settings, picture(10), matches=match(e1.id))
    a2 = make(store, sealer, settings, picture(11), matches=match(e1.id))
    b1 = make(store, sealer, settings, picture(12), matches=match(e2.id))
    assert a1.subjects == (f"entry:{e1.id}",)
    items = store.review_items()
    first = next_item(items, reviewer="r")
    assert first.item is not None and first.item.id == a1.id
    second = next_item(items, reviewer="r", last_subjects=a1.subjects)
    assert second.item is not None and second.item.id == b1.id  # a2 would repeat a1's case
    only_same = [i for i in items if i.id != b1.id]
    prompt = next_item(only_same, reviewer="r", last_subjects=a1.subjects)
    assert prompt.item is None and prompt.break_needed
    after_break = next_item(only_same, reviewer="r")
    assert after_break.item is not None
    # skipped items come last
    assert next_item(items, reviewer="r", skipped={a1.id}).item.id == a2.id  # type: ignore[union-attr]
