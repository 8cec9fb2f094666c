"""Webhook events: what a verdict sends, and how a delivery is signed and verified.

Events (``docs/webhooks.md``): ``scan.verdict`` (a ``/v1/scan`` decided ``block`` or
``review``) and ``match.verdict`` (a ``/v1/match`` with at least one such result).
Their ``data`` is the verdict as the API returned it, the key's id and name, the
request id and the caller's subject; never the media, its signals, or a banked
hash (the API's verdicts carry entry ids and distances, not values).

Signature: ``Veil-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
"<t>." + body)>``. The timestamp is signed with the body, so a receiver that refuses
old timestamps refuses replays of a captured delivery; the body alone is not
enough to forge one.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping
from typing import Any

#: Event types.
SCAN_VERDICT = "scan.verdict"
MATCH_VERDICT = "match.verdict"
#: Decisions that make an event (an ``allow`` makes none).
EVENTFUL = frozenset({"block", "review"})

SIGNATURE_HEADER = "Veil-Signature"
DELIVERY_HEADER = "Veil-Delivery-Id"
EVENT_HEADER = "Veil-Event"
#: How old a signature a receiver should accept, by default (``verify``).
TOLERANCE_S = 300


def banks_of(verdicts: Iterable[Mapping[str, Any]]) -> set[str]:
    """The banks the listed matches of ``verdicts`` (API verdict JSON) are in."""
    return {str(m["bank"]) for v in verdicts for m in v.get("matches", ())
            if isinstance(m, Mapping) and "bank" in m}


def scan_data(verdict: Mapping[str, Any], *, key_id: int, key_name: str,
              request_id: str) -> dict[str, Any]:
    """``data`` of a ``scan.verdict`` event: the decision, reasons, matches and
    observations, as ``/v1/scan`` answered them (not the upload's signals)."""
    kept = ("decision", "reasons", "matches", "matches_total", "observations")
    return {"key": {"id": key_id, "name": key_name}, "request_id": request_id,
            "verdict": {k: verdict[k] for k in kept if k in verdict}}


def match_data(results: list[dict[str, Any]], *, key_id: int, key_name: str,
               request_id: str, queries: int) -> dict[str, Any]:
    """``data`` of a ``match.verdict`` event: the results of ``/v1/match`` that decided
    ``block`` or ``review`` (each with its ``index`` in the request), out of ``queries``."""
    return {"key": {"id": key_id, "name": key_name}, "request_id": request_id,
            "queries": queries, "results": results}


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>." + body`` under ``secret``."""
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body,
                    hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={signature(secret, t, body)}"


def verify(secret: str, header: str, body: bytes, *, tolerance_s: int = TOLERANCE_S,
           now: float | None = None) -> bool:
    """Whether ``header`` (a ``Veil-Signature`` value) signs ``body`` with ``secret`` and
    its timestamp is within ``tolerance_s`` of ``now``. What a receiver does (the same
    few lines are in docs/webhooks.md); the tests' receiver uses it."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - t) > tolerance_s:
        return False
    return hmac.compare_digest(parts.get("v1", ""), signature(secret, t, body))
