"""Veil as a StopNCII-compatible hub: what ``/stopncii/v1/*`` does, less HTTP.

* ``read_page``: one ``FetchHashes`` page for a partner: the store's feed page as
  StopNCII records, the opaque ``nextPageToken`` (the keyset cursor) and
  ``nextSetTimestamp``, the checkpoint a partner resumes from.
* ``submit_hashes`` / ``submit_feedback``: a partner's records, checked here (types,
  hex, feedback values; every bad record is named by its index) and written by the
  store.

Checkpoint semantics: ``startTimestamp`` keeps records changed at or after that Unix
second; a walk's pages are in ``(updated_at, kind, id)`` order; each page's
``nextSetTimestamp`` is the newest record served so far, in whole seconds, less
``VEIL_EXCHANGE_FEED_OVERLAP_S``, never below the ``startTimestamp`` asked for. A
fetch resumed from it sends the last few seconds again (records are full states,
so that is harmless) instead of missing a change committed late.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from veil.config import Settings
from veil.errors import BadInput, SignalError
from veil.exchange.stopncii_format import (
    FROM_VEIL,
    TO_VEIL,
    FeedbackValue,
    HashStatus,
    SubmitFeedback,
    SubmitHashes,
)
from veil.signals import get as get_signal
from veil.store.exchange_feed import (
    FEED_SIGNALS,
    MAX_TAGS,
    TAG_MAX,
    TOMBSTONE,
    FeedCursor,
    FeedItem,
    PartnerRecord,
    SubmittedHash,
    SubmittedOpinion,
)
from veil.store.interface import BankStore
from veil.store.vocabulary import EntryStatus

#: The client's default page (python-threatexchange asks for 800, as StopNCII serves).
DEFAULT_PAGE = 800
#: Where the secret that turns case ids into partners' case references is kept.
CASE_REF_KEY_FILE = "exchange-case-refs.key"
#: Hex characters of a case reference (48 bits: unique enough per hash, and no id).
CASE_REF_CHARS = 12
#: A token is base64 of a small JSON object; anything longer is not one of ours.
TOKEN_MAX = 200
TOKEN_VERSION = 1
#: Records per SubmitHashes / SubmitFeedback request.
MAX_SUBMIT = 10_000

_STATUS = {EntryStatus.ACTIVE.value: HashStatus.ACTIVE,
           EntryStatus.DISPUTED.value: HashStatus.DELETED,
           EntryStatus.DISABLED.value: HashStatus.DELETED,
           "withdrawn": HashStatus.WITHDRAWN,
           "deleted": HashStatus.DELETED}


def _check_served_types() -> None:
    # the store keeps tombstones for FEED_SIGNALS only: the two lists must agree
    assert set(FEED_SIGNALS) == set(TO_VEIL.values()), (FEED_SIGNALS, TO_VEIL)


_check_served_types()


class BadToken(BadInput):
    code = "exchange.bad_token"


@dataclass(frozen=True, slots=True)
class PageToken:
    """What a ``nextPageToken`` carries: the last record served, and the walk's
    ``startTimestamp`` (the floor of its ``nextSetTimestamp``)."""

    cursor: FeedCursor
    start: int

    def encode(self) -> str:
        at = self.cursor.at
        micros = (at - datetime(1970, 1, 1, tzinfo=UTC)) // _MICRO
        raw = json.dumps({"v": TOKEN_VERSION, "t": micros, "k": self.cursor.kind,
                          "i": self.cursor.id, "s": self.start}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> PageToken:
        bad = BadToken("nextPageToken is not one this hub gave out; start the walk again "
                       "from your startTimestamp")
        if not token or len(token) > TOKEN_MAX:
            raise bad
        try:
            raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            if not isinstance(raw, dict) or raw.get("v") != TOKEN_VERSION:
                raise bad
            t, k, i, s = raw["t"], raw["k"], raw["i"], raw["s"]
            if not all(type(x) is int for x in (t, k, i, s)) or k not in (0, 1):
                raise bad
            at = datetime(1970, 1, 1, tzinfo=UTC) + t * _MICRO
        except (ValueError, KeyError, TypeError, OverflowError, binascii.Error,
                UnicodeDecodeError):
            raise bad from None
        if i < 0 or s < 0:
            raise bad
        return cls(FeedCursor(at, k, i), s)


_MICRO = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)


class CaseRefs:
    """Opaque per-case references for ``caseNumbers``: an HMAC of the case id under a
    secret kept in ``VEIL_HOME`` (made owner-only on first use), never the id or the
    token. Stable across restarts of one node; nodes sharing a database should share
    the file."""

    def __init__(self, home: Path) -> None:
        self._path = Path(home) / CASE_REF_KEY_FILE
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def _secret(self) -> bytes:
        with self._lock:
            if self._key is None:
                try:
                    fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                except FileExistsError:
                    pass
                else:
                    with os.fdopen(fd, "w", encoding="ascii") as f:
                        f.write(os.urandom(32).hex() + "\n")
                        f.flush()
                        os.fsync(f.fileno())
                self._key = bytes.fromhex(self._path.read_text("ascii").strip())
            return self._key

    def ref(self, case_id: str) -> str:
        return hmac.new(self._secret(), case_id.encode(), hashlib.sha256).hexdigest()[
            :CASE_REF_CHARS]


def record(item: FeedItem, refs: CaseRefs) -> dict[str, Any]:
    """One StopNCII ``hashRecords`` element."""
    status = _STATUS.get(item.status, HashStatus.DELETED)
    cases = {refs.ref(c): HashStatus.ACTIVE.value for c in item.case_ids}
    return {
        "lastModtimestamp": int(item.at.timestamp()),
        "signalType": FROM_VEIL[item.signal],
        "hashValue": item.value,
        "hashStatus": status.value,
        "caseNumbers": cases,
        "CSPFeedbacks": [] if item.kind == TOMBSTONE else [
            {"feedbackValue": o.value, "tags": list(o.tags), "source": o.partner}
            for o in item.feedback],
    }


def page_size(asked: int | None, settings: Settings) -> int:
    if asked is None:
        asked = DEFAULT_PAGE
    if asked < 1:
        raise BadInput("pageSize must be at least 1", code="exchange.bad_page_size")
    return min(asked, settings.exchange.page_size)


def read_page(store: BankStore, partner: PartnerRecord, refs: CaseRefs, *,
              start_timestamp: int, size: int, token: str | None) -> dict[str, Any]:
    """``FetchHashes``'s answer for ``partner``."""
    if start_timestamp < 0:
        raise BadInput("startTimestamp must be a Unix time in seconds, 0 or more",
                       code="exchange.bad_timestamp")
    try:
        start_at = datetime.fromtimestamp(start_timestamp, UTC)
    except (OverflowError, OSError, ValueError):
        raise BadInput("startTimestamp is out of range",
                       code="exchange.bad_timestamp") from None
    walk_start = start_timestamp
    after = None
    if token:
        decoded = PageToken.decode(token)
        after, walk_start = decoded.cursor, decoded.start
    items, last, more = store.feed_page(partner, start=start_at, after=after, limit=size)
    overlap = store.settings.exchange.feed_overlap_s
    # the page's last record moves the cursor even when the store left it out (a
    # tombstone of a hash still served): its time is the newest seen so far
    next_set = walk_start
    if last is not None:
        next_set = max(walk_start, math.floor(last.at.timestamp() - overlap))
    next_token = (PageToken(last, walk_start).encode()
                  if more and last is not None else None)
    return {"count": len(items), "nextPageToken": next_token,
            "nextSetTimestamp": int(next_set), "hasMoreRecords": bool(more and next_token),
            "hashRecords": [record(i, refs) for i in items]}


def _tags(raw: Sequence[str], where: str, problems: list[str]) -> tuple[str, ...]:
    tags = tuple(dict.fromkeys(str(t) for t in raw))
    if len(tags) > MAX_TAGS or any(len(t) > TAG_MAX for t in tags):
        problems.append(f"{where}: at most {MAX_TAGS} tags of at most {TAG_MAX} "
                        "characters")
    return tags


def _feedback_value(raw: str, where: str, problems: list[str]) -> str:
    try:
        return FeedbackValue(raw).value
    except ValueError:
        problems.append(f"{where}: unknown feedbackValue {raw[:40]!r} (one of "
                        f"{', '.join(v.value for v in FeedbackValue)})")
        return raw


def _veil_signal(raw: str | None, where: str, problems: list[str]) -> str | None:
    if raw is None:
        return None
    veil = TO_VEIL.get(raw)
    if veil is None:
        problems.append(f"{where}: signalType {raw[:40]!r} is not served here (one of "
                        f"{', '.join(TO_VEIL)})")
    return veil


def _value(signal: str | None, raw: str, where: str, problems: list[str]) -> str:
    candidates = [signal] if signal else list(FEED_SIGNALS)
    errors = []
    for name in candidates:
        try:
            return get_signal(name).parse(raw)
        except SignalError as exc:
            errors.append(exc.message)
    problems.append(f"{where}: hashValue is not a valid "
                    f"{' or '.join(c for c in candidates)} hash ({errors[0]})")
    return raw


def _refuse(problems: list[str]) -> None:
    if problems:
        shown = "; ".join(problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        raise BadInput(f"{len(problems)} bad record(s), none taken: {shown}{more}",
                       code="exchange.bad_records")


def submit_hashes(store: BankStore, partner: PartnerRecord, body: SubmitHashes, *,
                  actor: str) -> dict[str, Any]:
    """All of a ``SubmitHashes`` body, or none of it (a 400 naming each bad record)."""
    if len(body.hashRecords) > MAX_SUBMIT:
        raise BadInput(f"at most {MAX_SUBMIT} records per request",
                       code="exchange.bad_records")
    problems: list[str] = []
    hashes = []
    for n, r in enumerate(body.hashRecords):
        where = f"hashRecords[{n}]"
        signal = _veil_signal(r.signalType, where, problems)
        if signal is None:
            continue
        value = _value(signal, r.hashValue, where, problems)
        feedback = tags = None
        if r.CSPFeedbacks:
            fb = r.CSPFeedbacks[-1]
            feedback = _feedback_value(fb.feedbackValue, where, problems)
            tags = _tags(fb.tags, where, problems)
        hashes.append(SubmittedHash(signal, value, feedback, tags or ()))
    _refuse(problems)
    # how many were new stays in the audit log: told to the partner, it would say
    # whether the bank (which may hold others' lists) already had a hash
    store.submit_hashes(partner, hashes, actor=actor)
    return {"count": len(hashes)}


def submit_feedback(store: BankStore, partner: PartnerRecord, body: SubmitFeedback, *,
                    actor: str) -> dict[str, Any]:
    """All of a ``SubmitFeedback`` body, or none of it (400 naming each bad record).
    A hash the partner is not served is not an error: its index is listed in
    ``notFound`` (the real client raises on any non-2xx answer)."""
    if len(body.hashFeedbacks) > MAX_SUBMIT:
        raise BadInput(f"at most {MAX_SUBMIT} records per request",
                       code="exchange.bad_records")
    problems: list[str] = []
    opinions = []
    for n, f in enumerate(body.hashFeedbacks):
        where = f"hashFeedbacks[{n}]"
        signal = _veil_signal(f.signalType, where, problems)
        if f.signalType is not None and signal is None:
            continue
        value = _value(signal, f.hashValue, where, problems)
        opinions.append(SubmittedOpinion(signal, value,
                                         _feedback_value(f.feedbackValue, where, problems),
                                         _tags(f.tags, where, problems)))
    _refuse(problems)
    recorded, unknown = store.submit_feedback(partner, opinions, actor=actor)
    return {"count": len(opinions), "recorded": recorded, "notFound": unknown}
