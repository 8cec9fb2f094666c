"""One sync of one exchange: walk the peer's pages, merge each with its checkpoint,
then send the feedback that is due.

A walk is *full* when there is nothing to resume from: a first sync, a checkpoint
older than ``VEIL_EXCHANGE_STALE_DAYS`` (the peer may have forgotten withdrawals
since), a full walk a crash interrupted, or a peer that only has whole lists. Its
pages stamp every entry they list, and its end erases the exchange's entries no
page listed. Any other walk resumes from the stored checkpoint.

A failure stops the walk where it is: pages merged so far stay merged with their
checkpoints, the error is recorded on the exchange for its status, and the next
sync resumes from there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from veil.config import ExchangeSettings, Settings
from veil.errors import VeilError
from veil.exchange.credentials import credentials_for
from veil.exchange.http import PeerError, PeerHttp
from veil.exchange.peers import ListPeer, Page, Peer, StopNCIIPeer, WalkEnd
from veil.exchange.prefetch import prefetched
from veil.store.coltypes import utcnow
from veil.store.exchanges import ExchangeRecord, Rejected, StagedPage, WalkMerge
from veil.store.interface import BankStore

log = logging.getLogger("veil.exchange")

#: Pages fetched and made ready ahead of the one being staged: the fetching thread
#: goes on while a merge runs (seconds for 250,000 records) instead of waiting with
#: one page. A staged page holds its records in the staging statement's shape (about
#: 1.5 MB for 10,000, the largest page asked for), so this bounds that memory.
PREFETCH_PAGES = 8


@dataclass(slots=True)
class SyncReport:
    name: str
    ok: bool = False
    full: bool = False
    pages: int = 0
    added: int = 0
    removed: int = 0
    unchanged: int = 0
    rejected: int = 0
    feedback_sent: int = 0
    seconds: float = 0.0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


def open_peer(x: ExchangeRecord, settings: ExchangeSettings, *,
              client: httpx.Client | None = None) -> Peer:
    creds = credentials_for(x.kind, x.credentials, x.name)
    if x.kind == "hma":
        return ListPeer(x.url, PeerHttp(settings, headers=creds.headers, client=client),
                        settings)
    return StopNCIIPeer(x.url, PeerHttp(settings, headers=creds.headers, client=client),
                        settings, feedback_headers=creds.feedback_headers)


def _needs_full_walk(x: ExchangeRecord, peer: Peer, settings: ExchangeSettings) -> bool:
    cp = x.checkpoint
    if peer.always_full or not cp or "update_time" not in cp or cp.get("full_walk"):
        return True
    at = cp.get("at")
    return not isinstance(at, int | float) or time.time() - at > settings.stale_days * 86400


def sync_exchange(store: BankStore, name: str, settings: Settings, *,
                  peer: Peer | None = None) -> SyncReport:
    """Run one sync of exchange ``name``; never raises for the peer's faults (they are
    in the report and on the exchange's status)."""
    started = time.monotonic()
    report = SyncReport(name=name)
    x = store.get_exchange(name)
    owned = peer is None
    try:
        try:
            peer = peer or open_peer(x, settings.exchange)
        except VeilError as exc:
            report.error = exc.message
            store.record_exchange_fetch(name, error=exc.message)
            return report
        _walk(store, x, peer, settings.exchange, report)
        _send_feedback(store, name, peer, report)
    finally:
        if owned and peer is not None:
            peer.close()
        report.seconds = time.monotonic() - started
    log.info("exchange synced", extra={
        "exchange": name, "ok": report.ok, "full": report.full, "pages": report.pages,
        "added": report.added, "removed": report.removed, "rejected": report.rejected,
        "error": report.error})
    return report


def _walk(store: BankStore, x: ExchangeRecord, peer: Peer, settings: ExchangeSettings,
          report: SyncReport) -> None:
    full = _needs_full_walk(x, peer, settings)
    report.full = full
    walk_started: datetime = utcnow()
    last_at = (x.checkpoint or {}).get("at")
    end = WalkEnd()
    try:
        with store.exchange_walk(x.name) as walk:
            _merge_pages(walk, peer.pages(None if full else x.checkpoint, end),
                         full=full, last_at=last_at, settings=settings, report=report)
    except (PeerError, VeilError) as exc:
        report.error = exc.message
        report.warnings = end.warnings
        store.record_exchange_fetch(x.name, error=exc.message)
        return
    report.warnings = end.warnings
    final = {**end.checkpoint, "full_walk": False, "at": int(time.time())}
    note = "; ".join(end.warnings) or None
    if full:
        report.removed += store.finish_full_walk(x.name, started_at=walk_started,
                                                 checkpoint=final)
        if note:
            store.record_exchange_fetch(x.name, error=f"warning: {note}", success=True)
    else:
        store.record_exchange_fetch(x.name, error=None if note is None else
                                    f"warning: {note}", checkpoint=final, success=True)
    report.ok = True


def _merge_pages(walk: WalkMerge, pages: Iterator[Page], *, full: bool,
                 last_at: object, settings: ExchangeSettings, report: SyncReport) -> None:
    """Stage each page as it comes and merge what is staged, in one transaction with
    the last staged page's checkpoint, every ``merge_records`` records (fewer, larger
    transactions: each passes over the bank's unique index once), and whenever
    ``max_rejects`` refused records wait (they wait in memory; the staged ones on
    disk)."""
    rejected: list[Rejected] = []
    checkpoint: dict[str, Any] | None = None

    def merge() -> None:
        if checkpoint is None:
            return
        counts = walk.merge(rejected, {**checkpoint, "full_walk": full, "at": last_at},
                            touch=full)
        rejected.clear()
        report.added += counts.added
        report.removed += counts.removed
        report.unchanged += counts.unchanged
        report.rejected += counts.rejected

    try:
        for page, staged in prefetched(_prepared(walk, pages), depth=PREFETCH_PAGES):
            report.pages += 1
            walk.stage(staged)
            rejected.extend(page.rejected)
            checkpoint = page.checkpoint
            if (walk.staged + len(rejected) >= settings.merge_records
                    or len(rejected) >= max(1, settings.max_rejects)):
                merge()
                checkpoint = None
    finally:
        merge()  # what came before a failure is merged, with its checkpoint


def _prepared(walk: WalkMerge, pages: Iterator[Page]) -> Iterator[tuple[Page, StagedPage]]:
    """Each page with what staging it takes, worked out on the fetching thread; the
    page keeps its rejected records and checkpoint, the staged page its records."""
    for page in pages:
        staged = walk.prepare(page.records)
        page.records = []
        yield page, staged


def _send_feedback(store: BankStore, name: str, peer: Peer, report: SyncReport) -> None:
    due = store.exchange_feedback_due(name)
    if not due:
        return
    try:
        sent = peer.send_feedback(due)
    except PeerError as exc:
        report.warnings.append(f"feedback not sent: {exc.message}")
        return
    report.feedback_sent = store.mark_feedback_sent(sent)
