"""Request bodies are bounded in size and time before any handler parses them.

A pure ASGI middleware: it refuses a declared ``Content-Length`` over the cap the
route declares (``routing.RoutePolicy.body``) at once (a million-item batch never
reaches the JSON parser), counts bytes as they stream for bodies without one, and
gives up on a body that trickles in (slow-upload attacks) after
``body_idle_timeout_s`` of silence or ``body_timeout_s`` in total.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from veil.api.errors import ApiError
from veil.api.routing import BodyKind, route_for
from veil.config import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Room for multipart boundaries and headers around an uploaded file.
MULTIPART_OVERHEAD = 64 * 1024


class BodyTooLarge(ApiError):
    def __init__(self, cap: int, code: str = "request.too_large") -> None:
        super().__init__(413, code, f"the request body is larger than {cap:,} bytes")


class BodyTimeout(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(408, "request.timeout", message, {"Connection": "close"})


def body_cap(settings: Settings, kind: BodyKind) -> tuple[int, str]:
    """The largest body of a kind, and the error code for one over it."""
    if kind == "media":
        # a picture's own cap is applied once its first bytes say it is one
        # (api/upload.py); a video may be larger
        biggest = max(settings.media.max_bytes, settings.media.video.max_bytes)
        return biggest + MULTIPART_OVERHEAD, "media.too_large"
    if kind == "import":
        return settings.api.max_import_bytes, "request.too_large"
    return settings.api.max_json_bytes, "request.too_large"


async def send_error(send: Send, status: int, code: str, message: str,
                     headers: dict[str, str] | None = None) -> None:
    import json

    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class BodyLimits:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap, code = body_cap(self.settings, route_for(scope).body)
        declared = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                if not value.isdigit() or len(value) > 18:
                    await send_error(send, 400, "request.bad_length",
                                     "Content-Length must be a number of bytes")
                    return
                declared = int(value)
        if declared is not None and declared > cap:
            # refused before a byte of the body is read
            await send_error(send, 413, code, f"the request body is {declared:,} bytes; the "
                             f"limit here is {cap:,}", {"Connection": "close"})
            return
        api = self.settings.api
        started = time.monotonic()
        received = 0
        done = False

        async def limited() -> Message:
            nonlocal received, done
            if done:
                return await receive()  # only http.disconnect is left to wait for
            left = api.body_timeout_s - (time.monotonic() - started)
            wait = min(api.body_idle_timeout_s, left)
            if wait <= 0:
                raise BodyTimeout(f"the request body did not arrive within "
                                  f"{api.body_timeout_s} s")
            try:
                message = await asyncio.wait_for(receive(), wait)
            except TimeoutError:
                raise BodyTimeout(
                    f"no part of the request body arrived for {api.body_idle_timeout_s} s"
                    if wait == api.body_idle_timeout_s else
                    f"the request body did not arrive within {api.body_timeout_s} s") from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise BodyTooLarge(cap, code)
                if not message.get("more_body", False):
                    done = True
            else:
                done = True
            return message

        await self.app(scope, limited, send)
