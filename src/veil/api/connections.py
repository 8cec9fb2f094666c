"""Connections that hold a slot without sending a request are closed.

uvicorn bounds how long a kept-alive connection may wait for its next request, but
not how long a client may take to send a request's headers, and not at all on a
fresh connection: 500 sockets that connect and send nothing (or one header byte
every few seconds) would hold 500 slots indefinitely. This protocol, uvicorn's own
httptools one plus a timer, closes a connection whose request headers are not
complete ``header_timeout_s`` after the connection (or the request) began.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HeaderTimeoutProtocol(HttpToolsProtocol):
    #: Set per server by ``with_header_timeout``.
    header_timeout_s: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def with_header_timeout(seconds: float) -> type[HeaderTimeoutProtocol]:
    """The protocol class for a server whose clients get ``seconds`` for headers."""
    return type("HeaderTimeout", (HeaderTimeoutProtocol,), {"header_timeout_s": seconds})
