"""HMA-compatible routes: tools written for Meta's Hasher-Matcher-Actioner (HMA 2.0,
"Open Media Match") work against Veil (docs/hma-compat.md).

* ``/c/banks``, ``/c/bank/{name}``, ``/c/bank/{name}/signal``: banks and banking
  hashes (scope ``admin``), through the store like the admin routes: audited under
  the key, applied to the live index by the post-commit hook.
* ``/m/lookup``, ``/m/raw_lookup``: matching (scope ``platform``), through
  ``platform.match_reply``: the same thresholds, caps, verdicts, flood watch, match
  counts and webhook events as ``/v1/match``. A distance is never shown beyond what
  ``/v1/match`` would show the same key.
* ``/h/hash``: hashing (scope ``platform``).

HMA hashes media it fetches from a URL (``url=``). Veil never fetches a URL a caller
names: that would let any key holder make the server reach addresses only it can
(server-side request forgery), and no setting turns it on. ``url=`` is refused with
400 ``hma.url_refused``; the media is sent as the body instead (``POST /h/hash``,
``POST /m/lookup``), streamed and capped as ``/v1/scan``'s, hashed and dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from fastapi import Body, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from veil.api.auth import ActorDep, Principal, PrincipalDep
from veil.api.errors import ApiError
from veil.api.hma_shapes import (
    HMA_TO_VEIL,
    VIDEO_NAMES,
    HmaBank,
    HmaBankCreate,
    HmaBankMatches,
    HmaBankUpdate,
    HmaContentAdded,
    HmaHashes,
    HmaRawLookup,
    HmaSignalMatches,
)
from veil.api.platform import REQUEST_ID_HEADER, match_reply
from veil.api.routing import declare, router
from veil.api.schemas import MatchRequest, MatchSignalIn
from veil.api.services import Services, ServicesDep
from veil.api.upload import RAW_TYPES, Upload, read_upload
from veil.config import MediaLimits
from veil.errors import SignalError
from veil.regions.features import EXTRACTORS
from veil.signals import Signal, SignalType, all_types
from veil.signals import get as get_signal
from veil.signals.batch import hash_bytes
from veil.store import BankInfo
from veil.verdict import policy_of

hma_curation = router("admin", tag="hma", extra_statuses=(404, 409))
hma_matching = router("platform", tag="hma")

#: HMA's multipart field names (by content type), and Veil's.
FILE_FIELDS = ("photo", "video", "file")
#: Banking more signals than Veil has types in one call is a mistake, not a request.
MAX_SIGNALS = 16
#: HMA's limit on a banked content's note.
NOTE_MAX = 255

BankName = Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

_URL_DOC = ("HMA fetches the media at this URL. Veil never fetches URLs a caller names "
            "(server-side request forgery): sending it is refused with 400 "
            "hma.url_refused; send the media as the body of POST instead")
_THRESHOLD_DOC = ("Veil's addition: a tighter threshold in bits (default the configured "
                  "one); wider than the service's cap is 422 input.bad_threshold, as on "
                  "/v1/match")
_BANKS_DOC = "Comma-separated bank names: only their matches are listed"
_IGNORED_DOC = "Accepted for HMA's clients and ignored: Veil's banks match all lookups or none"


def _url_refusal() -> ApiError:
    return ApiError(400, "hma.url_refused", "Veil does not fetch media from URLs (the "
                    "server must not reach addresses a caller names): send the file "
                    "itself as the body of POST /h/hash or POST /m/lookup")


def _signal_type(name: str, where: str) -> SignalType:
    """The Veil signal type for an HMA (``video_md5``) or Veil (``md5``) name."""
    try:
        return get_signal(HMA_TO_VEIL.get(name, name))
    except SignalError as exc:
        raise ApiError(422, exc.code, f"{where}: {exc.message} (or HMA's "
                       f"{', '.join(sorted(HMA_TO_VEIL))})") from None


def _enabled(ratio: float | None) -> bool | None:
    """HMA's ``matching_enabled_ratio`` as Veil's on/off: a fraction would make a
    bank miss a share of its matches, and a missed match is a harm."""
    if ratio is None:
        return None
    if ratio not in (0.0, 1.0):
        raise ApiError(422, "input.invalid", f"enabled_ratio {ratio} is not supported: a "
                       "Veil bank matches every lookup (1.0) or none (0.0)")
    return ratio == 1.0


def hma_bank(b: BankInfo) -> HmaBank:
    return HmaBank(name=b.name,
                   matching_enabled_ratio=1.0 if policy_of(b.policy).enabled else 0.0)


# -- curation (banks) -----------------------------------------------------------------------
@hma_curation.get("/c/banks", response_model=list[HmaBank], summary="HMA: list banks")
def hma_banks(services: ServicesDep) -> list[HmaBank]:
    return [hma_bank(b) for b in services.store.list_banks(counts=False)]


@hma_curation.post("/c/banks", response_model=HmaBank, status_code=201,
                   summary="HMA: create a bank")
def hma_create_bank(body: HmaBankCreate, services: ServicesDep, actor: ActorDep) -> HmaBank:
    enabled = body.enabled if body.enabled is not None else _enabled(body.enabled_ratio)
    policy = {} if enabled is not False else {"enabled": False}
    return hma_bank(services.store.create_bank(body.name, body.category, policy,
                                               actor=actor))


@hma_curation.get("/c/bank/{name}", response_model=HmaBank, summary="HMA: one bank")
def hma_get_bank(services: ServicesDep, name: str = BankName) -> HmaBank:
    return hma_bank(services.store.get_bank(name))


@hma_curation.put("/c/bank/{name}", response_model=HmaBank,
                  summary="HMA: turn a bank's matching on or off")
def hma_update_bank(body: HmaBankUpdate, services: ServicesDep, actor: ActorDep,
                    name: str = BankName) -> HmaBank:
    bank = services.store.get_bank(name)  # 404 first, as HMA
    if body.name is not None and body.name != name:
        # entries, webhooks, the audit log and hash lists name banks: a rename would
        # silently cut them off
        raise ApiError(422, "input.invalid", "Veil banks cannot be renamed: create a new "
                       "bank instead")
    enabled = _enabled(body.enabled_ratio)
    if enabled is None:
        enabled = body.enabled
    if enabled is None:
        return hma_bank(bank)
    return hma_bank(services.store.update_bank_policy(name, {"enabled": enabled},
                                                      actor=actor, merge=True))


_SIGNALS_BODY = Body(description=(
    "Signal type → hash (HMA's names, pdq and video_md5, or Veil's), and an optional "
    "'note' (at most 255 characters)"), examples=[{"pdq": "f8f8f0ce" * 8, "note": "x"}])


@hma_curation.post("/c/bank/{name}/signal", response_model=HmaContentAdded,
                   summary="HMA: bank hashes (each becomes an entry of the bank)")
def hma_add_signals(services: ServicesDep, actor: ActorDep, name: str = BankName,
                    body: dict[str, str] = _SIGNALS_BODY) -> HmaContentAdded:
    store = services.store
    store.get_bank(name)  # 404 before the body's errors, as HMA
    given = dict(body)
    note = given.pop("note", None) or None
    if note is not None and len(note) > NOTE_MAX:
        raise ApiError(422, "input.invalid", f"note must be at most {NOTE_MAX} characters")
    if not given:
        raise ApiError(422, "input.invalid", "no signals given: send {\"pdq\": \"<hash>\"}")
    if len(given) > MAX_SIGNALS:
        raise ApiError(422, "input.invalid", f"at most {MAX_SIGNALS} signals at once")
    # every value checked before any is banked: a bad one banks none
    parsed: list[tuple[str, SignalType, str]] = []
    for sent, value in given.items():
        st = _signal_type(sent, sent)
        try:
            parsed.append((sent, st, st.parse(value)))
        except SignalError as exc:
            raise ApiError(422, exc.code, f"{sent}: {exc.message}") from None
    ids: dict[str, int] = {}
    for sent, st, value in parsed:
        ids[sent] = store.add_entry(name, st.name, value, actor=actor, source="hma api",
                                    note=note).id
    return HmaContentAdded(id=next(iter(ids.values())),
                           signals={sent: value for sent, _, value in parsed},
                           entry_ids=ids)


# -- matching -------------------------------------------------------------------------------
def _bank_filter(banks: str | None) -> set[str] | None:
    return None if banks is None else {b.strip() for b in banks.split(",") if b.strip()}


def _hma_match(m: dict[str, Any]) -> dict[str, Any]:
    exact = get_signal(m["signal"]).exact_digest
    return {"bank_content_id": m["entry_id"],
            "distance": "-" if exact else str(m["distance"])}


def _by_bank(matches: Iterable[dict[str, Any]], banks: set[str] | None
             ) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for m in matches:
        if banks is None or m["bank"] in banks:
            out.setdefault(m["bank"], []).append(_hma_match(m))
    return out


async def _lookup_hash(services: Services, principal: Principal, signal_type: str | None,
                       signal: str | None, threshold: int | None
                       ) -> tuple[list[dict[str, Any]], str]:
    """The matches ``/v1/match`` lists for one hash (closest first), and the request id."""
    if not signal or not signal_type:
        raise ApiError(422, "input.invalid", "send both signal_type and signal (or the "
                       "media itself to POST /m/lookup)")
    st = _signal_type(signal_type, "signal_type")
    try:
        value = st.parse(signal)
    except SignalError as exc:
        raise ApiError(422, exc.code, f"signal: {exc.message}") from None
    try:
        body = MatchRequest(signals=[MatchSignalIn(signal=st.name, value=value)],
                            thresholds=None if threshold is None else {st.name: threshold})
    except ValidationError:
        raise ApiError(422, "signal.bad_hash", f"signal: not a {st.name} hash") from None
    reply, request_id = await match_reply(body, services, principal)
    return reply["results"][0]["matches"], request_id


@hma_matching.get("/m/lookup", response_model=HmaBankMatches,
                  summary="HMA: look a hash up (bank → matches)")
async def hma_lookup(
        services: ServicesDep, principal: PrincipalDep,
        signal_type: str | None = Query(None, max_length=64,
                                        description="pdq, video_md5 (or Veil's names)"),
        signal: str | None = Query(None, max_length=1024, description="The hash"),
        url: str | None = Query(None, max_length=8192, description=_URL_DOC),
        content_type: str | None = Query(None, max_length=64, description=_IGNORED_DOC),
        types: str | None = Query(None, max_length=256, description=_IGNORED_DOC),
        banks: str | None = Query(None, max_length=4096, description=_BANKS_DOC),
        seed: str | None = Query(None, max_length=256, description=_IGNORED_DOC),
        bypass_coinflip: bool = Query(False, description=_IGNORED_DOC),
        threshold: int | None = Query(None, ge=0, le=256, description=_THRESHOLD_DOC),
) -> JSONResponse:
    if url is not None:
        raise _url_refusal()
    matches, request_id = await _lookup_hash(services, principal, signal_type, signal,
                                             threshold)
    return JSONResponse(_by_bank(matches, _bank_filter(banks)),
                        headers={REQUEST_ID_HEADER: request_id})


@hma_matching.get("/m/raw_lookup", response_model=HmaRawLookup,
                  summary="HMA: look a hash up (matched content ids)")
async def hma_raw_lookup(
        services: ServicesDep, principal: PrincipalDep,
        signal_type: str = Query(max_length=64, description="pdq, video_md5 (or Veil's "
                                 "names)"),
        signal: str = Query(max_length=1024, description="The hash"),
        banks: str | None = Query(None, max_length=4096, description=_BANKS_DOC),
        include_distance: bool = Query(False, description="Matches with their distances "
                                       "instead of content ids"),
        threshold: int | None = Query(None, ge=0, le=256, description=_THRESHOLD_DOC),
) -> JSONResponse:
    matches, request_id = await _lookup_hash(services, principal, signal_type, signal,
                                             threshold)
    wanted = _bank_filter(banks)
    kept = [m for m in matches if wanted is None or m["bank"] in wanted]
    listed: list[Any] = ([_hma_match(m) for m in kept] if include_distance
                         else [m["entry_id"] for m in kept])
    return JSONResponse({"matches": listed}, headers={REQUEST_ID_HEADER: request_id})


# -- uploads: hashing, and looking a file up ------------------------------------------------
_FILE = {"type": "string", "format": "binary"}
_MEDIA_BODY = {
    "required": True,
    "content": {
        **{t: {"schema": _FILE} for t in RAW_TYPES},
        "image/jpeg": {"schema": _FILE},
        "multipart/form-data": {"schema": {
            "type": "object", "description": "One file, in a field named by its content "
            "type as HMA's clients send it (photo, video), or file",
            "properties": {f: _FILE for f in FILE_FIELDS}}},
    },
}


def _wanted(types: str | None, default: Iterable[str]) -> tuple[str, ...]:
    if types is None:
        return tuple(default)
    names = [_signal_type(t.strip(), "types").name for t in types.split(",") if t.strip()]
    if not names:
        raise ApiError(422, "input.invalid", "types names no signal type")
    return tuple(dict.fromkeys(names))


def _still_types() -> list[str]:
    return [t.name for t in all_types() if t.of_stills]


def _hash(upload: Upload, names: tuple[str, ...], limits: MediaLimits
          ) -> tuple[list[Signal], bool]:
    """The upload's signals among ``names`` and whether it is a video. A container
    video gets its exact digests (read from its spooled file); its frame hashes
    (vPDQ) are ``/v1/scan``'s."""
    if upload.path is not None and upload.video_format is not None:
        out = []
        for name in names:
            if not get_signal(name).exact_digest or name not in hashlib.algorithms_guaranteed:
                continue
            digest = hashlib.new(name, usedforsecurity=False)
            with upload.path.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
            out.append(Signal(name, digest.hexdigest()))
        return out, True
    file = hash_bytes(upload.data, limits, names)
    return list(file.signals), False


async def _hashed(request: Request, services: Services, names: tuple[str, ...],
                  content_type: str | None) -> tuple[list[Signal], bool]:
    settings = services.settings
    upload = await read_upload(request, settings.media, settings.home,
                               file_fields=FILE_FIELDS)
    try:
        signals, video = await services.in_worker(_hash, upload, names, settings.media,
                                                  limiter=services.scan_slots)
        video = video or upload.file_field == "video" or content_type == "video"
    finally:
        upload.close()  # the upload is dropped here: only its signals go on
    if not signals:
        raise ApiError(422, "input.invalid", "none of the signal types asked for applies "
                       "to this file (a video has its md5 and sha256 here)")
    return signals, video


def _hma_name(name: str, video: bool) -> str:
    return VIDEO_NAMES.get(name, name) if video else name


@hma_matching.get("/h/hash", response_model=HmaHashes,
                  summary="HMA: hash the media at a URL (refused: POST the media)")
async def hma_hash_url(url: str = Query(max_length=8192, description=_URL_DOC),
                       content_type: str | None = Query(None, max_length=64),
                       types: str | None = Query(None, max_length=256)) -> HmaHashes:
    raise _url_refusal()


@hma_matching.post("/h/hash", response_model=HmaHashes,
                   openapi_extra=declare(body="media", requestBody=_MEDIA_BODY),
                   summary="HMA: hash an uploaded file (then drop it)")
async def hma_hash(request: Request, services: ServicesDep,
                   content_type: str | None = Query(None, max_length=64, description=(
                       "photo or video (HMA's content types): names a video's MD5 "
                       "video_md5, as HMA does")),
                   types: str | None = Query(None, max_length=256, description=(
                       "Comma-separated signal types to compute (default: every "
                       "type for pictures)"))) -> HmaHashes:
    signals, video = await _hashed(request, services, _wanted(types, _still_types()),
                                   content_type)
    return HmaHashes({_hma_name(s.type, video): s.value for s in signals})


@hma_matching.post("/m/lookup", response_model=HmaSignalMatches,
                   openapi_extra=declare(body="media", requestBody=_MEDIA_BODY),
                   summary="HMA: look an uploaded file up (signal type → bank → matches)")
async def hma_lookup_file(
        request: Request, services: ServicesDep, principal: PrincipalDep,
        banks: str | None = Query(None, max_length=4096, description=_BANKS_DOC),
        seed: str | None = Query(None, max_length=256, description=_IGNORED_DOC),
        bypass_coinflip: bool = Query(False, description=_IGNORED_DOC),
        threshold: int | None = Query(None, ge=0, le=256, description=(
            "Veil's addition: a tighter PDQ threshold in bits, as /v1/scan's")),
) -> JSONResponse:
    matcher = services.live.matcher  # 503 while the index loads, before reading the body
    names = tuple(n for n in matcher.scan_names()
                  if n not in EXTRACTORS and get_signal(n).of_stills)
    signals, video = await _hashed(request, services, names, None)
    # one upload: decided on all its signals together (quality floors included), as
    # /v1/scan and /v1/match's uploads[] decide it
    try:
        body = MatchRequest(
            signals=[MatchSignalIn(signal=s.type, value=s.value, quality=s.quality,
                                   upload="upload") for s in signals],
            thresholds=None if threshold is None else {"pdq": threshold})
    except ValidationError:  # pragma: no cover (Veil's own hashes)
        raise ApiError(422, "input.invalid", "the file's signals could not be matched"
                       ) from None
    reply, request_id = await match_reply(body, services, principal)
    matches = reply["uploads"][0]["matches"]
    wanted = _bank_filter(banks)
    out = {_hma_name(s.type, video): _by_bank(
        (m for m in matches if m["signal"] == s.type), wanted) for s in signals}
    return JSONResponse(out, headers={REQUEST_ID_HEADER: request_id})
