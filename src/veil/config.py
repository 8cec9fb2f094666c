"""Settings: one ``pydantic-settings`` object, read from ``VEIL_*`` environment variables.

Every limit, threshold and knob Veil uses is a field here, with its default and the
reason for it in the field's description (``veil config`` prints them all with their
effective values). Entry points (the CLI commands, ``veil serve``, benchmarks) call
``load_settings()`` once and pass the object down; nothing below them reads the
environment.

Environment names: ``VEIL_<FIELD>`` for top-level fields, ``VEIL_<NAME>`` for media
limits and ``VEIL_API_<NAME>`` for the service's. Per-signal maps take JSON or one
variable per signal: ``VEIL_THRESHOLDS='{"pdq": 24}'`` or ``VEIL_THRESHOLDS__PDQ=24``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field, HttpUrl, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from veil.errors import ConfigError


class SignalDefaults(Protocol):
    """What settings need to know of a signal type to resolve its thresholds."""

    @property
    def name(self) -> str: ...
    @property
    def default_threshold(self) -> int: ...
    @property
    def max_threshold(self) -> int: ...
    @property
    def min_quality(self) -> int | None: ...


def _settings_config(prefix: str, *, nested: bool = False) -> SettingsConfigDict:
    config = SettingsConfigDict(env_prefix=prefix, frozen=True, extra="ignore",
                                validate_default=True)
    if nested:
        config["env_nested_delimiter"] = "__"
    return config


class VideoLimits(BaseSettings):
    """Bounds on untrusted video, and how it is sampled (``VEIL_VIDEO_<NAME>``).

    Every bound is checked against what decoding finds, not only what the container
    says: a stream that lies about its length is stopped at the limit it reaches."""

    model_config = _settings_config("VEIL_VIDEO_")

    max_bytes: int = Field(512 * 1024 * 1024, ge=1, description=(
        "Largest accepted video file in bytes (/v1/scan streams a video upload to a "
        "temporary file, deleted when the scan ends, up to this size)."))
    seconds_per_hash: float = Field(1.0, ge=0, le=60, description=(
        "vPDQ sampling: one frame hashed every this many seconds (the reference's "
        "default is one a second); 0 hashes every frame."))
    bank_seconds_per_hash: float = Field(0.0, ge=0, le=60, description=(
        "Sampling of videos being banked (veil protect): 0, every frame, so that a "
        "query sampled once a second finds a banked frame within a frame's time of each "
        "of its own — at one a second on both sides, copies cut at another instant "
        "match 0-43% of frames instead of 83-100% (docs/video.md)."))
    prune_distance: int = Field(2, ge=0, le=31, description=(
        "Frames banked from a video skip a frame within this many bits of the last one "
        "kept (vPDQ's pruning of repeated frames; 0 keeps every distinct hash)."))
    query_match_percent: float = Field(80.0, ge=0, le=100, description=(
        "vPDQ rule (P_q): a video matches a banked one when at least this share of its "
        "unique frames match (a bank's policy may set vpdq_query_percent)."))
    candidate_match_percent: float = Field(0.0, ge=0, le=100, description=(
        "vPDQ rule (P_c): ... and at least this share of the banked video's frames (0: a "
        "clip cut from a longer banked video matches; vpdq_candidate_percent per bank)."))
    max_duration_s: float = Field(4 * 3600, gt=0, description=(
        "Longest video hashed, in seconds of decoded timestamps; longer ones are refused "
        "(media.too_large), never silently cut."))
    max_frames: int = Field(1_000_000, ge=1, description=(
        "Most frames decoded from one video (4 hours at 60 fps is 864,000)."))
    max_frame_pixels: int = Field(9_500_000, ge=1, description=(
        "Largest frame in pixels: 4K (3840×2160, 4096×2160) is accepted, 8K refused "
        "before decoding."))
    max_hash_seconds: float = Field(600.0, gt=0, description=(
        "Wall-clock time one video may take to hash before it is refused (a guard "
        "against streams slow to decode, not a figure of normal use)."))


class MediaLimits(BaseSettings):
    """Bounds applied before and during decoding of untrusted media (``VEIL_<NAME>``)."""

    model_config = _settings_config("VEIL_")

    max_bytes: int = Field(50 * 1024 * 1024, ge=1, description=(
        "Largest accepted media file, in bytes (a 100 MP JPEG is about 40 MiB)."))
    max_pixels: int = Field(120_000_000, ge=1, description=(
        "Largest accepted image in pixels (width × height), checked from the header before "
        "any pixel is decoded, so decompression bombs are refused cheaply."))
    max_side: int = Field(30_000, ge=1, description="Largest accepted width or height.")
    max_frames: int = Field(1000, ge=1, description=(
        "Most frames read from an animated image (GIF/WebP/APNG/TIFF); images with more "
        "are refused rather than silently truncated."))
    video: VideoLimits = Field(default_factory=VideoLimits, description=(
        "Video limits and sampling (VEIL_VIDEO_…)."))
    max_decode_bytes: int = Field(1024 * 1024 * 1024, ge=1024 * 1024, description=(
        "Most memory decoding one file may take, estimated from its header (pixels × "
        "bytes per pixel of the stored mode and of the conversions hashing needs); a "
        "file over it is refused before decoding. A JPEG decoded at reduced scale costs "
        "a fraction of its pixels."))
    large_decode_bytes: int = Field(64 * 1024 * 1024, ge=1024 * 1024, description=(
        "Decodes estimated above this wait for one of max_large_decodes slots, so a "
        "burst of large files is decoded one after another."))
    max_large_decodes: int = Field(1, ge=1, description=(
        "Large decodes (see large_decode_bytes) at once, per process."))
    memory_ceiling_bytes: int = Field(0, ge=0, description=(
        "A large decode that would take the process's resident memory past this is "
        "refused for now (media.busy; 503 in the service) rather than left to the OOM "
        "killer. 0: three quarters of the machine's memory. Never above three quarters "
        "of a cgroup memory limit (container, systemd MemoryMax); where veil scan/hash "
        "run several worker processes, each gets an equal share."))


class ProvenanceLimits(BaseSettings):
    """Bounds on reading what a file declares about its origin (``veil inspect``, the
    observations on scans; ``VEIL_PROVENANCE_<NAME>``)."""

    model_config = _settings_config("VEIL_PROVENANCE_")

    c2pa_max_bytes: int = Field(20 * 1024 * 1024, ge=1, description=(
        "Largest file whose C2PA manifest is read (the library parses the whole file); "
        "a larger one is reported as not checked."))
    watermark_max_pixels: int = Field(4_200_000, ge=1, description=(
        "Largest image (width × height) checked for generators' invisible watermarks: "
        "it decodes the image to RGB again (a 4 MP PNG: 0.2 s of one core), and generators "
        "write at most a few megapixels."))
    scan_watermarks: bool = Field(False, description=(
        "Also look for generators' invisible watermarks on every scan (/v1/scan, veil "
        "scan, the bot), not only in veil inspect. Off by default: the full decode and "
        "the decoder cost ~26 ms a megapixel, five times a scan's own hashing, for a mark "
        "that a JPEG re-encode or a resize removes (docs/provenance.md)."))


class Helpline(BaseModel):
    """A support service the intake page lists (set by the operator)."""

    model_config = {"frozen": True, "extra": "forbid"}

    name: str = Field(min_length=1, max_length=120)
    url: HttpUrl | None = None
    phone: str | None = Field(None, max_length=40)
    note: str | None = Field(None, max_length=200)


class ApiLimits(BaseSettings):
    """Bounds and knobs of the HTTP service, ``veil serve`` (``VEIL_API_<NAME>``)."""

    model_config = _settings_config("VEIL_API_")

    max_json_bytes: int = Field(1024 * 1024, ge=1024, description=(
        "Largest JSON request body, in bytes; a larger Content-Length is refused before "
        "the body is read. 1000 signals take about 150 KB."))
    max_batch: int = Field(1000, ge=1, description="Most signals in one POST /v1/match.")
    max_case_signals: int = Field(100, ge=2, description="Most signals in one victim case.")
    max_matches_listed: int = Field(100, ge=1, description=(
        "Most matches listed per signal in a /v1/match answer and per upload in a "
        "/v1/scan answer, closest first (the decision weighs all of them): a bank with a "
        "cluster of near-identical hashes cannot make one request's answer huge."))
    max_import_bytes: int = Field(2 * 1024 * 1024 * 1024, ge=1, description=(
        "Largest hash-list upload to POST /v1/admin/banks/{name}/entries (streamed into "
        "the importer, never held whole in memory)."))
    body_timeout_s: int = Field(120, ge=1, description=(
        "A request body must arrive within this many seconds in total (slow uploads)."))
    body_idle_timeout_s: int = Field(15, ge=1, description=(
        "No gap between two pieces of a request body may exceed this (slow-upload "
        "attacks)."))
    intake_rate_per_min: int = Field(20, ge=1, description=(
        "Public intake (victims, no key): tokens a minute per client address. Also guards "
        "case-token look-ups."))
    intake_burst: int = Field(10, ge=1, description="Public intake: tokens at once.")
    ipv6_prefix: int = Field(64, ge=32, le=128, description=(
        "IPv6 clients share one intake rate-limit bucket per this prefix length: one "
        "host usually holds a whole /64, so a per-address bucket would not limit it."))
    idempotency_ttl_s: int = Field(24 * 3600, ge=1, description=(
        "How long an Idempotency-Key is remembered (in memory only)."))
    idempotency_max_keys: int = Field(1000, ge=1, description=(
        "Most Idempotency-Keys remembered per API key (each key has its own pool, so no "
        "caller can push out another's)."))
    idempotency_max_bytes: int = Field(8 * 1024 * 1024, ge=1024, description=(
        "Most bytes of remembered responses per API key."))
    idempotency_max_anonymous: int = Field(10_000, ge=1, description=(
        "Most Idempotency-Keys remembered for callers without a key (the intake page), "
        "all addresses together, at most 16 per address."))
    key_cache_s: int = Field(5, ge=0, description=(
        "API keys are re-read from the store this often, so a key revoked from the CLI "
        "stops working within this many seconds (revoking through the API is at once)."))
    scan_concurrency: int = Field(0, ge=0, description=(
        "Uploads hashed at the same time (0: one per core); others wait their turn."))
    victim_bank: str = Field("victims", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                             description=("Bank that victims' submissions go into (category "
                                          "victim_submitted, created on first use)."))
    match_count_flush_s: int = Field(2, ge=1, description=(
        "Seconds between writes of match counters (victims see how often their hashes "
        "matched); matching never waits for the database."))
    header_timeout_s: int = Field(10, ge=1, description=(
        "A connection whose request headers are not complete this many seconds after it "
        "opened (or after its previous request) is closed: idle or trickling sockets "
        "cannot hold the server's connection slots."))
    max_connections: int = Field(1000, ge=1, description=(
        "Most connections and requests in progress at once; more get 503 at once."))
    workers: int = Field(1, ge=1, description=(
        "Service processes veil serve runs (set by --workers; they share one copy of "
        "each index). Each keeps its own rate-limit buckets (at 1/workers of the "
        "intake rate), idempotency cache and reviewer sessions: the reviewer page "
        "needs 1."))
    graceful_shutdown_s: int = Field(30, ge=0, description=(
        "Seconds veil serve waits for in-flight requests on SIGTERM."))
    wide_threshold_keys: tuple[int, ...] = Field((), description=(
        "Ids of API keys (veil keys list) that may ask for thresholds above "
        "max_thresholds, up to a signal's own maximum: analysts' keys, never a "
        "platform's."))
    work_threads: int = Field(0, ge=0, description=(
        "Threads that match and hash for requests (0: one per core). No request runs "
        "its matching on the event loop; requests beyond this wait their turn."))
    index_sync_ms: int = Field(1000, ge=0, description=(
        "Milliseconds between reads of the store's change feed: a change committed by "
        "another process (veil bank import run elsewhere, another worker) matches, or "
        "stops matching, within this long. The service's own changes apply before the "
        "request that made them returns. 0 turns polling off."))


class FloodSettings(BaseSettings):
    """Flood protection: when a bank or entry suddenly matches far too much, its matches
    go to review until an admin decides (``VEIL_FLOOD_<NAME>``; docs/policies.md)."""

    model_config = _settings_config("VEIL_FLOOD_")

    enabled: bool = Field(True, description=(
        "Watch the service's scans and matches for banks and entries that flood."))
    window: int = Field(1000, ge=10, description=(
        "Uploads per window in which each bank's share of matched uploads is counted."))
    bank_factor: float = Field(5.0, gt=1, description=(
        "A bank is quarantined when its share of a window's uploads exceeds this many "
        "times its baseline (the weighted mean of its past windows' shares)…"))
    bank_min_share: float = Field(0.02, gt=0, le=1, description=(
        "…and this share of the window (what a bank with no baseline yet, e.g. a new "
        "import, may reach)…"))
    bank_min_matches: int = Field(20, ge=1, description=(
        "…and at least this many matched uploads (a few matches are never a flood)."))
    baseline_weight: float = Field(0.2, gt=0, le=1, description=(
        "Weight of the latest window in a bank's baseline (exponentially weighted mean)."))
    entry_max_uploads: int = Field(50, ge=2, description=(
        "An entry is quarantined when it matches this many distinct pictures within "
        "entry_window uploads."))
    entry_window: int = Field(10_000, ge=10, description=(
        "Uploads over which an entry's distinct pictures are counted."))
    distinct_bits: int = Field(20, ge=0, description=(
        "Two uploads whose hashes are at most this many bits apart are one picture "
        "(copies, re-encodes): repeating or lightly editing one image never floods."))
    max_tracked_entries: int = Field(10_000, ge=1, description=(
        "Entries whose recent matches are remembered (least recently matched forgotten "
        "first): bounds memory whatever the banks' size."))


class BotSettings(BaseSettings):
    """The Telegram moderation bot, ``veil bot`` (``VEIL_BOT_<NAME>``)."""

    model_config = _settings_config("VEIL_BOT_")

    token: SecretStr = Field(SecretStr(""), description=(
        "The bot's token from @BotFather (never printed or logged)."))
    api_url: str = Field("https://api.telegram.org", pattern=r"^https?://[^\s]+$",
                         description=(
        "The Bot API server: Telegram's, or a local telegram-bot-api server (tests point "
        "it at a fake one on loopback)."))
    mode: Literal["local", "remote"] = Field("local", description=(
        "local: match against this Veil's banks in process (VEIL_HOME / "
        "VEIL_DATABASE_URL); remote: send each picture to a veil serve's POST /v1/scan."))
    remote_url: str = Field("", pattern=r"^(https?://[^\s]+)?$", description=(
        "The veil serve the remote mode scans with, e.g. https://veil.example.org."))
    remote_key: SecretStr = Field(SecretStr(""), description=(
        "A platform-scope API key of that service (veil keys create --scope platform)."))
    default_policy: Literal["none", "restrict", "ban"] = Field("none", description=(
        "What happens to the sender of a blocked picture or a flagged advert in a group "
        "whose admins have not chosen (/veil_policy): none, restrict (may no longer "
        "post) or ban. The message itself is always deleted."))
    max_file_bytes: int = Field(20 * 1024 * 1024, ge=1, le=2000 * 1024 * 1024, description=(
        "Largest file fetched to check (the Bot API's getFile serves at most 20 MB); "
        "larger files are noted in the log and counted, not fetched."))
    chat_concurrency: int = Field(1, ge=1, description=(
        "Updates of one chat handled at once. 1 (the default) keeps a chat's posts and "
        "commands in order (a policy set before a post applies to it); either way one "
        "busy group cannot take every slot."))
    concurrency: int = Field(16, ge=1, description="Updates handled at once, all chats together.")
    poll_timeout_s: int = Field(30, ge=1, le=50, description=(
        "Long-polling wait of each getUpdates call, in seconds."))
    admin_chat: int | None = Field(None, description=(
        "A chat (e.g. the moderators' private group) that gets every notice; default: "
        "the group where it happened."))
    log_evidence: bool = Field(False, description=(
        "Log the evidence words and links of flagged adverts. Off: logs carry ids, "
        "decisions and reasons, never message text."))
    metrics_port: int = Field(0, ge=0, le=65535, description=(
        "Serve Prometheus counters at http://127.0.0.1:PORT/metrics (0: off)."))
    webhook_url: str = Field("", pattern=r"^(https?://[^\s]+)?$", description=(
        "Receive updates by webhook at this public URL (Telegram posts to it; put a "
        "TLS proxy in front of the bot's listener) instead of long polling. Empty: "
        "long polling."))
    webhook_secret: SecretStr = Field(SecretStr(""), description=(
        "The webhook's secret_token (1-256 of A-Z a-z 0-9 _ -): every call must carry "
        "it in X-Telegram-Bot-Api-Secret-Token, or it is refused. Required with a "
        "webhook URL."))
    webhook_host: str = Field("127.0.0.1", description="Address the webhook listener binds.")
    webhook_port: int = Field(8443, ge=0, le=65535, description=(
        "Port of the webhook listener (0: any free one)."))


class ReviewSettings(BaseSettings):
    """Review items and the reviewer page (``VEIL_REVIEW_<NAME>``; docs/review.md)."""

    model_config = _settings_config("VEIL_REVIEW_")

    media_key: SecretStr = Field(SecretStr(""), description=(
        "The key that seals review media at rest (AES-256-GCM): 32 random bytes, base64 "
        "(python -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())'). "
        "Empty: a key file, home/review-media.key, made owner-only on first use; set "
        "this instead (from a secret store) so a copy of the database or of home alone "
        "cannot be read. Never printed or logged."))
    act_within_h: float = Field(48, gt=0, description=(
        "Hours a platform has to act on an item (shown as the time left; 48 h is the "
        "removal deadline of the US TAKE IT DOWN Act)."))
    retention_days: float = Field(7, gt=0, description=(
        "Days an item's media is kept; then the purge deletes it (the item's record "
        "and decisions stay)."))
    max_queue_bytes: int = Field(2 * 1024 * 1024 * 1024, ge=1, description=(
        "Most bytes of media all items together may hold; past it, new items are "
        "refused (507 review.queue_full) until purged. Each item is also capped by "
        "VEIL_MAX_BYTES, the scan's own limit."))
    from_verdicts: bool = Field(True, description=(
        "A /v1/scan whose verdict is review makes an item (its media kept, sealed). "
        "Off: only explicit requests (?review=1) and reports do."))
    purge_interval_s: int = Field(300, ge=1, description=(
        "Seconds between the service's purges of media past its retention deadline "
        "(veil review purge runs one at once)."))
    reveal_s: int = Field(10, ge=1, le=120, description=(
        "Seconds a revealed picture stays clear on the reviewer page before it is "
        "blurred again (limited exposure, docs/review.md)."))
    session_idle_min: int = Field(30, ge=1, description=(
        "Minutes of inactivity after which a reviewer's page session ends."))
    session_max_h: int = Field(8, ge=1, description=(
        "Hours after which a reviewer's page session ends however active (a shift)."))
    confirmed_bank: str = Field("review-confirmed",
                                pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description=(
        "Bank (category confirmed_ncii, made on first use) that confirmed_ncii and "
        "synthetic_ncii decisions add an item's signals to."))
    allowlist_bank: str = Field("review-allowlist",
                                pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description=(
        "Bank (category allowlist, made on first use) that not_ncii decisions add an "
        "item's signals to."))


class WebhookSettings(BaseSettings):
    """Webhook deliveries of ``veil serve`` (``VEIL_WEBHOOK_<NAME>``; docs/webhooks.md)."""

    model_config = _settings_config("VEIL_WEBHOOK_")

    secrets_key: SecretStr = Field(SecretStr(""), description=(
        "Key that encrypts webhook secrets at rest (32 bytes, URL-safe base64; make one "
        "with: python -c 'import os,base64;print(base64.urlsafe_b64encode(os.urandom(32))"
        ".decode())'). Empty: a key file, webhook-secrets.key in home, is made (0600) on "
        "first use; every process that signs deliveries must see the same key, so set "
        "this where several hosts share one PostgreSQL database."))
    max_attempts: int = Field(15, ge=1, le=100, description=(
        "Tries of one delivery before it goes to the dead-letter list (admins see and "
        "replay it: veil webhook deadletter / replay). With the default delays, 15 tries "
        "span three to five and a half hours."))
    base_delay_s: float = Field(5.0, gt=0, description=(
        "Wait before the first retry; each later retry waits twice as long as the one "
        "before (up to max_delay_s), with random jitter so failed receivers are not hit "
        "by every sender at once."))
    max_delay_s: float = Field(3600.0, gt=0, description="Longest wait between two tries.")
    timeout_s: float = Field(10.0, gt=0, le=300, description=(
        "Seconds one POST to a receiver may take (connect, send, answer) before it "
        "counts as failed."))
    poll_s: float = Field(1.0, gt=0, description=(
        "Seconds between looks at the outbox for due deliveries (an event this process "
        "enqueues wakes the worker at once; one enqueued by another process waits at most "
        "this long), and between re-reads of the subscriptions."))
    delivered_retention_h: float = Field(168.0, ge=0, description=(
        "Hours a delivered event's row (its body holds the verdict) is kept for "
        "veil webhook list's counts and for inquiries, then deleted; 0 deletes it on "
        "delivery's next sweep. Dead letters stay until replayed or their webhook is "
        "removed."))
    batch: int = Field(10, ge=1, le=1000, description=(
        "Most deliveries claimed from the outbox at once (sent one after another; a "
        "worker that dies leaves them to others after batch × timeout_s + 30 s)."))


class ExchangeSettings(BaseSettings):
    """The hash exchange: the hub's feed and the sync of pulled lists
    (``VEIL_EXCHANGE_<NAME>``; docs/exchange.md)."""

    model_config = _settings_config("VEIL_EXCHANGE_")

    sync_s: float = Field(30.0, gt=0, description=(
        "Seconds between two syncs of one exchange inside veil serve; a new hash on a "
        "peer is matchable here within this plus one fetch."))
    page_size: int = Field(1000, ge=1, le=10000, description=(
        "Records asked for per page when pulling; also the hub's largest page (a "
        "partner asking for more gets this many)."))
    merge_records: int = Field(250_000, ge=1, le=10_000_000, description=(
        "Records fetched before they are merged in one transaction with the last "
        "page's checkpoint (a walk's end merges what is left at once). Larger merges "
        "pass over the bank's hash index fewer times; the records wait in a temporary "
        "table on disk, so memory does not grow with this, but a crash loses the "
        "progress of the merge under way (its pages are fetched again)."))
    timeout_s: float = Field(30.0, gt=0, le=600, description=(
        "Seconds one request to a peer may take before it counts as failed."))
    max_page_bytes: int = Field(32 * 2**20, ge=2**16, description=(
        "Largest page body read from a peer; a bigger one fails the fetch (the "
        "checkpoint stays) instead of filling memory."))
    retries: int = Field(4, ge=0, le=20, description=(
        "Retries of a page that failed with 429, 5xx or a dropped connection, waiting "
        "base_delay_s × 2^n (or the peer's Retry-After) between tries."))
    base_delay_s: float = Field(1.0, ge=0, description="First wait before a retry.")
    max_delay_s: float = Field(60.0, gt=0, description="Longest wait between retries.")
    stale_days: float = Field(30.0, gt=0, description=(
        "A checkpoint older than this is stale: the next sync refetches the whole list "
        "and removes what the peer no longer has (a peer forgets withdrawals after "
        "tombstone_days)."))
    tombstone_days: float = Field(30.0, ge=0, description=(
        "Days the hub keeps a withdrawn hash of a shared bank so partners learn to "
        "delete it; then it is erased. Partners that fetch less often than this must "
        "refetch everything (their checkpoint is stale)."))
    feed_overlap_s: float = Field(5.0, ge=0, le=3600, description=(
        "The hub's nextSetTimestamp lags its newest record by this much, so a change "
        "stamped by a node whose clock is behind, or committed late, is sent again "
        "rather than missed (records are full states: receiving one twice is harmless)."))
    max_rejects: int = Field(10000, ge=0, description=(
        "Refused records kept per exchange (oldest dropped first), for a person to see "
        "with veil exchange rejects."))


def _default_home() -> Path:
    return Path.home() / ".veil"


class RegionSettings(BaseSettings):
    """Region signals: edited copies and derived fakes of protected photos
    (``VEIL_REGIONS_<NAME>``; docs/derived.md)."""

    model_config = _settings_config("VEIL_REGIONS_")

    categories: list[str] = Field(["protected_photo", "victim_submitted"], description=(
        "Bank categories whose photos keep a region signal beside PDQ (veil protect, "
        "intake): a person's own photos, whose edited and derived copies are what "
        "region matching catches. Other banks hold hashes only."))
    key: SecretStr = Field(SecretStr(""), description=(
        "The key that seals region signals at rest (AES-256-GCM): 32 random bytes, "
        "base64. A region signal holds keypoint positions and descriptors, more than a "
        "hash (docs/security.md). Empty: a key file, home/region-signals.key, made "
        "owner-only on first use; set this instead (from a secret store) so a copy of "
        "the database alone holds nothing usable. Never printed or logged."))
    candidates: int = Field(8, ge=1, le=64, description=(
        "Banked photos whose region signal is verified (RANSAC) per upload, the best "
        "of the candidate index: verification is what costs, a few ms each."))


class Settings(BaseSettings):
    """Everything configurable, with its default and why (``VEIL_<FIELD>``)."""

    model_config = _settings_config("VEIL_", nested=True)

    home: Path = Field(default_factory=_default_home, description=(
        "Data folder: the SQLite database, index snapshots. Created owner-only."))
    database_url: str = Field("", description=(
        "Any SQLAlchemy URL (e.g. postgresql+psycopg://user@host/db); empty: SQLite "
        "file veil.db in home."))
    media: MediaLimits = Field(default_factory=MediaLimits, description=(
        "Limits on untrusted media (VEIL_MAX_BYTES …)."))
    api: ApiLimits = Field(default_factory=ApiLimits, description=(
        "The HTTP service's limits (VEIL_API_…)."))
    bot: BotSettings = Field(default_factory=BotSettings, description=(
        "The Telegram bot (VEIL_BOT_…)."))
    review: ReviewSettings = Field(default_factory=ReviewSettings, description=(
        "Review items and the reviewer page (VEIL_REVIEW_…)."))
    regions: RegionSettings = Field(default_factory=RegionSettings, description=(
        "Region signals of protected photos (VEIL_REGIONS_…)."))
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings, description=(
        "Webhook deliveries (VEIL_WEBHOOK_…)."))
    exchange: ExchangeSettings = Field(default_factory=ExchangeSettings, description=(
        "The hash exchange (VEIL_EXCHANGE_*)"))
    flood: FloodSettings = Field(default_factory=FloodSettings, description=(
        "Flood protection (VEIL_FLOOD_…)."))
    thresholds: dict[str, int] = Field(default_factory=dict, description=(
        "Match thresholds in bits by signal type, overriding each type's published default "
        "(PDQ 31, pHash and dHash 10, digests 0)."))
    max_thresholds: dict[str, int] = Field(default_factory=dict, description=(
        "The largest threshold a caller of the service may ask for, by signal type; "
        "default: the configured threshold (callers may tighten it, never widen it). A "
        "wide threshold turns distances into an oracle that gives banked hashes away bit "
        "by bit (docs/security.md)."))
    min_quality: dict[str, int] = Field(default_factory=dict, description=(
        "Quality floors by signal type, overriding each type's default (PDQ 50: Meta "
        "recommends discarding quality ≤ 49, which describes near-flat images)."))
    text_threshold: float | None = Field(None, gt=0, lt=1, description=(
        "Score at which the text detector flags a text (veil text check, "
        "/v1/text/check, veil bot); empty: the model's own (docs/text-detector.md: lower finds "
        "more adverts and flags more ordinary posts, the ROC curve there shows how many)."))
    provenance: ProvenanceLimits = Field(default_factory=ProvenanceLimits, description=(
        "Limits on reading provenance (VEIL_PROVENANCE_C2PA_MAX_BYTES …)."))
    declared_ai_action: Literal["none", "review"] = Field("none", description=(
        "What a scanned upload that declares AI generation (an IPTC digital source type "
        "such as trainedAlgorithmicMedia, a generator's PNG text or watermark) does when "
        "no bank decides otherwise: none (the default; it is only reported) or review. "
        "Never block: a declaration is trivially added or removed."))
    helplines: tuple[Helpline, ...] = Field((), description=(
        "Support services the intake pages (/protect and /case) list, in every language, "
        'as JSON: [{"name": …, "url": …, "phone": …, "note": …}].'))
    quick_exit_url: str = Field("about:blank", max_length=2000,
                                pattern=r"^(about:blank|https?://[^\s\"'<>`]+)$", description=(
        "Where \"Leave quickly\" on /protect and /case goes: a neutral page that replaces "
        "Veil's in the tab's history (an http(s) URL, or about:blank, the default, which "
        "leaves an empty tab). Pick a site that is unremarkable for your audience, such as "
        "a weather or news page."))
    import_batch_rows: int = Field(20_000, ge=1, description=(
        "Rows per transaction for bulk bank imports (memory stays flat)."))
    import_max_line_bytes: int = Field(64 * 1024, ge=256, description=(
        "Longest accepted line in an imported hash list, in bytes."))
    db_busy_timeout_s: int = Field(30, ge=0, description=(
        "Seconds a SQLite writer waits for another (e.g. a long import) before failing "
        "with store.busy."))
    scan_workers: int = Field(0, ge=0, description=(
        "Hashing processes for veil scan and veil hash (0: one per core)."))
    backfill_batch: int = Field(16, ge=1, description=(
        "Files veil backfill hands a worker at a time (Ray: per read task and per actor "
        "call); larger batches cost less overhead and hold more bytes in memory."))
    backfill_part_rows: int = Field(10_000, ge=1, description=(
        "Rows per Parquet part veil backfill writes; a restart redoes at most one "
        "part's worth (or 30 seconds') of work."))
    match_batch: int = Field(4096, ge=1, description=(
        "Hash queries veil match reads, parses and searches per step (memory stays flat "
        "whatever the input size)."))
    index_snapshot_min_entries: int = Field(100_000, ge=0, description=(
        "Indexes of at least this many entries are written to home/index so the next "
        "start loads them instead of re-reading the store; smaller ones rebuild in about "
        "a second."))

    index_shared: bool = Field(False, description=(
        "Map index snapshots instead of copying them into memory, so every process of "
        "this home shares one copy (veil serve --workers sets it); each keeps only the "
        "changes since the snapshot was written, which is rewritten once they reach 10% "
        "of it or withdraw an entry."))
    index_rewrite_gap_s: float = Field(60, ge=0, description=(
        "Shared indexes: least seconds from the end of one rewrite of a signal's "
        "snapshot to the start of the next. A withdrawn hash stays in the old file "
        "(unlinked, still mapped) until the next rewrite; withdrawals are cheap to make "
        "and a rewrite of 10M entries takes about 30 s of a core, so a stream of them "
        "must not keep a core busy (60: at most a third of one at 10M)."))

    @model_validator(mode="after")
    def _database_in_home(self) -> Settings:
        if not self.database_url:
            object.__setattr__(self, "database_url", _home_database(self.home))
        return self

    @model_validator(mode="after")
    def _signal_maps(self) -> Settings:
        for field in ("thresholds", "max_thresholds", "min_quality"):
            values: dict[str, int] = getattr(self, field)
            clean = {k.strip().lower(): v for k, v in values.items()}
            bad = [f"{k}={v}" for k, v in clean.items() if v < 0]
            if bad:
                raise ValueError(f"{field} must not be negative: {', '.join(bad)}")
            object.__setattr__(self, field, clean)
        return self

    def threshold(self, signal: SignalDefaults) -> int:
        """The match threshold for ``signal``: configured, else the type's own."""
        t = self.thresholds.get(signal.name, signal.default_threshold)
        if t > signal.max_threshold:  # veil.signals.check_settings says so at start
            raise ConfigError(f"VEIL_THRESHOLDS__{signal.name.upper()}: {t} is above "
                              f"{signal.max_threshold}, the most {signal.name} allows")
        return t

    def threshold_cap(self, signal: SignalDefaults) -> int:
        """The largest threshold a service caller may ask for ``signal`` (keys listed in
        ``api.wide_threshold_keys`` excepted)."""
        cap = self.max_thresholds.get(signal.name, self.threshold(signal))
        return min(cap, signal.max_threshold)

    def quality_floor(self, signal: SignalDefaults) -> int | None:
        """Hashes of ``signal`` below this quality are neither banked nor matched."""
        if signal.min_quality is None:
            return None
        return self.min_quality.get(signal.name, signal.min_quality)

    def with_(self, **changes: object) -> Settings:
        """A copy with ``changes`` applied and validated (tests, benchmarks). A database
        URL that was only derived from ``home`` follows a new ``home``."""
        values = self.model_dump()
        if values["database_url"] == _home_database(self.home):
            del values["database_url"]
        return type(self).model_validate({**values, **changes})


def _home_database(home: Path) -> str:
    return f"sqlite:///{home / 'veil.db'}"


def snapshot_path(home: Path, signal: str) -> Path:
    """The index snapshot of ``signal`` under ``home``: the index writes it, and the
    store deletes it when it erases a hash of that type (it may hold the hash)."""
    return Path(home) / "index" / f"{signal}.snapshot"


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment (nothing cached: each call reads it again).

    Raises ``ConfigError`` naming each bad variable and what it must be."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{_variable(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid settings: {problems}") from None


def _variable(loc: tuple[int | str, ...]) -> str:
    """The environment variable a validation error's location names."""
    parts = [str(p) for p in loc]
    if not parts:
        return "settings"
    if len(parts) > 1 and parts[0] in ("media", "api", "bot", "webhooks", "review"):
        parts = parts[1:]
    for cls in (Settings, MediaLimits, ApiLimits, BotSettings, WebhookSettings,
                ReviewSettings):
        if parts[0] in cls.model_fields:
            prefix = str(cls.model_config.get("env_prefix", ""))
            return prefix + "__".join(parts).upper()
    return "_".join(parts)
