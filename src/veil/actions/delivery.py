"""The delivery worker: sends the outbox's due deliveries, retries, dead-letters.

One thread per ``veil serve`` process (started and stopped with the app), so a slow
receiver never holds the event loop. Each round claims up to ``batch`` due
deliveries (``Store.claim_deliveries``: the first pending one of each subject, so a
subject's events arrive in order) and POSTs them one after another with httpx,
each signed with the time of that try. A 2xx answer delivers; anything else
(another status, a redirect, which is never followed, a timeout, a refused
connection) is a failed try, retried after ``retry_delay``, and after
``max_attempts`` tries the delivery becomes a dead letter, which holds up its
subject no longer.

The worker wakes at once when this process enqueues (the store's ``"webhooks"``
post-commit topic), otherwise every ``poll_s``. Stopping finishes the try under way
and hands back the claimed deliveries it did not try, due at once for the next start.
Delivered rows are deleted after ``delivered_retention_h``. It also keeps what the
subscriptions follow (``targets``), re-read every ``poll_s``
and after this process changes them, so a scan nobody subscribes to writes nothing.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import httpx

from veil import __version__
from veil.actions.sealing import Sealer, SealError
from veil.actions.webhook_events import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    signature_header,
)
from veil.config import WebhookSettings
from veil.store.coltypes import utcnow
from veil.store.interface import BankStore
from veil.store.outbox import DueDelivery, WebhookTargets

log = logging.getLogger("veil.actions")

#: Outcomes counted (``veil_webhook_deliveries_total{outcome}``).
DELIVERED, RETRY, DEAD = "delivered", "retry", "dead"
#: Seconds a claim outlives the tries of its batch (a worker that died mid-batch).
LEASE_MARGIN_S = 30.0
#: Longest wait for the thread at stop, beyond the try under way.
STOP_WAIT_S = 5.0
#: Seconds between sweeps of delivered rows past their retention.
PURGE_EVERY_S = 600.0


def retry_delay(attempts: int, base_s: float, max_s: float,
                rand: Callable[[], float] = random.random) -> float:
    """Seconds before try ``attempts + 1``: ``base_s`` doubled for each try after the
    first, capped at ``max_s``, then jittered (a random point between half of that and
    all of it), so deliveries that failed together are not retried together."""
    ceiling = min(max_s, base_s * 2.0 ** min(max(attempts - 1, 0), 62))
    return float(ceiling / 2 + rand() * ceiling / 2)


class DeliveryWorker:
    def __init__(self, store: BankStore, settings: WebhookSettings, sealer: Sealer, *,
                 on_outcome: Callable[[str], None] = lambda _: None,
                 client: httpx.Client | None = None) -> None:
        self.store = store
        self.settings = settings
        self.sealer = sealer
        self.on_outcome = on_outcome
        self._client = client
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._targets: WebhookTargets | None = None
        self._targets_at = -float("inf")
        self._targets_stale = threading.Event()
        self._targets_lock = threading.Lock()
        self._purged_at = -float("inf")

    # -- what the subscriptions follow --------------------------------------------------
    @property
    def targets(self) -> WebhookTargets:
        """What subscriptions follow, at most ``poll_s`` old (or read now, the first
        time and after this process changed them). Read on a worker thread."""
        current = self._targets
        if (current is not None and not self._targets_stale.is_set()
                and time.monotonic() - self._targets_at <= self.settings.poll_s):
            return current
        # one reader at a time: the others wait for its answer rather than each
        # reading the same rows (a burst of verdicts when the cache goes stale)
        with self._targets_lock:
            if (self._targets is current or self._targets_stale.is_set()
                    or time.monotonic() - self._targets_at > self.settings.poll_s):
                self._targets_stale.clear()
                self._targets = self.store.webhook_targets()
                self._targets_at = time.monotonic()
            assert self._targets is not None
            return self._targets

    def wake(self) -> None:
        """Something was enqueued or subscriptions changed (post-commit hook)."""
        self._targets_stale.set()
        self._wake.set()

    # -- the loop -----------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="veil-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(self.settings.timeout_s + STOP_WAIT_S)
            self._thread = None

    def _run(self) -> None:
        client = self._client or httpx.Client(follow_redirects=False, trust_env=False)
        try:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    self._purge()
                    tried = self.run_once(client)
                except Exception:  # the database away: log, wait, try again
                    log.exception("webhook delivery round failed")
                    tried = 0
                if tried < self.settings.batch:  # caught up: wait for work or the poll
                    self._wake.wait(self.settings.poll_s)
        finally:
            if self._client is None:
                client.close()

    def _purge(self) -> None:
        """Delete delivered rows older than their retention (at start, then now and then)."""
        if time.monotonic() - self._purged_at < PURGE_EVERY_S:
            return
        self._purged_at = time.monotonic()
        gone = self.store.purge_delivered(
            utcnow() - timedelta(hours=self.settings.delivered_retention_h))
        if gone:
            log.info("delivered webhook events deleted", extra={"deliveries": gone})

    def run_once(self, client: httpx.Client) -> int:
        """Claim one batch of due deliveries and try each; returns how many were tried."""
        s = self.settings
        due = self.store.claim_deliveries(
            limit=s.batch, lease_s=s.timeout_s * s.batch + LEASE_MARGIN_S)
        for i, d in enumerate(due):
            if self._stop.is_set():
                self.store.release_deliveries([x.id for x in due[i:]])
                return i
            self._try(client, d)
        return len(due)

    def _try(self, client: httpx.Client, d: DueDelivery) -> None:
        error = self._post(client, d)
        if error is None:
            self.store.delivery_succeeded(d.id)
            self.on_outcome(DELIVERED)
            log.info("webhook delivered", extra={"webhook": d.webhook, "event": d.event,
                                                 "delivery_id": d.delivery_id,
                                                 "attempts": d.attempts})
            return
        s = self.settings
        dead = d.attempts >= s.max_attempts
        retry_at = None if dead else utcnow() + timedelta(
            seconds=retry_delay(d.attempts, s.base_delay_s, s.max_delay_s))
        self.store.delivery_failed(d.id, error, retry_at=retry_at)
        self.on_outcome(DEAD if dead else RETRY)
        log.warning("webhook delivery failed" + ("; dead-lettered" if dead else "; will retry"),
                    extra={"webhook": d.webhook, "event": d.event,
                           "delivery_id": d.delivery_id, "attempts": d.attempts,
                           "error": error})

    def _post(self, client: httpx.Client, d: DueDelivery) -> str | None:
        """None when the receiver took the delivery, else why not."""
        try:
            secret = self.sealer.open(d.secret_sealed, d.webhook)
        except SealError as exc:
            return exc.message
        body = d.body.encode()
        headers = {"Content-Type": "application/json",
                   "User-Agent": f"Veil-Webhooks/{__version__}",
                   DELIVERY_HEADER: d.delivery_id, EVENT_HEADER: d.event,
                   "Veil-Attempt": str(d.attempts),
                   SIGNATURE_HEADER: signature_header(secret, body)}
        try:
            r = client.post(d.url, content=body, headers=headers,
                            timeout=self.settings.timeout_s)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"[:300]
        if 200 <= r.status_code < 300:
            return None
        return f"HTTP {r.status_code}"
