"""Authentication before anything reads the body.

A pure ASGI middleware, just inside the access log: for a route that needs an API key
(``routing.RoutePolicy.scope``), the key is checked from the headers alone, and a
missing, unknown or under-scoped one is answered at once (401/403, the connection
closed) without a byte of the body being read. So an unauthenticated 50 MB upload
costs nothing, and no later layer (body limits, idempotency replay) ever sees an
unauthenticated request: a 401 is never remembered as an idempotent reply.

On a public route (intake) a key is optional, but one that is sent must be a valid
``intake`` key. The caller found here is left in the request's state
(``principal``) for the routes' own dependencies, which then do not look it up again.
"""

from __future__ import annotations

from starlette.datastructures import Headers

from veil.api.auth import EXCHANGE_HEADERS, KEY_SCOPES, KeyCache, authenticate
from veil.api.errors import ApiError
from veil.api.limits import ASGIApp, Receive, Scope, Send, send_error
from veil.api.routing import route_for
from veil.errors import VeilError


class Authenticate:
    def __init__(self, app: ASGIApp, keys: KeyCache) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        needed = route_for(scope).scope
        headers = Headers(scope=scope)
        authorization = headers.get("authorization")
        if needed == "public" and authorization is not None:
            needed = "intake"  # a partner's key at intake: it must be a valid one
        if needed in KEY_SCOPES:
            client = (scope.get("client") or ("unknown", 0))[0]
            try:
                alternatives = tuple(v for h in EXCHANGE_HEADERS if (v := headers.get(h))
                                     ) if needed == "exchange" else ()
                principal = await authenticate(self.keys, authorization, needed, client,
                                               alternatives)
            except ApiError as exc:
                await send_error(send, exc.status_code, exc.code, exc.message,
                                 {**(exc.headers or {}), "Connection": "close"})
                return
            except VeilError as exc:  # the key store unreachable: retry later
                await send_error(send, exc.http_status if exc.http_status >= 500 else 503,
                                 exc.code, exc.message, {"Retry-After": "2"})
                return
            scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)
