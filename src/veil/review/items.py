"""Making a review item from a scanned upload, and describing one for a reviewer.

An item is made for a scan whose verdict is ``review`` (``VEIL_REVIEW_FROM_VERDICTS``),
a platform's explicit request (``/v1/scan?review=1``) or a user report a platform
forwards (``POST /v1/reports``). The upload's bytes are sealed here, in memory, and
only the sealed blob reaches the store; the plaintext is never written anywhere.
Each item is capped by the scan's own limit (``VEIL_MAX_BYTES``, enforced while the
upload is read) and the queue as a whole by ``VEIL_REVIEW_MAX_QUEUE_BYTES``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from veil.config import Settings
from veil.errors import MediaTooLarge
from veil.review.sealing import MediaSealer
from veil.store.cases import uuid7
from veil.store.coltypes import utcnow
from veil.store.interface import BankStore
from veil.store.reviews import NewReviewItem, ReviewItemRecord
from veil.verdict import RegionEvidence

Source = Literal["scan", "review_request", "report"]

#: Content types of the formats a browser shows (others are served as bytes, and the
#: reviewer page says it cannot show them).
MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif",
               "WEBP": "image/webp", "BMP": "image/bmp", "AVIF": "image/avif"}


def media_type(fmt: str | None) -> str:
    return MEDIA_TYPES.get((fmt or "").upper(), "application/octet-stream")


def create_item(store: BankStore, sealer: MediaSealer, settings: Settings, *,
                source: Source, platform: str, data: bytes, fmt: str | None,
                verdict: dict[str, Any], signals: list[dict[str, Any]],
                report_reason: str | None = None, report_notes: str | None = None,
                now: datetime | None = None) -> ReviewItemRecord:
    """Seal ``data`` and store a new item (``QueueFull`` when the queue is full)."""
    if len(data) > settings.media.max_bytes:
        raise MediaTooLarge(f"the upload is larger than the limit of "
                            f"{settings.media.max_bytes:,} bytes")
    now = now or utcnow()
    item_id = uuid7()
    review = settings.review
    new = NewReviewItem(
        id=item_id, source=source, platform=platform, verdict=verdict, signals=signals,
        media_type=media_type(fmt), media_bytes=len(data),
        act_by=now + timedelta(hours=review.act_within_h),
        retain_until=now + timedelta(days=review.retention_days),
        report_reason=report_reason, report_notes=report_notes,
        region=differing_region(verdict))
    return store.add_review_item(new, sealer.seal(item_id, data),
                                 max_queue_bytes=review.max_queue_bytes)


def differing_region(verdict: dict[str, Any]) -> dict[str, float] | None:
    """The differing region of the verdict's first derived match (fractions of the
    picture), which the reviewer page keeps blurred; None when no match is derived."""
    for m in verdict.get("matches") or ():
        found = m.get("region") if isinstance(m, dict) else None
        if isinstance(found, dict) and found.get("kind") == "derived":
            region = RegionEvidence.model_validate(found).differing_fraction()
            if region is not None:
                return region
    return None


def describe(item: ReviewItemRecord, now: datetime | None = None) -> dict[str, Any]:
    """An item as the reviewer page and the review API show it (never its signals'
    values: a reviewer decides on the picture, and the matches name the entries)."""
    now = now or utcnow()
    return {
        "id": item.id,
        "created_at": item.created_at.isoformat(),
        "source": item.source,
        "platform": item.platform,
        "status": item.status,
        "decision": item.verdict.get("decision"),
        "reasons": list(item.verdict.get("reasons") or ()),
        "matches": list(item.verdict.get("matches") or ()),
        "matches_total": item.verdict.get("matches_total", 0),
        "observations": list(item.verdict.get("observations") or ()),
        "region": item.region,
        "report_reason": item.report_reason,
        "report_notes": item.report_notes,
        "media_type": item.media_type,
        "media_bytes": item.media_bytes,
        "has_media": item.status != "purged",
        "act_by": item.act_by.isoformat(),
        "time_left_s": int((item.act_by - now).total_seconds()),
        "retain_until": item.retain_until.isoformat(),
        "decisions": [{k: v for k, v in d.items() if k in ("code", "note", "actor", "at")}
                      for d in item.decisions],
    }
