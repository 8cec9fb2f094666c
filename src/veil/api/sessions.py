"""Reviewer page sessions: a cookie made from a review key, never the key itself.

Logging in to ``/review`` posts a ``review`` key once; the service answers with a
session cookie holding a random id (256 bits, ``secrets.token_urlsafe``) that maps,
in this process's memory, to the key's hash, the actor the audit log names, and a
CSRF token. The cookie is ``HttpOnly``, ``SameSite=Strict``, ``Path=/review`` and
``Secure`` over HTTPS. Every state-changing request must also carry the session's
CSRF token in ``X-CSRF-Token`` (a synchronizer token the page reads from its own
HTML), compared in constant time. A session ends after ``VEIL_REVIEW_SESSION_IDLE_MIN``
idle or ``VEIL_REVIEW_SESSION_MAX_H`` in all, at log-out, when its key is revoked,
and when the service restarts (sessions live in memory only: a reviewer logs in again).

A session also remembers what the reviewer was shown (``veil.review.rotation``): the
item on screen, whose case it was, and the items skipped.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

COOKIE = "veil_review"
#: Most sessions held at once; the oldest goes first beyond it.
MAX_SESSIONS = 10_000


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class ReviewSession:
    key_hash: str
    actor: str
    csrf: str
    created: float
    seen: float
    #: The item on the reviewer's screen (the only one whose media it may fetch).
    current: str | None = None
    #: Whose case the last item shown was (``ReviewItemRecord.subjects``).
    last_subjects: frozenset[str] = frozenset()
    skipped: set[str] = field(default_factory=set)

    def csrf_ok(self, sent: str | None) -> bool:
        return bool(sent) and hmac.compare_digest(self.csrf.encode(), (sent or "").encode())


class ReviewSessions:
    def __init__(self, idle_s: float, max_s: float) -> None:
        self.idle_s = idle_s
        self.max_s = max_s
        self._sessions: dict[str, ReviewSession] = {}
        self._lock = threading.Lock()

    def create(self, key_hash: str, actor: str) -> tuple[str, ReviewSession]:
        """A new session; returns the cookie's value (shown once) and the session."""
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        session = ReviewSession(key_hash=key_hash, actor=actor,
                                csrf=secrets.token_urlsafe(32), created=now, seen=now)
        with self._lock:
            if len(self._sessions) >= MAX_SESSIONS:
                oldest = min(self._sessions, key=lambda k: self._sessions[k].seen)
                del self._sessions[oldest]
            self._sessions[_digest(token)] = session
        return token, session

    def get(self, token: str | None) -> ReviewSession | None:
        """The live session of a cookie's value (its idle clock restarted), or None."""
        if not token or len(token) > 100:
            return None
        now = time.monotonic()
        with self._lock:
            key = _digest(token)
            session = self._sessions.get(key)
            if session is None:
                return None
            if now - session.seen > self.idle_s or now - session.created > self.max_s:
                del self._sessions[key]
                return None
            session.seen = now
            return session

    def end(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._sessions.pop(_digest(token), None)
