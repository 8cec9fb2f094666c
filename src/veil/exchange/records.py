"""A peer's records, checked one by one: what merges (``Incoming``) and what is set
aside with a reason (``Rejected``). One bad record never sinks its page."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal, NotRequired

from pydantic import ConfigDict, Field, Strict, StringConstraints, ValidationError
from typing_extensions import TypedDict

from veil.errors import SignalError
from veil.exchange.stopncii_format import (
    GONE,
    TO_VEIL,
    FetchPage,
    HashStatus,
    signal_type_name,
)
from veil.signals import get as get_signal
from veil.store.exchanges import Incoming, Rejected, dumps_record
from veil.store.models import CASE_REF_MAX

#: A record's required fields and their JSON types.
_FIELDS: tuple[tuple[str, type | tuple[type, ...]], ...] = (
    ("lastModtimestamp", int), ("signalType", str), ("hashValue", str), ("hashStatus", str))

#: The fast path's exact spellings: type → (signal, hex length); status → gone.
_EXACT_TYPES = {"ImagePDQ": ("pdq", 64), "VideoMD5": ("md5", 32)}
_EXACT_STATUS = {"Active": False, "Received": False, "Withdrawn": True, "Deleted": True}
_LOWER_HEX = frozenset("0123456789abcdef")

#: Statuses that keep a hash listed.
_LISTED = frozenset({HashStatus.ACTIVE, HashStatus.RECEIVED})


def check_stopncii(raw: object) -> Incoming | Rejected:
    """One StopNCII-shaped record (``hashRecords[i]`` of a FetchHashes page).

    Checked by hand, not by the ``HashRecord`` model: a hub sends millions, and the
    model's validation cost four times what the rest of a record's merge does. The
    rules are the model's (a test holds the two to the same answers)."""
    if type(raw) is dict:
        fast = _fast(raw)
        if fast is not None:
            return fast
    if not isinstance(raw, dict):
        return Rejected("a record must be a JSON object", dumps_record(raw))
    for name, kinds in _FIELDS:
        if name not in raw:
            return Rejected(f"malformed record ({name}: Field required)", dumps_record(raw))
        if not isinstance(raw[name], kinds) or isinstance(raw[name], bool):
            return Rejected(f"malformed record ({name}: wrong type)", dumps_record(raw))
    cases = raw.get("caseNumbers")
    if cases is not None and not isinstance(cases, dict | list):
        return Rejected("malformed record (caseNumbers: wrong type)", dumps_record(raw))
    type_name = signal_type_name(raw["signalType"])
    signal = TO_VEIL.get(type_name)
    if signal is None:
        return Rejected(f"unknown signal type {type_name[:40]!r}", dumps_record(raw))
    try:
        status = HashStatus(raw["hashStatus"])
    except ValueError:
        return Rejected(f"unknown hashStatus {str(raw['hashStatus'])[:40]!r}",
                        dumps_record(raw))
    if status not in _LISTED and status not in GONE:
        return Rejected(f"hashStatus {status.value} says neither keep nor delete",
                        dumps_record(raw))
    try:
        value = get_signal(signal).parse(raw["hashValue"])
    except SignalError as exc:
        return Rejected(f"bad {signal} hash: {exc.message}", dumps_record(raw))
    refs = ",".join(sorted(str(c) for c in cases))[:CASE_REF_MAX] if cases else None
    return Incoming(signal=signal, value=value, gone=status in GONE, case_ref=refs or None)


def _fast(raw: dict[str, Any]) -> Incoming | None:
    """The common record (a known type and status spelt exactly, lowercase hex of the
    right length, a timestamp, case numbers as an object) in a few dictionary
    look-ups; None sends anything else through the full check."""
    kind, status, value = raw.get("signalType"), raw.get("hashStatus"), raw.get("hashValue")
    known = _EXACT_TYPES.get(kind) if type(kind) is str else None
    gone = _EXACT_STATUS.get(status) if type(status) is str else None
    cases = raw.get("caseNumbers")
    if (known is None or gone is None or type(value) is not str
            or type(raw.get("lastModtimestamp")) is not int or len(value) != known[1]
            or not _LOWER_HEX.issuperset(value) or (cases is not None and type(cases) is not dict)):
        return None
    return Incoming(signal=known[0], value=value, gone=gone, case_ref=_case_ref(cases))


def _case_ref(cases: dict[str, Any] | None) -> str | None:
    """A common record's case numbers (an object's keys) as the store keeps them."""
    if not cases:
        return None
    refs = ",".join(cases) if len(cases) < 2 else ",".join(sorted(cases))
    return refs[:CASE_REF_MAX] or None


class _Common(TypedDict):
    """What ``_fast`` takes, as a schema pydantic-core checks straight from the page's
    bytes (the page's other fields are skipped, never made into Python objects)."""

    __pydantic_config__ = ConfigDict(extra="ignore")  # type: ignore[misc]
    lastModtimestamp: Annotated[int, Strict()]
    hashStatus: Literal["Active", "Received", "Withdrawn", "Deleted"]
    caseNumbers: NotRequired[dict[str, Any] | None]


class _CommonPdq(_Common):
    signalType: Literal["ImagePDQ"]
    hashValue: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class _CommonMd5(_Common):
    signalType: Literal["VideoMD5"]
    hashValue: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]


class _CommonPage(FetchPage):
    """A FetchHashes page (the envelope read as ``FetchPage`` reads it) whose every
    record is the common one."""

    hashRecords: list[Annotated[_CommonPdq | _CommonMd5,
                                Field(discriminator="signalType")]]


def check_fetch_page(body: bytes) -> tuple[FetchPage, list[Incoming]] | None:
    """A whole FetchHashes page whose records are all the common record, checked in
    one pass over its bytes: the envelope, and each record as ``check_stopncii``
    would read it (a test holds the two to the same answers). None for anything
    else (not JSON, a bad envelope, one record off the common shape): the caller
    then reads the page record by record, which says what is wrong with which.

    A walk's Python time went on parsing every record into dicts and checking them
    one by one (about 11 µs a record); this is about half of that."""
    try:
        page = _CommonPage.model_validate_json(body)
    except ValidationError:
        return None
    types = _EXACT_TYPES
    listed = _EXACT_STATUS
    out: list[Incoming] = []
    add = out.append
    for r in page.hashRecords:
        add(Incoming(types[r["signalType"]][0], r["hashValue"], listed[r["hashStatus"]],
                     None, _case_ref(r.get("caseNumbers"))))
    return page, out


def check_line(line: str) -> Incoming | Rejected | None:
    """One line of a plain hash list: ``<signal type> <hash>`` (the shape HMA and
    python-threatexchange's file exchange read); blank and ``#`` lines are skipped."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    kind, _, value = text.partition(" ")
    name = {"video_md5": "md5", "pdq": "pdq", "md5": "md5"}.get(kind.lower())
    if name is None:
        return Rejected(f"unknown signal type {kind[:40]!r}", text[:1000])
    try:
        parsed = get_signal(name).parse(value.strip())
    except SignalError as exc:
        return Rejected(f"bad {name} hash: {exc.message}", text[:1000])
    return Incoming(signal=name, value=parsed, gone=False)


def split(checked: Iterable[Incoming | Rejected | None]) -> tuple[list[Incoming],
                                                                 list[Rejected]]:
    good: list[Incoming] = []
    bad: list[Rejected] = []
    for c in checked:
        if isinstance(c, Incoming):
            good.append(c)
        elif isinstance(c, Rejected):
            bad.append(c)
    return good, bad

