"""Routes that declare what they need and take: audience, body size, idempotency.

Each operation states, on the route itself, everything the layers around it act on,
and the OpenAPI spec shows the same (so clients and the tests can read it):

* ``x-veil-scope``: an API-key scope, ``public`` or ``case`` (see ``auth``);
* ``x-veil-body``: which body cap applies (``json``, ``media``: an upload, ``import``:
  a hash list), enforced by ``limits.BodyLimits`` before the body is read;
* ``x-veil-idempotent``: whether ``Idempotency-Key`` replays apply (``idempotency``);
  imports are not replayed (they may be gigabytes, and re-importing skips duplicates);
* ``x-veil-hashes-only``: intake, which refuses anything that looks like an image.

The middleware find the route a request is for with ``route_for`` (the app's own
route matching), never by comparing path strings.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader
from starlette.routing import Match

from veil.api.auth import KEY_SCOPES, SCOPE_EXT, require
from veil.api.errors import COMMON, responses

BodyKind = Literal["json", "media", "import"]

BODY_EXT = "x-veil-body"
IDEMPOTENT_EXT = "x-veil-idempotent"
HASHES_ONLY_EXT = "x-veil-hashes-only"

#: What a request that matches no route (a 404 or 405 to be) is held to.
DEFAULT_BODY: BodyKind = "json"


@dataclass(frozen=True, slots=True)
class RoutePolicy:
    #: ``intake``/``platform``/``review``/``admin`` (a key with that scope), ``public``
    #: (anyone; a key, if sent, must be a valid ``intake`` key) or ``case`` (a token).
    scope: str = "public"
    body: BodyKind = DEFAULT_BODY
    idempotent: bool = True
    hashes_only: bool = False


#: A request no route takes as it is (404, 405 to be): no scope to check.
UNROUTED = RoutePolicy(scope="")


class VeilRoute(APIRoute):
    """An APIRoute carrying its ``RoutePolicy``, read from its OpenAPI extensions."""

    policy: RoutePolicy

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        extra = self.openapi_extra or {}
        self.policy = RoutePolicy(scope=extra.get(SCOPE_EXT, "public"),
                                  body=extra.get(BODY_EXT, DEFAULT_BODY),
                                  idempotent=extra.get(IDEMPOTENT_EXT, True),
                                  hashes_only=extra.get(HASHES_ONLY_EXT, False))


def declare(*, body: BodyKind | None = None, idempotent: bool | None = None,
            hashes_only: bool | None = None, **openapi: Any) -> dict[str, Any]:
    """``openapi_extra`` for a route that differs from the defaults."""
    out = dict(openapi)
    if body is not None:
        out[BODY_EXT] = body
    if idempotent is not None:
        out[IDEMPOTENT_EXT] = idempotent
    if hashes_only is not None:
        out[HASHES_ONLY_EXT] = hashes_only
    return out


def router(scope: str, *, tag: str, extra_statuses: tuple[int, ...] = (),
           include_in_schema: bool = True,
           key_headers: tuple[APIKeyHeader, ...] = ()) -> APIRouter:
    """A router whose every route needs ``scope`` (an API-key scope), or is ``public``
    / ``case`` (token) when the route's own dependencies say so. ``key_headers``: the
    two other headers the key may come in (the exchange's), shown in the spec."""
    statuses = (*COMMON, *extra_statuses)
    if scope in KEY_SCOPES:
        statuses = (*statuses, 401, 403)
        deps = [require(scope, key_headers)]
    else:
        deps = []

    class ScopedRoute(VeilRoute):
        def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
            extra = dict(kwargs.pop("openapi_extra", None) or {})
            extra.setdefault(SCOPE_EXT, scope)
            super().__init__(path, endpoint, openapi_extra=extra, **kwargs)

    return APIRouter(tags=[tag], dependencies=deps, responses=responses(*statuses),
                     route_class=ScopedRoute, include_in_schema=include_in_schema)


#: Where the outermost middleware leaves the policy for the ones inside it.
_SCOPE_KEY = "veil.route_policy"


def declared_routes(*routers: APIRouter) -> tuple[VeilRoute, ...]:
    """The routes of ``routers`` that carry a policy (what ``create_app`` records in
    ``app.state.veil_routes`` for ``route_for``)."""
    return tuple(r for router in routers for r in router.routes if isinstance(r, VeilRoute))


def route_for(scope: MutableMapping[str, Any]) -> RoutePolicy:
    """The policy of the route this request will reach (``UNROUTED`` if none)."""
    cached = scope.get(_SCOPE_KEY)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    policy = UNROUTED
    state = getattr(scope.get("app"), "state", None)
    for route in getattr(state, "veil_routes", ()):
        if route.matches(scope)[0] is Match.FULL:
            policy = route.policy
            break
    scope[_SCOPE_KEY] = policy
    return policy
