"""The delivery worker on its own: outcomes of a try, redirects, unreadable secrets,
stopping mid-batch."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from veil.actions.delivery import DEAD, DELIVERED, RETRY, DeliveryWorker
from veil.actions.sealing import Sealer
from veil.actions.subscriptions import add_webhook
from veil.config import Settings
from veil.store import Store
from webhook_receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def redirector(receiver: Receiver) -> Iterator[str]:
    """A server that answers every POST with a redirect to the receiver."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(307)
            self.send_header("Location", receiver.url)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def worker(store: Store, settings: Settings, outcomes: list[str],
           **webhooks: object) -> DeliveryWorker:
    s = settings.webhooks.model_copy(update={"base_delay_s": 0.001, "max_delay_s": 0.001,
                                             "max_attempts": 2, **webhooks})
    return DeliveryWorker(store, s, Sealer(settings), on_outcome=outcomes.append)


def test_outcomes_redirects_and_dead_letters(store: Store, settings: Settings,
                                            receiver: Receiver, redirector: str) -> None:
    key = store.create_api_key(["platform"], actor="t")[0].id
    _, receiver.secret = add_webhook(store, Sealer(settings), "good", receiver.url,
                                     actor="t", key_id=key)
    add_webhook(store, Sealer(settings), "moved", redirector, actor="t", key_id=key)
    store.emit("scan.verdict", "s", {"n": 1}, key_id=key)
    outcomes: list[str] = []
    w = worker(store, settings, outcomes)
    with httpx.Client() as client:
        assert w.run_once(client) == 2
        assert sorted(outcomes) == [DELIVERED, RETRY]
        time.sleep(0.01)
        assert w.run_once(client) == 1
    assert sorted(outcomes) == [DEAD, DELIVERED, RETRY]
    [dead] = store.dead_letters()
    assert (dead.webhook, dead.last_error, dead.attempts) == ("moved", "HTTP 307", 2)
    assert len(receiver.processed) == 1  # the redirect was never followed


def test_a_secret_that_does_not_open_fails_the_try(store: Store, settings: Settings,
                                                   receiver: Receiver) -> None:
    key = store.create_api_key(["platform"], actor="t")[0].id
    store.create_webhook("h", receiver.url, "v1:AAAA", actor="t", key_id=key)
    store.emit("scan.verdict", "s", {}, key_id=key)
    outcomes: list[str] = []
    with httpx.Client() as client:
        worker(store, settings, outcomes, max_attempts=1).run_once(client)
    assert outcomes == [DEAD] and receiver.requests == []
    assert "does not open" in (store.dead_letters()[0].last_error or "")


def test_stopping_hands_back_claimed_deliveries_untried(store: Store, settings: Settings,
                                                        receiver: Receiver) -> None:
    key = store.create_api_key(["platform"], actor="t")[0].id
    add_webhook(store, Sealer(settings), "h", receiver.url, actor="t", key_id=key)
    for n in range(3):
        store.emit("scan.verdict", str(n), {}, key_id=key)
    w = worker(store, settings, [])
    w._stop.set()  # as stop() does, before the batch's first try
    with httpx.Client() as client:
        assert w.run_once(client) == 0
    assert receiver.requests == []
    assert [d.attempts for d in store.claim_deliveries(limit=10, lease_s=60)] == [1, 1, 1]


def test_the_thread_starts_wakes_and_stops(store: Store, settings: Settings,
                                           receiver: Receiver) -> None:
    key = store.create_api_key(["platform"], actor="t")[0].id
    _, receiver.secret = add_webhook(store, Sealer(settings), "h", receiver.url,
                                     actor="t", key_id=key)
    w = worker(store, settings, [], poll_s=30.0)  # only a wake gets it going
    store.after_commit(lambda topic: w.wake() if topic == "webhooks" else None)
    w.start()
    try:
        assert w.targets.wanted(key, [])
        store.emit("scan.verdict", "s", {}, key_id=key)
        receiver.wait_processed(1, timeout_s=10)
    finally:
        w.stop()
    assert store.outbox_counts()["delivered"] == 1
