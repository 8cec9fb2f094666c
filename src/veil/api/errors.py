"""Every error the service returns has one shape: ``{"error": {"code", "message"}}``.

VeilErrors keep their stable codes; FastAPI's own validation errors, unknown routes,
wrong methods and body limits are mapped into the same shape, so a client handles
one format. Nothing here echoes request bodies back (they may hold victims' hashes).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from veil.errors import StoreError, VeilError

log = logging.getLogger("veil.api")


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


class ApiError(HTTPException):
    """An HTTP error with a stable code. A subclass of FastAPI's HTTPException so
    FastAPI re-raises it untouched when it happens while a body is being read."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status, detail=message, headers=headers)
        self.code = code
        self.message = message


def error_json(status: int, code: str, message: str,
               headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status,
                        headers=headers)


#: Codes for HTTP errors raised by the framework itself (routing, methods).
_STATUS_CODES = {400: "input.invalid", 401: "auth.missing", 403: "auth.scope",
                 404: "not_found", 405: "method_not_allowed", 406: "not_acceptable",
                 408: "request.timeout", 413: "request.too_large",
                 415: "request.unsupported_media_type", 422: "input.invalid",
                 429: "rate_limited"}

#: StoreError codes that mean "try again later", not "your request is wrong".
_UNAVAILABLE = {"store.busy", "store.unavailable"}


def describe_validation(errors: list[Any]) -> str:
    parts = []
    for e in errors[:5]:
        loc = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
        parts.append(f"{loc}: {e.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


def http_error(exc: StarletteHTTPException) -> JSONResponse:
    code = _STATUS_CODES.get(exc.status_code, "http.error")
    detail = exc.detail if isinstance(exc.detail, str) else code
    return error_json(exc.status_code, code, detail, getattr(exc, "headers", None))


def install(app: FastAPI) -> None:
    @app.exception_handler(VeilError)
    async def _veil(_: Request, exc: VeilError) -> JSONResponse:
        if isinstance(exc, StoreError) and exc.code in _UNAVAILABLE:
            return error_json(503, exc.code, exc.message, {"Retry-After": "2"})
        if isinstance(exc, StoreError):
            log.error("store error", extra={"code": exc.code})
            return error_json(500, exc.code, "the database failed; try again later")
        retry = {"Retry-After": "2"} if exc.http_status == 503 else None
        return error_json(exc.http_status, exc.code, exc.message, retry)

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return error_json(exc.status_code, exc.code, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return http_error(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_json(422, "input.invalid", describe_validation(list(exc.errors())))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"error_type": type(exc).__name__})
        return error_json(500, "internal", "internal error")


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of the error statuses a route can return."""
    what = {400: "Malformed request", 401: "Missing or unknown credentials",
            403: "Credentials without the needed scope", 404: "Not found",
            408: "The body did not arrive in time", 409: "Conflict with the current state",
            413: "Body too large", 415: "Unsupported content type",
            422: "Invalid input", 429: "Too many requests (see Retry-After)",
            503: "Not ready or database busy (see Retry-After)"}
    return {s: {"model": ErrorResponse, "description": what.get(s, "Error")} for s in statuses}


#: What every route can answer: body limits, validation, rate limits, readiness.
COMMON = (400, 408, 413, 415, 422, 503)
