"""A peer's records, checked one by one: what merges (``Incoming``) and what is set
aside with a reason (``Rejected``). One bad record never sinks its page."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import ValidationError

from veil.errors import SignalError
from veil.exchange.stopncii_format import GONE, TO_VEIL, HashRecord, HashStatus
from veil.signals import get as get_signal
from veil.store.exchanges import Incoming, Rejected, dumps_record
from veil.store.models import CASE_REF_MAX

#: Statuses that keep a hash listed.
_LISTED = frozenset({HashStatus.ACTIVE, HashStatus.RECEIVED})


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "record"
    return f"{where}: {err.get('msg', 'invalid')}"


def check_stopncii(raw: object) -> Incoming | Rejected:
    """One StopNCII-shaped record (``hashRecords[i]`` of a FetchHashes page)."""
    if not isinstance(raw, dict):
        return Rejected("a record must be a JSON object", dumps_record(raw))
    try:
        rec = HashRecord.model_validate(raw)
    except ValidationError as exc:
        return Rejected(f"malformed record ({_first_error(exc)})", dumps_record(raw))
    signal = TO_VEIL.get(rec.signalType)
    if signal is None:
        return Rejected(f"unknown signal type {rec.signalType[:40]!r}", dumps_record(raw))
    try:
        status = HashStatus(rec.hashStatus)
    except ValueError:
        return Rejected(f"unknown hashStatus {rec.hashStatus[:40]!r}", dumps_record(raw))
    if status not in _LISTED and status not in GONE:
        return Rejected(f"hashStatus {status.value} says neither keep nor delete",
                        dumps_record(raw))
    try:
        value = get_signal(signal).parse(rec.hashValue)
    except SignalError as exc:
        return Rejected(f"bad {signal} hash: {exc.message}", dumps_record(raw))
    cases = ",".join(sorted(str(c) for c in rec.caseNumbers))[:CASE_REF_MAX] or None
    return Incoming(signal=signal, value=value, gone=status in GONE, case_ref=cases)


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

