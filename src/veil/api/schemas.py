"""What crosses the HTTP boundary: request and response bodies (pydantic).

Hashes travel as lowercase hex; each value is checked by its signal type, so
schemas only bound lengths. No response carries a bank entry's hash value to a
platform (entry ids identify matches), nor which platform matched a victim's hash.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from veil.api.errors import ErrorBody
from veil.inspect.observation import Observation
from veil.text.detector import MAX_CHARS as TEXT_MAX_CHARS
from veil.verdict import Match

SignalName = Field(pattern=r"^[a-z0-9_]{1,32}$", description="Signal type: pdq, md5, sha256, "
                   "phash, dhash (more may come, e.g. video frame hashes)")
HexValue = Field(min_length=1, max_length=130, description="Lowercase hex")


class Strict(BaseModel):
    """What every request body is: an unknown field is an error, not ignored (a
    misspelt one would otherwise silently take its default). Subclasses' configs
    add to this one."""

    model_config = ConfigDict(extra="forbid")


# -- shared -------------------------------------------------------------------------------
class SignalIn(Strict):
    # JSON types exactly: "92" is not a quality, 92.0 neither
    model_config = ConfigDict(strict=True)

    signal: str = SignalName
    value: str = HexValue
    quality: int | None = Field(None, ge=0, le=100, description="PDQ quality (0-100)")


class SignalOut(BaseModel):
    signal: str
    value: str
    quality: int | None = None


# -- intake -------------------------------------------------------------------------------
class Attestation(Strict):
    # only JSON true and false: "yes", 1 or "true" do not attest anything
    model_config = ConfigDict(strict=True)

    self_or_guardian: bool = Field(description="The images show me, or a person I am the "
                                   "parent or guardian of")
    intimate: bool = Field(description="The images are intimate (nude or sexual)")
    share_with_partners: bool = Field(False, description=(
        "Also send these hashes to the platforms this service exchanges hash lists "
        "with, so they can stop the images too (never the images; withdrawing the case "
        "withdraws them there as well)"))


#: Longest region signal intake takes, in base64: a browser's blob holds 256
#: keypoints (8,713 bytes); room for that, not for a blob the service never makes.
REGION_B64_MAX = 11_620


class CaseSignalIn(SignalIn):
    region: str | None = Field(None, max_length=REGION_B64_MAX, description=(
        "On a pdq signal only: the photo's region signal, standard base64 of the blob "
        "the intake page computes (keypoints and descriptors, never pixels), so that "
        "edited copies and derived fakes of the photo are found too (docs/derived.md)"))


class CaseIn(Strict):
    # at most VEIL_API_MAX_CASE_SIGNALS (checked by the route: the schema cannot
    # depend on the environment it is read in; the body cap bounds parsing)
    signals: list[CaseSignalIn] = Field(min_length=1)
    attestation: Attestation


class CaseSignalOut(BaseModel):
    n: int = Field(description="Position in the submission, from 1")
    signal: str
    status: Literal["active", "under_review", "withdrawn", "removed"] = Field(description=(
        "active: uploads that match are stopped; under_review: disputed after you "
        "submitted it, it does not match until a reviewer restores it (active) or "
        "removes it; withdrawn: you withdrew it; removed: a reviewer removed it (its "
        "hash is erased)"))
    matched: int = Field(description="How often this hash matched an upload since you "
                         "submitted it (never where)")


class CaseCreated(BaseModel):
    case_id: str
    case_token: str = Field(description="Shown once: keep it to see or withdraw the case")
    status: str
    signals: list[CaseSignalOut]


class CaseStatus(BaseModel):
    case_id: str
    status: Literal["open", "withdrawn"]
    created_at: datetime
    signals: list[CaseSignalOut]


# -- platform -----------------------------------------------------------------------------
class MatchSignalIn(SignalIn):
    upload: str | None = Field(None, pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description=(
        "Signals with the same upload label are one upload's (its PDQ, its MD5 …): "
        "besides each signal's own result, the reply's uploads[] decides each upload on "
        "all its signals together, as /v1/scan and veil scan do"))


class MatchRequest(Strict):
    # at most VEIL_API_MAX_BATCH (checked by the route)
    signals: list[MatchSignalIn] = Field(min_length=1)
    thresholds: dict[str, int] | None = Field(
        None, description="Per-signal thresholds in bits (default: the configured ones)")
    subject: str | None = Field(
        None, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$",
        description="Your reference for what is checked (a post or upload id): webhook "
        "events carry it, and one subject's events are delivered in order. Default: the "
        "request id")


class MatchResult(BaseModel):
    index: int
    signal: str
    decision: Literal["block", "review", "allow"]
    matches: list[Match] = Field(description="The closest matches, at most "
                                 "VEIL_API_MAX_MATCHES_LISTED (the decision weighs all)")
    matches_total: int = Field(description="How many entries matched in all")


class UploadVerdict(BaseModel):
    upload: str
    signals: list[int] = Field(description="Indexes of the upload's signals in the request")
    decision: Literal["block", "review", "allow"]
    reasons: list[str]
    matches: list[Match] = Field(description="The closest matches, at most "
                                 "VEIL_API_MAX_MATCHES_LISTED (the decision weighs all)")
    matches_total: int


class MatchResponse(BaseModel):
    results: list[MatchResult]
    uploads: list[UploadVerdict] | None = Field(None, description=(
        "Present when signals carry upload labels: one verdict per upload"))


class ReviewItemRef(BaseModel):
    id: str
    status: Literal["open", "second_review", "decided", "purged"]
    source: Literal["scan", "review_request", "report"]
    act_by: datetime = Field(description="When the platform must have acted (VEIL_REVIEW_"
                             "ACT_WITHIN_H after it was made)")
    time_left_s: int = Field(description="Seconds until act_by (negative: overdue)")
    retain_until: datetime = Field(description="When its media is purged")


class ScanResponse(BaseModel):
    format: str | None
    width: int | None
    height: int | None
    signals: list[SignalOut]
    warnings: list[str]
    decision: Literal["block", "review", "allow"]
    reasons: list[str]
    matches: list[Match] = Field(description="The closest matches, at most "
                                 "VEIL_API_MAX_MATCHES_LISTED (the decision weighs all)")
    matches_total: int = Field(description="How many entries matched in all")
    observations: list[Observation] = Field(description=(
        "What the file declares about its origin (C2PA, XMP digital source type, EXIF "
        "Software, generators' PNG text, invisible watermarks): declarations, never proof "
        "(docs/provenance.md); also among the reasons"))
    review_item: ReviewItemRef | None = Field(None, description=(
        "The review item made for this upload (?review=1, or a review verdict): the "
        "upload is kept, sealed, until retain_until (docs/review.md)"))
    review_item_error: ErrorBody | None = Field(None, description=(
        "Why a review verdict made no item (the queue is full)"))


class ReportResponse(ScanResponse):
    review_item: ReviewItemRef


# -- admin and review ---------------------------------------------------------------------
Category = Literal["victim_submitted", "confirmed_ncii", "synthetic_ncii", "protected_photo",
                   "imported", "allowlist"]
Action = Literal["block", "review", "allow"]


class Policy(Strict):
    """A bank's policy (docs/policies.md). In a PATCH, only the fields sent change; a
    null resets a field to its default."""

    action: Action | None = Field(None, description="What a match does (default: the "
                                  "category's)")
    thresholds: dict[str, int] | None = Field(None, description=(
        "Per signal type, the largest distance in bits that counts as a match in this "
        "bank (default: the service's); at most the service's threshold cap"))
    priority: int | None = Field(None, ge=-1000, le=1000, description=(
        "An allowlist bank suppresses matches of banks whose priority is not above its "
        "own (default 0)"))
    enabled: bool | None = Field(None, description="false: the bank's entries match "
                                 "nothing (default true)")
    share: bool | None = Field(None, description=(
        "true: exchange partners whose key lists this bank may fetch it from the hub "
        "(victims' hashes only where the case consented; default false)"))


class BankIn(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    category: Category
    policy: Policy = Field(default_factory=Policy)


class PolicyPatch(Strict):
    policy: Policy


class BankOut(BaseModel):
    name: str
    category: str
    policy: dict[str, Any]
    action: str
    priority: int
    enabled: bool
    counts: dict[str, int]
    created_at: datetime
    created_by: str


class BankList(BaseModel):
    banks: list[BankOut]


class RowErrorOut(BaseModel):
    line: int | None
    message: str


class ImportOut(BaseModel):
    bank: str
    ok: bool
    rows: int
    imported: int
    duplicates: int
    error_count: int
    errors: list[RowErrorOut]


class EntryOut(BaseModel):
    id: int
    bank: str
    signal: str
    value: str | None
    quality: int | None
    status: Literal["active", "withdrawn", "disputed", "disabled"]
    source: str | None
    note: str | None
    case_ref: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime


class EntryList(BaseModel):
    entries: list[EntryOut]
    next_after_id: int | None


class Reason(Strict):
    reason: str | None = Field(None, max_length=500)


class Decision(Strict):
    decision: Literal["restore", "withdraw"] = Field(
        description="restore: the entry matches again; withdraw: its hash is erased")
    reason: str | None = Field(None, max_length=500)


#: ``veil.store.vocabulary.SCOPES`` (a Literal cannot be built from it; a test checks)
Scope = Literal["intake", "platform", "review", "admin", "exchange"]


class KeyIn(Strict):
    scopes: list[Scope] = Field(min_length=1, max_length=5)
    name: str = Field("", max_length=100, pattern=r"^[^\r\n\x00]*$")


class PartnerIn(Strict):
    fetch_banks: list[str] = Field(default_factory=list, max_length=100, description=(
        "Banks the partner may fetch; each is served only while its policy shares it"))
    submit_bank: str | None = Field(None, max_length=64, description=(
        "The bank its SubmitHashes go into (none: it cannot submit)"))


class PartnerOut(BaseModel):
    key_id: int
    name: str
    fetch_banks: list[str]
    submit_bank: str | None


class KeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class KeyCreated(KeyOut):
    key: str = Field(description="Shown once; only its hash is stored")


class KeyList(BaseModel):
    keys: list[KeyOut]


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    bank: str | None
    entry_id: int | None
    detail: dict[str, Any]


class AuditList(BaseModel):
    events: list[AuditOut]
    next_before_id: int | None


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    index: dict[str, int]


# -- text ---------------------------------------------------------------------------------
#: Most texts in one POST /v1/text/check, and most characters in all of them: a
#: worst-case text costs ~40 ms, so a request stays under a second of one thread.
MAX_TEXTS = 100
MAX_TEXT_REQUEST_CHARS = 65_536


class TextCheckRequest(Strict):
    model_config = ConfigDict(extra="forbid", strict=True)
    texts: list[Annotated[str, StringConstraints(max_length=TEXT_MAX_CHARS)]] = Field(
        min_length=1, max_length=MAX_TEXTS, description=(
            f"Messages, captions, button labels, names or descriptions; at most "
            f"{MAX_TEXTS}, each at most {TEXT_MAX_CHARS} characters (a Telegram message's "
            f"limit), {MAX_TEXT_REQUEST_CHARS} in all"))

    @model_validator(mode="after")
    def _bounded(self) -> TextCheckRequest:
        if sum(map(len, self.texts)) > MAX_TEXT_REQUEST_CHARS:
            raise ValueError(f"at most {MAX_TEXT_REQUEST_CHARS} characters in all texts of "
                             "one request")
        return self


class TextEvidence(BaseModel):
    kind: Literal["words", "service word", "link", "trick"]
    text: str


class TextResult(BaseModel):
    index: int
    nudify_service: bool = Field(description="Whether it advertises or links to an "
                                 "\"undress\"/\"nudify\" service")
    score: float = Field(ge=0, le=1)
    evidence: list[TextEvidence]


class TextCheckResponse(BaseModel):
    results: list[TextResult]


# -- banked videos (admin) ----------------------------------------------------------------
class VideoOut(BaseModel):
    video_id: int
    bank: str
    frames: int = Field(description="Distinct kept frame hashes of matchable quality")
    duration: float | None
    label: str | None
    md5: str | None = Field(description="The file's MD5 (none for one imported as vPDQ)")
    status: str
    created_at: datetime


class VideoList(BaseModel):
    videos: list[VideoOut]
# -- webhooks (admin) ---------------------------------------------------------------------
class WebhookIn(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    url: str = Field(min_length=1, max_length=2000, description="http(s) URL of the receiver")
    key_id: int | None = Field(None, ge=1, le=2**62, description=(
        "Follow this platform key's scans and matches (or give bank)"))
    bank: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                             description="Follow every block/review verdict matching this bank")


class WebhookOut(BaseModel):
    name: str
    url: str
    target: Literal["key", "bank"]
    key_id: int | None
    bank: str | None
    created_by: str
    created_at: datetime
    deliveries: dict[str, int] = Field(description="Deliveries by status: pending, "
                                       "delivered, dead")


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Signs every delivery; shown this once")


class WebhookList(BaseModel):
    webhooks: list[WebhookOut]


class WebhookRemoved(BaseModel):
    name: str
    undelivered: int = Field(description="Pending and dead deliveries dropped with it")


class DeliveryOut(BaseModel):
    delivery_id: str
    webhook: str
    event: str
    subject: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


class DeadLetterList(BaseModel):
    deliveries: list[DeliveryOut]
    next_before_id: int | None


class ReplayIn(Strict):
    delivery_ids: list[Annotated[str, Field(min_length=1, max_length=36)]] | None = Field(
        None, min_length=1, max_length=1000, description=(
        "Dead letters to replay; none: every dead letter (of webhook, if given)"))
    webhook: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ReplayOut(BaseModel):
    replayed: int
# -- policies: disabled entries' notes to their sources, flood quarantines ------------------
class FeedbackOut(BaseModel):
    id: int
    entry_id: int
    bank: str
    source: str | None
    kind: str
    status: Literal["pending", "retracted", "sent"]
    reason: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime


class FeedbackList(BaseModel):
    feedback: list[FeedbackOut]
    next_after_id: int | None


class QuarantineOut(BaseModel):
    id: int
    kind: Literal["bank", "entry"]
    bank: str
    entry_id: int | None
    status: Literal["active", "released", "confirmed"]
    detail: dict[str, Any] = Field(description="What tripped it, in numbers")
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None


class QuarantineList(BaseModel):
    quarantines: list[QuarantineOut]
    next_after_id: int | None
