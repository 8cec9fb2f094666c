"""The peers an exchange pulls from, one class per wire shape.

A peer turns its list into ``Page``s, each with the checkpoint to store once the
page is merged (so the sync, not the peer, decides when a checkpoint advances), and
takes feedback where its API has a way to.

* ``StopNCIIPeer`` (kinds ``stopncii`` and ``veil``): ``GET FetchHashes`` pages
  from ``startTimestamp`` with ``nextPageToken``; ``POST SubmitFeedback``.
  A Veil hub speaks the same shape (``/stopncii/v1``), so ``veil`` differs only in
  its credentials: one exchange key instead of a function key and a subscription key.
* ``ListPeer`` (kind ``hma``): HMA publishes no feed of its banks; what it and
  python-threatexchange read from other lists is a plain list, one
  ``<signal type> <hash>`` per line. That is read whole at every sync (each sync is
  a full walk: what the list no longer holds is erased here).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError

from veil.config import ExchangeSettings
from veil.exchange.http import PeerError, PeerHttp, json_body
from veil.exchange.records import check_fetch_page, check_line, check_stopncii, split
from veil.exchange.stopncii_format import FROM_VEIL, FeedbackValue, FetchPage
from veil.store.exchanges import Incoming, OutgoingFeedback, Rejected

#: Where a StopNCII walk starts from nothing (python-threatexchange's default too).
FIRST_TIMESTAMP = 10

#: What each note kind says to a StopNCII-shaped peer.
FEEDBACK_VALUE = {"false_positive": FeedbackValue.NOT_BLOCKED,
                  "confirmed": FeedbackValue.BLOCKED}


@dataclass(slots=True)
class Page:
    records: list[Incoming]
    rejected: list[Rejected]
    #: The checkpoint once this page is merged.
    checkpoint: dict[str, Any]


@dataclass(slots=True)
class WalkEnd:
    """Set by a peer when its walk ends: the checkpoint to resume from next time, and
    what went wrong on the way that did not stop it (a checkpoint going backwards)."""

    checkpoint: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class Peer(Protocol):
    #: Every walk is a full one (the peer has no incremental feed).
    always_full: bool

    def pages(self, checkpoint: dict[str, Any] | None, end: WalkEnd) -> Iterator[Page]: ...
    def send_feedback(self, notes: Sequence[OutgoingFeedback]) -> list[int]: ...
    def close(self) -> None: ...


class StopNCIIPeer:
    always_full = False

    def __init__(self, url: str, http: PeerHttp, settings: ExchangeSettings,
                 *, feedback_headers: dict[str, str] | None = None,
                 clock: Any = time.time) -> None:
        self.url = url.rstrip("/")
        self.http = http
        self.settings = settings
        self.feedback_headers = feedback_headers
        self._clock = clock

    def close(self) -> None:
        self.http.close()

    def pages(self, checkpoint: dict[str, Any] | None, end: WalkEnd) -> Iterator[Page]:
        start = FIRST_TIMESTAMP
        token: str | None = None
        if checkpoint:
            start = int(checkpoint.get("update_time", FIRST_TIMESTAMP))
            token = checkpoint.get("page_token") or None
        seen_tokens: set[str] = set()
        newest_ok = int(self._clock())
        while True:
            params: dict[str, Any] = {"startTimestamp": start,
                                      "pageSize": self.settings.page_size}
            if token:
                params["nextPageToken"] = token
            url = f"{self.url}/FetchHashes"
            try:
                body = self.http.request("GET", url, params=params)
            except PeerError as exc:
                if token and exc.status is not None and 400 <= exc.status < 500:
                    # a page token expires: the walk starts again from its timestamp
                    # (records are full states, so merging them again is harmless)
                    end.warnings.append(f"page token refused ({exc.status}); walked again "
                                        f"from {start}")
                    token = None
                    continue
                raise
            page, good, bad = _read_page(url, body)
            del body
            more = page.hasMoreRecords and bool(page.nextPageToken)
            if page.hasMoreRecords and not page.nextPageToken:
                end.warnings.append("the peer said more records follow but gave no page "
                                    "token; the walk ended there")
            if more:
                assert page.nextPageToken is not None
                if page.nextPageToken in seen_tokens or page.nextPageToken == token:
                    # merge what it sent, then stop: following it would loop forever
                    yield Page(good, bad, {"update_time": start, "page_token": None})
                    raise PeerError("the peer sent a page token it had sent before in "
                                    "this walk; stopped there to avoid a loop")
                seen_tokens.add(page.nextPageToken)
                yield Page(good, bad, {"update_time": start,
                                       "page_token": page.nextPageToken})
                token = page.nextPageToken
                continue
            next_ts = page.nextSetTimestamp
            if next_ts < start:
                end.warnings.append(f"the peer's checkpoint went backwards ({next_ts} < "
                                    f"{start}); kept {start}")
                next_ts = start
            elif next_ts > newest_ok:
                # a checkpoint in the future would skip what the peer adds until then
                end.warnings.append(f"the peer's checkpoint {next_ts} is in the future; "
                                    f"kept {newest_ok}")
                next_ts = newest_ok
            end.checkpoint = {"update_time": next_ts, "page_token": None}
            yield Page(good, bad, {"update_time": start, "page_token": None})
            return

    def send_feedback(self, notes: Sequence[OutgoingFeedback]) -> list[int]:
        items = []
        sent: list[int] = []
        for n in notes:
            value = FEEDBACK_VALUE.get(n.kind)
            signal_type = FROM_VEIL.get(n.signal)
            if value is None or signal_type is None:
                continue
            items.append({"hashValue": n.value, "feedbackValue": value.value,
                          "signalType": signal_type, "tags": ["veil", n.kind]})
            sent.append(n.id)
        if items:
            self.http.post_json(f"{self.url}/SubmitFeedback",
                                {"count": len(items), "hashFeedbacks": items},
                                headers=self.feedback_headers)
        return sent


def _read_page(url: str, body: bytes) -> tuple[FetchPage, list[Incoming], list[Rejected]]:
    """A FetchHashes answer: the common page in one pass (``check_fetch_page``), any
    other one parsed and its records checked one by one, each bad one set aside with
    its reason."""
    common = check_fetch_page(body)
    if common is not None:
        return common[0], common[1], []
    raw = json_body("GET", url, body)
    try:
        page = FetchPage.model_validate(raw)
    except ValidationError as exc:
        raise PeerError(f"malformed FetchHashes page: {exc.errors()[0]['msg']} at "
                        f"{'.'.join(map(str, exc.errors()[0]['loc']))}") from None
    good, bad = split(check_stopncii(r) for r in page.hashRecords)
    return page, good, bad


class ListPeer:
    always_full = True

    def __init__(self, url: str, http: PeerHttp, settings: ExchangeSettings) -> None:
        self.url = url
        self.http = http
        self.settings = settings

    def close(self) -> None:
        self.http.close()

    def pages(self, checkpoint: dict[str, Any] | None, end: WalkEnd) -> Iterator[Page]:
        body = self.http.request("GET", self.url)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise PeerError("the hash list is not UTF-8 text") from None
        del body
        lines = text.splitlines()
        size = self.settings.page_size
        end.checkpoint = {"fetched_at": int(time.time())}
        for i in range(0, max(1, len(lines)), size):
            good, bad = split(check_line(line) for line in lines[i:i + size])
            yield Page(good, bad, {"line": i + size})

    def send_feedback(self, notes: Sequence[OutgoingFeedback]) -> list[int]:
        return []  # a plain list takes no feedback: notes stay pending, visible to admins
