"""``Idempotency-Key``: a POST retried with the same key gets the first response again.

Same key and same request (method, path, query, content type, body): the stored
response is replayed (``Idempotent-Replayed: true``) and nothing runs twice. Same
key, different request: 422 ``idempotency.mismatch``. The first still running:
409 ``idempotency.in_progress``. 5xx, 408, 409 and 429 answers are not kept, and
401/403 never get here (``authenticate`` answers them before the body is read).
Keys are scoped to the API key that authenticated the request or, on the public
intake route, to the client address, each caller with a pool of its own
(``IdempotencyCache``): nobody can evict another caller's records.

Responses live in memory only, for ``idempotency_ttl_s``: a scan's response holds
the upload's hashes, and a new case's holds its token, neither of which may be
written anywhere. A restart forgets them. Server errors (5xx) are not kept, so they can be retried.
Routes that declare themselves not idempotent (``x-veil-idempotent: false``: hash-list
imports, which may be gigabytes and skip duplicates when re-run) are passed through.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from starlette.datastructures import Headers

from veil.api.limits import ASGIApp, Message, Receive, Scope, Send, send_error
from veil.api.ratelimit import bucket_of
from veil.api.routing import route_for
from veil.config import Settings
from veil.errors import VeilError

HEADER = "idempotency-key"
MAX_KEY_CHARS = 200
#: Answers that say "try again later" rather than answer the request: not kept.
_RETRYABLE = frozenset({0, 408, 409, 429})


@dataclass
class _Record:
    fingerprint: str
    created: float
    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    done: bool = False


class IdempotencyCache:
    """Remembered responses, kept apart per caller so one caller can never push out
    another's: each API key has its own ``max_keys`` records and ``max_bytes`` of
    bodies; anonymous callers (the public intake page, by client address) share a pool
    of ``max_anonymous`` records, at most ``ANONYMOUS_PER_ADDRESS`` per address, and
    are never counted against a key's records.

    Only completed records are evicted (oldest first), by the limits or the ttl: a
    record whose request still runs stays until it ends, so a retry meanwhile gets
    409 rather than running the request a second time. Running records can take a
    caller over its limits only by as many requests as it has running at once."""

    #: Records one anonymous address keeps (the intake page retries one submission).
    ANONYMOUS_PER_ADDRESS = 16

    def __init__(self, ttl_s: float, max_keys: int, max_bytes: int,
                 max_anonymous: int) -> None:
        self.ttl_s = ttl_s
        self.max_keys = max_keys
        self.max_bytes = max_bytes
        self.max_anonymous = max_anonymous
        self._callers: dict[str, OrderedDict[str, _Record]] = {}
        #: Bytes of the completed records' bodies, per caller with records.
        self._bytes: dict[str, int] = {}
        #: Anonymous (caller, key) pairs, oldest first: the shared pool's order.
        self._anonymous: OrderedDict[tuple[str, str], None] = OrderedDict()

    def get(self, caller: str, key: str) -> _Record | None:
        records = self._callers.get(caller)
        rec = records.get(key) if records is not None else None
        if rec is not None and rec.done and time.monotonic() - rec.created > self.ttl_s:
            self.drop(caller, key)
            return None
        return rec

    def start(self, caller: str, key: str, fingerprint: str) -> _Record:
        records = self._callers.setdefault(caller, OrderedDict())
        rec = records[key] = _Record(fingerprint, time.monotonic())
        if not _is_key(caller):
            self._anonymous[(caller, key)] = None
        self._evict(caller, key)
        return rec

    def finish(self, caller: str, key: str, rec: _Record) -> None:
        """Keep a completed record: account its body to its caller, then evict the
        oldest completed records over the limits (never this one)."""
        records = self._callers.get(caller)
        if records is None or records.get(key) is not rec:
            return  # dropped meanwhile: nothing of it is kept, nothing to account
        rec.done = True
        self._bytes[caller] = self._bytes.get(caller, 0) + len(rec.body)
        self._evict(caller, key)

    def _evict(self, caller: str, keep: str) -> None:
        records = self._callers[caller]
        limit = self.max_keys if _is_key(caller) else self.ANONYMOUS_PER_ADDRESS
        while len(records) > limit or self._bytes.get(caller, 0) > self.max_bytes:
            oldest = next((k for k, r in records.items() if r.done and k != keep), None)
            if oldest is None:
                break
            self.drop(caller, oldest)
        while len(self._anonymous) > self.max_anonymous:
            pooled = next((ck for ck in self._anonymous if ck != (caller, keep)
                           and self._callers[ck[0]][ck[1]].done), None)
            if pooled is None:
                break
            self.drop(*pooled)

    def drop(self, caller: str, key: str) -> None:
        records = self._callers.get(caller)
        if records is None:
            return
        rec = records.pop(key, None)
        self._anonymous.pop((caller, key), None)
        if rec is not None and rec.done:
            self._bytes[caller] -= len(rec.body)
        if not records:
            del self._callers[caller]
            self._bytes.pop(caller, None)

    def __len__(self) -> int:
        return sum(len(r) for r in self._callers.values())


def _is_key(caller: str) -> bool:
    return caller.startswith("key:")


def _caller(scope: Scope, ipv6_prefix: int) -> str:
    """Whose request this is: the API key the middleware authenticated, else the
    client's address bucket (only public routes get this far without a key)."""
    principal = scope.get("state", {}).get("principal")
    key = getattr(principal, "key", None)
    if key is not None:
        return f"key:{key.id}"
    client = scope.get("client") or ("?", 0)
    return f"ip:{bucket_of(str(client[0]), ipv6_prefix)}"


class Idempotency:
    def __init__(self, app: ASGIApp, settings: Settings, cache: IdempotencyCache) -> None:
        self.app = app
        self.settings = settings
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key_text = headers.get(HEADER)
        path: str = scope["path"]
        if key_text is None or not route_for(scope).idempotent:
            await self.app(scope, receive, send)
            return
        if not (0 < len(key_text) <= MAX_KEY_CHARS and key_text.isascii()
                and key_text.isprintable()):
            await send_error(send, 400, "idempotency.bad_key",
                             f"Idempotency-Key must be 1-{MAX_KEY_CHARS} printable ASCII "
                             "characters (a random UUID is a good choice)")
            return
        # the whole body is needed to tell a retry from a different request; the
        # body limits (outer middleware) still bound it
        chunks = []
        try:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client went away
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        except VeilError as exc:
            await send_error(send, exc.http_status, exc.code, exc.message)
            return
        except Exception as exc:  # BodyTooLarge / BodyTimeout (ApiError)
            status = getattr(exc, "status_code", None)
            if status is None:
                raise
            await send_error(send, status, getattr(exc, "code", "request.invalid"),
                             getattr(exc, "message", str(exc)),
                             {"Connection": "close"})
            return
        body = b"".join(chunks)
        del chunks
        content_type = headers.get("content-type", "").encode("latin-1")
        fp = hashlib.sha256()
        for part in (scope["method"].encode(), path.encode(), scope.get("query_string", b""),
                     content_type):
            fp.update(len(part).to_bytes(8, "big") + part)
        fp.update(body)
        fingerprint = fp.hexdigest()
        caller = _caller(scope, self.settings.api.ipv6_prefix)
        rec = self.cache.get(caller, key_text)
        if rec is not None:
            if rec.fingerprint != fingerprint:
                await send_error(send, 422, "idempotency.mismatch",
                                 "this Idempotency-Key was used for a different request; use "
                                 "a new key for a new request")
            elif not rec.done:
                await send_error(send, 409, "idempotency.in_progress",
                                 "a request with this Idempotency-Key is still running; "
                                 "retry shortly", {"Retry-After": "1"})
            else:
                await send({"type": "http.response.start", "status": rec.status,
                            "headers": [*rec.headers, (b"idempotent-replayed", b"true")]})
                await send({"type": "http.response.body", "body": rec.body})
            return
        rec = self.cache.start(caller, key_text, fingerprint)
        sent_body = False

        async def replay() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        parts: list[bytes] = []

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                rec.status = message["status"]
                rec.headers = [(k, v) for k, v in message.get("headers", [])
                               if k.lower() != b"content-length"]
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay, record)
        except BaseException:
            self.cache.drop(caller, key_text)
            raise
        if rec.status >= 500 or rec.status in _RETRYABLE or rec.status in (401, 403):
            self.cache.drop(caller, key_text)
            return
        rec.body = b"".join(parts)
        rec.headers.append((b"content-length", str(len(rec.body)).encode()))
        self.cache.finish(caller, key_text, rec)
