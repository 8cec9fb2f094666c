"""An exchange's status as the API, the CLI and the docs show it (never its secret:
``credentials`` is where the secret is, not the secret)."""

from __future__ import annotations

from typing import Any

from veil.store.exchanges import ExchangeRecord


def status_json(x: ExchangeRecord) -> dict[str, Any]:
    cp = x.checkpoint or {}
    return {"name": x.name, "kind": x.kind, "url": x.url, "bank": x.bank,
            "enabled": x.enabled, "credentials": x.credentials,
            "last_fetch": None if x.last_fetch_at is None else x.last_fetch_at.isoformat(),
            "last_success": (None if x.last_success_at is None
                             else x.last_success_at.isoformat()),
            "checkpoint": cp.get("update_time"),
            "full_walk_pending": bool(cp.get("full_walk")) or not cp,
            "error": x.error, "counts": dict(x.counts)}
