"""Pulling a StopNCII-shaped list into a bank, against a partner on loopback that
misbehaves: failures are retried or recorded, never half-applied; the checkpoint
never passes a page that was not merged; bad records are set aside with a reason."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from exchange_partner import Partner, record, running_partner
from veil.config import Settings, load_settings
from veil.exchange.sync import sync_exchange
from veil.store import Store, open_store


def pdq(i: int) -> str:
    return hashlib.sha256(f"partner-{i}".encode()).hexdigest()


@pytest.fixture
def partner() -> Iterator[Partner]:
    with running_partner() as p:
        p.records = [record(pdq(i), ts=1_700_000_000 + i) for i in range(7)]
        yield p


@pytest.fixture
def xsettings(veil_home: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for k, v in {"RETRIES": "2", "BASE_DELAY_S": "0", "TIMEOUT_S": "0.5",
                 "MAX_PAGE_BYTES": "65536", "PAGE_SIZE": "3"}.items():
        monkeypatch.setenv(f"VEIL_EXCHANGE_{k}", v)
    monkeypatch.setenv("PARTNER_KEYS", "fetch-key,sub-key")
    return load_settings()


@pytest.fixture
def xstore(xsettings: Settings, partner: Partner) -> Iterator[Store]:
    with open_store(xsettings) as s:
        s.add_exchange("hub", kind="stopncii", url=partner.url, bank="hub-list",
                       credentials="env:PARTNER_KEYS", actor="test")
        yield s


def values(store: Store) -> set[str]:
    return {e.value for e in store.list_entries(bank="hub-list", limit=1000)
            if e.value is not None}


def test_a_first_sync_walks_every_page_then_resumes_from_the_checkpoint(
        xstore: Store, xsettings: Settings, partner: Partner) -> None:
    r = sync_exchange(xstore, "hub", xsettings)
    assert r.ok and r.full and r.pages == 3 and r.added == 7, r
    assert values(xstore) == {pdq(i) for i in range(7)}
    x = xstore.get_exchange("hub")
    assert x.checkpoint is not None and x.checkpoint["update_time"] == 1_700_000_100
    assert x.last_success_at is not None and x.error is None
    assert partner.requests[0]["key"] == "fetch-key"
    # the bank is imported, so its default action (review) applies
    assert xstore.get_bank("hub-list").category == "imported"

    # the peer adds two hashes and a victim withdraws one
    partner.records += [record(pdq(7), ts=1_700_000_200), record(pdq(8), ts=1_700_000_200),
                        record(pdq(2), status="Withdrawn", ts=1_700_000_200)]
    partner.next_set_timestamp = 1_700_000_300
    partner.requests.clear()
    r = sync_exchange(xstore, "hub", xsettings)
    assert r.ok and not r.full and (r.added, r.removed) == (2, 1), r
    assert partner.requests[0]["startTimestamp"] == "1700000100"
    assert values(xstore) == {pdq(i) for i in range(9)} - {pdq(2)}
    # the withdrawn hash is erased, not just switched off
    gone = [e for e in xstore.list_entries(bank="hub-list", limit=1000)
            if e.status == "withdrawn"]
    assert len(gone) == 1 and gone[0].value is None


def test_bad_records_are_set_aside_with_a_reason_and_the_page_still_merges(
        xstore: Store, xsettings: Settings, partner: Partner) -> None:
    partner.records = [
        record(pdq(1)),
        record("zz" * 32),                                 # not hex
        record(pdq(2), signal_type="VideoTMK"),            # a type Veil does not match
        record(pdq(3), status="Sideways"),                 # an unknown status
        {"hashValue": pdq(4)},                             # fields missing
        record(pdq(5), signal_type="StopNCIISignalType.ImagePDQ", cases=[]),
    ]
    r = sync_exchange(xstore, "hub", xsettings)
    assert r.ok and r.added == 2 and r.rejected == 4, r
    assert values(xstore) == {pdq(1), pdq(5)}
    reasons = [x.reason for x in xstore.exchange_rejects("hub")]
    assert any("bad pdq hash" in x for x in reasons)
    assert any("unknown signal type 'VideoTMK'" in x for x in reasons)
    assert any("unknown hashStatus" in x for x in reasons)
    assert any("malformed record" in x for x in reasons)
    assert xstore.get_exchange("hub").counts["rejected"] == 4


def test_429_500_and_dropped_connections_are_retried(
        xstore: Store, xsettings: Settings, partner: Partner) -> None:
    partner.faults = ["429", "drop", None, "500"]
    r = sync_exchange(xstore, "hub", xsettings)
    assert r.ok and r.added == 7, r


def test_a_failure_mid_walk_keeps_what_was_merged_and_the_next_sync_goes_on_from_there(
        xstore: Store, xsettings: Settings, partner: Partner) -> None:
    partner.faults = [None, "503", "503", "503"]  # the second page fails every try
    r = sync_exchange(xstore, "hub", xsettings)
    assert not r.ok and r.pages == 1 and "503" in (r.error or ""), r
    x = xstore.get_exchange("hub")
    assert x.error and "503" in x.error
    assert x.checkpoint is not None and x.checkpoint["page_token"] == "p3"
    assert len(values(xstore)) == 3
    partner.requests.clear()
    r = sync_exchange(xstore, "hub", xsettings)
    assert r.ok, r
    # an interrupted full walk starts over (it must see the whole list to sweep)
    assert "nextPageToken" not in partner.requests[0]
    assert values(xstore) == {pdq(i) for i in range(7)}
    assert xstore.get_exchange("hub").error is None


def test_an_update_walk_resumes_at_the_page_it_stopped(
        xstore: Store, xsettings: Settings, partner: Partner) -> None:
    assert sync_exchange(xstore, "hub", xsettings).ok
    partner.records += [record(pdq(i), ts=1_700_000_200) for i in range(10, 17)]
    partner.faults = [None, "500", "500", "500"]
    assert not sync_exchange(xstore, "hub", xsettings).ok
    partner.requests.clear()
    r = sync_exchange(xstore, "hub", xsettings)
    assert r.ok and not r.full, r
    assert partner.requests[0]["nextPageToken"] == "p3"
    assert values(xstore) == {pdq(i) for i in (*range(7), *range(10, 17))}


def test_a_walk_merges_every_merge_records_with_the_checkpoint_of_its_last_page(
        xstore: Store, xsettings: Settings, partner: Partner) -> None:
    """Pages of three, merges of at least four: pages 1-2 merge together, page 3
    (the walk's end) alone; a failure on page 5 of the next walk merges page 4."""
    xsettings = xsettings.with_(exchange=xsettings.exchange.model_copy(
        update={"merge_records": 4}))
    r = sync_exchange(xstore, "hub", xsettings)
    assert r.ok and (r.pages, r.added) == (3, 7), r
    assert xstore.get_exchange("hub").counts["pages"] == 2  # two merges
    partner.records += [record(pdq(i), ts=1_700_000_200) for i in range(10, 17)]
    partner.faults = [None, None, "500", "500", "500"]
    r = sync_exchange(xstore, "hub", xsettings)
    assert not r.ok and r.added == 6, r
    x = xstore.get_exchange("hub")
    assert x.checkpoint is not None and x.checkpoint["page_token"] == "p6"
    assert values(xstore) == {pdq(i) for i in (*range(7), *range(10, 16))}


def test_a_stalled_peer_times_out(xstore: Store, xsettings: Settings,
                                  partner: Partner) -> None:
    partner.stall_s = 1.0
    partner.faults = ["stall"] * 3
    r = sync_exchange(xstore, "hub", xsettings)
    assert not r.ok and "timed out" in (r.error or ""), r
    assert values(xstore) == set()


def test_a_page_without_end_is_cut_off_not_read(xstore: Store, xsettings: Settings,
                                                partner: Partner) -> None:
    partner.faults = ["huge"]
    r = sync_exchange(xstore, "hub", xsettings)
    assert not r.ok and "VEIL_EXCHANGE_MAX_PAGE_BYTES" in (r.error or ""), r
    assert len(partner.requests) == 1  # not retried: it would only come again


def test_an_answer_that_is_not_json_fails_cleanly(xstore: Store, xsettings: Settings,
                                                 partner: Partner) -> None:
    partner.faults = ["notjson"]
    r = sync_exchange(xstore, "hub", xsettings)
    assert not r.ok and "not JSON" in (r.error or "")


def test_a_repeated_page_token_stops_the_walk_instead_of_looping(
        xstore: Store, xsettings: Settings, partner: Partner) -> None:
    partner.faults = [None, "repeat"]
    r = sync_exchange(xstore, "hub", xsettings)
    assert not r.ok and "page token it had sent before" in (r.error or ""), r
    assert len(partner.requests) == 2
    assert len(values(xstore)) == 6  # both pages it did send are merged, once each


@pytest.mark.parametrize("fault,kept", [("backwards", "went backwards"),
                                        ("future", "in the future")])
def test_a_checkpoint_that_goes_backwards_or_jumps_ahead_is_not_taken(
        xstore: Store, xsettings: Settings, partner: Partner, fault: str, kept: str) -> None:
    assert sync_exchange(xstore, "hub", xsettings).ok
    before = xstore.get_exchange("hub").checkpoint
    assert before is not None
    partner.faults = [fault]
    partner.records = partner.records[:2]  # one page
    r = sync_exchange(xstore, "hub", xsettings)
    assert r.ok and any(kept in w for w in r.warnings), r
    after = xstore.get_exchange("hub").checkpoint
    assert after is not None
    assert before["update_time"] <= after["update_time"] <= time.time()
    assert kept in (xstore.get_exchange("hub").error or "")


def test_wrong_credentials_are_an_error_on_the_status(xstore: Store, xsettings: Settings,
                                                      partner: Partner,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTNER_KEYS", "wrong,sub-key")
    r = sync_exchange(xstore, "hub", xsettings)
    assert not r.ok and "401" in (r.error or "")
    assert len(partner.requests) == 1  # a 401 is not retried
    monkeypatch.delenv("PARTNER_KEYS")
    r = sync_exchange(xstore, "hub", xsettings)
    assert not r.ok and "PARTNER_KEYS is not set" in (r.error or "")


def test_a_stale_checkpoint_refetches_all_and_erases_what_the_peer_dropped(
        xstore: Store, xsettings: Settings, partner: Partner,
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert sync_exchange(xstore, "hub", xsettings).ok
    # the peer forgot two hashes without saying so (its tombstones expired)
    partner.records = partner.records[2:]
    assert sync_exchange(xstore, "hub", xsettings).ok
    assert len(values(xstore)) == 7  # an update walk cannot know
    real = time.time
    monkeypatch.setattr("veil.exchange.sync.time.time", lambda: real() + 31 * 86400)
    r = sync_exchange(xstore, "hub", xsettings)
    assert r.ok and r.full and r.removed == 2, r
    assert values(xstore) == {pdq(i) for i in range(2, 7)}


def test_feedback_on_disabled_and_reviewed_entries_goes_back_to_the_peer(
        xstore: Store, xsettings: Settings, partner: Partner) -> None:
    assert sync_exchange(xstore, "hub", xsettings).ok
    target = next(e for e in xstore.list_entries(bank="hub-list", limit=1000)
                  if e.value == pdq(3))
    xstore.disable_entry(target.id, actor="admin", reason="a landscape photo")
    r = sync_exchange(xstore, "hub", xsettings)
    assert r.ok and r.feedback_sent == 1, r
    assert partner.feedback == [{"hashValue": pdq(3), "feedbackValue": "NotBlocked",
                                 "signalType": "ImagePDQ",
                                 "tags": ["veil", "false_positive"]}]
    # sent once
    assert sync_exchange(xstore, "hub", xsettings).feedback_sent == 0
    assert len(partner.feedback) == 1
    # and the peer listing it again does not switch the admin's decision off
    partner.records.append(record(pdq(3), ts=1_700_000_500))
    assert sync_exchange(xstore, "hub", xsettings).ok
    assert xstore.get_entry(target.id).status == "disabled"
