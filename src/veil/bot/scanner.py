"""A picture's or a video's bytes → a decision, in process or through a remote
``veil serve``.

Both return what the admins may see: the decision and its reasons (signal,
distance, entry, bank), never the picture. A picture stays in memory; a video is
decoded from a temporary owner-only file that is deleted as soon as it is hashed
(``veil.media.spool``; the remote service does the same with the upload).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import aiohttp

from veil.config import Settings
from veil.errors import VeilError
from veil.matching import BankMatcher, LiveMatcher, ScanResult, scan_bytes, scan_video
from veil.media.spool import spooled
from veil.media.video import CONTAINERS, SNIFF_BYTES, sniff
from veil.store.interface import BankStore

log = logging.getLogger("veil.bot")


class Undecodable(Exception):
    """The file is not a picture Veil can read (corrupt, unsupported, too large)."""


class ScanFailed(Exception):
    """The remote service could not be asked (down, refused the key …)."""


@dataclass(frozen=True)
class Outcome:
    decision: str
    reasons: tuple[str, ...] = ()
    #: The review item made of a ``review`` verdict (its id), where the service keeps
    #: them: the picture, sealed, for a person to look at.
    review_item: str | None = None


#: Keeps a picture for the reviewers: (its bytes, its scan, the report's reason, or
#: None for a ``review`` verdict) → the review item's id.
Keeper = Callable[[bytes, ScanResult, str | None], str]


def review_keeper(store: BankStore, settings: Settings) -> Keeper:
    """The in-process bot's keeper: a review item in ``store``, made as ``/v1/scan``
    makes one (sealed, retention limited), named as made by the bot."""
    from veil.review.items import create_item
    from veil.review.sealing import load_sealer

    sealer = load_sealer(settings)

    def keep(data: bytes, result: ScanResult, reason: str | None) -> str:
        assert result.verdict is not None
        return create_item(
            store, sealer, settings, source="scan" if reason is None else "report",
            platform="telegram-bot", data=data, fmt=result.file.format,
            verdict=result.verdict.as_json(settings.api.max_matches_listed),
            signals=[s.as_dict() for s in result.file.signals], report_reason=reason).id

    return keep


class Scanner(Protocol):
    async def scan(self, data: bytes) -> Outcome: ...

    async def report(self, data: bytes, reason: str) -> str | None:
        """A person's report of this picture: the review item made of it (its id), or
        None where the service keeps none."""

    def describe(self) -> str: ...

    async def close(self) -> None: ...


class LocalScanner:
    """The banks of this Veil, matched in a worker thread (hashing is CPU work); a
    ``LiveMatcher`` keeps them current with the store."""

    def __init__(self, matcher: BankMatcher | LiveMatcher, keeper: Keeper | None = None
                 ) -> None:
        self._matcher = matcher
        self._keeper = keeper

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
        item = None
        # pictures only: a video's bytes are not kept here (the service keeps a still)
        if (verdict.decision == "review" and self._keeper is not None
                and result.file.video is None):
            try:
                item = await asyncio.to_thread(self._keeper, data, result, None)
            except VeilError as exc:  # a full queue: the admins are still told
                log.warning("review item not made", extra={"code": exc.code})
        return Outcome(verdict.decision, verdict.reasons, item)

    async def report(self, data: bytes, reason: str) -> str | None:
        if self._keeper is None:
            return None
        keeper = self._keeper

        def keep() -> str | None:
            result = self._scan(data)
            if result.file.video is not None:
                return None  # a video's bytes are not kept here
            return keeper(data, result, reason)

        try:
            return await asyncio.to_thread(keep)
        except VeilError as exc:
            log.warning("reported picture not kept", extra={"code": exc.code})
            return None

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
        self.reports_url = url.rstrip("/") + "/v1/reports"
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
        item = body.get("review_item")
        return Outcome(str(body["decision"]), tuple(str(r) for r in body.get("reasons", ())),
                       str(item["id"]) if isinstance(item, dict) and "id" in item else None)

    async def report(self, data: bytes, reason: str) -> str | None:
        """``POST /v1/reports``: the service keeps the picture as a review item."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.post(self.reports_url, data=data, headers=self._headers,
                                          params={"reason": reason}) as r:
                body = await r.json(content_type=None)
                status = r.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ScanFailed(type(exc).__name__) from None
        item = body.get("review_item") if isinstance(body, dict) else None
        if status != 201 or not isinstance(item, dict) or "id" not in item:
            raise ScanFailed(f"HTTP {status}")
        return str(item["id"])

    def describe(self) -> str:
        return f"remote service {self.url.rsplit('/v1/', 1)[0]}"

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
