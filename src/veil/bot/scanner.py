"""A picture's or a video's bytes → a decision, in process or through a remote
``veil serve``.

Both return what the admins may see: the decision and its reasons (signal,
distance, entry, bank), never the picture. A picture stays in memory; a video is
decoded from a temporary owner-only file that is deleted as soon as it is hashed
(``veil.media.spool``; the remote service does the same with the upload).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

import aiohttp

from veil.errors import VeilError
from veil.matching import BankMatcher, LiveMatcher, ScanResult, scan_bytes, scan_video
from veil.media.spool import spooled
from veil.media.video import CONTAINERS, SNIFF_BYTES, sniff


class Undecodable(Exception):
    """The file is not a picture Veil can read (corrupt, unsupported, too large)."""


class ScanFailed(Exception):
    """The remote service could not be asked (down, refused the key …)."""


@dataclass(frozen=True)
class Outcome:
    decision: str
    reasons: tuple[str, ...] = ()


class Scanner(Protocol):
    async def scan(self, data: bytes) -> Outcome: ...

    def describe(self) -> str: ...

    async def close(self) -> None: ...


class LocalScanner:
    """The banks of this Veil, matched in a worker thread (hashing is CPU work); a
    ``LiveMatcher`` keeps them current with the store."""

    def __init__(self, matcher: BankMatcher | LiveMatcher) -> None:
        self._matcher = matcher

    @property
    def matcher(self) -> BankMatcher:
        m = self._matcher
        return m.matcher if isinstance(m, LiveMatcher) else m

    async def scan(self, data: bytes) -> Outcome:
        try:
            result = await asyncio.to_thread(self._scan, data)
        except VeilError as exc:
            raise Undecodable(exc.code) from None
        verdict = result.verdict
        assert verdict is not None  # scan_bytes raises for what it cannot hash
        return Outcome(verdict.decision, verdict.reasons)

    def _scan(self, data: bytes) -> ScanResult:
        matcher = self.matcher
        fmt = sniff(data[:SNIFF_BYTES])
        if fmt in CONTAINERS:
            with spooled(data, matcher.settings.home) as path:
                return scan_video(path, fmt, matcher, label="telegram")
        return scan_bytes(data, matcher, label="telegram")

    def describe(self) -> str:
        return f"{len(self.matcher.banks)} banks in process"

    async def close(self) -> None:
        return None


class RemoteScanner:
    """``POST /v1/scan`` of a ``veil serve`` with a platform key."""

    def __init__(self, url: str, key: str, *, timeout_s: float = 60) -> None:
        self.url = url.rstrip("/") + "/v1/scan"
        self._headers = {"Authorization": f"Bearer {key}",
                         "Content-Type": "application/octet-stream"}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def scan(self, data: bytes) -> Outcome:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.post(self.url, data=data, headers=self._headers) as r:
                body = await r.json(content_type=None)
                status = r.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ScanFailed(type(exc).__name__) from None
        if status in (400, 413, 415, 422) and isinstance(body, dict):
            code = (body.get("error") or {}).get("code", "media.invalid")
            raise Undecodable(str(code))
        if status != 200 or not isinstance(body, dict) or "decision" not in body:
            raise ScanFailed(f"HTTP {status}")
        return Outcome(str(body["decision"]), tuple(str(r) for r in body.get("reasons", ())))

    def describe(self) -> str:
        return f"remote service {self.url.rsplit('/v1/', 1)[0]}"

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
