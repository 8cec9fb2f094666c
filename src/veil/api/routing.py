"""Routers that state their audience: each operation carries ``x-veil-scope``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute

from veil.api.auth import SCOPE_EXT, require
from veil.api.errors import COMMON, responses


def router(scope: str, *, tag: str, extra_statuses: tuple[int, ...] = ()) -> APIRouter:
    """A router whose every route needs ``scope`` (an API-key scope), or is ``public``
    / ``case`` (token) when the route's own dependencies say so."""
    statuses = (*COMMON, *extra_statuses)
    if scope in ("intake", "platform", "review", "admin"):
        statuses = (*statuses, 401, 403)
        deps = [require(scope)]
    else:
        deps = []

    class ScopedRoute(APIRoute):
        def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
            extra = dict(kwargs.pop("openapi_extra", None) or {})
            extra.setdefault(SCOPE_EXT, scope)
            super().__init__(path, endpoint, openapi_extra=extra, **kwargs)

    return APIRouter(tags=[tag], dependencies=deps, responses=responses(*statuses),
                     route_class=ScopedRoute)
