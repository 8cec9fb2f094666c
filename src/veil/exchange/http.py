"""Requests to a peer, held to what a hostile or broken peer may do: a body larger
than ``max_page_bytes`` is cut off while it streams (never read whole into memory
first), slow answers time out, and 429, 5xx and dropped connections are retried
with exponential back-off (the peer's ``Retry-After`` where it sends one, never
longer than ``max_delay_s``)."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from veil.config import ExchangeSettings
from veil.errors import VeilError

#: Statuses worth another try: the peer is busy or broken for now.
RETRIED = frozenset({408, 429, 500, 502, 503, 504})


class PeerError(VeilError):
    """A fetch or send that failed after its retries; the message says why."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message, code="exchange.peer")
        self.status = status


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


class PeerHttp:
    """One peer's HTTP client: JSON or text bodies, bounded and retried."""

    def __init__(self, settings: ExchangeSettings, *, headers: Mapping[str, str],
                 client: httpx.Client | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.headers = dict(headers)
        self._client = client or httpx.Client(timeout=settings.timeout_s,
                                              follow_redirects=False)
        self._sleep = sleep

    def close(self) -> None:
        self._client.close()

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        s = self.settings
        hinted = _retry_after(response) if response is not None else None
        if hinted is not None:
            return min(hinted, s.max_delay_s)
        base: float = s.base_delay_s * 2.0 ** attempt
        return min(s.max_delay_s, base * (0.5 + random.random() / 2))

    def request(self, method: str, url: str, *, params: Mapping[str, Any] | None = None,
                json_body: object = None,
                headers: Mapping[str, str] | None = None) -> bytes:
        """The body of a 2xx answer; ``PeerError`` after the retries are spent, at
        once for a 4xx other than 408/429 (asking again would not help)."""
        last = "no attempt"
        for attempt in range(self.settings.retries + 1):
            response: httpx.Response | None = None
            try:
                with self._client.stream(method, url, params=params, json=json_body,
                                         headers=dict(headers or self.headers)
                                         ) as response:
                    if response.status_code in RETRIED:
                        last = f"{method} {url} answered {response.status_code}"
                    elif response.status_code >= 300:
                        raise PeerError(f"{method} {url} answered {response.status_code}: "
                                        f"{_snippet(response)}", status=response.status_code)
                    else:
                        return self._read(response)
            except httpx.TimeoutException:
                last = f"{method} {url} timed out after {self.settings.timeout_s:g} s"
            except (httpx.TransportError, httpx.RemoteProtocolError) as exc:
                last = f"{method} {url} failed: {type(exc).__name__}: {exc}"[:300]
            if attempt < self.settings.retries:
                self._sleep(self._delay(attempt, response))
        raise PeerError(f"{last} (after {self.settings.retries + 1} tries)")

    def _read(self, response: httpx.Response) -> bytes:
        cap = self.settings.max_page_bytes
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise PeerError(f"the peer's answer is {int(declared):,} bytes, more than "
                            f"VEIL_EXCHANGE_MAX_PAGE_BYTES ({cap:,}); not read")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > cap:
                raise PeerError(f"the peer's answer passed {cap:,} bytes "
                                "(VEIL_EXCHANGE_MAX_PAGE_BYTES); stopped reading")
            chunks.append(chunk)
        return b"".join(chunks)

    def post_json(self, url: str, body: object,
                  headers: Mapping[str, str] | None = None) -> Any:
        raw = self.request("POST", url, json_body=body, headers=headers)
        try:
            return json.loads(raw) if raw.strip() else None
        except (ValueError, UnicodeDecodeError):
            return None


def json_body(method: str, url: str, body: bytes) -> Any:
    """A 2xx answer's JSON; ``PeerError`` when it is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PeerError(f"{method} {url} answered something that is not JSON ({exc})"[:300]
                        ) from None


def _snippet(response: httpx.Response) -> str:
    """The start of an error answer (never all of it: it may be huge)."""
    head = b""
    try:
        for chunk in response.iter_bytes():
            head += chunk
            if len(head) >= 200:
                break
    except httpx.HTTPError:
        pass
    return head[:200].decode("utf-8", "replace").replace("\n", " ") or "(no body)"
