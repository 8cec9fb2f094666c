"""The hub's feed in the store and ``veil.exchange.hub``: who is served what, in which
order, what a withdrawal leaves behind and for how long, and the checkpoint."""

from __future__ import annotations

from datetime import timedelta

import pytest

from veil.errors import BadInput, Forbidden
from veil.exchange import hub
from veil.exchange.stopncii_format import TO_VEIL, SubmitFeedback, SubmitHashes
from veil.store import Store
from veil.store.cases import CaseSignalIn
from veil.store.coltypes import utcnow
from veil.store.exchange_feed import FEED_SIGNALS, PartnerRecord

CONSENT = {"self_or_guardian": True, "intimate": True, "share_with_partners": True}
NO_CONSENT = {"self_or_guardian": True, "intimate": True}


def pdq(n: int) -> str:
    return f"{n:064x}"


def walk(store: Store, partner: PartnerRecord, refs: hub.CaseRefs, *, start: int = 0,
         size: int = 2) -> tuple[list[dict], list[dict]]:
    pages, token = [], None
    while True:
        page = hub.read_page(store, partner, refs, start_timestamp=start, size=size,
                             token=token)
        pages.append(page)
        if not page["hasMoreRecords"]:
            break
        token = page["nextPageToken"]
    return [r for p in pages for r in p["hashRecords"]], pages


@pytest.fixture
def hubbed(store: Store, veil_home) -> tuple[Store, PartnerRecord, hub.CaseRefs]:  # type: ignore[no-untyped-def]
    store.create_bank("shared", "confirmed_ncii", {"share": True}, actor="t")
    store.create_bank("private", "confirmed_ncii", actor="t")
    store.create_bank("unlisted", "confirmed_ncii", {"share": True}, actor="t")
    store.create_bank("victims", "victim_submitted", {"share": True}, actor="t")
    store.create_bank("inbox", "imported", actor="t")
    store.create_api_key(["exchange"], name="acme", actor="t")
    partner = store.set_partner("acme", ["shared", "private", "victims"], "inbox", actor="t")
    veil_home.mkdir(parents=True, exist_ok=True)
    return store, partner, hub.CaseRefs(veil_home)


def test_feed_types_match_the_wire_map() -> None:
    assert set(FEED_SIGNALS) == set(TO_VEIL.values())


def test_sharing_rules_and_pagination(hubbed) -> None:  # type: ignore[no-untyped-def]
    store, partner, refs = hubbed
    for n in range(5):
        store.add_entry("shared", "pdq", pdq(n + 1), actor="t")
    store.add_entry("shared", "md5", "a" * 32, actor="t")
    store.add_entry("private", "pdq", pdq(100), actor="t")    # bank not shared
    store.add_entry("unlisted", "pdq", pdq(101), actor="t")   # not in the partner's list
    store.add_entry("shared", "phash", "f" * 16, actor="t")   # a type the hub does not serve
    store.create_case([CaseSignalIn("pdq", pdq(200), 90)], NO_CONSENT, bank="victims",
                      actor="t")
    consented = store.create_case([CaseSignalIn("pdq", pdq(201), 90)], CONSENT,
                                  bank="victims", actor="t")
    records, pages = walk(store, partner, refs, size=2)
    assert [p["count"] for p in pages] == [2, 2, 2, 1]
    values = [r["hashValue"] for r in records]
    assert values == [pdq(1), pdq(2), pdq(3), pdq(4), pdq(5), "a" * 32, pdq(201)]
    assert len(set(values)) == len(values)  # keyset: nothing twice, nothing skipped
    by = {r["hashValue"]: r for r in records}
    assert by["a" * 32]["signalType"] == "VideoMD5"
    assert by[pdq(1)]["signalType"] == "ImagePDQ" and by[pdq(1)]["hashStatus"] == "Active"
    assert by[pdq(1)]["caseNumbers"] == {}
    ref = refs.ref(consented.case_id)
    assert by[pdq(201)]["caseNumbers"] == {ref: "Active"}
    assert consented.case_id not in ref and len(ref) == hub.CASE_REF_CHARS
    # one request may ask for more than the hub's page: it gets the hub's page
    assert hub.page_size(10**9, store.settings) == store.settings.exchange.page_size
    with pytest.raises(BadInput):
        hub.page_size(0, store.settings)


def test_statuses_and_feedback(hubbed) -> None:  # type: ignore[no-untyped-def]
    store, partner, refs = hubbed
    a = store.add_entry("shared", "pdq", pdq(1), actor="t")
    b = store.add_entry("shared", "pdq", pdq(2), actor="t")
    store.set_status(a.id, "disputed", actor="t")
    store.disable_entry(b.id, actor="t")
    records, _ = walk(store, partner, refs)
    assert {r["hashValue"]: r["hashStatus"] for r in records} == {
        pdq(1): "Deleted", pdq(2): "Deleted"}
    store.set_status(a.id, "active", actor="t")
    body = SubmitFeedback.model_validate({"hashFeedbacks": [
        {"hashValue": pdq(1), "feedbackValue": "Blocked", "tags": ["x"]},
        {"hashValue": pdq(9), "feedbackValue": "NotBlocked"}]})
    out = hub.submit_feedback(store, partner, body, actor="t")
    assert out == {"count": 2, "recorded": 1, "notFound": [1]}
    records, _ = walk(store, partner, refs)
    rec = {r["hashValue"]: r for r in records}[pdq(1)]
    assert rec["hashStatus"] == "Active"
    assert rec["CSPFeedbacks"] == [{"feedbackValue": "Blocked", "tags": ["x"],
                                    "source": "acme"}]
    with pytest.raises(BadInput, match="unknown feedbackValue"):
        hub.submit_feedback(store, partner, SubmitFeedback.model_validate(
            {"hashFeedbacks": [{"hashValue": pdq(1), "feedbackValue": "Maybe"}]}), actor="t")


def test_submit_all_or_none(hubbed) -> None:  # type: ignore[no-untyped-def]
    store, partner, _refs = hubbed
    good = {"signalType": "StopNCIISignalType.ImagePDQ", "hashValue": pdq(7).upper(),
            "CSPFeedbacks": [{"feedbackValue": "Blocked", "tags": []}]}
    with pytest.raises(BadInput) as exc:
        hub.submit_hashes(store, partner, SubmitHashes.model_validate({"hashRecords": [
            good, {"signalType": "ImagePDQ", "hashValue": "zz"},
            {"signalType": "Text", "hashValue": "hello"}]}), actor="t")
    assert "hashRecords[1]" in exc.value.message and "hashRecords[2]" in exc.value.message
    assert store.list_entries(bank="inbox") == []
    out = hub.submit_hashes(store, partner, SubmitHashes.model_validate(
        {"hashRecords": [good]}), actor="t")
    assert out == {"count": 1}  # never whether the bank had it
    [e] = store.list_entries(bank="inbox")
    assert e.value == pdq(7) and e.source == "partner:acme"
    store.create_api_key(["exchange"], name="reader", actor="t")
    reader = store.set_partner("reader", ["shared"], None, actor="t")
    with pytest.raises(Forbidden):
        hub.submit_hashes(store, reader, SubmitHashes.model_validate(
            {"hashRecords": [good]}), actor="t")


def test_withdrawals_become_tombstones_then_go(hubbed) -> None:  # type: ignore[no-untyped-def]
    store, partner, refs = hubbed
    e = store.add_entry("shared", "pdq", pdq(1), actor="t")
    store.add_entry("private", "pdq", pdq(2), actor="t")
    shared_case = store.create_case([CaseSignalIn("pdq", pdq(3), 90)], CONSENT,
                                    bank="victims", actor="t")
    private_case = store.create_case([CaseSignalIn("pdq", pdq(4), 90)], NO_CONSENT,
                                     bank="victims", actor="t")
    # the same hash held by a consenting and a non-consenting case
    both_shared = store.create_case([CaseSignalIn("pdq", pdq(5), 90)], CONSENT,
                                    bank="victims", actor="t")
    store.create_case([CaseSignalIn("pdq", pdq(5), 90)], NO_CONSENT, bank="victims",
                      actor="t")
    store.withdraw(e.id, actor="t")
    store.withdraw(("private", "pdq", pdq(2)), actor="t")      # never served: no tombstone
    store.withdraw_case(shared_case.case_id, actor="t")
    store.withdraw_case(private_case.case_id, actor="t")       # never served: none
    store.withdraw_case(both_shared.case_id, actor="t")        # stays here, gone there
    assert store.feed_tombstone_count() == 3
    records, _ = walk(store, partner, refs)
    assert {r["hashValue"]: r["hashStatus"] for r in records} == {
        pdq(1): "Withdrawn", pdq(3): "Withdrawn", pdq(5): "Withdrawn"}
    assert all(r["caseNumbers"] == {} and r["CSPFeedbacks"] == [] for r in records)
    # before tombstone_days nothing goes; after, all, and the feed forgets them
    assert store.purge_tombstones() == 0
    later = utcnow() + timedelta(days=store.settings.exchange.tombstone_days, seconds=1)
    assert store.purge_tombstones(now=later) == 3
    assert walk(store, partner, refs)[0] == []


def test_a_tombstone_never_deletes_a_hash_still_served(hubbed) -> None:  # type: ignore[no-untyped-def]
    store, partner, refs = hubbed
    a = store.add_entry("shared", "pdq", pdq(1), actor="t")
    store.create_case([CaseSignalIn("pdq", pdq(1), 90)], CONSENT, bank="victims", actor="t")
    store.withdraw(a.id, actor="t")
    records, _ = walk(store, partner, refs)
    assert [(r["hashValue"], r["hashStatus"]) for r in records] == [(pdq(1), "Active")]


def test_checkpoint_overlap_and_tokens(hubbed) -> None:  # type: ignore[no-untyped-def]
    store, partner, refs = hubbed
    start = int(utcnow().timestamp()) - 100
    for n in range(3):
        store.add_entry("shared", "pdq", pdq(n + 1), actor="t")
    records, pages = walk(store, partner, refs, start=start, size=2)
    newest = max(r["lastModtimestamp"] for r in records)
    overlap = store.settings.exchange.feed_overlap_s
    assert pages[-1]["nextSetTimestamp"] == max(start, int(newest - overlap))
    assert all(p["nextSetTimestamp"] >= start for p in pages)
    # a fetch from far in the future serves nothing and keeps its start
    future = newest + 10_000
    page = hub.read_page(store, partner, refs, start_timestamp=future, size=5, token=None)
    assert page["count"] == 0 and page["nextSetTimestamp"] == future
    # resuming from the checkpoint re-sends the overlap, then the new entries
    checkpoint = pages[-1]["nextSetTimestamp"]
    store.add_entry("shared", "pdq", pdq(9), actor="t")
    again, _ = walk(store, partner, refs, start=checkpoint, size=10)
    assert pdq(9) in [r["hashValue"] for r in again]
    assert {pdq(1), pdq(2), pdq(3)} <= {r["hashValue"] for r in again}  # the overlap
    for bad in ("", "nope", "x" * 300, "eyJ2IjoyfQ", "eyJ2IjoxLCJ0IjoiYSJ9"):
        with pytest.raises(hub.BadToken):
            hub.PageToken.decode(bad)
    with pytest.raises(BadInput):
        hub.read_page(store, partner, refs, start_timestamp=-1, size=5, token=None)


def test_stamps_follow_commit_order(hubbed) -> None:  # type: ignore[no-untyped-def]
    # every changed entry is stamped at flush, under the generation's lock: the feed's
    # order is the order changes committed in, whatever time the caller took before
    store, partner, refs = hubbed
    a = store.add_entry("shared", "pdq", pdq(1), actor="t")
    case = store.create_case([CaseSignalIn("pdq", pdq(2), 90)], CONSENT, bank="victims",
                             actor="t")
    store.set_status(a.id, "disputed", actor="t")
    store.withdraw_case(case.case_id, actor="t")
    records, _ = walk(store, partner, refs)
    assert [(r["hashValue"], r["hashStatus"]) for r in records] == [
        (pdq(1), "Deleted"), (pdq(2), "Withdrawn")]
    # a stamp a writer took before the lock (an old time) is replaced at flush
    from datetime import UTC, datetime

    from veil.store.models import Entry

    before = utcnow()
    with store._writing() as s:
        e = s.get(Entry, a.id)
        assert e is not None
        e.updated_at = datetime(2000, 1, 1, tzinfo=UTC)
    assert store.get_entry(a.id).updated_at >= before


def test_tombstones_purge_on_the_review_purge_thread(store: Store) -> None:
    from veil.review.retention import Purger

    calls: list[int] = []
    purger = Purger(store, 3600, also=[lambda: calls.append(store.purge_tombstones())])
    purger.start()
    purger.stop()
    assert calls == [0]


def test_sharing_a_bank_late_sends_its_older_entries_and_unsharing_deletes_them(
        hubbed) -> None:  # type: ignore[no-untyped-def]
    store, partner, refs = hubbed
    store.add_entry("private", "pdq", pdq(300), actor="t")
    store.create_case([CaseSignalIn("pdq", pdq(301), 90)], NO_CONSENT, bank="victims",
                      actor="t")
    first, pages = walk(store, partner, refs)
    assert pdq(300) not in {r["hashValue"] for r in first}
    checkpoint = pages[-1]["nextSetTimestamp"]
    # the partner resumes from its checkpoint after the bank is shared: it gets the
    # bank's older entries too
    store.update_bank_policy("private", {"share": True}, actor="t", merge=True)
    later, _ = walk(store, partner, refs, start=checkpoint)
    assert {r["hashValue"]: r["hashStatus"] for r in later
            if r["hashValue"] == pdq(300)} == {pdq(300): "Active"}
    # unshared again: the partner is told to delete what it was served
    store.update_bank_policy("private", {"share": False}, actor="t", merge=True)
    store.update_bank_policy("victims", {"share": False}, actor="t", merge=True)
    gone, _ = walk(store, partner, refs, start=checkpoint)
    statuses = {r["hashValue"]: r["hashStatus"] for r in gone}
    assert statuses[pdq(300)] == "Deleted"
    assert pdq(301) not in statuses  # never served (no consent): never named either
