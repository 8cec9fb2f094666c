"""The store's side of pulling a list: one page, its checkpoint and its rejects in
one transaction; full walks that erase what the peer dropped; leases; feedback
notes from review decisions. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from veil.errors import Conflict, NotFound
from veil.store import Store, exchanges
from veil.store.coltypes import utcnow
from veil.store.exchanges import Incoming, Rejected
from veil.store.reviews import NewReviewItem


def h(i: int) -> str:
    return hashlib.sha256(f"merge-{i}".encode()).hexdigest()


@pytest.fixture
def xstore(store: Store) -> Store:
    store.add_exchange("peer", kind="veil", url="http://127.0.0.1:9/stopncii/v1",
                       bank="peer-list", credentials=None, actor="test")
    return store


def live(store: Store) -> dict[str, str]:
    return {str(e.value): e.status for e in store.list_entries(bank="peer-list", limit=10000)
            if e.value is not None}


def test_a_page_merges_with_its_checkpoint_and_repeats_change_nothing(xstore: Store) -> None:
    page = [Incoming("pdq", h(i), gone=False, case_ref="case-1") for i in range(5)]
    c = xstore.merge_exchange_page("peer", page, [Rejected("bad hex", '{"x": 1}')],
                                   {"update_time": 100, "page_token": "t1"})
    assert (c.added, c.removed, c.rejected) == (5, 0, 1)
    x = xstore.get_exchange("peer")
    assert x.checkpoint == {"update_time": 100, "page_token": "t1"}
    assert x.counts["added"] == 5 and x.counts["rejected"] == 1
    entries = xstore.list_entries(bank="peer-list")
    assert {e.source for e in entries} == {"exchange:peer"}
    assert entries[0].case_ref == "case-1"
    # the same page again (a retry after a crash): nothing twice
    c = xstore.merge_exchange_page("peer", page, [], {"update_time": 100, "page_token": "t1"})
    assert (c.added, c.unchanged) == (0, 5)
    assert len(live(xstore)) == 5
    # the change feed carries the new entries to live indexes
    fed = {ch.entry_id for ch in xstore.changes("pdq", after=0, upto=xstore.watermark())}
    assert fed >= {e.id for e in entries}


def test_a_gone_record_erases_the_hash_and_the_last_record_of_a_hash_wins(
        xstore: Store) -> None:
    xstore.merge_exchange_page("peer", [Incoming("pdq", h(1), False),
                                        Incoming("pdq", h(2), False)], [], {})
    c = xstore.merge_exchange_page("peer", [
        Incoming("pdq", h(1), gone=True),
        Incoming("pdq", h(2), gone=True), Incoming("pdq", h(2), gone=False),  # back again
        Incoming("pdq", h(9), gone=True),  # never had it: nothing to do
    ], [], {})
    assert (c.added, c.removed) == (0, 1)
    assert live(xstore) == {h(2): "active"}
    withdrawn = xstore.list_entries(bank="peer-list", status="withdrawn")
    assert len(withdrawn) == 1 and withdrawn[0].value is None


def test_an_admins_disabled_entry_stays_disabled_whatever_the_peer_says(xstore: Store) -> None:
    xstore.merge_exchange_page("peer", [Incoming("pdq", h(1), False)], [], {})
    e = xstore.list_entries(bank="peer-list")[0]
    xstore.disable_entry(e.id, actor="admin", reason="false positive")
    xstore.merge_exchange_page("peer", [Incoming("pdq", h(1), False)], [], {}, touch=True)
    assert xstore.get_entry(e.id).status == "disabled"
    due = xstore.exchange_feedback_due("peer")
    assert [(d.value, d.kind) for d in due] == [(h(1), "false_positive")]
    assert xstore.mark_feedback_sent([d.id for d in due]) == 1
    assert xstore.exchange_feedback_due("peer") == []


def test_a_full_walk_erases_only_what_it_did_not_see(xstore: Store) -> None:
    xstore.merge_exchange_page("peer", [Incoming("pdq", h(i), False) for i in range(6)], [], {})
    xstore.add_entry("peer-list", "pdq", h(100), actor="admin")  # not the peer's
    started = utcnow()
    xstore.merge_exchange_page("peer", [Incoming("pdq", h(i), False) for i in range(3)], [],
                               {"full_walk": True}, touch=True)
    xstore.merge_exchange_page("peer", [Incoming("pdq", h(5), False)], [],
                               {"full_walk": True}, touch=True)
    removed = xstore.finish_full_walk("peer", started_at=started,
                                      checkpoint={"update_time": 7})
    assert removed == 2
    assert set(live(xstore)) == {h(0), h(1), h(2), h(5), h(100)}
    x = xstore.get_exchange("peer")
    assert x.checkpoint == {"update_time": 7} and x.last_success_at is not None


def test_rejects_are_capped(xstore: Store) -> None:
    xstore.settings = xstore.settings.with_(exchange=xstore.settings.exchange.model_copy(
        update={"max_rejects": 3}))
    for i in range(3):
        xstore.merge_exchange_page("peer", [], [Rejected(f"bad {i}.{j}", "{}") for j in range(2)],
                                   {})
    kept = xstore.exchange_rejects("peer", limit=100)
    assert [r.reason for r in kept] == ["bad 2.1", "bad 2.0", "bad 1.1"]


def test_one_node_at_a_time_holds_an_exchange(xstore: Store) -> None:
    assert xstore.claim_exchange("peer", "node-a", lease_s=60)
    assert not xstore.claim_exchange("peer", "node-b", lease_s=60)
    assert xstore.claim_exchange("peer", "node-a", lease_s=60)  # its own lease
    xstore.release_exchange("peer", "node-a")
    assert xstore.claim_exchange("peer", "node-b", lease_s=60)
    xstore.release_exchange("peer", "node-b")
    # due_s: fetched a moment ago, so not due again yet
    xstore.record_exchange_fetch("peer", error=None)
    assert not xstore.claim_exchange("peer", "node-a", lease_s=60, due_s=3600)
    xstore.set_exchange_enabled("peer", False, actor="admin")
    assert not xstore.claim_exchange("peer", "node-a", lease_s=60)


def test_an_exchange_needs_an_imported_bank_of_its_own(xstore: Store) -> None:
    with pytest.raises(Conflict, match="filled by exchange 'peer'"):
        xstore.add_exchange("other", kind="stopncii", url="https://hub.example/v1",
                            bank="peer-list", credentials=None, actor="t")
    xstore.create_bank("victims", "victim_submitted", actor="t")
    with pytest.raises(Conflict, match="category imported"):
        xstore.add_exchange("other", kind="stopncii", url="https://hub.example/v1",
                            bank="victims", credentials=None, actor="t")
    with pytest.raises(NotFound):
        xstore.get_exchange("missing")
    xstore.remove_exchange("peer", actor="t")
    assert xstore.list_exchanges() == []
    assert xstore.get_bank("peer-list").category == "imported"  # the bank stays


def test_a_reviewers_decision_on_an_imported_match_becomes_feedback(xstore: Store) -> None:
    xstore.merge_exchange_page("peer", [Incoming("pdq", h(1), False)], [], {})
    e = xstore.list_entries(bank="peer-list")[0]
    item = xstore.add_review_item(NewReviewItem(
        id="0193a0a0-0000-7000-8000-000000000001", source="scan", platform="platform-1",
        verdict={"decision": "review", "matches": [{"entry_id": e.id, "bank": "peer-list"}]},
        signals=[{"signal": "pdq", "value": h(1), "quality": 90}],
        media_type="image/jpeg", media_bytes=32,
        act_by=utcnow() + timedelta(hours=1), retain_until=utcnow() + timedelta(days=1)),
        b"x" * 32, max_queue_bytes=10**6)
    xstore.record_review_decision(item.id, code="confirmed_ncii", note=None,
                                  status="decided", actor="reviewer")
    due = xstore.exchange_feedback_due("peer")
    assert [(d.value, d.kind) for d in due] == [(h(1), "confirmed")]


@pytest.mark.parametrize("batch", [1, 5, exchanges.STAGE_BATCH])
def test_a_walk_that_stages_many_pages_merges_as_page_by_page_merges_would(
        xstore: Store, batch: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """``exchange_walk`` stages pages on disk and merges them at once: repeats across
    pages (the later record wins), withdrawals, rejects and an admin's disabled entry
    come out as merging each page on its own leaves them. Pages are written to the
    staging table one at a time (``batch`` 1), several joined (5), or all at the
    merge."""
    monkeypatch.setattr(exchanges, "STAGE_BATCH", batch)
    xstore.add_exchange("twin", kind="veil", url="http://127.0.0.1:9/stopncii/v1",
                        bank="twin-list", credentials=None, actor="test")
    for name, bank in (("peer", "peer-list"), ("twin", "twin-list")):
        xstore.merge_exchange_page(name, [Incoming("pdq", h(i), False) for i in (0, 1, 8, 9)],
                                   [], {})
        off = next(e for e in xstore.list_entries(bank=bank) if e.value == h(9))
        xstore.disable_entry(off.id, actor="admin", reason="false positive")
    pages = [
        [Incoming("pdq", h(i), False, case_ref="c-1") for i in range(5)],
        [Incoming("pdq", h(1), True), Incoming("pdq", h(5), False),
         Incoming("pdq", h(0), False, case_ref="c-2"), Incoming("pdq", h(9), False)],
        [Incoming("pdq", h(1), False), Incoming("pdq", h(6), True), Incoming("pdq", h(8), True)],
        [Incoming("pdq", h(2), True), Incoming("pdq", h(3), True),
         Incoming("pdq", h(3), False, case_ref="c-1")],
    ]
    bad = [Rejected("bad hex", '{"hashValue": "zz"}')]
    for n, page in enumerate(pages):
        xstore.merge_exchange_page("peer", page, bad if n == 2 else [], {"page": n},
                                   touch=True)
    with xstore.exchange_walk("twin") as walk:
        for n, page in enumerate(pages):
            walk.stage(walk.prepare(page) if n % 2 else page)
        assert walk.staged == sum(map(len, pages))
        counts = walk.merge(bad, {"page": 3}, touch=True)
        assert walk.staged == 0
    # h(2), added and withdrawn again within the walk, never became an entry
    assert (counts.added, counts.removed, counts.rejected) == (3, 1, 1)

    def state(bank: str) -> dict[str, tuple[str, str | None]]:
        return {str(e.value): (e.status, e.case_ref)
                for e in xstore.list_entries(bank=bank, limit=100) if e.value is not None}

    assert state("twin-list") == state("peer-list")
    assert state("twin-list") == {
        h(0): ("active", None), h(1): ("active", None), h(3): ("active", "c-1"),
        h(4): ("active", "c-1"), h(5): ("active", None), h(9): ("disabled", None)}
    assert [r.reason for r in xstore.exchange_rejects("twin")] == ["bad hex"]
    assert xstore.get_exchange("twin").checkpoint == {"page": 3}
    withdrawn = xstore.list_entries(bank="twin-list", status="withdrawn")
    assert len(withdrawn) == 1 and withdrawn[0].value is None  # h(8), erased


def test_what_a_walk_staged_but_did_not_merge_is_dropped(xstore: Store) -> None:
    with xstore.exchange_walk("peer") as walk:
        walk.stage([Incoming("pdq", h(1), False)])
    assert live(xstore) == {}
    with xstore.exchange_walk("peer") as walk:  # a fresh staging table
        walk.stage([Incoming("pdq", h(2), False)])
        assert walk.merge([], {}).added == 1
    assert live(xstore) == {h(2): "active"}
