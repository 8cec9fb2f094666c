"""Who is calling: API keys with scopes, case tokens, and the public intake.

Every route declares what it needs with one dependency from here, and the
``x-veil-scope`` extension of its OpenAPI operation says the same (the tests walk
the spec and check each route refuses what it should):

* ``require(scope)``: ``Authorization: Bearer <key>``; no or unknown key → 401
  ``auth.missing``/``auth.invalid``, a key without the scope → 403 ``auth.scope``.
* ``public_intake``: no key needed (victims cannot hold one), rate-limited per
  client address; a key, if sent, must be valid and carry ``intake`` (partners
  such as helplines submitting for a victim), and then skips the rate limit.
* ``case_holder``: ``X-Case-Token`` of a case, rate-limited like intake.
* the ``exchange`` scope (the StopNCII-compatible hub) also takes its key as
  ``x-functions-key`` or ``Ocp-Apim-Subscription-Key``, the headers StopNCII's
  clients send (both at once, one of them perhaps not a Veil key): the first of
  Bearer, ``x-functions-key``, ``Ocp-Apim-Subscription-Key`` that is a valid key
  with the scope is the caller.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from veil.api.case_code import token_from_code
from veil.api.errors import ApiError
from veil.api.ratelimit import bucket_of
from veil.store.interface import BankStore
from veil.store.keys import ApiKeyRecord, key_hash, same_hash
from veil.store.vocabulary import SCOPES

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer veil_…`")
case_token_header = APIKeyHeader(name="X-Case-Token", auto_error=False,
                                 description="The token returned when the case was created, "
                                 "or its code as the pages show it (XXXX-XXXX-…)")

functions_key = APIKeyHeader(name="x-functions-key", auto_error=False,
                             scheme_name="x-functions-key", description=(
    "An exchange key, as StopNCII's clients send their function key"))
subscription_key = APIKeyHeader(name="Ocp-Apim-Subscription-Key", auto_error=False,
                                scheme_name="Ocp-Apim-Subscription-Key",
                                description="An exchange key, as StopNCII's clients send "
                                "their subscription key")
#: Headers that may carry an ``exchange`` key besides ``Authorization: Bearer``.
EXCHANGE_HEADERS = ("x-functions-key", "ocp-apim-subscription-key")

#: The OpenAPI extension naming what a route needs: a scope, ``public`` or ``case``.
SCOPE_EXT = "x-veil-scope"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: a key (``key``) or the public (``key`` None) at ``client``."""

    key: ApiKeyRecord | None
    client: str

    @property
    def actor(self) -> str:
        """Who the audit log names (never the key itself)."""
        if self.key is None:
            return "intake:public"
        return f"key:{self.key.id}" + (f":{self.key.name}" if self.key.name else "")


class KeyCache:
    """Active keys by hash, re-read from the store every ``ttl_s`` seconds.

    The store is read on a worker thread, never on the event loop, and a stale cache
    is re-read in the background while requests are answered from it: no request
    queues behind the read (under load that queue was the p99). A key the cache does
    not know makes it re-read the store (a key just created from the CLI works at
    once), but at most once every ``MISS_REFRESH_S``: a flood of made-up keys costs one
    database read a second, not one per request. A change made through this process
    (``invalidate``) makes every look-up that starts after it wait for a read that
    began after it: a revoked key stops at once.

    The rule is kept with generations rather than a flag: ``invalidate`` (called
    after the change committed) takes the next generation, a read records the
    generation current when it began, and a look-up waits until the keys it would use
    were read at the generation it saw when it started. A read that was already
    running when the change committed (a background refresh, or another request's)
    may hold the old keys, and its generation says so.
    """

    #: Least time between two re-reads caused by unknown keys.
    MISS_REFRESH_S = 1.0

    def __init__(self, store: BankStore, ttl_s: float) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self._keys: dict[str, tuple[str, ApiKeyRecord]] = {}
        self._loaded = -math.inf
        self._lock = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None
        #: Taken by ``invalidate``, which runs on whatever thread committed the change.
        self._generation = 0
        self._bump = threading.Lock()
        #: The generation the current keys were read at (-1: never read).
        self._loaded_generation = -1

    def invalidate(self) -> None:
        """Keys changed in this process (and committed): look-ups from now on wait for
        a read that begins after this call."""
        with self._bump:
            self._generation += 1

    def _find(self, key: str) -> ApiKeyRecord | None:
        wanted = key_hash(key)
        found = self._keys.get(wanted)
        # the dict finds the candidate; the comparison itself is constant-time
        if found is None or not same_hash(found[0], wanted):
            return None
        return found[1]

    def _fresh(self, older_than: float) -> bool:
        return (self._loaded_generation == self._generation
                and time.monotonic() - self._loaded <= older_than)

    async def _refresh(self, older_than: float) -> None:
        async with self._lock:  # one read at a time; the others use its result
            if self._fresh(older_than):
                return
            generation = self._generation  # before the read: it sees every change so far
            keys = await anyio.to_thread.run_sync(self.store.active_key_hashes)
            self._keys = {h: (h, r) for h, r in keys.items()}
            self._loaded = time.monotonic()
            # a change committed during the read leaves this generation behind, so the
            # keys are not fresh and the next look-up reads again
            self._loaded_generation = generation

    async def lookup_hash(self, wanted: str) -> ApiKeyRecord | None:
        """The active key whose hash is ``wanted`` (a reviewer page session keeps the
        hash, never the key): None once it is revoked, as ``lookup`` would say."""
        if (not self._keys or self._loaded_generation != self._generation
                or time.monotonic() - self._loaded > self.ttl_s):
            await self._refresh(self.ttl_s)
        found = self._keys.get(wanted)
        if found is None or not same_hash(found[0], wanted):
            return None
        return found[1]

    async def lookup(self, key: str) -> ApiKeyRecord | None:
        if not self._keys or self._loaded_generation != self._generation:
            # nothing to answer from yet, or keys changed since they were read: wait
            # for a read that began after the change (behind one already running)
            await self._refresh(self.ttl_s)
        elif time.monotonic() - self._loaded > self.ttl_s and not self._lock.locked():
            # stale: answer from the current keys while one task re-reads the store, so
            # requests never queue behind the read (a change made elsewhere, e.g. the
            # CLI, lands within the ttl plus one read)
            self._background = asyncio.create_task(self._refresh(self.ttl_s))
        found = self._find(key)
        if found is None and time.monotonic() - self._loaded > self.MISS_REFRESH_S:
            await self._refresh(self.MISS_REFRESH_S)
            found = self._find(key)
        return found


#: Scopes a key may carry, which routes require.
KEY_SCOPES = frozenset(SCOPES)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def authenticate(keys: KeyCache, authorization: str | None, scope: str,
                       client: str, alternatives: tuple[str, ...] = ()) -> Principal:
    """The caller of a route that needs ``scope``; raises 401 (no or unknown key) or
    403 (a key without the scope). Runs before the request body is read
    (``authenticate.Authenticate``): an unauthenticated caller costs no buffering.
    ``alternatives``: keys sent in other headers (the exchange's), tried after the
    Bearer key; the first valid one with ``scope`` wins."""
    token = ""
    if authorization:
        kind, _, token = authorization.partition(" ")
        if kind.lower() != "bearer":
            token = ""
    candidates = [t for t in (token.strip(), *(a.strip() for a in alternatives)) if t]
    if not candidates:
        where = "'Authorization: Bearer <key>'" + (
            " or x-functions-key / Ocp-Apim-Subscription-Key" if scope == "exchange" else "")
        raise ApiError(401, "auth.missing", f"this route needs an API key: send {where}",
                       {"WWW-Authenticate": "Bearer"})
    under_scoped: ApiKeyRecord | None = None
    for candidate in dict.fromkeys(candidates):
        record = await keys.lookup(candidate)
        if record is None:
            continue
        if scope in record.scopes:
            return Principal(record, client)
        under_scoped = under_scoped or record
    if under_scoped is None:
        raise ApiError(401, "auth.invalid", "unknown or revoked API key",
                       {"WWW-Authenticate": "Bearer"})
    raise ApiError(403, "auth.scope", f"this key lacks the '{scope}' scope "
                   f"(it has: {', '.join(under_scoped.scopes)})")


def _authenticated(request: Request, scope: str) -> Principal:
    """The caller the ``Authenticate`` middleware found from the headers, before the
    body was read; it answers a missing, unknown or under-scoped key itself, so a
    route is reached only with a key that has ``scope``."""
    known = getattr(request.state, "principal", None)
    if isinstance(known, Principal) and known.key is not None and scope in known.key.scopes:
        return known
    # only an app assembled without the middleware gets here: refuse, never let through
    raise ApiError(401, "auth.missing", "this route needs an API key: send "
                   "'Authorization: Bearer <key>'", {"WWW-Authenticate": "Bearer"})


def require(scope: str, key_headers: tuple[APIKeyHeader, ...] = ()) -> Any:
    # async: a sync dependency would cost a thread hand-off on every request. ``bearer``
    # (and ``key_headers``) are there for the OpenAPI spec (its security schemes); the
    # key was checked already
    async def dependency(request: Request, _: HTTPAuthorizationCredentials | None = Depends(
            bearer)) -> Principal:
        return _authenticated(request, scope)

    chosen: Callable[..., Awaitable[Principal]] = dependency
    if key_headers:
        first, second = key_headers

        async def with_headers(request: Request, _: HTTPAuthorizationCredentials | None = Depends(
                bearer), _a: str | None = Depends(first),
                _b: str | None = Depends(second)) -> Principal:
            return _authenticated(request, scope)

        chosen = with_headers
    chosen.__name__ = f"require_{scope}"
    return Depends(chosen)


def _rate_limit(request: Request) -> None:
    services = request.app.state.services
    bucket = bucket_of(_client(request), services.settings.api.ipv6_prefix)
    wait = services.intake_limiter.take(bucket)
    if wait:
        retry = "3600" if math.isinf(wait) else str(max(1, math.ceil(wait)))
        raise ApiError(429, "rate_limited", "too many requests from this address; retry "
                       f"in {retry} s", {"Retry-After": retry})


async def public_intake(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(
        bearer)) -> Principal:
    if creds is not None:
        return _authenticated(request, "intake")
    _rate_limit(request)
    principal = Principal(None, _client(request))
    request.state.principal = principal
    return principal


async def current_principal(request: Request) -> Principal:
    """The caller of this request (set by the route's scope check)."""
    principal: Principal = request.state.principal
    return principal


async def current_actor(request: Request) -> str:
    """Who the audit log names for this request."""
    return (await current_principal(request)).actor


#: The caller, for routes whose answer depends on who asks.
PrincipalDep = Annotated[Principal, Depends(current_principal)]
#: The caller, for routes that record who changed something.
ActorDep = Annotated[str, Depends(current_actor)]


def case_holder(request: Request, token: str | None = Depends(case_token_header)) -> str:
    """The id of the caller's case."""
    _rate_limit(request)
    if not token:
        raise ApiError(401, "case.token_missing", "send the case token in the X-Case-Token "
                       "header")
    store: BankStore = request.app.state.services.store
    case_id = store.case_by_token(token_from_code(token))
    if case_id is None:
        raise ApiError(401, "case.token_invalid", "no case has this token")
    return case_id
