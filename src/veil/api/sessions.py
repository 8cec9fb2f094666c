"""Reviewer page sessions: a cookie made from a review key, never the key itself.

Logging in to ``/review`` posts a ``review`` key once; the service answers with a
session cookie holding a random value (256 bits, ``secrets.token_urlsafe``). The store
keeps the session under the SHA-256 of that value (``veil.store.review_sessions``),
with the key's hash, the actor the audit log names and what the page showed; every
worker and every node on the database finds it there. The cookie is ``HttpOnly``,
``SameSite=Strict``, ``Path=/review`` and ``Secure`` over HTTPS. Every state-changing
request must also carry the session's CSRF token in ``X-CSRF-Token`` (a synchronizer
token the page reads from its own HTML), compared in constant time; the token is
derived from the cookie's value, so it is stored nowhere and the database's digest
does not give it. A session ends after ``VEIL_REVIEW_SESSION_IDLE_MIN`` idle or
``VEIL_REVIEW_SESSION_MAX_H`` in all, at log-out, and when its key is revoked.

A session also remembers what the reviewer was shown (``veil.review.rotation``): the
item on screen, whose case it was, and the items skipped.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from veil.store.interface import BankStore
from veil.store.review_sessions import ReviewSessionRecord, SessionTimes

COOKIE = "veil_review"
#: Longest cookie value looked up (``token_urlsafe(32)`` is 43 characters).
TOKEN_MAX = 100
#: How stale a session's last-seen time may get before a request rewrites it: an
#: idle limit of minutes does not need a write for every call of the page.
TOUCH = timedelta(seconds=30)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _csrf(token: str) -> str:
    # a different hash of the same secret: the stored digest does not give it
    return hashlib.sha256(b"veil review csrf\0" + token.encode()).hexdigest()


@dataclass(frozen=True)
class ReviewSession:
    """A live session as one request sees it."""

    id: str
    csrf: str
    record: ReviewSessionRecord

    @property
    def actor(self) -> str:
        return self.record.actor

    @property
    def key_hash(self) -> str:
        return self.record.key_hash

    def csrf_ok(self, sent: str | None) -> bool:
        return bool(sent) and hmac.compare_digest(self.csrf.encode(), (sent or "").encode())


class ReviewSessions:
    """The sessions of one store. Blocking (database calls): routes call these
    through ``Services.in_worker``."""

    def __init__(self, store: BankStore, idle_s: float, max_s: float) -> None:
        self.store = store
        self.times = SessionTimes(idle=timedelta(seconds=idle_s),
                                  lifetime=timedelta(seconds=max_s),
                                  touch=min(TOUCH, timedelta(seconds=idle_s / 10)))

    def create(self, key_hash: str, actor: str) -> tuple[str, ReviewSession]:
        """A new session; returns the cookie's value (shown once) and the session."""
        token = secrets.token_urlsafe(32)
        record = self.store.create_review_session(_digest(token), key_hash, actor, self.times)
        return token, ReviewSession(record.id, _csrf(token), record)

    def get(self, token: str | None) -> ReviewSession | None:
        """The live session of a cookie's value, or None."""
        if not token or len(token) > TOKEN_MAX:
            return None
        record = self.store.review_session(_digest(token), self.times)
        return None if record is None else ReviewSession(record.id, _csrf(token), record)

    def purge(self) -> int:
        """Delete the sessions that have ended (the review purge's schedule)."""
        return self.store.purge_review_sessions(self.times)

    def end(self, token: str | None) -> None:
        if token and len(token) <= TOKEN_MAX:
            self.store.end_review_session(_digest(token))
