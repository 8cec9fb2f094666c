"""Settings from the environment (``VEIL_*``): paths, limits and thresholds.

Every limit and threshold used anywhere in Veil lives here, documented, so that
an operator can see and change them in one place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


@dataclass(frozen=True)
class MediaLimits:
    """Bounds applied before and during decoding of untrusted media."""

    #: Largest accepted file, in bytes (50 MiB: a 100 MP JPEG is ~40 MiB).
    max_bytes: int = 50 * 1024 * 1024
    #: Largest accepted image, in pixels (width*height), checked from the header
    #: before any pixel is decoded, so decompression bombs are refused cheaply.
    max_pixels: int = 120_000_000
    #: Largest accepted width or height.
    max_side: int = 30_000
    #: Most frames read from an animated image (GIF/WebP/APNG/TIFF); images with
    #: more are refused rather than silently truncated.
    max_frames: int = 1000


@dataclass(frozen=True)
class Thresholds:
    """Default match thresholds, in Hamming bits, per signal type."""

    #: Meta's published guidance: PDQ distance <= 31 is a match.
    pdq: int = 31
    phash: int = 10
    dhash: int = 10
    #: PDQ hashes below this quality describe near-flat images and match far
    #: too much; Meta recommends discarding quality <= 49.
    pdq_min_quality: int = 50


@dataclass(frozen=True)
class ApiLimits:
    """Bounds and knobs of the HTTP service (``veil serve``)."""

    #: Largest JSON request body, in bytes; bigger ones are refused from their
    #: Content-Length (or when the stream passes it) before being parsed. 1000
    #: signals take about 150 KB.
    max_json_bytes: int = 1024 * 1024
    #: Most signals in one ``POST /v1/match`` batch.
    max_batch: int = 1000
    #: Most signals in one victim case.
    max_case_signals: int = 100
    #: Largest hash-list upload to ``POST /v1/admin/banks/{name}/entries`` (streamed
    #: into the importer, never held whole in memory).
    max_import_bytes: int = 2 * 1024 * 1024 * 1024
    #: A request body must arrive within this many seconds in total, and no gap
    #: between two pieces may exceed ``body_idle_timeout_s`` (slow-upload attacks).
    body_timeout_s: int = 120
    body_idle_timeout_s: int = 15
    #: Public intake (victims, no key): token bucket per client IP. ``rate`` tokens a
    #: minute, up to ``burst`` at once. Also guards case-token look-ups.
    intake_rate_per_min: int = 20
    intake_burst: int = 10
    #: How long an ``Idempotency-Key`` is remembered, and how many at most (in memory).
    idempotency_ttl_s: int = 24 * 3600
    idempotency_max_keys: int = 10_000
    #: API keys are re-read from the store this often, so a key revoked from the CLI
    #: stops working within this many seconds (revoking through the API is at once).
    key_cache_s: int = 5
    #: Scans hashed at the same time (0: one per core); others wait their turn.
    scan_concurrency: int = 0
    #: Name of the bank that victims' submissions go into (category victim_submitted).
    victim_bank: str = "victims"
    #: Seconds between writes of match counters (victims see how often their hashes
    #: matched) to the store; matching itself never waits for the database.
    match_count_flush_s: int = 2
    #: Seconds ``veil serve`` waits for in-flight requests on SIGTERM.
    graceful_shutdown_s: int = 30
    #: Milliseconds between reads of the store's change feed: a change committed by
    #: another process (``veil bank import`` run elsewhere, another service worker)
    #: matches, or stops matching, within this long. The service's own changes apply
    #: before the request that made them returns. 0 turns the polling off.
    index_sync_ms: int = 1000


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    media: MediaLimits = field(default_factory=MediaLimits)
    thresholds: Thresholds = field(default_factory=Thresholds)
    api: ApiLimits = field(default_factory=ApiLimits)
    #: Rows per transaction for bulk bank imports (memory stays flat).
    import_batch_rows: int = 20_000
    #: Longest accepted line in an imported hash list, in bytes.
    import_max_line_bytes: int = 64 * 1024
    #: Seconds a SQLite writer waits for another writer (e.g. a long bank import)
    #: before giving up with ``store.busy``.
    db_busy_timeout_s: int = 30
    #: Worker processes for ``veil scan`` (0: one per core).
    scan_workers: int = 0
    #: Hash queries ``veil match`` reads, parses and searches per step (memory stays
    #: flat whatever the input size).
    match_batch: int = 4096
    #: Indexes of at least this many entries are written to ``$VEIL_HOME/index`` so
    #: the next start loads them instead of re-reading the store (smaller ones
    #: rebuild in about a second).
    index_snapshot_min_entries: int = 100_000

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def load_settings() -> Settings:
    """Read settings from the environment; nothing is cached, so tests can vary env."""
    home = Path(os.environ.get("VEIL_HOME") or Path.home() / ".veil").expanduser()
    db_url = os.environ.get("VEIL_DATABASE_URL") or f"sqlite:///{home / 'veil.db'}"
    d = MediaLimits()
    media = MediaLimits(
        max_bytes=_env_int("VEIL_MAX_BYTES", d.max_bytes),
        max_pixels=_env_int("VEIL_MAX_PIXELS", d.max_pixels),
        max_side=_env_int("VEIL_MAX_SIDE", d.max_side),
        max_frames=_env_int("VEIL_MAX_FRAMES", d.max_frames),
    )
    t = Thresholds()
    thresholds = Thresholds(
        pdq=_env_int("VEIL_PDQ_THRESHOLD", t.pdq),
        phash=_env_int("VEIL_PHASH_THRESHOLD", t.phash),
        dhash=_env_int("VEIL_DHASH_THRESHOLD", t.dhash),
        pdq_min_quality=_env_int("VEIL_PDQ_MIN_QUALITY", t.pdq_min_quality),
    )
    da = ApiLimits()
    api = ApiLimits(**{
        f: _env_int(f"VEIL_API_{f.upper()}", getattr(da, f))
        for f in da.__dataclass_fields__ if f != "victim_bank"
    }, victim_bank=os.environ.get("VEIL_API_VICTIM_BANK") or da.victim_bank)
    return Settings(
        home=home,
        database_url=db_url,
        media=media,
        thresholds=thresholds,
        api=api,
        import_batch_rows=_env_int("VEIL_IMPORT_BATCH_ROWS", 20_000),
        import_max_line_bytes=_env_int("VEIL_IMPORT_MAX_LINE_BYTES", 64 * 1024),
        db_busy_timeout_s=_env_int("VEIL_DB_BUSY_TIMEOUT_S", 30),
        scan_workers=_env_int("VEIL_SCAN_WORKERS", 0),
        match_batch=max(1, _env_int("VEIL_MATCH_BATCH", 4096)),
        index_snapshot_min_entries=_env_int("VEIL_INDEX_SNAPSHOT_MIN_ENTRIES", 100_000),
    )
