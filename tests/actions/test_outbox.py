"""The outbox in the store: who gets an event, order per subject, claims, retries, dead
letters and replays, and events committed (or rolled back) with their transaction."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from veil.errors import BadInput, Conflict, NotFound
from veil.store import Store
from veil.store.coltypes import utcnow
from veil.store.outbox import enqueue

SEALED = "v1:not-a-real-sealed-secret"


@pytest.fixture
def subscribed(store: Store) -> tuple[int, int]:
    """Two keys; webhook 'by-key' follows the first, 'by-bank' follows bank 'ncii'."""
    k1 = store.create_api_key(["platform"], name="p1", actor="t")[0].id
    k2 = store.create_api_key(["platform"], name="p2", actor="t")[0].id
    store.create_bank("ncii", "confirmed_ncii", actor="t")
    store.create_bank("other", "imported", actor="t")
    store.create_webhook("by-key", "http://127.0.0.1:1/k", SEALED, actor="t", key_id=k1)
    store.create_webhook("by-bank", "http://127.0.0.1:1/b", SEALED, actor="t", bank="ncii")
    return k1, k2


def claim(store: Store) -> list[tuple[str, str, str]]:
    return [(d.webhook, d.subject, json.loads(d.body)["data"]["n"])
            for d in store.claim_deliveries(limit=100, lease_s=60)]


def test_events_go_to_the_key_and_bank_followers_only(store: Store,
                                                      subscribed: tuple[int, int]) -> None:
    k1, k2 = subscribed
    assert len(store.emit("scan.verdict", "s", {"n": "1"}, key_id=k1, banks=["ncii"])) == 2
    assert len(store.emit("scan.verdict", "s", {"n": "2"}, key_id=k2, banks=["ncii"])) == 1
    assert len(store.emit("scan.verdict", "s", {"n": "3"}, key_id=k1, banks=["other"])) == 1
    assert store.emit("scan.verdict", "s", {"n": "4"}, key_id=k2, banks=["other"]) == []
    assert store.emit("scan.verdict", "s", {"n": "5"}) == []
    targets = store.webhook_targets()
    assert targets.wanted(k1, []) and targets.wanted(None, ["ncii"])
    assert not targets.wanted(k2, ["other"])
    assert store.outbox_counts()["pending"] == 4


def test_body_is_the_event_envelope(store: Store, subscribed: tuple[int, int]) -> None:
    k1, _ = subscribed
    [delivery_id] = store.emit("scan.verdict", "post-9", {"n": "1"}, key_id=k1)
    [d] = store.claim_deliveries(limit=10, lease_s=60)
    body = json.loads(d.body)
    assert body["delivery_id"] == d.delivery_id == delivery_id
    assert body["type"] == d.event == "scan.verdict"
    assert body["subject"] == "post-9" and body["data"] == {"n": "1"}
    assert body["created_at"].endswith("Z") and len(body["id"]) == 36
    assert d.attempts == 1 and d.url == "http://127.0.0.1:1/k" and d.secret_sealed == SEALED


def test_one_subject_waits_for_its_earlier_events(store: Store,
                                                 subscribed: tuple[int, int]) -> None:
    k1, _ = subscribed
    for n, subject in enumerate(["a", "b", "a", "c", "b"]):
        store.emit("scan.verdict", subject, {"n": str(n)}, key_id=k1)
    first = store.claim_deliveries(limit=100, lease_s=60)
    assert [(d.subject, json.loads(d.body)["data"]["n"]) for d in first] == [
        ("a", "0"), ("b", "1"), ("c", "3")]
    assert claim(store) == []  # claimed (leased); the later ones of a and b wait
    a0, b1, c3 = first
    store.delivery_succeeded(b1.id)
    store.delivery_failed(a0.id, "HTTP 500", retry_at=utcnow() + timedelta(hours=1))
    assert claim(store) == [("by-key", "b", "4")]  # a's second waits for a's first
    store.delivery_failed(a0.id, "HTTP 500", retry_at=None)  # a dead letter holds none up
    assert claim(store) == [("by-key", "a", "2")]
    [dead] = store.dead_letters()
    assert (dead.delivery_id, dead.status, dead.last_error) == (a0.delivery_id, "dead",
                                                                 "HTTP 500")
    assert store.outbox_counts() == {"pending": 3, "delivered": 1, "dead": 1}
    del c3


def test_a_lapsed_claim_is_claimed_again_and_a_released_one_at_once(
        store: Store, subscribed: tuple[int, int]) -> None:
    k1, _ = subscribed
    store.emit("scan.verdict", "a", {"n": "0"}, key_id=k1)
    [d] = store.claim_deliveries(limit=10, lease_s=0)  # a worker that died mid-try
    [again] = store.claim_deliveries(limit=10, lease_s=60)
    assert again.delivery_id == d.delivery_id and again.attempts == 2
    store.release_deliveries([again.id])  # a worker stopping before it tried
    [third] = store.claim_deliveries(limit=10, lease_s=60)
    assert third.attempts == 2


def test_replay_puts_dead_letters_back_with_their_ids(store: Store,
                                                      subscribed: tuple[int, int]) -> None:
    k1, _ = subscribed
    ids = [store.emit("scan.verdict", str(n), {"n": str(n)}, key_id=k1)[0] for n in range(3)]
    for d in store.claim_deliveries(limit=10, lease_s=60):
        store.delivery_failed(d.id, "ConnectError", retry_at=None)
    assert {d.delivery_id for d in store.dead_letters(webhook="by-key")} == set(ids)
    assert store.dead_letters(webhook="by-bank") == []
    assert store.dead_letters(limit=2)[0].id > store.dead_letters()[-1].id
    with pytest.raises(NotFound):
        store.replay_dead_letters(actor="t", ids=[ids[0], "no-such-delivery"])
    with pytest.raises(NotFound):
        store.replay_dead_letters(actor="t", webhook="nobody")
    with pytest.raises(BadInput):
        store.replay_dead_letters(actor="t", ids=[])
    assert store.replay_dead_letters(actor="t", ids=[ids[0]]) == 1
    assert store.replay_dead_letters(actor="t", webhook="by-key") == 2
    assert store.replay_dead_letters(actor="t") == 0
    again = store.claim_deliveries(limit=10, lease_s=60)
    assert sorted(d.delivery_id for d in again) == sorted(ids)
    assert {d.attempts for d in again} == {1}
    assert [a.action for a in store.audit(action="webhook.replay")] == ["webhook.replay"] * 3


def test_enqueue_commits_or_rolls_back_with_its_transaction(
        store: Store, subscribed: tuple[int, int]) -> None:
    """What a feature does to announce a change it makes (a review decision): enqueue in
    its own write transaction; the event exists exactly when the change does."""
    k1, _ = subscribed
    heard: list[str] = []
    store.after_commit(heard.append)
    with pytest.raises(RuntimeError), store._writing(topic=None) as s:
        enqueue(s, "review.decided", "item-1", {"n": "0"}, key_id=k1)
        raise RuntimeError("the decision failed")
    assert store.outbox_counts()["pending"] == 0 and heard == []
    with store._writing(topic=None) as s:
        enqueue(s, "review.decided", "item-1", {"n": "1"}, key_id=k1)
    assert claim(store) == [("by-key", "item-1", "1")]
    assert heard == ["webhooks"]  # the delivery worker is woken


def test_subscriptions_are_checked_and_removal_drops_their_deliveries(
        store: Store, subscribed: tuple[int, int]) -> None:
    k1, _ = subscribed
    with pytest.raises(Conflict):
        store.create_webhook("by-key", "http://x/", SEALED, actor="t", key_id=k1)
    with pytest.raises(NotFound):
        store.create_webhook("new", "http://x/", SEALED, actor="t", key_id=999)
    with pytest.raises(NotFound):
        store.create_webhook("new", "http://x/", SEALED, actor="t", bank="nope")
    with pytest.raises(BadInput):
        store.create_webhook("new", "http://x/", SEALED, actor="t", key_id=k1, bank="ncii")
    with pytest.raises(BadInput):
        store.create_webhook("bad name!", "http://x/", SEALED, actor="t", key_id=k1)
    store.emit("scan.verdict", "a", {"n": "0"}, key_id=k1, banks=["ncii"])
    [by_key, by_bank] = store.list_webhooks()
    assert (by_key.name, by_key.target, by_key.key_id) == ("by-key", "key", k1)
    assert (by_bank.target, by_bank.bank, by_bank.deliveries["pending"]) == ("bank", "ncii", 1)
    assert store.remove_webhook("by-key", actor="t") == 1
    with pytest.raises(NotFound):
        store.remove_webhook("by-key", actor="t")
    assert [w.name for w in store.list_webhooks()] == ["by-bank"]
    assert store.outbox_counts()["pending"] == 1
    assert [a.action for a in store.audit(action="webhook.remove")] == ["webhook.remove"]
    assert not store.webhook_targets().wanted(k1, [])


def test_subjects_and_event_types_are_bounded(store: Store,
                                             subscribed: tuple[int, int]) -> None:
    k1, _ = subscribed
    with pytest.raises(BadInput):
        store.emit("scan.verdict", "s" * 201, {}, key_id=k1)
    with pytest.raises(BadInput):
        store.emit("", "s", {}, key_id=k1)


def test_delivered_rows_are_purged_after_their_retention(
        store: Store, subscribed: tuple[int, int]) -> None:
    k1, _ = subscribed
    for n in range(3):
        store.emit("scan.verdict", str(n), {"n": str(n)}, key_id=k1)
    done, failed, _ = store.claim_deliveries(limit=10, lease_s=60)
    store.delivery_succeeded(done.id)
    store.delivery_failed(failed.id, "HTTP 500", retry_at=None)
    assert store.purge_delivered(utcnow() - timedelta(hours=1)) == 0
    assert store.purge_delivered(utcnow() + timedelta(seconds=1)) == 1
    assert store.outbox_counts() == {"pending": 1, "delivered": 0, "dead": 1}
